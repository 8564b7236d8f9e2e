# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 2 · Vanilla KD, live
#
# **What you will see.** A student trained alone on the labels (the *baseline*) and the same student trained
# with Hinton's knowledge distillation, their test accuracy drawn live, epoch by epoch, in one chart; the gain
# KD brings; then a panel with α and *T* sliders and a Run button to train more KD students yourself.
#
# The KD loss is $(1-\alpha)\,\mathrm{CE}(y, q) + \alpha\,T^2\,\mathrm{KL}(p_T \,\|\, q_T)$: α weighs
# the teacher's soft targets against the true labels.

# %% tags=["parameters"]
# Quick mode (the default): the workbench's default setup (2,000 Fashion-MNIST images, 10 epochs), on the CPU,
# 2 seeds; the whole notebook runs in about a minute. Set QUICK = False for the full setting: all 60,000 images,
# 15 epochs, 3 seeds, on a GPU when there is one.
QUICK = True

# %%
import ipywidgets as ipw

from workbench import viz, widgets
from workbench.config import RunConfig
from workbench.engine import fit
from workbench.runner import resolve_teachers

if QUICK:
    base = RunConfig.from_dict({"device": "cpu"})  # the default setup: the app's and kdw demo's
else:
    base = RunConfig.from_dict({"train_subset": 0, "epochs": 15, "device": "auto"})
SEEDS = 2 if QUICK else 3  # one seed is not evidence
kd_config = base.replace(method="kd", alpha=0.9, temperature=4.0)
viz.schedule_figure(kd_config)

# %% [markdown]
# ## Baseline and KD, drawn as they train
#
# The chart below is a live plotly `FigureWidget`: the next cell trains both students with `engine.fit` (the KD
# student's teacher handed to it, from `resolve_teachers`) and a callback that adds a point after every epoch, once
# per seed, and says whether KD's gain is more than the seed noise (the same claim
# `kdw lessons check good-starting-point` checks over 5 seeds).

# %%
live = widgets.LivePlot("test_acc", "Test accuracy per epoch: baseline vs KD")
live.figure

# %%
from workbench.evidence import measure_effect, verdict_sentence

baseline, distilled = [], []
teachers = resolve_teachers(kd_config)  # the teacher fit needs: found in the cache (or trained first, recorded)
for seed in range(SEEDS):
    baseline.append(fit(base.replace(method="baseline", seed=seed), [live.callback(f"baseline s{seed}")]))
    distilled.append(fit(kd_config.replace(seed=seed), [live.callback(f"KD α=0.9 T=4 s{seed}")], **teachers))
effect = measure_effect(
    [run.final_metrics["test_acc"] for run in distilled], [run.final_metrics["test_acc"] for run in baseline]
)
print(verdict_sentence("KD", "baseline", effect))

# %% [markdown]
# ## Your turn: α and T
#
# Choose α and *T* and press **Run**; every run adds a curve. (The next cell also presses it once from code,
# so the notebook shows a result when run top to bottom.)

# %%
panel = widgets.RunPanel(
    base.replace(method="kd"),
    {
        "alpha": ipw.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="α"),
        "temperature": ipw.FloatSlider(value=2.0, min=1.0, max=20.0, step=0.5, description="T"),
    },
    live=widgets.LivePlot("test_acc", "Your KD runs"),
)
panel.on_click()
panel.view

# %% [markdown]
# ## Questions to try
#
# 1. Is the gain over the baseline larger than the difference between two seeds of the baseline?
#    (Change `seed` in `base` and rerun.)
# 2. With α = 1 the student never sees a label. How well does it do, and why?
# 3. Try *T* = 1 and *T* = 20 with α = 0.9. Which is better here, and does notebook 1 explain why?
# 4. With fewer training images (`train_subset` = 200 in `base`), does KD help more or less?
