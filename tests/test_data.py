"""Tests for the dataset registry, loading, subsets, batch indices and augmentation (workbench.data)."""

from __future__ import annotations

import gzip
import socket
import struct
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from workbench.data import (
    augment_batch,
    dataset_info,
    fashion_mnist,
    iterate_batches,
    list_datasets,
    load_dataset,
)
from workbench.data.subsets import stratified_indices
from workbench.errors import ConfigError, DatasetUnavailable
from workbench.paths import default_data_dir, default_runs_dir

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
FASHION_STEMS = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file, gzip-compressed when the name ends in .gz."""
    payload = b"\x00\x00\x08" + bytes([array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload += array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(payload) if path.suffix == ".gz" else payload)


def write_fake_fashion(directory: Path, n_train: int = 40, n_test: int = 20, gz: bool = True) -> dict[str, np.ndarray]:
    """Write four small random Fashion-MNIST IDX files into `directory` and return their contents."""
    rng = np.random.default_rng(0)
    arrays = {
        FASHION_STEMS[0]: rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        FASHION_STEMS[1]: (np.arange(n_train) % 10).astype(np.uint8),
        FASHION_STEMS[2]: rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        FASHION_STEMS[3]: (np.arange(n_test) % 10).astype(np.uint8),
    }
    directory.mkdir(parents=True, exist_ok=True)
    for stem, array in arrays.items():
        write_idx(directory / (f"{stem}.gz" if gz else stem), array)
    return arrays


# --- registry ---------------------------------------------------------------------------------------------------


def test_registry_lists_every_dataset_with_consistent_class_names() -> None:
    infos = {info.name: info for info in list_datasets()}
    assert list(infos) == ["digits", "fashion-mnist", "mnist", "cifar10", "cifar100", "svhn"]
    for info in infos.values():
        assert len(info.class_names) == info.num_classes
        assert len(set(info.class_names)) == info.num_classes
        assert info.source.endswith(".")
    assert infos["fashion-mnist"].class_names[0] == "T-shirt/top"
    assert infos["cifar10"].default_augment == ("crop", "flip")
    assert infos["svhn"].default_augment == ("crop",)
    assert infos["digits"].default_augment == ()
    assert (infos["cifar100"].num_classes, infos["cifar100"].in_channels, infos["cifar100"].image_size) == (100, 3, 32)


def test_unknown_dataset_raises_config_error_listing_choices() -> None:
    with pytest.raises(ConfigError) as caught:
        dataset_info("imagenet")
    assert caught.value.field == "dataset"
    assert "unknown dataset 'imagenet'; choose one of: digits, fashion-mnist" in str(caught.value)
    with pytest.raises(ConfigError):
        load_dataset("imagenet")


# --- digits ------------------------------------------------------------------------------------------------------


def test_digits_shapes_dtypes_and_fixed_split_sizes() -> None:
    ds = load_dataset("digits")
    assert ds.train.x.shape == (1437, 1, 8, 8) and ds.test.x.shape == (360, 1, 8, 8)
    assert ds.train.x.dtype == torch.float32 and ds.train.y.dtype == torch.int64
    assert len(ds.train) == 1437 and len(ds.test) == 360
    assert ds.info.class_names == tuple("0123456789")


def test_digits_test_split_is_stratified_and_independent_of_seed() -> None:
    a = load_dataset("digits", seed=0)
    b = load_dataset("digits", seed=7)
    assert torch.bincount(a.test.y, minlength=10).tolist() == [36] * 10
    assert torch.equal(a.test.x, b.test.x) and torch.equal(a.train.y, b.train.y)


def test_digits_train_split_is_normalised_and_denormalises_to_pixel_grid() -> None:
    ds = load_dataset("digits")
    assert abs(ds.train.x.mean().item()) < 1e-4
    assert abs(ds.train.x.std().item() - 1.0) < 1e-3
    pixels = ds.denormalise(ds.train.x)
    assert pixels.min() >= 0.0 and pixels.max() <= 1.0
    assert torch.allclose(pixels * 16, (pixels * 16).round(), atol=1e-4)


def test_repeated_loads_return_independent_copies() -> None:
    first = load_dataset("digits")
    first.train.x.zero_()
    second = load_dataset("digits")
    assert second.train.x.abs().sum() > 0


# --- subsets -----------------------------------------------------------------------------------------------------


def test_subsets_are_class_balanced_and_deterministic_in_seed() -> None:
    a = load_dataset("digits", train_subset=100, test_subset=50, seed=3)
    b = load_dataset("digits", train_subset=100, test_subset=50, seed=3)
    c = load_dataset("digits", train_subset=100, test_subset=50, seed=4)
    assert len(a.train) == 100 and len(a.test) == 50
    assert torch.bincount(a.train.y, minlength=10).tolist() == [10] * 10
    assert torch.bincount(a.test.y, minlength=10).tolist() == [5] * 10
    assert torch.equal(a.train.x, b.train.x) and torch.equal(a.test.y, b.test.y)
    assert not torch.equal(a.train.x, c.train.x)


def test_uneven_subset_sizes_differ_by_at_most_one_per_class() -> None:
    counts = torch.bincount(load_dataset("digits", train_subset=15).train.y, minlength=10)
    assert counts.sum() == 15 and counts.max() - counts.min() == 1


def test_stratified_indices_give_small_classes_all_they_have() -> None:
    labels = torch.tensor([0] * 2 + [1] * 10 + [2] * 10)
    chosen = stratified_indices(labels, 12, 3, torch.Generator().manual_seed(0))
    assert torch.bincount(labels[chosen], minlength=3).tolist() == [2, 5, 5]
    assert torch.equal(chosen, chosen.sort().values) and len(chosen.unique()) == 12


@pytest.mark.parametrize(
    ("field", "kwargs", "allowed"),
    [
        ("train_subset", {"train_subset": 9}, "at least 10 for digits"),
        ("test_subset", {"test_subset": 0}, "at least 10 for digits"),
    ],
)
def test_subset_smaller_than_one_image_per_class_raises_config_error(field: str, kwargs: dict, allowed: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_dataset("digits", **kwargs)
    assert caught.value.field == field
    assert allowed in str(caught.value)


def test_subset_at_least_as_large_as_the_split_takes_the_whole_split() -> None:
    whole = load_dataset("digits")
    assert len(load_dataset("digits", train_subset=5000).train) == len(whole.train) == 1437
    assert len(load_dataset("digits", test_subset=361).test) == len(whole.test)


# --- fashion-mnist -----------------------------------------------------------------------------------------------


@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_fashion_mnist_loads_from_debian_package(tmp_path: Path) -> None:
    ds = load_dataset("fashion-mnist", data_dir=tmp_path)
    assert ds.train.x.shape == (60000, 1, 28, 28) and ds.test.x.shape == (10000, 1, 28, 28)
    assert torch.bincount(ds.train.y).tolist() == [6000] * 10
    assert abs(ds.train.x.mean().item()) < 1e-3 and abs(ds.train.x.std().item() - 1.0) < 1e-3
    assert ds.mean[0] == pytest.approx(0.2860, abs=1e-3) and ds.std[0] == pytest.approx(0.3530, abs=1e-3)


@pytest.mark.parametrize(("subdir", "gz"), [("fashion-mnist", True), ("FashionMNIST/raw", False)])
def test_fashion_mnist_loads_idx_files_from_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, subdir: str, gz: bool
) -> None:
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIRS", ())
    arrays = write_fake_fashion(tmp_path / subdir, gz=gz)
    ds = load_dataset("fashion-mnist", data_dir=tmp_path)
    assert ds.train.x.shape == (40, 1, 28, 28) and ds.test.x.shape == (20, 1, 28, 28)
    assert ds.test.y.tolist() == arrays[FASHION_STEMS[3]].tolist()
    pixels = (ds.denormalise(ds.train.x)[:, 0] * 255).round().to(torch.uint8).numpy()
    assert np.array_equal(pixels, arrays[FASHION_STEMS[0]])


def test_local_fashion_mnist_files_take_precedence_over_debian(tmp_path: Path) -> None:
    write_fake_fashion(tmp_path / "fashion-mnist")
    assert len(load_dataset("fashion-mnist", data_dir=tmp_path).train) == 40


@pytest.mark.parametrize("gz", [True, False])
def test_truncated_idx_file_raises_dataset_unavailable_naming_it(tmp_path: Path, gz: bool) -> None:
    write_fake_fashion(tmp_path / "fashion-mnist", gz=gz)
    bad = tmp_path / "fashion-mnist" / (f"{FASHION_STEMS[2]}.gz" if gz else FASHION_STEMS[2])
    bad.write_bytes(bad.read_bytes()[: len(bad.read_bytes()) // 2])
    with pytest.raises(DatasetUnavailable, match=FASHION_STEMS[2]):
        load_dataset("fashion-mnist", data_dir=tmp_path)


def test_idx_file_with_bad_magic_raises_dataset_unavailable(tmp_path: Path) -> None:
    write_fake_fashion(tmp_path / "fashion-mnist", gz=False)
    bad = tmp_path / "fashion-mnist" / FASHION_STEMS[1]
    bad.write_bytes(b"\x12\x34" + bad.read_bytes()[2:])
    with pytest.raises(DatasetUnavailable, match="magic number"):
        load_dataset("fashion-mnist", data_dir=tmp_path)


def test_fashion_mnist_missing_offline_raises_with_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torchvision.datasets

    def offline(self: object) -> None:
        raise URLError("no network in tests")

    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIRS", ())
    monkeypatch.setattr(torchvision.datasets.FashionMNIST, "download", offline)
    before = socket.getdefaulttimeout()
    with pytest.raises(DatasetUnavailable) as caught:
        load_dataset("fashion-mnist", data_dir=tmp_path)
    message = str(caught.value)
    assert message.startswith(f"Fashion-MNIST not found in {tmp_path}")
    assert "apt-get install dataset-fashion-mnist" in message
    assert f"{tmp_path / 'fashion-mnist'}/" in message
    assert socket.getdefaulttimeout() == before


# --- torchvision datasets ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "cls", "title"), [("mnist", "MNIST", "MNIST"), ("cifar10", "CIFAR10", "CIFAR-10")])
def test_torchvision_dataset_offline_raises_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, cls: str, title: str
) -> None:
    import torchvision.datasets

    def offline(self: object) -> None:
        raise URLError("<urlopen error [Errno -2] Name or service not known>")

    monkeypatch.setattr(getattr(torchvision.datasets, cls), "download", offline)
    with pytest.raises(DatasetUnavailable) as caught:
        load_dataset(name, data_dir=tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{title} is not in {tmp_path}")
    assert "internet once" in message
    assert "urlopen" not in message and "\n" not in message


# --- batches -----------------------------------------------------------------------------------------------------


def test_iterate_batches_covers_each_index_once_per_epoch() -> None:
    batches = list(iterate_batches(103, 10, shuffle=True, generator=torch.Generator().manual_seed(0)))
    assert [len(b) for b in batches] == [10] * 10 + [3]
    assert all(b.dtype == torch.int64 for b in batches)
    assert sorted(torch.cat(batches).tolist()) == list(range(103))


def test_iterate_batches_is_deterministic_and_reshuffles_each_epoch() -> None:
    def epochs(seed: int) -> list[torch.Tensor]:
        generator = torch.Generator().manual_seed(seed)
        return [torch.cat(list(iterate_batches(50, 8, shuffle=True, generator=generator))) for _ in range(2)]

    first, second = epochs(1), epochs(1)
    assert all(torch.equal(a, b) for a, b in zip(first, second))
    assert not torch.equal(first[0], first[1])


def test_iterate_batches_in_order_and_drop_last() -> None:
    batches = list(iterate_batches(25, 10, shuffle=False, generator=None, drop_last=True))
    assert [b.tolist() for b in batches] == [list(range(10)), list(range(10, 20))]


def test_iterate_batches_rejects_non_positive_batch_size() -> None:
    with pytest.raises(ConfigError) as caught:
        list(iterate_batches(10, 0, shuffle=False, generator=None))
    assert caught.value.field == "batch_size"


# --- augmentation ------------------------------------------------------------------------------------------------


def test_augment_batch_is_deterministic_under_seeded_generator_and_keeps_shape() -> None:
    x = torch.randn(16, 3, 32, 32)
    a = augment_batch(x, ("crop", "flip"), torch.Generator().manual_seed(5))
    b = augment_batch(x, ("crop", "flip"), torch.Generator().manual_seed(5))
    c = augment_batch(x, ("crop", "flip"), torch.Generator().manual_seed(6))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c)
    assert augment_batch(x, (), None) is x


def test_flip_mirrors_some_images_and_leaves_the_rest() -> None:
    x = torch.arange(64 * 8 * 8, dtype=torch.float32).view(64, 1, 8, 8)
    out = augment_batch(x, ("flip",), torch.Generator().manual_seed(0))
    flipped = [torch.equal(o, i.flip(-1)) for o, i in zip(out, x)]
    kept = [torch.equal(o, i) for o, i in zip(out, x)]
    assert all(f or k for f, k in zip(flipped, kept))
    assert any(flipped) and any(kept)


@pytest.mark.parametrize(("size", "pad"), [(8, 1), (28, 2), (32, 4)])
def test_crop_shifts_content_within_the_padding(size: int, pad: int) -> None:
    x = torch.randn(32, 2, size, size)
    out = augment_batch(x, ("crop",), torch.Generator().manual_seed(0))
    padded = F.pad(x, (pad, pad, pad, pad), mode="reflect")
    offsets = []
    for image, (o, p) in enumerate(zip(out, padded)):
        matches = [
            (dy, dx)
            for dy in range(2 * pad + 1)
            for dx in range(2 * pad + 1)
            if torch.equal(o, p[:, dy : dy + size, dx : dx + size])
        ]
        assert matches, f"image {image} is not a window of its padded original"
        offsets.append(matches[0])
    assert any(offset != (pad, pad) for offset in offsets)
    assert len(set(offsets)) > 1


def test_unknown_augmentation_raises_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        augment_batch(torch.zeros(2, 1, 8, 8), ("flip", "rotate"), None)
    assert caught.value.field == "augment"
    assert "'rotate'" in str(caught.value) and "crop, flip" in str(caught.value)


# --- paths -------------------------------------------------------------------------------------------------------


def test_default_dirs_follow_environment_then_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KDW_DATA_DIR", raising=False)
    monkeypatch.delenv("KDW_RUNS_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert default_data_dir() == tmp_path / "data"
    assert default_runs_dir() == tmp_path / "runs"
    monkeypatch.setenv("KDW_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("KDW_RUNS_DIR", str(tmp_path / "r"))
    assert default_data_dir() == tmp_path / "d"
    assert default_runs_dir() == tmp_path / "r"
