# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 7 · Hyperparameter interactions
#
# **What you will see.** Vanilla KD trained over a grid of temperatures × α, each cell over several seeds,
# through the workbench API. The heatmap gives each cell's mean accuracy with its ± std across seeds, and a
# second heatmap the seed noise itself: a difference between two cells smaller than their noise is not a
# finding. A baseline over the same seeds is the reference.

# %% tags=["parameters"]
# Quick mode (the default): digits, a few epochs, CPU; the whole notebook runs in about a minute.
# Set QUICK = False for the full setting: Fashion-MNIST, more epochs, on a GPU when there is one.
QUICK = True

# %%
import pandas as pd

from workbench import viz
from workbench.config import RunConfig
from workbench.runner import run_recorded

if QUICK:
    base = RunConfig.from_dict(
        {
            "dataset": "digits",
            "student": "lenet5_half",
            "teachers": ["cnn"],
            "method": "kd",
            "epochs": 3,
            "batch_size": 32,
            "device": "cpu",
        }
    )
    TEMPERATURES, ALPHAS, SEEDS = [1.0, 4.0, 10.0], [0.3, 0.9], [0, 1]
else:
    base = RunConfig.from_dict(
        {
            "dataset": "fashion-mnist",
            "student": "lenet5_half",
            "teachers": ["lenet5"],
            "method": "kd",
            "epochs": 10,
            "batch_size": 128,
            "device": "auto",
        }
    )
    TEMPERATURES, ALPHAS, SEEDS = [1.0, 2.0, 4.0, 8.0, 16.0], [0.1, 0.3, 0.5, 0.7, 0.9], [0, 1, 2]

# %%
from workbench.paths import default_runs_dir
from workbench.store import RunStore

store = RunStore(default_runs_dir())  # the app's run store: these runs also show on its Compare page

# %% [markdown]
# ## The grid (a plain loop over the API; every run is recorded in the store)

# %%
rows = []
for temperature in TEMPERATURES:
    for alpha in ALPHAS:
        for seed in SEEDS:
            config = base.replace(
                temperature=temperature,
                alpha=alpha,
                seed=seed,
                name=f"notebook 7: T={temperature:g} α={alpha:g} seed {seed}",
            )
            _, result = run_recorded(config, store)
            rows.append(
                {"temperature": temperature, "alpha": alpha, "seed": seed, "test_acc": result.final_metrics["test_acc"]}
            )
results = pd.DataFrame(rows)
baseline = [
    run_recorded(base.replace(method="baseline", seed=seed, name=f"notebook 7: baseline seed {seed}"), store)[
        1
    ].final_metrics["test_acc"]
    for seed in SEEDS
]
print(f"baseline over {len(SEEDS)} seeds: {pd.Series(baseline).mean():.3f} ± {pd.Series(baseline).std():.3f}")

# %% [markdown]
# ## The heatmap with seed noise

# %%
viz.grid_heatmap_figure(results, "temperature", "alpha")

# %%
summary = results.groupby(["temperature", "alpha"])["test_acc"].agg(["mean", "std"]).reset_index()
summary["gain vs baseline (pts)"] = 100 * (summary["mean"] - pd.Series(baseline).mean())
summary.sort_values("mean", ascending=False).round({"mean": 3, "std": 3, "gain vs baseline (pts)": 1})

# %% [markdown]
# ## Questions to try
#
# 1. Is the best cell better than the second best by more than their seed noise?
# 2. Does the best α depend on *T*? Where is the interaction strongest?
# 3. At *T* = 1 the soft and hard targets nearly coincide: does α matter there?
# 4. Add seeds (`SEEDS`): does the ranking of the cells hold?
# 5. Compare the cell means with the baseline: which settings make KD *worse* than no teacher?
