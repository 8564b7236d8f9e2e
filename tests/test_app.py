"""The Streamlit app through AppTest (runs train in-process), the app's state and URL form, and uploads."""

import io
import json
import os
from pathlib import Path

import pytest
import tomllib
import torch
from streamlit import dataframe_util
from streamlit.testing.v1 import AppTest

from workbench.app_state import DEFAULT_UPLOAD_LIMIT_MB, Settings, Setup, clip_echoes, setup_from_query
from workbench.config import FIELD_BY_NAME, RunConfig
from workbench.errors import ModelMismatch, WorkbenchError
from workbench.store import RunStore
from workbench.teachers import find_teacher
from workbench.text import escape_markdown
from workbench.uploads import accept_teacher_upload

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "pages" / "app.py")
PAGES = ["teacher", "method", "hyperparameters", "train", "compare"]
TINY_RUN = {
    "dataset": "digits",
    "epochs": "1",
    "train_subset": "300",
    "batch_size": "32",
    "optimizer": "adam",
    "lr": "0.02",
    "device": "cpu",
}


@pytest.fixture(autouse=True)
def inline_executor(monkeypatch):
    """Runs started from a page train in the test's process, before the click returns."""
    monkeypatch.setenv("KDW_EXECUTOR", "inline")


def open_page(page, query=None):
    """A fresh session on `page`, as if a link with `query` had been opened."""
    app = AppTest.from_file(APP, default_timeout=120)
    for key, value in (query or {}).items():
        app.query_params[key] = value
    if page != "teacher":
        app.switch_page(f"{page}.py")
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def warnings_text(app):
    return " | ".join(w.value for w in app.warning)


def packaged_state_dict(arch="mlp"):
    """The bytes of a real digits teacher's state_dict file."""
    return Path(find_teacher(arch, "digits", 0).path).read_bytes()


def store():
    return RunStore(os.environ["KDW_RUNS_DIR"])


# -- every page -------------------------------------------------------------------------------------


def test_teacher_page_shows_dataset_teacher_student_and_their_costs():
    app = open_page("teacher")
    assert app.selectbox(key="w.dataset").value == "fashion-mnist"  # the default setup
    assert app.selectbox(key="w.student").value == "lenet5_half"
    assert app.multiselect(key="w.teachers").value == ["cnn"]
    table = app.dataframe[0].value
    teacher = table[table["role"] == "teacher 1"].iloc[0]
    assert teacher["architecture"] == "cnn" and teacher["weights"] == "packaged" and teacher["parameters"] > 0
    assert teacher["test accuracy"] == f"{find_teacher('cnn', 'fashion-mnist', 0).test_acc:.1%}"


def test_the_teacher_table_shows_a_dash_for_what_is_missing_readable_names_and_wide_text_columns():
    app = open_page("teacher", {"teacher_seed": "99"})  # no teacher cached for this seed
    table = app.dataframe[0]
    shown = dataframe_util.convert_arrow_bytes_to_pandas_df(table.proto.arrow_data.styler.display_values)
    assert "training time (s)" in shown.columns and "train s" not in shown.columns
    assert not shown.isna().any().any() and "None" not in shown.to_string()
    student = shown[shown["role"] == "student"].iloc[0]
    assert student["test accuracy"] == student["training time (s)"] == "–"
    teacher = shown[shown["role"] == "teacher 1"].iloc[0]
    assert teacher["weights"].startswith("none yet") and teacher["test accuracy"] == "–"
    columns = json.loads(table.proto.columns)
    assert columns["weights"]["width"] == "medium"


def test_training_a_teacher_now_records_its_curve_and_caches_it():
    app = open_page("teacher", {"dataset": "digits"})
    app.selectbox(key="teacher_job.arch").set_value("mlp")
    app.number_input(key="teacher_job.epochs").set_value(2)
    app.button(key="teacher_job.start").click().run()
    assert not app.exception
    (run,) = store().list_runs()
    assert run.status == "done" and run.config["student"] == "mlp" and run.config["epochs"] == 2
    cached = find_teacher("mlp", "digits", 0)
    assert not cached.packaged and cached.path == run.artifacts["teacher"] and cached.epochs == 2
    assert any("teacher mlp" in m.value and "done" in m.value for m in app.markdown)


