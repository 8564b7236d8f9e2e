"""A fresh server's first page (Teacher) can be used while torch loads: everything the app draws before the page's
widgets, and the widgets themselves, import no torch; the rest of the page (`_teacher_panels`) imports it after."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Run in a fresh interpreter (this one has imported torch long ago). The rest of the page is replaced by a stub that
# notes whether torch was imported by the time the widgets were drawn.
FIRST_RUN = """
import json, os, sys, types
from streamlit.testing.v1 import AppTest

sys.path.insert(0, "pages")
seen = {}
panels = types.ModuleType("_teacher_panels")
panels.draw = lambda setup, models: seen.update(torch="torch" in sys.modules, models=len(models))
sys.modules["_teacher_panels"] = panels
app = AppTest.from_file("pages/app.py", default_timeout=120).run()
print(json.dumps({
    "exceptions": [str(error.value) for error in app.exception],
    "seen": seen,
    "widgets": [w.label for w in [*app.selectbox, *app.multiselect, *app.number_input]],
}), flush=True)
os._exit(0)  # at once: the app's warm-up thread (after the page) may still be in torch
"""


def test_the_first_pages_widgets_are_drawn_before_torch_is_imported(tmp_path):
    env = {**os.environ, "KDW_RUNS_DIR": str(tmp_path / "runs"), "KDW_EXECUTOR": "inline"}
    done = subprocess.run(
        [sys.executable, "-c", FIRST_RUN], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["exceptions"] == []
    assert result["seen"] == {"torch": False, "models": 16}
    for label in ("Dataset", "Student", "Teacher(s)", "Teacher seed", "Runs training at once"):
        assert label in result["widgets"]


def test_a_link_without_config_fields_gets_the_config_the_method_registry_would_build():
    from workbench.app_state import setup_from_query
    from workbench.config import RunConfig

    setup, notices = setup_from_query({"seeds": "2"})  # built without the method registry (no torch)
    assert notices == [] and setup.config == RunConfig.from_dict({})
