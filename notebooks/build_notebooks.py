"""Writes the tutorial notebooks (01_…07_*.ipynb) from the cell sources below, with no outputs.

The notebooks are generated so that committed files never carry outputs or execution counts and their
diffs stay readable: edit the cells here, then run `.venv/bin/python notebooks/build_notebooks.py`."""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
KERNEL = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
          "language_info": {"name": "python"}}

PARAMETERS = """\
# Quick mode (the default): digits, a few epochs, CPU; the whole notebook runs in about a minute.
# Set QUICK = False for the full setting: Fashion-MNIST, more epochs, on a GPU when there is one.
QUICK = True"""

RECORD = """\
from workbench.paths import default_runs_dir
from workbench.store import RunStore

store = RunStore(default_runs_dir())  # the app's run store: these runs also show on its Compare page"""


def md(text: str) -> nbformat.NotebookNode:
    """A markdown cell."""
    return new_markdown_cell(text.strip())


def code(text: str) -> nbformat.NotebookNode:
    """A code cell."""
    return new_code_cell(text.strip())


def parameters() -> nbformat.NotebookNode:
    """The cell tagged `parameters` (papermill / nbmake convention) holding QUICK."""
    cell = new_code_cell(PARAMETERS)
    cell.metadata["tags"] = ["parameters"]
    return cell


def opening(title: str, what_you_see: str) -> list[nbformat.NotebookNode]:
    """A notebook's first two cells: the title with what the reader will see, then the parameters cell."""
    return [md(f"# {title}\n\n**What you will see.** {what_you_see.strip()}"), parameters()]


def setup(imports: str, full_epochs: int, *, quick_extra: str = "", full_extra: str = "",
          then: str = "") -> nbformat.NotebookNode:
    """The setup cell most notebooks share: `imports`, then the `base` config of the lenet5_half student, on
    digits for 3 epochs on the CPU when QUICK, else on Fashion-MNIST for `full_epochs` on a GPU if there is
    one; `quick_extra` and `full_extra` are one more line of each branch, `then` lines after the branches."""
    quick_line = f"\n    {quick_extra}" if quick_extra else ""
    full_line = f"\n    {full_extra}" if full_extra else ""
    return code(f"""
{imports.strip()}

if QUICK:
    base = RunConfig.from_dict({{"dataset": "digits", "student": "lenet5_half", "teachers": ["cnn"],
                                "epochs": 3, "batch_size": 32, "device": "cpu"}}){quick_line}
else:
    base = RunConfig.from_dict({{"dataset": "fashion-mnist", "student": "lenet5_half", "teachers": ["lenet5"],
                                "epochs": {full_epochs}, "batch_size": 128, "device": "auto"}}){full_line}
{then.strip()}
""")


def live_plot(title: str) -> nbformat.NotebookNode:
    """A cell showing a live test-accuracy chart, `live`, that training callbacks draw on."""
    return code(f"""
live = widgets.LivePlot("test_acc", "{title}")
live.figure
""")


def questions(numbered_list: str) -> nbformat.NotebookNode:
    """A notebook's last cell: the questions to try (a numbered markdown list)."""
    return md(f"## Questions to try\n\n{numbered_list.strip()}")