def test_method_page_has_a_card_per_method_and_disables_those_that_cannot_run():
    from workbench.methods import list_methods

    app = open_page("method")
    from workbench.formulas import formula_lines

    lines = [line for method in list_methods() for line in formula_lines(method.card()["loss_latex"])]
    shown = [latex.value.removeprefix("$$\n").removesuffix("\n$$") for latex in app.latex]
    assert sorted(shown) == sorted(lines)  # every card's formula (in tabs by group), one equation a line
    assert app.checkbox(key="w.method.kd").value is True
    assert app.checkbox(key="w.method.baseline").value is True
    reasons = Setup().availability()
    for name, reason in reasons.items():
        if name != "baseline":
            assert app.checkbox(key=f"w.method.{name}").disabled == (reason is not None)
    if any(reasons.values()):
        assert "Unavailable:" in warnings_text(app)


def test_method_page_picks_several_methods():
    app = open_page("method")
    app.checkbox(key="w.method.tfkd").check().run()
    app.switch_page("train.py").run()
    assert "kd · seed 0, tfkd · seed 0, baseline · seed 0" in " ".join(c.value for c in app.caption)
    assert app.query_params["methods"] == "kd,tfkd"


def test_hyperparameter_page_has_valid_defaults_and_room_for_quantisation():
    app = open_page("hyperparameters")
    defaults = RunConfig()
    for name in ("temperature", "alpha", "epochs"):
        assert app.slider(key=f"w.{name}").value == getattr(defaults, name)
    for name in ("lr", "batch_size", "w_bits", "a_bits"):
        assert app.select_slider(key=f"w.{name}").value == getattr(defaults, name)
    assert app.select_slider(key="w.w_bits").options == list(FIELD_BY_NAME["w_bits"].choice_list())
    assert app.slider(key="w.seeds").value == 1


def test_moving_the_temperature_slider_changes_the_preview():
    app = open_page("hyperparameters")
    before = app.metric[0].value
    figure_before = app.get("plotly_chart")[1].proto.spec
    app.slider(key="w.temperature").set_value(12.0).run()
    after = app.metric[0].value
    assert float(after.split()[0]) > float(before.split()[0])  # softer targets: more entropy
    assert app.get("plotly_chart")[1].proto.spec != figure_before
    assert app.query_params["temperature"] == "12.0"


def test_schedule_widgets_appear_for_a_decaying_schedule():
    app = open_page("hyperparameters")
    app.selectbox(key="w.alpha_schedule").set_value("step").run()
    assert app.slider(key="w.alpha_end").value == 0.0
    assert app.slider(key="w.schedule_steps").value == 3


def test_starting_a_tiny_run_records_it_in_the_store_and_compare_shows_it():
    app = open_page("train", TINY_RUN)
    assert not app.button(key="start").disabled
    app.button(key="start").click().run()
    assert not app.exception
    runs = {record.config["method"]: record for record in store().list_runs()}
    assert set(runs) == {"kd", "baseline"}
    assert all(
        r.status == "done" and r.config["epochs"] == 1 and r.config["train_subset"] == 300 for r in runs.values()
    )
    assert runs["kd"].group_id == runs["baseline"].group_id
    assert any("done" in m.value for m in app.markdown)
    app.switch_page("compare.py").run()
    table = app.dataframe[0].value
    assert set(table["id"]) == {r.id for r in runs.values()}
    gains = app.dataframe[1].value
    assert list(gains["setup"]) == ["kd"]


def test_compare_page_without_runs_says_so():
    app = open_page("compare")
    assert "No runs yet" in app.info[0].value


# -- the URL ----------------------------------------------------------------------------------------


