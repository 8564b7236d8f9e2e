"""The app's views of what methods do: the features a method matches, LW-KD's glyphs, live sample grids of
data-free runs, accuracy over training and sequential FEED's generation chain (AppTest, runs in-process)."""

import json

import pytest
from test_app import TINY_RUN, open_page, store

from workbench.glyph_teacher import find_glyph_teacher


@pytest.fixture(autouse=True)
def inline_executor(monkeypatch):
    """Runs started from a page train in the test's process, before the click returns."""
    monkeypatch.setenv("KDW_EXECUTOR", "inline")


def figure_texts(app):
    """Per plotly figure a page drew: its title and annotation texts, joined."""
    texts = []
    for element in app.get("plotly_chart"):
        layout = json.loads(element.proto.spec)["layout"]
        notes = [note.get("text", "") for note in layout.get("annotations", [])]
        texts.append(" ".join([str(layout.get("title", {}).get("text", "")), *notes]))
    return texts


def test_method_cards_picture_the_features_each_feature_method_matches():
    app = open_page("method", {"dataset": "digits", "student": "lenet5_half", "teachers": "cnn"})
    texts = figure_texts(app)
    fitnets = next(text for text in texts if "1×1 conv regressor" in text)
    assert "8×2×2" in fitnets and "128×2×2" in fitnets  # lenet5_half's and cnn's deepest maps on digits
    assert any("attention maps at" in text for text in texts)  # attention transfer
    assert any("pairwise distances and triplet angles" in text for text in texts)  # RKD
    # parallel FEED needs two teachers: its card says so instead of drawing a picture
    assert any("needs at least two teachers" in caption.value for caption in app.caption)


def test_method_card_follows_the_chosen_teachers():
    app = open_page("method", {"student": "lenet5_half", "teachers": "cnn,lenet5"})
    assert any(
        "8→128 channels" in text and "8→16 channels" in text  # parallel FEED: one transform per teacher
        for text in figure_texts(app)
    )


def test_teacher_page_previews_the_glyph_dataset_and_trains_its_teacher():
    app = open_page("teacher", {"dataset": "digits", "methods": "lwkd"})
    assert any("Glyphs for" in text for text in figure_texts(app))
    assert find_glyph_teacher("lenet5", "digits", 300, 0) is None
    assert any("not trained yet" in markdown.value for markdown in app.markdown)
    app.button(key="glyphs.train").click().run()
    assert not app.exception and not app.error
    record = find_glyph_teacher("lenet5", "digits", 300, 0)
    assert record is not None
    assert any(f"{record.test_acc:.1%} on held-out glyphs" in markdown.value for markdown in app.markdown)


def test_data_free_and_generational_runs_show_samples_stability_and_the_chain():
    app = open_page(
        "train",
        {
            **TINY_RUN,
            "methods": "dafl,feed-sequential",
            "dafl.iterations": "20",
            "feed-sequential.generations": "2",
            "baseline": "false",
        },
    )
    app.button(key="start").click().run()
    assert not app.exception
    runs = store().list_runs()
    assert sorted(r.config["method"] for r in runs) == ["dafl", "feed-sequential", "feed-sequential"]
    assert all(r.status == "done" for r in runs), [r.message for r in runs]
    captions = " ".join(caption for element in app.get("image") for caption in element.captions)
    assert "generated images" in captions

    app.switch_page("compare.py").run()
    assert not app.exception
    headers = [h.value for h in app.subheader]
    assert "Accuracy over training" in headers and "Generation chain (sequential FEED)" in headers
    tables = [frame.value for frame in app.dataframe]
    stability = next(t for t in tables if "variance" in t.columns or "var" in t.columns)
    dafl = next(r for r in runs if r.config["method"] == "dafl")
    row = stability[stability["run"].str.contains(dafl.id[-6:])].iloc[0]
    assert bool(row["data-free"]) and row["best"] == pytest.approx(dafl.final_metrics["best_test_acc"])
    chain = next(t for t in tables if "generation" in t.columns)
    assert list(chain["generation"]) == [1, 2] and list(chain["taught by"])[1] == "generation 1"


def test_method_cards_sit_in_one_tab_each_by_their_declared_group_and_ticks_survive_tabs_and_pages():
    from workbench.describe import method_groups
    from workbench.methods import list_methods

    app = open_page("method", {"student": "lenet5_half"})
    groups = method_groups(list_methods())
    assert [tab.label for tab in app.tabs] == [f"{group} ({len(members)})" for group, members in groups.items()]
    for tab, members in zip(app.tabs, groups.values()):
        assert sorted(box.key for box in tab.checkbox) == sorted(f"w.method.{m.name}" for m in members)
    # a tick in a later tab stays while the other tabs are drawn, and after another page was shown
    app.checkbox(key="w.method.tfkd").check().run()
    app.checkbox(key="w.method.rkd").check().run()
    assert app.checkbox(key="w.method.tfkd").value and app.checkbox(key="w.method.rkd").value
    assert "Will run: kd, tfkd, rkd" in app.success[0].value
    app.switch_page("train.py").run()
    app.switch_page("method.py").run()
    assert not app.exception
    assert app.checkbox(key="w.method.tfkd").value and app.checkbox(key="w.method.rkd").value
    assert app.query_params["methods"] == "kd,tfkd,rkd"


def test_response_and_data_free_cards_picture_how_their_knowledge_flows():
    app = open_page("method", {"temperature": "6", "alpha_schedule": "linear", "alpha": "1", "alpha_end": "0"})
    texts = figure_texts(app)
    kd = next(text for text in texts if text.startswith("kd: soft targets"))
    assert "T = 6" in kd and "α: 1 → 0 linear" in kd and "teacher (frozen)" in kd
    assert any(text.startswith("baseline: the student learns the labels alone") for text in texts)
    assert any(text.startswith("dafl: a generator makes the images") for text in texts)
    assert any(text.startswith("pre-dfkd: a generator makes the images") for text in texts)