SOFT_TARGETS = [
    *opening("1 · Soft targets and temperature", """
A trained teacher's outputs for real test images, first as the near one-hot
probabilities it normally gives, then softened by a temperature *T* with a slider. As *T* grows the
probabilities of the *wrong* classes become visible: which wrong digit (or garment) an image resembles is
the "dark knowledge" a student learns from in knowledge distillation. The last figure shows why the
distillation loss is multiplied by *T²*.
"""),
    code("""
from workbench import previews, viz, widgets
from workbench.config import RunConfig

if QUICK:
    config = RunConfig.from_dict({"dataset": "digits", "teachers": ["cnn"], "device": "cpu"})
else:
    config = RunConfig.from_dict({"dataset": "fashion-mnist", "teachers": ["lenet5"], "device": "auto"})
preview = previews.load_soft_target_preview(config, count=6)  # one test image per class and the teacher's logits
"""),
    md("""
## The temperature slider

The teacher's softmax at temperature *T* is $p_i = \\exp(z_i/T) / \\sum_j \\exp(z_j/T)$. At *T* = 1 it is
what the teacher predicts; larger *T* flattens it. Move the slider: the red bar is the true class, the
titles give each distribution's entropy *H* in nats (at most ln 10 ≈ 2.30 for ten classes).
"""),
    code("""
panel = widgets.SoftTargetPanel(preview, temperature=1.0)
panel.view
"""),
    md("""
## Dark knowledge: which wrong classes?

At a moderate temperature the two most likely *wrong* classes of each image are not random: they are the
classes the teacher finds similar.
"""),
    code("""
import pandas as pd

soft = viz.soften(preview.logits, 4.0)
rows = []
for image, label in enumerate(preview.labels):
    wrong = [c for c in soft[image].argsort()[::-1] if c != label][:2]
    rows.append({"label": preview.class_names[label], "p(label) at T=4": round(soft[image, label], 3),
                 "most similar": preview.class_names[wrong[0]], "p": round(soft[image, wrong[0]], 3),
                 "next": preview.class_names[wrong[1]], "p ": round(soft[image, wrong[1]], 3)})
pd.DataFrame(rows)
"""),
    md("""
## Why the loss carries T²

The soft-target loss is $\\mathrm{KL}(p_T \\,\\|\\, q_T)$ between teacher and student softened at the
same *T*. Its gradient with respect to the student's logits is $(q_T - p_T)/T$, and $q_T - p_T$ itself
shrinks roughly like $1/T$, so without correction the soft loss's gradients fall like $1/T^2$ and the
hard-label loss would dominate at high *T*. Multiplying by *T²* keeps both on the same scale
(Hinton et al., 2015). Left: what the soft targets carry; right: the gradient at an untrained student,
with and without the factor.
"""),
    code("""
viz.temperature_effects_figure(preview, [0.5, 1, 1.5, 2, 3, 4, 6, 8, 12, 16, 20])
"""),
    questions("""
1. At which temperature do the wrong classes first get visible bars? Is it the same for every image?
2. Which pairs of classes does the teacher find similar? Do they look alike to you?
3. Why does the entropy stop growing at very high *T*, and what does a student learn from a uniform target?
4. Set `QUICK = False` (Fashion-MNIST): are garments' wrong classes more or less informative than digits'?
5. In the right-hand plot, by what factor does the unscaled gradient fall from *T* = 2 to *T* = 8?
"""),
]

VANILLA_KD = [
    *opening("2 · Vanilla KD, live", """
A student trained alone on the labels (the *baseline*) and the same student trained
with Hinton's knowledge distillation, their test accuracy drawn live, epoch by epoch, in one chart; the gain
KD brings; then a panel with α and *T* sliders and a Run button to train more KD students yourself.

The KD loss is $(1-\\alpha)\\,\\mathrm{CE}(y, q) + \\alpha\\,T^2\\,\\mathrm{KL}(p_T \\,\\|\\, q_T)$: α weighs
the teacher's soft targets against the true labels.
"""),
    setup("""
import ipywidgets as ipw

from workbench import viz, widgets
from workbench.config import RunConfig
from workbench.engine import fit
from workbench.runner import resolve_teachers
""", full_epochs=15, quick_extra='base = RunConfig.from_dict({"device": "cpu"})  # the default setup: the app\'s, kdw demo\'s',
         then="""
SEEDS = 2 if QUICK else 3  # one seed is not evidence
kd_config = base.replace(method="kd", alpha=0.9, temperature=4.0)
viz.schedule_figure(kd_config)
"""),
    md("""
## Baseline and KD, drawn as they train

The chart below is a live plotly `FigureWidget`: the next cell trains both students with `engine.fit` (the KD
student's teacher handed to it, from `resolve_teachers`) and a callback that adds a point after every epoch, once
per seed, and says whether KD's gain is more than the seed noise (the same claim
`kdw lessons check good-starting-point` checks over 5 seeds).
"""),
    live_plot("Test accuracy per epoch: baseline vs KD"),
    code("""
from workbench.evidence import measure_effect, verdict_sentence

baseline, distilled = [], []
teachers = resolve_teachers(kd_config)  # the teacher fit needs: found in the cache (or trained first, recorded)
for seed in range(SEEDS):
    baseline.append(fit(base.replace(method="baseline", seed=seed), [live.callback(f"baseline s{seed}")]))
    distilled.append(fit(kd_config.replace(seed=seed), [live.callback(f"KD α=0.9 T=4 s{seed}")], **teachers))
effect = measure_effect([run.final_metrics["test_acc"] for run in distilled],
                        [run.final_metrics["test_acc"] for run in baseline])
print(verdict_sentence("KD", "baseline", effect))
"""),
    md("""
## Your turn: α and T

Choose α and *T* and press **Run**; every run adds a curve. (The next cell also presses it once from code,
so the notebook shows a result when run top to bottom.)
"""),
    code("""
panel = widgets.RunPanel(
    base.replace(method="kd"),
    {"alpha": ipw.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="α"),
     "temperature": ipw.FloatSlider(value=2.0, min=1.0, max=20.0, step=0.5, description="T")},
    live=widgets.LivePlot("test_acc", "Your KD runs"))
panel.on_click()
panel.view
"""),
    questions("""
1. Is the gain over the baseline larger than the difference between two seeds of the baseline?
   (Change `seed` in `base` and rerun.)
2. With α = 1 the student never sees a label. How well does it do, and why?
3. Try *T* = 1 and *T* = 20 with α = 0.9. Which is better here, and does notebook 1 explain why?
4. With fewer training images (`train_subset` = 200 in `base`), does KD help more or less?
"""),
]