def test_a_shared_link_restores_the_setup_and_reports_what_it_ignored():
    app = open_page(
        "hyperparameters",
        {
            "temperature": "7.5",
            "alpha": "5",
            "methods": "kd,tfkd,nope",
            "seeds": "2",
            "bogus": "1",
            "tfkd.correct_prob": "0.8",
        },
    )
    assert app.slider(key="w.temperature").value == 7.5
    assert app.slider(key="w.alpha").value == RunConfig().alpha
    assert app.slider(key="w.seeds").value == 2
    assert app.slider(key="w.tfkd.correct_prob").value == pytest.approx(0.8)
    notices = warnings_text(app)
    assert "alpha" in notices and "'nope'" in notices and "'bogus'" in notices
    app.switch_page("method.py").run()
    assert app.checkbox(key="w.method.tfkd").value is True


def test_a_link_with_an_unknown_method_keeps_the_setups_methods_and_names_the_bad_value():
    for key in ("method", "methods"):
        setup, notices = setup_from_query({key: "nonexistent"})
        assert setup.methods == ["kd"] and len(notices) == 1 and "'nonexistent'" in notices[0]
    assert setup_from_query({"methods": "tfkd,nonexistent"})[0].methods == ["tfkd"]
    assert setup_from_query({"methods": ""})[0].methods == []  # a link whose setup ticked no method
    setup, notices = setup_from_query({"method": "nonexistent", "nonexistent.x": "1"})
    assert setup.methods == ["kd"] and len(notices) == 2 and all("nonexistent" in notice for notice in notices)
    app = open_page("method", {"method": "nonexistent"})
    assert app.checkbox(key="w.method.kd").value is True
    assert "nonexistent" in warnings_text(app)


def test_a_links_junk_values_are_cut_short_and_escaped_in_its_notices():
    junk = "[click me](https://evil.example)" + "y" * 300
    notices = clip_echoes(
        [f"ignored temperature: {junk!r} is not a valid float", f"ignored {junk!r}: not a setting"],
        {"temperature": junk, junk: "1"},
    )
    assert all(len(notice) < 120 and "y" * 40 not in notice and "…" in notice for notice in notices)
    assert notices[0].startswith("ignored temperature: '[click me](https://evil") and notices[0].endswith("float")
    app = open_page("hyperparameters", {"temperature": junk, "bogus" + "z" * 300: "1", "lesson": "q" * 100})
    shown = warnings_text(app)
    assert "y" * 41 not in shown and "z" * 41 not in shown and "q" * 41 not in shown and "…" in shown
    assert "[click me](" not in shown and r"\[click me\]\(" in shown


def test_a_link_to_an_uploaded_teacher_names_the_upload_not_a_server_path():
    app = upload(open_page("teacher", {"dataset": "digits"}), packaged_state_dict("mlp"), arch="mlp")
    name = app.query_params["teacher_checkpoint"]
    assert "/" not in name and (Settings.from_env()[0].uploads_dir / name).is_file()
    again = open_page("teacher", {"dataset": "digits", "teachers": "mlp", "teacher_checkpoint": name})
    assert any(name in info.value for info in again.info) and again.query_params["teacher_checkpoint"] == name
    elsewhere = open_page(
        "teacher", {"dataset": "digits", "teachers": "mlp", "teacher_checkpoint": "digits__mlp__0123456789ab.pt"}
    )
    assert "not a teacher uploaded to this server" in warnings_text(elsewhere)
    assert "teacher_checkpoint" not in elsewhere.query_params


def test_the_upload_box_and_its_caption_say_the_apps_one_limit(monkeypatch):
    config_toml = ROOT / ".streamlit" / "config.toml"  # where run.sh starts the app from
    assert tomllib.loads(config_toml.read_text())["server"]["maxUploadSize"] == DEFAULT_UPLOAD_LIMIT_MB
    app = open_page("teacher")
    assert app.file_uploader(key="upload.file").proto.max_upload_size_mb == DEFAULT_UPLOAD_LIMIT_MB
    captions = " ".join(caption.value for caption in app.caption)
    assert f"Limit {DEFAULT_UPLOAD_LIMIT_MB:g} MB" in captions and "200" not in captions
    monkeypatch.setenv("KDW_UPLOAD_LIMIT_MB", "12")
    assert open_page("teacher").file_uploader(key="upload.file").proto.max_upload_size_mb == 12


