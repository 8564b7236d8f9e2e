"""Teachers trained once and cached on disk, keyed by architecture, dataset, recipe and seed.

Lookup order: the user's cache (<data_dir>/teachers), then the small teachers shipped in the package
(workbench/pretrained). A teacher is named by a `TeacherSpec`: a zoo teacher (the dataset's recipe) or LW-KD's
glyph teacher (trained on rendered glyphs shaped like the dataset). `train_and_cache` is the one function that
trains either; `resolve_for(config)` gives what `engine.fit` needs for a config's teachers, training a missing one
only through the `train` function it is given (`runner.resolve_teachers` passes one that records the training as a
run of its own)."""

from .cache import (
    PACKAGED_DIR,
    TeacherMissing,
    TeacherNotTrained,
    TeacherRecord,
    cache_dir,
    find_cached,
    find_teacher,
    get_teacher,
    list_teachers,
    load_cached,
    train_and_cache,
)
from .files import CHANCE_FACTOR, check_teacher_checkpoint, load_teacher_weights, load_weights_for, read_state_file
from .resolve import (
    FitTeachers,
    TrainTeacher,
    cached_or_trained,
    logits_cache_file,
    needed_teachers,
    resolve_for,
    training_device,
)
from .spec import GLYPH_RECIPE, RECIPE_NAME, RECIPES, TeacherSpec, teacher_key

__all__ = [
    "CHANCE_FACTOR",
    "GLYPH_RECIPE",
    "PACKAGED_DIR",
    "RECIPES",
    "RECIPE_NAME",
    "FitTeachers",
    "TeacherMissing",
    "TeacherNotTrained",
    "TeacherRecord",
    "TeacherSpec",
    "TrainTeacher",
    "cache_dir",
    "cached_or_trained",
    "check_teacher_checkpoint",
    "find_cached",
    "find_teacher",
    "get_teacher",
    "list_teachers",
    "load_cached",
    "load_teacher_weights",
    "load_weights_for",
    "logits_cache_file",
    "needed_teachers",
    "read_state_file",
    "resolve_for",
    "teacher_key",
    "train_and_cache",
    "training_device",
]