FEATURES = [
    *opening("3 · Features, relations and ensembles", """
Students taught by what the teacher computes *inside*, not only by its outputs:
FitNets (match an intermediate feature map through a regressor), attention transfer (match *where* the
networks look), RKD (match the distances and angles between examples), and FEED with several teachers in
parallel or a chain of students in sequence, all on one accuracy chart beside a baseline and vanilla KD.
Then the attention maps of the teacher and of the students, drawn.
"""),
    setup("""
import pandas as pd

from workbench import viz, widgets
from workbench.config import RunConfig
from workbench.generations import run_generations
from workbench.methods import get_method
from workbench.methods.features import preview_feature_matches
from workbench.runner import run_recorded
""", full_epochs=15, quick_extra='two_teachers, generations = ["cnn", "lenet5"], 2',
          full_extra='two_teachers, generations = ["lenet5", "cnn"], 3'),
    code(RECORD),
    md("""
## The methods

Each method's card, from the registry (the same text as `kdw methods` and the app):
"""),
    code("""
METHODS = ["fitnets", "at", "rkd", "feed-parallel", "feed-sequential"]
pd.DataFrame([{key: get_method(name).card()[key] for key in ("name", "title", "category", "scheme", "summary")}
              for name in METHODS]).style.set_properties(**{"text-align": "left"})
"""),
    md("Which student feature is matched to which teacher feature, before any training:"),
    code("""
pd.DataFrame([vars(match) for name in ("fitnets", "at") for match in preview_feature_matches(base.replace(method=name))])
"""),
    md("""
## Training them side by side (test accuracy drawn live)

The papers' loss weights (AT's β = 1000, RKD's λ_D = 25 and λ_A = 50) were tuned for CIFAR ResNets. On
this small student with SGD at lr 0.05 they swamp the cross-entropy term: AT's student stays at chance and
RKD's loss diverges. The weights below are scaled down for it (one of the questions at the end undoes that).
"""),
    live_plot("Test accuracy per epoch"),
    code("""
WEIGHTS = {"fitnets": {"hint_weight": 0.1}, "at": {"beta": 10.0}, "rkd": {"distance_weight": 1.0, "angle_weight": 2.0}}
configs = {
    "baseline": base.replace(method="baseline"),
    "KD": base.replace(method="kd"),
    "FitNets": base.replace(method="fitnets", method_params=WEIGHTS["fitnets"]),
    "AT": base.replace(method="at", method_params=WEIGHTS["at"]),
    "RKD": base.replace(method="rkd", method_params=WEIGHTS["rkd"]),
    "FEED parallel": base.replace(method="feed-parallel", teachers=two_teachers),
}
runs, results = {}, {}
for label, config in configs.items():
    runs[label], results[label] = run_recorded(config.replace(name=f"notebook 3: {label}"), store,
                                               callbacks=[live.callback(label)])
chain = run_generations(base.replace(method="feed-sequential", method_params={"generations": generations},
                                     name="notebook 3: FEED sequential"), store,
                        callbacks_for=lambda number, run_id: [live.callback(f"FEED sequential gen {number}")])
for generation in chain:
    runs[f"FEED sequential gen {generation.number}"] = generation.run_id
"""),
    code("""
viz.comparison_table([store.get_run(run_id) for run_id in runs.values()])[
    ["run", "status", "final test acc", "best test acc", "params", "wall s", "gain vs baseline (pts)"]]
"""),
    md("""
## Where do they look? Attention maps

Attention transfer matches the *spatial attention* of a feature map, the channel mean of $|F|^2$. Below:
test images, then the attention at the last feature map of the teacher, the AT student and the baseline.
"""),
    code("""
from workbench.data import load_dataset
from workbench.previews import attention_maps
from workbench.teachers import get_teacher

test = load_dataset(base.dataset, device="cpu").test
images = test.x[:8]
teacher, _ = get_teacher(base.teachers[0], base.dataset, base.teacher_seed)
maps = {f"teacher {base.teachers[0]}": attention_maps(teacher, images),
        "AT student": attention_maps(results["AT"].student.cpu(), images),
        "baseline student": attention_maps(results["baseline"].student.cpu(), images)}
viz.attention_maps_figure(images[:, 0].numpy(), maps)
"""),
    questions("""
1. Which method gains most over the baseline here? Is that gain larger than the seed noise (notebook 7)?
2. Does the AT student's attention look more like the teacher's than the baseline's does?
3. FitNets needs a regressor between feature maps of different widths: how many parameters does it add,
   and are they kept after training? (See the card's `extra_modules`.)
4. Does each FEED generation improve on the one before, or does the chain saturate?
5. Put the papers' weights back (`WEIGHTS["at"] = {"beta": 1000.0}`, RKD's 25 and 50): what happens when
   the feature term dominates? Is a lower learning rate enough to save it?
"""),
]