def test_a_missing_teachers_preview_points_to_the_teacher_pages_button():
    app = open_page("hyperparameters", {"teacher_seed": "99"})
    shown = " ".join(info.value for info in app.info)
    assert "Train a teacher now" in shown and "kdw teachers train" not in shown
    assert any("Teacher page" in link.proto.label and link.proto.page_script_hash for link in app.get("page_link"))


@pytest.mark.parametrize("page", PAGES)
def test_no_value_in_the_url_crashes_a_page(page):
    hostile = {
        "temperature": "1e9",
        "epochs": "1000",
        "batch_size": "3",
        "lr": "0.0001",
        "train_subset": "5",
        "teachers": "nonexistent",
        "dataset": "mnist",
        "w_bits": "ternary",
        "a_bits": "7",
        "seeds": "-3",
        "tfkd.correct_prob": "abc",
        "mp.x": "1",
        "teacher_checkpoint": "/etc/passwd",
        "compare": "nope",
        "student": "cnn:0",
        "methods": ",,,",
        "baseline": "maybe",
        "alpha_schedule": "step",
    }
    app = open_page(page, hostile)
    assert not app.exception
    if page == "hyperparameters":
        assert app.slider(key="w.epochs").value == 1000
        assert app.select_slider(key="w.batch_size").value == 3


# -- uploads ----------------------------------------------------------------------------------------


def upload(app, data, arch="mlp", name="teacher.pt"):
    app.file_uploader(key="upload.file").set_value((name, data, "application/octet-stream"))
    app.selectbox(key="upload.arch").set_value(arch)
    app.run()
    app.button(key="upload.accept").click().run()
    return app


def test_uploading_a_fitting_state_dict_makes_it_the_first_teacher():
    app = upload(open_page("teacher", {"dataset": "digits"}), packaged_state_dict("mlp"), arch="mlp")
    assert "fits mlp" in app.success[0].value
    assert app.multiselect(key="w.teachers").value == ["mlp"]
    assert (Settings.from_env()[0].uploads_dir / app.query_params["teacher_checkpoint"]).is_file()


@pytest.mark.parametrize(
    "data, arch, message",
    [
        (b"\x00 not a torch file", "mlp", "corrupt or not a file written by torch.save"),
        (None, "cnn", "does not fit"),
    ],
)
def test_a_bad_upload_gives_one_message_and_changes_nothing(data, arch, message):
    app = upload(open_page("teacher"), data or packaged_state_dict("mlp"), arch=arch)
    assert escape_markdown(message) in app.error[0].value  # the message holds the upload's name: escaped
    assert app.multiselect(key="w.teachers").value == ["cnn"]
    assert "teacher_checkpoint" not in app.query_params
    assert not Settings.from_env()[0].uploads_dir.exists()


def test_an_upload_over_the_limit_is_refused(monkeypatch):
    monkeypatch.setenv("KDW_UPLOAD_LIMIT_MB", "0.01")
    app = upload(open_page("teacher"), packaged_state_dict("mlp"))
    assert escape_markdown("over the 0.01 MB upload limit") in app.error[0].value


def test_upload_checks_name_what_is_wrong(tmp_path):
    def save(obj):
        buffer = io.BytesIO()
        torch.save(obj, buffer)
        return buffer.getvalue()

    def attempt(data, arch="mlp"):
        return accept_teacher_upload(data, "t.pt", arch, "digits", uploads_dir=tmp_path, limit_mb=50)

    with pytest.raises(WorkbenchError, match="Python objects besides tensors"):
        attempt(save(torch.nn.Linear(2, 2)))
    with pytest.raises(WorkbenchError, match="holds a list, not a state_dict"):
        attempt(save([torch.zeros(1)]))
    with pytest.raises(WorkbenchError, match="is empty"):
        attempt(b"")
    state = torch.load(io.BytesIO(packaged_state_dict("mlp")), weights_only=True)
    with pytest.raises(ModelMismatch, match="3 output classes but digits has 10"):
        attempt(save({**state, "classifier.weight": torch.zeros(3, state["classifier.weight"].shape[1])}))
    assert not any(tmp_path.iterdir())
    accepted = attempt(save({"state_dict": state}))
    assert accepted.test_acc == pytest.approx(find_teacher("mlp", "digits", 0).test_acc, abs=1e-6)


