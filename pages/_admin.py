"""The sidebar's Admin panel, shown when the server was started with an admin token (KDW_ADMIN_TOKEN): a session
that types the token may cancel any browser's queued or running run (the same as `kdw runs cancel` on the server)."""

from __future__ import annotations

import streamlit as st

import _shared as shared
from workbench.errors import WorkbenchError
from workbench.store import FINISHED
from workbench.text import escape_markdown


def cancel_picked() -> None:
    """Button callback: cancel the picked runs, whoever started them; one message per run that could not be."""
    problems = []
    for run_id in st.session_state.get("admin.picked", []):
        try:
            shared.executor().cancel(run_id)  # no owner: an admin may cancel any run
        except WorkbenchError as error:
            problems.append(str(error))
    st.session_state["admin.picked"] = []
    st.session_state["admin.message"] = "; ".join(problems) or "cancelled (a running run stops at its next step)"


def sidebar() -> None:
    """The Admin expander: the token field, then (for the admin) every unfinished run with a cancel button."""
    if not shared.settings().limits.admin_token:
        return
    with st.sidebar.expander("Admin"):
        st.text_input(
            "Admin token",
            type="password",
            key="admin.token",
            help="The token the server was started with (KDW_ADMIN_TOKEN): lets this browser cancel any run.",
        )
        if not shared.is_admin():
            if st.session_state.get("admin.token"):
                st.caption("That is not this server's admin token.")
            return
        unfinished = [record for record in shared.store().recent_runs(limit=500) if record.status not in FINISHED]
        labels = {
            record.id: f"{record.name} [{record.id[-6:]}] · {record.status} · {record.owner[:6] or 'gallery'}"
            for record in unfinished
        }
        picked = st.session_state.get("admin.picked", [])
        st.session_state["admin.picked"] = [run_id for run_id in picked if run_id in labels]  # ended ones drop out
        st.multiselect(
            "Queued and running runs (every browser's)",
            list(labels),
            format_func=lambda run_id: labels.get(run_id, run_id),
            key="admin.picked",
        )
        st.button("Cancel the picked runs", key="admin.cancel", on_click=cancel_picked)
        if "admin.message" in st.session_state:
            st.caption(escape_markdown(st.session_state.pop("admin.message")))
