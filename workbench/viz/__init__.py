"""Every plotly figure of the workbench, shared by the app and the notebooks, one module per family:
`curves` (training curves, schedules, temperature effects, live charts), `comparison` (runs side by side),
`images` (soft targets, image grids, samples), `data_free` (a data-free
run's teacher class histogram and generator terms), `sweep` (hyperparameter interactions), `features` (matched
features, attention maps, weight levels) and `diagrams` (how a method's knowledge flows, from its card); `style`
holds the palette and layout they share.

Figures only draw the data they are given: metric frames as `RunStore.metrics_frame` returns them, run
configs, the tables of `workbench.comparison` and `workbench.interactions`, or a `previews.SoftTargetPreview`.
Nothing here loads a dataset or builds a model (that is `workbench.previews`)."""

from ..comparison import baseline_gains, class_accuracy_table, comparison_table, seed_groups, size_points
from ..previews import SoftTargetPreview, entropy, soften
from .comparison import (
    accuracy_size_figure,
    class_accuracy_figure,
    compare_figure,
    gain_figure,
    generation_chain_figure,
)
from .curves import (
    NOT_LOSS_TERMS,
    accuracy_figure,
    agreement_kl_figure,
    live_metric_figure,
    loss_terms_figure,
    run_trace,
    schedule_figure,
    soft_gradient_scale,
    temperature_effects_figure,
)
from .data_free import class_histogram_figure, generator_terms_figure
from .diagrams import data_free_flow_figure, response_flow_figure
from .features import attention_maps_figure, feature_match_figure, weight_histogram_figure
from .images import enlarged_png, image_grid_figure, sample_evolution_figure, soft_target_figure, tile_images
from .style import MAX_POINTS, PALETTE, colour
from .sweep import grid_heatmap_figure, interaction_heatmap_figure, parallel_figure, slice_figure, sweep_curves_figure

__all__ = [
    "MAX_POINTS",
    "NOT_LOSS_TERMS",
    "PALETTE",
    "SoftTargetPreview",
    "accuracy_figure",
    "accuracy_size_figure",
    "agreement_kl_figure",
    "attention_maps_figure",
    "baseline_gains",
    "class_accuracy_figure",
    "class_histogram_figure",
    "class_accuracy_table",
    "colour",
    "compare_figure",
    "comparison_table",
    "data_free_flow_figure",
    "enlarged_png",
    "entropy",
    "feature_match_figure",
    "gain_figure",
    "generator_terms_figure",
    "generation_chain_figure",
    "grid_heatmap_figure",
    "image_grid_figure",
    "interaction_heatmap_figure",
    "live_metric_figure",
    "loss_terms_figure",
    "parallel_figure",
    "response_flow_figure",
    "run_trace",
    "sample_evolution_figure",
    "schedule_figure",
    "seed_groups",
    "size_points",
    "slice_figure",
    "soft_gradient_scale",
    "soft_target_figure",
    "soften",
    "sweep_curves_figure",
    "temperature_effects_figure",
    "tile_images",
    "weight_histogram_figure",
]
