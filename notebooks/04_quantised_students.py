# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 4 · Quantised students
#
# **What you will see.** Students whose weights (and activations) are quantised to a few bits, trained with
# fake quantisation and the straight-through estimator. A panel with bit-width sliders trains one at a time;
# then the same 4-bit student is trained plain, with KD at a constant α, with KD whose α decays over training
# (QKD's gradual soft-loss reduction) and with SPEQ (the student's own stochastic-precision ensemble as its
# teacher). The last chart puts accuracy against model size.

# %% tags=["parameters"]
# Quick mode (the default): digits, a few epochs, CPU; the whole notebook runs in about a minute.
# Set QUICK = False for the full setting: Fashion-MNIST, more epochs, on a GPU when there is one.
QUICK = True

# %%
import ipywidgets as ipw
import pandas as pd

from workbench import viz, widgets
from workbench.config import RunConfig
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
            "epochs": 20,
            "batch_size": 128,
            "device": "auto",
        }
    )

# %%
from workbench.paths import default_runs_dir
from workbench.store import RunStore

store = RunStore(default_runs_dir())  # the app's run store: these runs also show on its Compare page

# %% [markdown]
# ## Bit-width sliders
#
# `w_bits` quantises the weights (1 = binary, ternary = {−1, 0, +1}·scale), `a_bits` the activations.
# Press **Run** to train a QKD student at the chosen precision (it runs once from code too).

# %%
panel = widgets.RunPanel(
    base.replace(method="qkd", alpha=0.5),
    {
        "w_bits": ipw.SelectionSlider(options=["1", "ternary", "2", "4", "8", "32"], value="4", description="w bits"),
        "a_bits": ipw.SelectionSlider(options=["2", "4", "8", "32"], value="8", description="a bits"),
        "alpha_schedule": ipw.ToggleButtons(options=["constant", "linear"], value="constant", description="α"),
    },
    live=widgets.LivePlot("test_acc", "Your quantised students"),
)
panel.on_click()
panel.view

# %% [markdown]
# ## Constant versus decaying α
#
# QKD lowers the weight of the soft loss as training goes on: α falls linearly from α₀ to α_end over the
# first part of training (`schedule_fraction`), so the student first imitates the teacher, then fits the labels.

# %%
decaying = base.replace(
    method="qkd", w_bits="4", a_bits="4", alpha=0.9, alpha_end=0.1, alpha_schedule="linear", schedule_fraction=0.8
)
viz.schedule_figure(decaying)

# %%
live = widgets.LivePlot("test_acc", "4-bit students: test accuracy per epoch")
live.figure

# %%
low = {"w_bits": "4", "a_bits": "4"}
configs = {
    "fp32 baseline": base.replace(method="baseline"),
    "4-bit baseline": base.replace(method="baseline", **low),
    "4-bit KD, constant α": base.replace(method="qkd", alpha=0.5, **low),
    "4-bit KD, decaying α": decaying,
    "4-bit SPEQ": base.replace(method="speq", **low),
    "ternary KD, decaying α": decaying.replace(w_bits="ternary"),
}
results = {}
for label, config in configs.items():
    _, results[label] = run_recorded(
        config.replace(name=f"notebook 4: {label}"), store, callbacks=[live.callback(label)]
    )
points = pd.DataFrame(
    [
        {"label": label, "size_kb": result.final_metrics["size_kb"], "test_acc": result.final_metrics["test_acc"]}
        for label, result in results.items()
    ]
)
points

# %% [markdown]
# ## Accuracy versus size

# %%
viz.accuracy_size_figure(points)

# %% [markdown]
# ## Questions to try
#
# 1. How much accuracy does the 4-bit baseline lose against fp32, and how much of it does KD win back?
# 2. Does the decaying α beat the constant one? Try `schedule_fraction` 0.3 and 1.0.
# 3. Move `a_bits` to 2 in the panel: are activations or weights the harder thing to quantise?
# 4. SPEQ needs no external teacher. When would you prefer it to QKD?
# 5. Which runs are on the Pareto front, and would a larger quantised student beat a smaller fp32 one?