QUANTISED = [
    *opening("4 · Quantised students", """
Students whose weights (and activations) are quantised to a few bits, trained with
fake quantisation and the straight-through estimator. A panel with bit-width sliders trains one at a time;
then the same 4-bit student is trained plain, with KD at a constant α, with KD whose α decays over training
(QKD's gradual soft-loss reduction) and with SPEQ (the student's own stochastic-precision ensemble as its
teacher). The last chart puts accuracy against model size.
"""),
    setup("""
import ipywidgets as ipw
import pandas as pd

from workbench import viz, widgets
from workbench.config import RunConfig
from workbench.runner import run_recorded
""", full_epochs=20),
    code(RECORD),
    md("""
## Bit-width sliders

`w_bits` quantises the weights (1 = binary, ternary = {−1, 0, +1}·scale), `a_bits` the activations.
Press **Run** to train a QKD student at the chosen precision (it runs once from code too).
"""),
    code("""
panel = widgets.RunPanel(
    base.replace(method="qkd", alpha=0.5),
    {"w_bits": ipw.SelectionSlider(options=["1", "ternary", "2", "4", "8", "32"], value="4", description="w bits"),
     "a_bits": ipw.SelectionSlider(options=["2", "4", "8", "32"], value="8", description="a bits"),
     "alpha_schedule": ipw.ToggleButtons(options=["constant", "linear"], value="constant", description="α")},
    live=widgets.LivePlot("test_acc", "Your quantised students"))
panel.on_click()
panel.view
"""),
    md("""
## Constant versus decaying α

QKD lowers the weight of the soft loss as training goes on: α falls linearly from α₀ to α_end over the
first part of training (`schedule_fraction`), so the student first imitates the teacher, then fits the labels.
"""),
    code("""
decaying = base.replace(method="qkd", w_bits="4", a_bits="4", alpha=0.9, alpha_end=0.1, alpha_schedule="linear",
                        schedule_fraction=0.8)
viz.schedule_figure(decaying)
"""),
    live_plot("4-bit students: test accuracy per epoch"),
    code("""
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
    _, results[label] = run_recorded(config.replace(name=f"notebook 4: {label}"), store,
                                     callbacks=[live.callback(label)])
points = pd.DataFrame([{"label": label, "size_kb": result.final_metrics["size_kb"],
                        "test_acc": result.final_metrics["test_acc"]} for label, result in results.items()])
points
"""),
    md("## Accuracy versus size"),
    code("viz.accuracy_size_figure(points)"),
    questions("""
1. How much accuracy does the 4-bit baseline lose against fp32, and how much of it does KD win back?
2. Does the decaying α beat the constant one? Try `schedule_fraction` 0.3 and 1.0.
3. Move `a_bits` to 2 in the panel: are activations or weights the harder thing to quantise?
4. SPEQ needs no external teacher. When would you prefer it to QKD?
5. Which runs are on the Pareto front, and would a larger quantised student beat a smaller fp32 one?
"""),
]

