# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 6 · The lightweight teacher
#
# **What you will see.** LW-KD's idea: instead of a large teacher trained on the target data, a tiny teacher
# trained in seconds on *synthesised* glyphs shaped like the target dataset (ten rendered symbols for ten
# classes). Its soft targets for a class are transferred to the real images of that class, and a discriminator
# pushes the student's output distribution towards the teacher's. You will see the glyphs, the glyph
# teacher's cost, and LW-KD beside vanilla KD (with a real teacher) and the baseline.

# %% tags=["parameters"]
# Quick mode (the default): digits, a few epochs, CPU; the whole notebook runs in about a minute.
# Set QUICK = False for the full setting: Fashion-MNIST, more epochs, on a GPU when there is one.
QUICK = True

# %%
from workbench import viz, widgets
from workbench.config import RunConfig
from workbench.glyph_teacher import get_glyph_teacher
from workbench.glyphs import glyph_preview
from workbench.runner import run_recorded

if QUICK:
    base = RunConfig.from_dict(
        {
            "dataset": "digits",
            "student": "lenet5_half",
            "teachers": ["cnn"],
            "epochs": 3,
            "batch_size": 32,
            "device": "cpu",
        }
    )
else:
    base = RunConfig.from_dict(
        {
            "dataset": "fashion-mnist",
            "student": "lenet5_half",
            "teachers": ["lenet5"],
            "epochs": 15,
            "batch_size": 128,
            "device": "auto",
        }
    )
glyphs = {"glyphs_per_class": 300, "glyph_arch": "lenet5"}  # LW-KD's method params: the glyph teacher

# %%
from workbench.paths import default_runs_dir
from workbench.store import RunStore

store = RunStore(default_runs_dir())  # the app's run store: these runs also show on its Compare page

# %% [markdown]
# ## The synthesised glyph dataset

# %%
viz.image_grid_figure(glyph_preview(base.dataset, 40).numpy(), f"Glyphs shaped like {base.dataset}", columns=10)

# %% [markdown]
# ## Its teacher: trained in seconds (cached after the first time)

# %%
teacher, record = get_glyph_teacher(base.dataset, glyphs["glyph_arch"], per_class=glyphs["glyphs_per_class"])
print(
    f"glyph teacher {record.arch}: {record.params:,} parameters, {record.train_seconds:.1f} s to train, "
    f"{record.test_acc:.3f} accuracy on held-out glyphs"
)

# %% [markdown]
# ## LW-KD against KD and the baseline

# %%
live = widgets.LivePlot("test_acc", "Test accuracy per epoch")
live.figure

# %%
configs = {
    "baseline": base.replace(method="baseline"),
    "KD (real teacher)": base.replace(method="kd"),
    "LW-KD (glyph teacher)": base.replace(method="lwkd", alpha=0.5, method_params=glyphs),
}
runs = {}
for label, config in configs.items():
    runs[label], _ = run_recorded(config.replace(name=f"notebook 6: {label}"), store, callbacks=[live.callback(label)])
viz.comparison_table([store.get_run(run_id) for run_id in runs.values()])[
    ["run", "final test acc", "best test acc", "wall s", "gain vs baseline (pts)"]
]

# %%
viz.loss_terms_figure(
    store.metrics_frame(runs["LW-KD (glyph teacher)"], scope="step"), {runs["LW-KD (glyph teacher)"]: "LW-KD"}
)

# %% [markdown]
# ## Questions to try
#
# 1. How does LW-KD's gain compare with KD's, given that its teacher never saw a real image?
# 2. Add the glyph teacher's training time to LW-KD's wall time: is it still cheaper than training a real
#    teacher (see `kdw teachers`)?
# 3. Set `w_adv` to 0 in `glyphs` (method params): how much does the discriminator contribute?
# 4. Fewer glyphs per class (e.g. 20): when does the lightweight teacher become too weak to help?
# 5. LW-KD runs here at α = 0.5. Try α = 0.9: how much of a glyph teacher's advice can the student take?
