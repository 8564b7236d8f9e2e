# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 5 · Data-free distillation
#
# **What you will see.** Students that never read a training image. DAFL trains a generator to produce images
# the frozen teacher classifies confidently and evenly across classes, and distils on those; PRE-DFKD adds a
# VAE memory that replays earlier pseudo samples so the student does not forget. You will watch the generated
# (and replayed) samples evolve epoch by epoch, then compare the runs' accuracy over training: its mean,
# variance and best, since without data there is no validation set to pick the best epoch with.

# %% tags=["parameters"]
# Quick mode (the default): digits, a few epochs, CPU; the whole notebook runs in about a minute.
# Set QUICK = False for the full setting: Fashion-MNIST, more epochs, on a GPU when there is one.
QUICK = True

# %%

from workbench import stability, viz, widgets
from workbench.config import RunConfig
from workbench.runner import run_recorded

if QUICK:
    base = RunConfig.from_dict(
        {
            "dataset": "digits",
            "student": "lenet5_half",
            "teachers": ["cnn"],
            "epochs": 4,
            "batch_size": 32,
            "device": "cpu",
            "optimizer": "adam",
            "lr": 2e-3,
            "cache_teacher_logits": False,
        }
    )
    generator = {"iterations": 40, "gen_width": 64}
else:
    base = RunConfig.from_dict(
        {
            "dataset": "fashion-mnist",
            "student": "lenet5_half",
            "teachers": ["lenet5"],
            "epochs": 40,
            "batch_size": 128,
            "device": "auto",
            "optimizer": "adam",
            "lr": 2e-3,
            "cache_teacher_logits": False,
        }
    )
    generator = {"iterations": 200, "gen_width": 128}

# %%
from workbench.paths import default_runs_dir
from workbench.store import RunStore

store = RunStore(default_runs_dir())  # the app's run store: these runs also show on its Compare page

# %% [markdown]
# ## DAFL: the generator's images, as they evolve

# %%
dafl_samples = widgets.LiveSamples("generated", "DAFL generated images")
live = widgets.LivePlot("test_acc", "Test accuracy per epoch (no training image read)")
dafl_samples.view

# %%
live.figure

# %%
runs = {}
runs["DAFL"], dafl = run_recorded(
    base.replace(method="dafl", method_params=generator, name="notebook 5: DAFL"),
    store,
    callbacks=[live.callback("DAFL"), dafl_samples.callback()],
)
viz.sample_evolution_figure(dafl_samples.snapshots, "DAFL samples by epoch")

# %% [markdown]
# ## PRE-DFKD: new samples and replayed memories

# %%
novel = widgets.LiveSamples("generated", "PRE-DFKD new samples")
replayed = widgets.LiveSamples("replayed", "PRE-DFKD replayed from the VAE memory")
runs["PRE-DFKD"], pre = run_recorded(
    base.replace(method="pre-dfkd", temperature=2.0, method_params=generator, name="notebook 5: PRE-DFKD"),
    store,
    callbacks=[live.callback("PRE-DFKD"), novel.callback(), replayed.callback()],
)
viz.sample_evolution_figure(novel.snapshots, "PRE-DFKD new samples by epoch")

# %%
viz.sample_evolution_figure(replayed.snapshots, "PRE-DFKD replayed samples by epoch")

# %%
memory = pre.history[-1]
print(
    f"VAE memory: {memory['memory_vae_bytes'] / 1024:.0f} KB of weights, standing in for a buffer of "
    f"{memory['memory_buffer_bytes'] / 1024:.0f} KB ({memory['memory_samples']:.0f} samples)"
)

# %% [markdown]
# ## Accuracy over training: mean, variance and best
#
# A reference: the same student, with the same optimiser, trained on the real data (baseline). PRE-DFKD runs
# at T = 2 here, the setting its own tests use.

# %%
runs["baseline (real data)"], _ = run_recorded(base.replace(method="baseline", name="notebook 5: baseline"), store)
table = stability.stability_table(store.metrics_frame(list(runs.values())))
table.insert(0, "run", table["run_id"].map({run_id: label for label, run_id in runs.items()}))
table.drop(columns="run_id")

# %%
viz.compare_figure(
    store.metrics_frame(list(runs.values()), scope="epoch"), {label: [run_id] for label, run_id in runs.items()}
)

# %% [markdown]
# ## Questions to try
#
# 1. When do the generated images start to look like digits, if ever? Does the teacher care?
# 2. Which run has the higher *mean* accuracy over training, and which the higher *best*? Why does the
#    difference matter when you have no validation data?
# 3. Raise `iterations` or `epochs`: does DAFL's accuracy keep climbing or swing?
# 4. How much smaller is PRE-DFKD's VAE memory than a buffer of the same samples?
# 5. Set `w_ie` (information entropy) to 0 in `generator`: what happens to the class balance of the samples?