DATA_FREE = [
    *opening("5 · Data-free distillation", """
Students that never read a training image. DAFL trains a generator to produce images
the frozen teacher classifies confidently and evenly across classes, and distils on those; PRE-DFKD adds a
VAE memory that replays earlier pseudo samples so the student does not forget. You will watch the generated
(and replayed) samples evolve epoch by epoch, then compare the runs' accuracy over training: its mean,
variance and best, since without data there is no validation set to pick the best epoch with.
"""),
    code("""
import pandas as pd

from workbench import stability, viz, widgets
from workbench.config import RunConfig
from workbench.runner import run_recorded

if QUICK:
    base = RunConfig.from_dict({"dataset": "digits", "student": "lenet5_half", "teachers": ["cnn"], "epochs": 4,
                                "batch_size": 32, "device": "cpu", "optimizer": "adam", "lr": 2e-3,
                                "cache_teacher_logits": False})
    generator = {"iterations": 40, "gen_width": 64}
else:
    base = RunConfig.from_dict({"dataset": "fashion-mnist", "student": "lenet5_half", "teachers": ["lenet5"],
                                "epochs": 40, "batch_size": 128, "device": "auto", "optimizer": "adam", "lr": 2e-3,
                                "cache_teacher_logits": False})
    generator = {"iterations": 200, "gen_width": 128}
"""),
    code(RECORD),
    md("## DAFL: the generator's images, as they evolve"),
    code("""
dafl_samples = widgets.LiveSamples("generated", "DAFL generated images")
live = widgets.LivePlot("test_acc", "Test accuracy per epoch (no training image read)")
dafl_samples.view
"""),
    code("live.figure"),
    code("""
runs = {}
runs["DAFL"], dafl = run_recorded(base.replace(method="dafl", method_params=generator, name="notebook 5: DAFL"),
                                  store, callbacks=[live.callback("DAFL"), dafl_samples.callback()])
viz.sample_evolution_figure(dafl_samples.snapshots, "DAFL samples by epoch")
"""),
    md("## PRE-DFKD: new samples and replayed memories"),
    code("""
novel = widgets.LiveSamples("generated", "PRE-DFKD new samples")
replayed = widgets.LiveSamples("replayed", "PRE-DFKD replayed from the VAE memory")
runs["PRE-DFKD"], pre = run_recorded(
    base.replace(method="pre-dfkd", temperature=2.0, method_params=generator, name="notebook 5: PRE-DFKD"), store,
    callbacks=[live.callback("PRE-DFKD"), novel.callback(), replayed.callback()])
viz.sample_evolution_figure(novel.snapshots, "PRE-DFKD new samples by epoch")
"""),
    code("viz.sample_evolution_figure(replayed.snapshots, \"PRE-DFKD replayed samples by epoch\")"),
    code("""
memory = pre.history[-1]
print(f"VAE memory: {memory['memory_vae_bytes'] / 1024:.0f} KB of weights, standing in for a buffer of "
      f"{memory['memory_buffer_bytes'] / 1024:.0f} KB ({memory['memory_samples']:.0f} samples)")
"""),
    md("""
## Accuracy over training: mean, variance and best

A reference: the same student, with the same optimiser, trained on the real data (baseline). PRE-DFKD runs
at T = 2 here, the setting its own tests use.
"""),
    code("""
runs["baseline (real data)"], _ = run_recorded(base.replace(method="baseline", name="notebook 5: baseline"), store)
table = stability.stability_table(store.metrics_frame(list(runs.values())))
table.insert(0, "run", table["run_id"].map({run_id: label for label, run_id in runs.items()}))
table.drop(columns="run_id")
"""),
    code("""
viz.compare_figure(store.metrics_frame(list(runs.values()), scope="epoch"),
                   {label: [run_id] for label, run_id in runs.items()})
"""),
    questions("""
1. When do the generated images start to look like digits, if ever? Does the teacher care?
2. Which run has the higher *mean* accuracy over training, and which the higher *best*? Why does the
   difference matter when you have no validation data?
3. Raise `iterations` or `epochs`: does DAFL's accuracy keep climbing or swing?
4. How much smaller is PRE-DFKD's VAE memory than a buffer of the same samples?
5. Set `w_ie` (information entropy) to 0 in `generator`: what happens to the class balance of the samples?
"""),
]

