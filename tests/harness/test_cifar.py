"""CIFAR-10 readers and cache (`autograder.judge.cifar`) on small data sets generated here.

Each generated image carries its label and index in its pixels, so a test can tell that every
image kept its own label through decoding and the fixed shuffle.
"""

from __future__ import annotations

import os
import pickle
import stat
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from autograder.judge import cifar
from autograder.common.config import GradingConfig

PER_CLASS = {"train": 3, "test": 2}


def pixels(label: int, index: int) -> np.ndarray:
    """A 32×32 RGB image whose red channel says its label and green channel its index."""
    image = np.zeros((32, 32, 3), np.uint8)
    image[..., 0] = 20 * label + 5
    image[..., 1] = index
    image[..., 2] = np.arange(32, dtype=np.uint8)[None, :] * 7  # not symmetric
    return image


def label_of(image: np.ndarray) -> int:
    return (int(image[0, 0, 0]) - 5) // 20


def make_tree(root: Path, folders: tuple[str, ...] = cifar.CIFAR_FOLDERS, suffix: str = ".png") -> Path:
    for split, n in PER_CLASS.items():
        for label, name in enumerate(folders):
            (root / split / name).mkdir(parents=True, exist_ok=True)
            for i in range(n):
                Image.fromarray(pixels(label, i)).save(root / split / name / f"{i:04d}{suffix}")
    return root


def make_batches(root: Path) -> Path:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for k, name in enumerate(names):
        labels = [int(x) for x in rng.integers(0, 10, size=4)]
        images = np.stack([pixels(label, 10 * k + i) for i, label in enumerate(labels)])
        data = images.transpose(0, 3, 1, 2).reshape(len(labels), 3072)  # CIFAR's channel planes
        with (folder / name).open("wb") as f:
            pickle.dump({b"data": data, b"labels": labels, b"batch_label": name.encode()}, f, protocol=2)
    return root


def config(data: Path | None, cache: Path) -> GradingConfig:
    return GradingConfig(data=data, cache=cache)


def worker_arrays(prepared: cifar.CifarData) -> dict[str, np.ndarray]:
    return {name.removesuffix(".npy"): np.load(prepared.worker_dir / name) for name in cifar.WORKER_FILES}


def test_image_folder_tree(tmp_path):
    prepared = cifar.prepare(config(make_tree(tmp_path / "tree"), tmp_path / "cache"), download=False)
    arrays = worker_arrays(prepared)
    assert sorted(p.name for p in prepared.worker_dir.iterdir()) == sorted(cifar.WORKER_FILES)
    assert arrays["train_images"].shape == (30, 32, 32, 3) and arrays["train_images"].dtype == np.uint8
    assert arrays["train_labels"].dtype == np.int64 and prepared.test_labels.dtype == np.int64
    assert [label_of(x) for x in arrays["train_images"]] == arrays["train_labels"].tolist()
    assert [label_of(x) for x in arrays["test_images"]] == list(prepared.test_labels)
    assert sorted(arrays["train_labels"].tolist()) == sorted(list(range(10)) * 3)
    # shuffled once, not left sorted by class
    assert arrays["train_labels"].tolist() != sorted(arrays["train_labels"].tolist())
    assert "image folders" in prepared.source


