# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 1 · Soft targets and temperature
#
# **What you will see.** A trained teacher's outputs for real test images, first as the near one-hot
# probabilities it normally gives, then softened by a temperature *T* with a slider. As *T* grows the
# probabilities of the *wrong* classes become visible: which wrong digit (or garment) an image resembles is
# the "dark knowledge" a student learns from in knowledge distillation. The last figure shows why the
# distillation loss is multiplied by *T²*.

# %% tags=["parameters"]
# Quick mode (the default): digits, a few epochs, CPU; the whole notebook runs in about a minute.
# Set QUICK = False for the full setting: Fashion-MNIST, more epochs, on a GPU when there is one.
QUICK = True

# %%
from workbench import previews, viz, widgets
from workbench.config import RunConfig

if QUICK:
    config = RunConfig.from_dict({"dataset": "digits", "teachers": ["cnn"], "device": "cpu"})
else:
    config = RunConfig.from_dict({"dataset": "fashion-mnist", "teachers": ["lenet5"], "device": "auto"})
preview = previews.load_soft_target_preview(config, count=6)  # one test image per class and the teacher's logits

# %% [markdown]
# ## The temperature slider
#
# The teacher's softmax at temperature *T* is $p_i = \exp(z_i/T) / \sum_j \exp(z_j/T)$. At *T* = 1 it is
# what the teacher predicts; larger *T* flattens it. Move the slider: the red bar is the true class, the
# titles give each distribution's entropy *H* in nats (at most ln 10 ≈ 2.30 for ten classes).

# %%
panel = widgets.SoftTargetPanel(preview, temperature=1.0)
panel.view

# %% [markdown]
# ## Dark knowledge: which wrong classes?
#
# At a moderate temperature the two most likely *wrong* classes of each image are not random: they are the
# classes the teacher finds similar.

# %%
import pandas as pd

soft = viz.soften(preview.logits, 4.0)
rows = []
for image, label in enumerate(preview.labels):
    wrong = [c for c in soft[image].argsort()[::-1] if c != label][:2]
    rows.append(
        {
            "label": preview.class_names[label],
            "p(label) at T=4": round(soft[image, label], 3),
            "most similar": preview.class_names[wrong[0]],
            "p": round(soft[image, wrong[0]], 3),
            "next": preview.class_names[wrong[1]],
            "p ": round(soft[image, wrong[1]], 3),
        }
    )
pd.DataFrame(rows)

# %% [markdown]
# ## Why the loss carries T²
#
# The soft-target loss is $\mathrm{KL}(p_T \,\|\, q_T)$ between teacher and student softened at the
# same *T*. Its gradient with respect to the student's logits is $(q_T - p_T)/T$, and $q_T - p_T$ itself
# shrinks roughly like $1/T$, so without correction the soft loss's gradients fall like $1/T^2$ and the
# hard-label loss would dominate at high *T*. Multiplying by *T²* keeps both on the same scale
# (Hinton et al., 2015). Left: what the soft targets carry; right: the gradient at an untrained student,
# with and without the factor.

# %%
viz.temperature_effects_figure(preview, [0.5, 1, 1.5, 2, 3, 4, 6, 8, 12, 16, 20])

# %% [markdown]
# ## Questions to try
#
# 1. At which temperature do the wrong classes first get visible bars? Is it the same for every image?
# 2. Which pairs of classes does the teacher find similar? Do they look alike to you?
# 3. Why does the entropy stop growing at very high *T*, and what does a student learn from a uniform target?
# 4. Set `QUICK = False` (Fashion-MNIST): are garments' wrong classes more or less informative than digits'?
# 5. In the right-hand plot, by what factor does the unscaled gradient fall from *T* = 2 to *T* = 8?