LIGHTWEIGHT = [
    *opening("6 · The lightweight teacher", """
LW-KD's idea: instead of a large teacher trained on the target data, a tiny teacher
trained in seconds on *synthesised* glyphs shaped like the target dataset (ten rendered symbols for ten
classes). Its soft targets for a class are transferred to the real images of that class, and a discriminator
pushes the student's output distribution towards the teacher's. You will see the glyphs, the glyph
teacher's cost, and LW-KD beside vanilla KD (with a real teacher) and the baseline.
"""),
    setup("""
from workbench import viz, widgets
from workbench.config import RunConfig
from workbench.glyph_teacher import get_glyph_teacher
from workbench.glyphs import glyph_preview
from workbench.runner import run_recorded
""", full_epochs=15, then="""
glyphs = {"glyphs_per_class": 300, "glyph_arch": "lenet5"}  # LW-KD's method params: the glyph teacher
"""),
    code(RECORD),
    md("## The synthesised glyph dataset"),
    code("""
viz.image_grid_figure(glyph_preview(base.dataset, 40).numpy(), f"Glyphs shaped like {base.dataset}", columns=10)
"""),
    md("## Its teacher: trained in seconds (cached after the first time)"),
    code("""
teacher, record = get_glyph_teacher(base.dataset, glyphs["glyph_arch"], per_class=glyphs["glyphs_per_class"])
print(f"glyph teacher {record.arch}: {record.params:,} parameters, {record.train_seconds:.1f} s to train, "
      f"{record.test_acc:.3f} accuracy on held-out glyphs")
"""),
    md("## LW-KD against KD and the baseline"),
    live_plot("Test accuracy per epoch"),
    code("""
configs = {"baseline": base.replace(method="baseline"),
           "KD (real teacher)": base.replace(method="kd"),
           "LW-KD (glyph teacher)": base.replace(method="lwkd", alpha=0.5, method_params=glyphs)}
runs = {}
for label, config in configs.items():
    runs[label], _ = run_recorded(config.replace(name=f"notebook 6: {label}"), store,
                                  callbacks=[live.callback(label)])
viz.comparison_table([store.get_run(run_id) for run_id in runs.values()])[
    ["run", "final test acc", "best test acc", "wall s", "gain vs baseline (pts)"]]
"""),
    code("""
viz.loss_terms_figure(store.metrics_frame(runs["LW-KD (glyph teacher)"], scope="step"),
                      {runs["LW-KD (glyph teacher)"]: "LW-KD"})
"""),
    questions("""
1. How does LW-KD's gain compare with KD's, given that its teacher never saw a real image?
2. Add the glyph teacher's training time to LW-KD's wall time: is it still cheaper than training a real
   teacher (see `kdw teachers`)?
3. Set `w_adv` to 0 in `glyphs` (method params): how much does the discriminator contribute?
4. Fewer glyphs per class (e.g. 20): when does the lightweight teacher become too weak to help?
5. LW-KD runs here at α = 0.5. Try α = 0.9: how much of a glyph teacher's advice can the student take?
"""),
]

