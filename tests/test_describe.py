"""What the app says about a setup and its runs (the Train page's summary, run names) and how the Method page
groups the methods: workbench.describe, and the Train page showing it (AppTest, nothing trains)."""

from test_app import open_page

from workbench.app_state import Setup
from workbench.config import RunConfig
from workbench.describe import (
    GROUP_ORDER,
    method_group,
    method_groups,
    precision_label,
    run_name,
    schedule_text,
    setup_summary,
)
from workbench.methods import list_methods
from workbench.text import escape_markdown


def test_the_summary_of_the_default_setup_reads_as_before_plus_its_clipping():
    text = setup_summary(RunConfig(), 2)
    assert text.startswith("**fashion\\-mnist** · teacher **cnn** → student **lenet5\\_half** · T = 4, α = 0.9 · ")
    assert "10 epoch(s), batch 64, lr 0.05, gradient norm clipped to 5" in text and "2 seed(s)" in text
    assert "W32" not in text and "warm-up" not in text and "left out" not in text


def test_the_summary_shows_bit_widths_schedules_omitted_classes_and_warm_up():
    config = RunConfig(
        method="qkd",
        w_bits="ternary",
        a_bits="8",
        alpha=1.0,
        alpha_end=0.0,
        alpha_schedule="linear",
        temperature_schedule="step",
        temperature=8.0,
        temperature_end=2.0,
        schedule_steps=2,
        schedule_fraction=0.5,
        omit_classes=[3, 5],
        warmup_epochs=1.5,
        grad_clip=0.0,
    )
    text = setup_summary(config, 1)
    assert "student **lenet5\\_half** at WternaryA8 (weights ternary, activations 8-bit)" in text
    assert "α 1 → 0 (linear, over the first 50% of training)" in text
    assert "T 8 → 2 (step, 2 drops, over the first 50% of training)" in text
    assert "classes 3, 5 left out of training" in text and "warm-up 1.5 epoch(s)" in text
    assert "clipped" not in text  # grad_clip 0: no clipping


def test_schedule_text_is_short_for_a_constant_value():
    assert schedule_text("α", "constant", 0.9, 0.0) == "α = 0.9"
    assert schedule_text("α", "cosine", 1.0, 0.0) == "α 1 → 0 (cosine)"


def test_names_from_a_link_are_escaped_in_the_summary():
    config = RunConfig()
    config.teachers = ["[x](https://evil.example)"]  # as if validation let it through
    text = setup_summary(config, 1)
    assert escape_markdown("[x](https://evil.example)") in text and "](" not in text


def test_run_names_carry_the_bit_widths_of_a_quantised_student():
    assert precision_label("32", "32") == "" and precision_label("2", "32") == "W2A32"
    assert run_name("kd", RunConfig(), 3) == "kd · seed 3"
    assert run_name("qkd", RunConfig(w_bits="2"), 0) == "qkd W2A32 · seed 0"
    setup = Setup(RunConfig(w_bits="2", a_bits="4"), methods=["qkd"], seeds=2)
    assert [c.name for c in setup.run_configs()] == [
        "qkd W2A4 · seed 0",
        "qkd W2A4 · seed 1",
        "baseline W2A4 · seed 0",
        "baseline W2A4 · seed 1",
    ]


def test_every_method_is_in_exactly_one_group_read_from_its_declaration():
    methods = list_methods()
    groups = method_groups(methods)
    assert sorted(m.name for group in groups.values() for m in group) == sorted(m.name for m in methods)
    assert list(groups) == [name for name in GROUP_ORDER if name in groups]
    for name, members in groups.items():
        for method in members:
            assert method_group(method) == name
            if method.scheme == "offline":
                assert name.lower().startswith(method.category)
            else:
                assert method.scheme.split("-")[0] in name.lower()


def test_the_train_page_summarises_a_quantised_decaying_alpha_setup():
    app = open_page(
        "train",
        {
            "methods": "qkd",
            "w_bits": "ternary",
            "alpha": "1",
            "alpha_end": "0",
            "alpha_schedule": "linear",
            "omit_classes": "3",
        },
    )
    summary = app.markdown[0].value
    assert "WternaryA32" in summary and "α 1 → 0 (linear)" in summary and "class 3 left out of training" in summary
    planned = " ".join(caption.value for caption in app.caption)
    assert "qkd WternaryA32 · seed 0" in planned and "baseline WternaryA32 · seed 0" in planned