def test_class_folders_map_by_cifar_order_not_alphabetically(tmp_path):
    short = ("plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
    assert list(short) != sorted(short)
    prepared = cifar.prepare(config(make_tree(tmp_path / "tree", short), tmp_path / "cache"), download=False)
    arrays = worker_arrays(prepared)
    assert [label_of(x) for x in arrays["train_images"]] == arrays["train_labels"].tolist()


def test_the_shuffle_is_fixed(tmp_path):
    tree = make_tree(tmp_path / "tree")
    a = cifar.prepare(config(tree, tmp_path / "cache-a"), download=False)
    b = cifar.prepare(config(tree, tmp_path / "cache-b"), download=False)
    for name in cifar.WORKER_FILES:
        np.testing.assert_array_equal(np.load(a.worker_dir / name), np.load(b.worker_dir / name))


def test_tarball_matches_the_tree(tmp_path):
    tree = make_tree(tmp_path / "src" / "cifar10")
    archive = tmp_path / "cifar10.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tree, arcname="cifar10")
    from_tar = cifar.prepare(config(archive, tmp_path / "cache-tar"), download=False)
    from_tree = cifar.prepare(config(tmp_path / "src", tmp_path / "cache-tree"), download=False)
    for name in cifar.WORKER_FILES:
        np.testing.assert_array_equal(np.load(from_tar.worker_dir / name), np.load(from_tree.worker_dir / name))
    np.testing.assert_array_equal(from_tar.test_labels, from_tree.test_labels)
    assert "archive" in from_tar.source


def test_jpeg_tree_decodes(tmp_path):
    prepared = cifar.prepare(config(make_tree(tmp_path / "tree", suffix=".jpg"), tmp_path / "cache"),
                             download=False)
    images = np.load(prepared.worker_dir / "test_images.npy")
    assert images.shape == (20, 32, 32, 3)
    # JPEG is lossy, but the label written in the red channel survives it
    assert [label_of(x + 2) for x in images] == list(prepared.test_labels)


def test_torchvision_batches(tmp_path):
    root = make_batches(tmp_path / "root")
    prepared = cifar.prepare(config(root, tmp_path / "cache"), download=False)
    arrays = worker_arrays(prepared)
    assert arrays["train_images"].shape == (20, 32, 32, 3)
    assert [label_of(x) for x in arrays["train_images"]] == arrays["train_labels"].tolist()
    assert [label_of(x) for x in arrays["test_images"]] == list(prepared.test_labels)
    np.testing.assert_array_equal(arrays["train_images"][0][..., 2], pixels(0, 0)[..., 2])
    assert "cifar-10-batches-py" in prepared.source


def test_batches_inside_the_python_archive(tmp_path):
    root = make_batches(tmp_path / "root")
    archive = tmp_path / "dl" / "cifar-10-python.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(root / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    from_archive = cifar.prepare(config(archive.parent, tmp_path / "cache-a"), download=False)
    from_folder = cifar.prepare(config(root, tmp_path / "cache-b"), download=False)
    np.testing.assert_array_equal(np.load(from_archive.worker_dir / "train_images.npy"),
                                  np.load(from_folder.worker_dir / "train_images.npy"))


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_a_batch_file_cannot_run_code(tmp_path, monkeypatch):
    root = make_batches(tmp_path / "root")
    with (root / "cifar-10-batches-py" / "data_batch_3").open("wb") as f:
        pickle.dump({b"data": _Evil(), b"labels": [0]}, f, protocol=2)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(cifar.DataUnavailable, match="data_batch_3 is not a CIFAR-10 batch"):
        cifar.prepare(config(root, tmp_path / "cache"), download=False)
    assert not (tmp_path / "pwned").exists()


def test_cache_is_reused_and_keyed_by_content(tmp_path):
    tree = make_tree(tmp_path / "tree")
    first = cifar.prepare(config(tree, tmp_path / "cache"), download=False)
    stamp = (first.worker_dir / "train_images.npy").stat().st_mtime_ns
    again = cifar.prepare(config(tree, tmp_path / "cache"), download=False)
    assert again.worker_dir == first.worker_dir
    assert (again.worker_dir / "train_images.npy").stat().st_mtime_ns == stamp  # loaded, not rewritten
    assert isinstance(again.test_labels, np.memmap)
    Image.fromarray(pixels(9, 99)).save(tree / "train" / "truck" / "0099.png")
    changed = cifar.prepare(config(tree, tmp_path / "cache"), download=False)
    assert changed.worker_dir != first.worker_dir
    assert len(np.load(changed.worker_dir / "train_labels.npy")) == 31


def test_worker_folder_is_readable_by_other_users(tmp_path):
    prepared = cifar.prepare(config(make_tree(tmp_path / "tree"), tmp_path / "cache"), download=False)
    assert stat.S_IMODE(prepared.worker_dir.stat().st_mode) == 0o755
    for p in prepared.worker_dir.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o644
    assert not (prepared.worker_dir / "test_labels.npy").exists()


def test_missing_data_says_where_it_looked(tmp_path, monkeypatch):
    with pytest.raises(cifar.DataUnavailable, match=r"CIFAR-10 not found \(looked in .*nowhere"):
        cifar.prepare(config(tmp_path / "nowhere", tmp_path / "cache"), download=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(cifar.DataUnavailable, match=r"nothing in .*data as a torchvision root"):
        cifar.prepare(config(None, tmp_path / "cache"), download=False)


def test_default_is_the_torchvision_root_under_data(tmp_path, monkeypatch):
    make_batches(tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    prepared = cifar.prepare(config(None, tmp_path / "cache"), download=False)
    assert len(prepared.test_labels) == 4


def test_unknown_class_folder_is_refused(tmp_path):
    tree = make_tree(tmp_path / "tree")
    (tree / "train" / "unicorn").mkdir()
    with pytest.raises(cifar.DataUnavailable, match="unknown class folder"):
        cifar.prepare(config(tree, tmp_path / "cache"), download=False)