INTERACTIONS = [
    *opening("7 · Hyperparameter interactions", """
Vanilla KD trained over a grid of temperatures × α, each cell over several seeds,
through the workbench API. The heatmap gives each cell's mean accuracy with its ± std across seeds, and a
second heatmap the seed noise itself: a difference between two cells smaller than their noise is not a
finding. A baseline over the same seeds is the reference.
"""),
    code("""
import pandas as pd

from workbench import viz
from workbench.config import RunConfig
from workbench.runner import run_recorded

if QUICK:
    base = RunConfig.from_dict({"dataset": "digits", "student": "lenet5_half", "teachers": ["cnn"], "method": "kd",
                                "epochs": 3, "batch_size": 32, "device": "cpu"})
    TEMPERATURES, ALPHAS, SEEDS = [1.0, 4.0, 10.0], [0.3, 0.9], [0, 1]
else:
    base = RunConfig.from_dict({"dataset": "fashion-mnist", "student": "lenet5_half", "teachers": ["lenet5"],
                                "method": "kd", "epochs": 10, "batch_size": 128, "device": "auto"})
    TEMPERATURES, ALPHAS, SEEDS = [1.0, 2.0, 4.0, 8.0, 16.0], [0.1, 0.3, 0.5, 0.7, 0.9], [0, 1, 2]
"""),
    code(RECORD),
    md("## The grid (a plain loop over the API; every run is recorded in the store)"),
    code("""
rows = []
for temperature in TEMPERATURES:
    for alpha in ALPHAS:
        for seed in SEEDS:
            config = base.replace(temperature=temperature, alpha=alpha, seed=seed,
                                  name=f"notebook 7: T={temperature:g} α={alpha:g} seed {seed}")
            _, result = run_recorded(config, store)
            rows.append({"temperature": temperature, "alpha": alpha, "seed": seed,
                         "test_acc": result.final_metrics["test_acc"]})
results = pd.DataFrame(rows)
baseline = [run_recorded(base.replace(method="baseline", seed=seed, name=f"notebook 7: baseline seed {seed}"),
                         store)[1].final_metrics["test_acc"] for seed in SEEDS]
print(f"baseline over {len(SEEDS)} seeds: {pd.Series(baseline).mean():.3f} ± {pd.Series(baseline).std():.3f}")
"""),
    md("## The heatmap with seed noise"),
    code('viz.grid_heatmap_figure(results, "temperature", "alpha")'),
    code("""
summary = results.groupby(["temperature", "alpha"])["test_acc"].agg(["mean", "std"]).reset_index()
summary["gain vs baseline (pts)"] = 100 * (summary["mean"] - pd.Series(baseline).mean())
summary.sort_values("mean", ascending=False)
"""),
    questions("""
1. Is the best cell better than the second best by more than their seed noise?
2. Does the best α depend on *T*? Where is the interaction strongest?
3. At *T* = 1 the soft and hard targets nearly coincide: does α matter there?
4. Add seeds (`SEEDS`): does the ranking of the cells hold?
5. Compare the cell means with the baseline: which settings make KD *worse* than no teacher?
"""),
]

NOTEBOOKS = {
    "01_soft_targets.ipynb": SOFT_TARGETS,
    "02_vanilla_kd_live.ipynb": VANILLA_KD,
    "03_features_relations_ensembles.ipynb": FEATURES,
    "04_quantised_students.ipynb": QUANTISED,
    "05_data_free.ipynb": DATA_FREE,
    "06_lightweight_teacher.ipynb": LIGHTWEIGHT,
    "07_hyperparameter_interactions.ipynb": INTERACTIONS,
}


def build(folder: Path = HERE) -> list[Path]:
    """Write every notebook into `folder`, without outputs; returns their paths."""
    paths = []
    for filename, cells in NOTEBOOKS.items():
        notebook = new_notebook(cells=cells, metadata=KERNEL)
        for number, cell in enumerate(notebook.cells):
            cell.id = f"{Path(filename).stem[:2]}-{number:02d}"
        nbformat.validate(notebook)
        path = folder / filename
        nbformat.write(notebook, path)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in build():
        print(f"wrote {written.relative_to(HERE.parent)}")
