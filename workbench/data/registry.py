"""The datasets the workbench knows: names, shapes, class names and default augmentation."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError


@dataclass(frozen=True)
class DatasetInfo:
    """Static facts about one dataset, available without loading it."""

    name: str
    title: str
    num_classes: int
    in_channels: int
    image_size: int
    class_names: tuple[str, ...]
    default_augment: tuple[str, ...]
    source: str


DIGIT_NAMES: tuple[str, ...] = tuple(str(d) for d in range(10))

FASHION_MNIST_NAMES: tuple[str, ...] = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

CIFAR10_NAMES: tuple[str, ...] = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)

CIFAR100_NAMES: tuple[str, ...] = (
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
    "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
    "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
    "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
    "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain",
    "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
    "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket",
    "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
    "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger",
    "tractor",
    "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
)

_DATASETS: tuple[DatasetInfo, ...] = (
    DatasetInfo(
        "digits", "Digits (8×8)", 10, 1, 8, DIGIT_NAMES, (),
        "scikit-learn's bundled copy of the UCI handwritten digits (1,797 images, 8×8), no download needed.",
    ),
    DatasetInfo(
        "fashion-mnist", "Fashion-MNIST", 10, 1, 28, FASHION_MNIST_NAMES, (),
        "Zalando's Fashion-MNIST IDX files, from the data directory, Debian's dataset-fashion-mnist package "
        "or a torchvision download.",
    ),
    DatasetInfo(
        "mnist", "MNIST", 10, 1, 28, DIGIT_NAMES, (),
        "LeCun et al.'s MNIST handwritten digits, downloaded once by torchvision into the data directory.",
    ),
    DatasetInfo(
        "cifar10", "CIFAR-10", 10, 3, 32, CIFAR10_NAMES, ("crop", "flip"),
        "Krizhevsky's CIFAR-10 colour images, downloaded once by torchvision into the data directory.",
    ),
    DatasetInfo(
        "cifar100", "CIFAR-100", 100, 3, 32, CIFAR100_NAMES, ("crop", "flip"),
        "Krizhevsky's CIFAR-100 (fine labels), downloaded once by torchvision into the data directory.",
    ),
    DatasetInfo(
        "svhn", "SVHN", 10, 3, 32, DIGIT_NAMES, ("crop",),
        "Stanford's Street View House Numbers (cropped digits, train and test splits), downloaded once by "
        "torchvision into the data directory.",
    ),
)

_BY_NAME: dict[str, DatasetInfo] = {info.name: info for info in _DATASETS}


def list_datasets() -> list[DatasetInfo]:
    """All known datasets, smallest first."""
    return list(_DATASETS)


def dataset_info(name: str) -> DatasetInfo:
    """The DatasetInfo for `name`; raises ConfigError naming the choices if it is unknown."""
    try:
        return _BY_NAME[name]
    except KeyError:
        choices = ", ".join(_BY_NAME)
        raise ConfigError("dataset", f"unknown dataset {name!r}; choose one of: {choices}") from None