# -- the setup as data ------------------------------------------------------------------------------


def test_setup_survives_its_url_form():
    setup = Setup(
        RunConfig(temperature=6.0, teachers=["cnn", "lenet5"], epochs=3),
        methods=["kd", "tfkd"],
        method_params={"tfkd": {"correct_prob": 0.7}},
        seeds=3,
        baseline=False,
        compare=["a", "b"],
    )
    restored, notices = setup_from_query(setup.query_params())
    assert notices == []
    assert restored.config.to_dict() == setup.config.to_dict()
    assert (restored.methods, restored.seeds, restored.baseline, restored.compare) == (
        ["kd", "tfkd"],
        3,
        False,
        ["a", "b"],
    )
    assert restored.params_of("tfkd")["correct_prob"] == 0.7


def test_run_configs_are_methods_times_seeds_plus_the_baseline():
    setup = Setup(RunConfig(seed=5), methods=["kd", "tfkd"], seeds=2)
    runs = [(c.method, c.seed) for c in setup.run_configs()]
    assert runs == [("kd", 5), ("kd", 6), ("tfkd", 5), ("tfkd", 6), ("baseline", 5), ("baseline", 6)]
    setup.baseline = False
    assert [c.method for c in setup.run_configs()] == ["kd", "kd", "tfkd", "tfkd"]


def test_unavailable_methods_are_left_out_of_the_runs():
    needs_two = [name for name, reason in Setup().availability().items() if reason == "needs at least two teachers"]
    if not needs_two:
        pytest.skip("no registered method needs several teachers")
    setup = Setup(methods=["kd", needs_two[0]], baseline=False)
    assert [c.method for c in setup.run_configs()] == ["kd"]
    setup.config.teachers = ["cnn", "lenet5"]
    assert needs_two[0] in [c.method for c in setup.run_configs()]


def test_settings_from_the_environment_fall_back_with_a_notice(monkeypatch):
    monkeypatch.setenv("KDW_MAX_WORKERS", "zero")
    monkeypatch.setenv("KDW_UPLOAD_LIMIT_MB", "12.5")
    settings, notices = Settings.from_env()
    assert settings.upload_limit_mb == 12.5 and settings.max_workers >= 1
    assert len(notices) == 1 and "KDW_MAX_WORKERS" in notices[0]


def test_compare_page_charts_accuracy_against_size_and_a_ternary_students_weight_levels():
    app = open_page("train", {**TINY_RUN, "w_bits": "ternary"})
    app.button(key="start").click().run()
    runs = store().list_runs()
    assert runs and all(r.status == "done" for r in runs)
    app.switch_page("compare.py").run()
    assert not app.exception
    headers = [h.value for h in app.subheader]
    assert "Accuracy versus model size" in headers and "Weight levels of a quantised student" in headers
    assert len(app.get("plotly_chart")) >= 4  # curves, gains, size, histograms


def test_a_ternary_students_saved_weights_use_three_levels_per_layer(tmp_path):
    from conftest import tiny_config

    from workbench.quant.report import weight_histograms
    from workbench.runner import run_recorded
    from workbench.trained_students import load_trained_student

    run_id, _ = run_recorded(tiny_config(epochs=1, w_bits="ternary"), store())
    histograms = weight_histograms(load_trained_student(store().get_run(run_id)))
    assert histograms and all(len(levels) <= 3 for levels, _ in histograms.values())


def test_classes_left_out_of_training_and_warm_up_come_from_the_link_and_go_back_into_it():
    app = open_page("hyperparameters", {"dataset": "digits", "omit_classes": "3", "warmup_epochs": "1.0"})
    assert app.multiselect(key="w.omit_classes").value == [3]
    assert app.slider(key="w.warmup_epochs").value == 1.0
    app.multiselect(key="w.omit_classes").set_value([3, 5]).run()
    assert app.query_params["omit_classes"] == "3,5"
