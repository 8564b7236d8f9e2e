"""KD Workbench app: `streamlit run pages/app.py` (what `./run.sh app` runs). Navigation over the page scripts
beside this one in pages/, settings in the sidebar, and the setup kept in the URL so a link restores it.

The entry script lives inside pages/ so that no folder called pages/ lies beside it: Streamlit runs the scripts of
a pages/ folder next to the entry script on their own (no navigation, no sidebar settings) for a session that opens
a page link before any session has run this script. Streamlit puts this folder on sys.path (and so does `main`, for
AppTest), so the pages import their shared helpers as `_shared` and `_lessons`.
Each page's title and caption are drawn before the workbench is imported, so a fresh server shows the page at once
and fills it in when the imports are done; nothing before the page imports torch (the sidebar and the Teacher page's
widgets read registries that do not), so the first page can be used while torch loads. Everything runs under
`if __name__ == "__main__"` (Streamlit runs this script as __main__): the executor's spawned worker processes
re-read this file as __mp_main__ and must draw nothing."""

import sys
from pathlib import Path

import streamlit as st

PAGES = {  # title: (script, icon, url path, caption)
    "Teacher": (
        "teacher.py",
        ":material/school:",
        None,
        "Choose the dataset, the teacher the student learns from (several for ensemble methods) and the student.",
    ),
    "Method": (
        "method.py",
        ":material/science:",
        "method",
        "Each card is read from the method's own declaration. Tick the methods to train side by side; a "
        "method that cannot run with the chosen teacher(s), student or dataset says why.",
    ),
    "Hyperparameters": (
        "hyperparameters.py",
        ":material/tune:",
        "hyperparameters",
        "Soft targets, their weight and how both change over training; the preview shows what the "
        "teacher's outputs look like at this temperature before anything trains.",
    ),
    "Train": (
        "train.py",
        ":material/model_training:",
        "train",
        "Start one run per picked method and seed (and a baseline), watch them live, cancel them.",
    ),
    "Compare": (
        "compare.py",
        ":material/bar_chart:",
        "compare",
        "Put finished runs side by side: what differs, how well they did, and the gain over the baseline.",
    ),
    "Sweep": (
        "sweep.py",
        ":material/grid_on:",
        "sweep",
        "A grid over temperature, α, bit width or method × seeds around the current setup, its cost against "
        "a time budget, and the interactions: heatmaps with the seed noise, slices, parallel coordinates.",
    ),
}


def sidebar_settings(shared) -> None:
    """The app's settings: where runs are stored, how many train at once (the server's value, the same in
    every browser) and the upload size limit; shown, not changeable, on a classroom server."""
    settings = shared.settings()
    with st.sidebar.expander("Settings"):
        st.caption(f"Runs folder: `{settings.runs_dir}` (set $KDW_RUNS_DIR before starting the app)")
        if settings.classroom:
            st.caption(
                f"This server is shared by a class (KDW_CLASSROOM=1, or listening beyond this machine): it "
                f"trains {shared.max_workers()} run(s) at once (KDW_MAX_WORKERS) and accepts uploads up to "
                f"{shared.upload_limit_mb():g} MB (KDW_UPLOAD_LIMIT_MB); only whoever starts the server can "
                "change these."
            )
            st.caption(settings.limits.describe())
            return
        st.session_state[shared.widget_key("settings.max_workers")] = shared.max_workers()  # whoever set it last
        st.number_input(
            "Runs training at once",
            min_value=1,
            max_value=64,
            step=1,
            key=shared.widget_key("settings.max_workers"),
            on_change=shared.change_max_workers,
            help="Worker processes training at the same time, for the whole server (every browser sees and sets "
            "this one value); more runs wait in the queue. Lowering it never stops a running job.",
        )
        server_cap = float(st.get_option("server.maxUploadSize"))
        shared.bound_value("settings.upload_limit_mb", shared.upload_limit_mb())
        settings.upload_limit_mb = float(
            st.number_input(
                "Upload limit (MB)",
                min_value=0.001,
                max_value=server_cap,
                step=10.0,
                key=shared.widget_key("settings.upload_limit_mb"),
                help="Largest teacher state_dict accepted on the Teacher page (for this browser); at most "
                f"{server_cap:g} MB, the server's own limit (KDW_UPLOAD_LIMIT_MB when it starts).",
            )
        )
        if settings.inline:
            st.caption("Runs train inside this process (KDW_EXECUTOR=inline).")


def main() -> None:
    """Draw the navigation and the chosen page's title, then the settings and the page itself."""
    st.set_page_config(page_title="KD Workbench", page_icon=":material/school:", layout="wide")
    pages = [
        st.Page(script, title=title, icon=icon, url_path=path, default=path is None)
        for title, (script, icon, path, _) in PAGES.items()
    ]
    page = st.navigation(pages)
    st.title(page.title)
    st.caption(PAGES[page.title][3])

    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:  # streamlit run puts it there; AppTest does not
        sys.path.insert(0, here)
    import _admin
    import _lessons
    import _shared as shared  # the workbench (not torch): after the title is on screen

    _lessons.apply_link()  # on a session's first run: a lesson link's setup and hidden controls
    shared.setup()
    sidebar_settings(shared)
    _admin.sidebar()
    _lessons.sidebar()
    shared.show_notices()
    _lessons.hide_controls()
    shared.remember_owner()
    page.run()
    shared.sync_url()
    # After the page is drawn (a Start starts them at once anyway): the worker processes import torch and load the
    # default dataset, which on a 2-core machine would compete with drawing the first page.
    shared.executor().start()
    shared.warm_up()  # after the page is drawn: the first Start then queues its runs without a 2.5 s pause


if __name__ == "__main__":
    main()
