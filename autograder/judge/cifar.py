"""CIFAR-10 for the judge: find it, decode it once, cache it, and hand the worker its share.

Three forms are read, whichever ``--data`` (or ``AUTOGRADE_DATA``) names:

* a torchvision root holding ``cifar-10-batches-py`` (or that folder itself, or torchvision's
  ``cifar-10-python.tar.gz``);
* an image-folder tree ``train/<class>/*.jpg``, ``test/<class>/*.jpg`` (possibly one folder down,
  e.g. ``cifar10/train``);
* that tree as a ``.tar.gz``, read member by member without extracting it.

With neither option, ``./data`` is tried as a torchvision root, then a torchvision download.

The decoded arrays are cached under ``config.cache`` in a folder named after the source's content,
so a second run only memory-maps them. Each split is shuffled once with a fixed seed (the
image-folder copy is sorted by class, and single-class batches of 4 skew batch statistics). The
worker's folder holds the training images and labels and the test images only; the test labels
stay with the judge, which computes accuracy from the worker's predictions.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import pickle
import shutil
import socket
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from autograder.common.contract import CLASSES

CIFAR_FOLDERS: tuple[str, ...] = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)
"""CIFAR-10's class names in label order, as its own files and image-folder copies spell them."""

LABEL_OF_FOLDER: dict[str, int] = {
    **{name: i for i, name in enumerate(CIFAR_FOLDERS)},
    **{name: i for i, name in enumerate(CLASSES)},
}
"""Class folder name → label: by CIFAR's order, never by alphabetical order of the folders."""

SHUFFLE_SEED = 20_240_603
"""Fixed seed of the one shuffle of each split: the same order in every run, whatever the run seed."""
CACHE_VERSION = 1
"""Bump when the cached layout or the decoding changes."""

WORKER_FILES = ("train_images.npy", "train_labels.npy", "test_images.npy")
"""What the worker may read: no test labels."""
SPLIT_SIZES = {"train": 50_000, "test": 10_000}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
DOWNLOAD_TIMEOUT = 30.0


class DataUnavailable(Exception):
    """CIFAR-10 could not be found or read: the training checks are not graded."""


@dataclass(frozen=True)
class CifarData:
    """Decoded, shuffled CIFAR-10 as the judge uses it."""

    worker_dir: Path
    """Folder mounted into the worker: ``train_images.npy`` (N,32,32,3 uint8), ``train_labels.npy``
    (int64), ``test_images.npy``. Readable by any uid."""
    test_labels: np.ndarray
    """int64 labels of the test images, in the order of ``test_images.npy``; judge only."""
    source: str
    """Where the data came from, for the report."""
    classes: tuple[str, ...] = CIFAR_FOLDERS


@dataclass(frozen=True)
class _Source:
    """A located data set: its kind, path and a content key for the cache."""

    kind: str
    """'batches' (a cifar-10-batches-py folder), 'tree' (image folders) or 'tarball'."""
    path: Path
    description: str


# -- locating ---------------------------------------------------------------------------------
def _is_batches_dir(path: Path) -> bool:
    return (path / "data_batch_1").is_file() and (path / "test_batch").is_file()


def _is_tree(path: Path) -> bool:
    return (path / "train").is_dir() and (path / "test").is_dir() and any(
        (path / "train" / name).is_dir() for name in LABEL_OF_FOLDER)


def _is_tarball(path: Path) -> bool:
    return path.is_file() and path.name.endswith((".tar.gz", ".tgz", ".tar"))


def _locate(path: Path) -> _Source | None:
    """Recognise one of the three forms at ``path`` (or one folder below it)."""
    if _is_tarball(path):
        return _Source("tarball", path, f"{path} (archive)")
    if not path.is_dir():
        return None
    candidates = [path, path / "cifar-10-batches-py"]
    candidates += sorted(p for p in path.iterdir() if p.is_dir() and p not in candidates)
    for c in candidates:
        if _is_batches_dir(c):
            return _Source("batches", c, f"{c} (torchvision's cifar-10-batches-py)")
        if _is_tree(c):
            return _Source("tree", c, f"{c} (image folders)")
    archive = path / "cifar-10-python.tar.gz"
    if archive.is_file():
        return _Source("tarball", archive, f"{archive} (archive)")
    return None


def _download(root: Path) -> str | None:
    """Try torchvision's download into ``root``; the reason it failed, or None."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT)
    try:
        import torchvision

        root.mkdir(parents=True, exist_ok=True)
        torchvision.datasets.CIFAR10(str(root), train=True, download=True)
        torchvision.datasets.CIFAR10(str(root), train=False, download=True)
    except Exception as exc:  # offline: URLError, socket errors, a partial archive …
        return f"{type(exc).__name__}: {exc}"
    finally:
        socket.setdefaulttimeout(previous)
    return None


def find_source(data: Path | None, *, download: bool = True) -> _Source:
    """The data set ``data`` names, or by default ``./data`` of the current folder as a torchvision
    root (downloading there when allowed and online)."""
    if data is not None:
        source = _locate(data)
        if source is None:
            what = "does not exist" if not data.exists() else (
                "holds neither cifar-10-batches-py, nor train/ and test/ class folders, nor an archive")
            raise DataUnavailable(f"CIFAR-10 not found (looked in {data}: it {what})")
        if not os.access(source.path, os.R_OK):
            raise DataUnavailable(f"CIFAR-10 not readable: {source.path} (permission denied)")
        return source
    default = Path.cwd() / "data"
    source = _locate(default) if default.exists() else None
    if source is not None:
        return source
    reason = _download(default) if download else "downloading was not allowed"
    source = _locate(default) if reason is None else None
    if source is None:
        raise DataUnavailable(
            f"CIFAR-10 not found (no --data or AUTOGRADE_DATA given, no data/cifar10-jpeg.tar.gz in "
            f"the project, nothing in {default} as a torchvision root; the download failed: "
            f"{reason or 'no data after download'})")
    return source


# -- content keys -----------------------------------------------------------------------------
def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _files_key(files: Iterable[Path], memo_dir: Path) -> str:
    """sha256 over the files' contents, remembered by (path, size, mtime) so reruns do not rehash."""
    digest = hashlib.sha256()
    for f in files:
        st = f.stat()
        stamp = hashlib.sha256(f"{f.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:32]
        memo = memo_dir / f"sha256-{stamp}"
        try:
            value = memo.read_text().strip()
        except OSError:
            value = _sha256_file(f)
            try:
                memo_dir.mkdir(parents=True, exist_ok=True)
                memo.write_text(value)
            except OSError:
                pass
        digest.update(f"{f.name}:{value}\n".encode())
    return digest.hexdigest()


def _tree_files(root: Path, split: str) -> list[tuple[int, Path]]:
    """(label, path) of every image of a split, sorted by label then file name."""
    out: list[tuple[int, Path]] = []
    split_dir = root / split
    for folder in sorted(p for p in split_dir.iterdir() if p.is_dir()):
        if folder.name not in LABEL_OF_FOLDER:
            raise DataUnavailable(f"CIFAR-10 not usable: unknown class folder {folder} "
                                  f"(expected {', '.join(CIFAR_FOLDERS)})")
        label = LABEL_OF_FOLDER[folder.name]
        out += [(label, p) for p in sorted(folder.iterdir())
                if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
    return sorted(out, key=lambda item: (item[0], item[1].name))


def _content_key(source: _Source, memo_dir: Path) -> str:
    if source.kind == "tarball":
        return _files_key([source.path], memo_dir)
    if source.kind == "batches":
        names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
        return _files_key([source.path / n for n in names], memo_dir)
    digest = hashlib.sha256()
    for split in ("train", "test"):
        for label, p in _tree_files(source.path, split):
            st = p.stat()
            digest.update(f"{split}/{label}/{p.name}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


# -- decoding ---------------------------------------------------------------------------------
class _BatchUnpickler(pickle.Unpickler):
    """Unpickles CIFAR's batch files: numpy arrays, lists and bytes only, no other callables."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a CIFAR-10 batch file")
        return super().find_class(module, name)


def _decode_batch(raw: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        batch = _BatchUnpickler(io.BytesIO(raw), encoding="bytes").load()
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except Exception as exc:
        raise DataUnavailable(f"CIFAR-10 not usable: {where} is not a CIFAR-10 batch ({exc})") from None
    if data.ndim != 2 or data.shape[1] != 3072 or labels.shape != (data.shape[0],):
        raise DataUnavailable(f"CIFAR-10 not usable: {where} has data of shape {data.shape}")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


def _decode_image(raw: bytes, where: str) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(raw)) as img:
            array = np.asarray(img.convert("RGB"), dtype=np.uint8)
    except Exception as exc:
        raise DataUnavailable(f"CIFAR-10 not usable: {where} is not an image ({exc})") from None
    if array.shape != (32, 32, 3):
        raise DataUnavailable(f"CIFAR-10 not usable: {where} is {array.shape[1]}×{array.shape[0]}, not 32×32")
    return array


_Item = tuple[int, str, np.ndarray]
"""(label, file name, image) of one decoded image."""


def _stack(parts: dict[str, list[_Item]], source: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per split: images and labels, ordered by (label, name) before the fixed shuffle."""
    out = {}
    for split in ("train", "test"):
        items = sorted(parts.get(split, []), key=lambda t: (t[0], t[1]))
        if not items:
            raise DataUnavailable(f"CIFAR-10 not usable: no {split} images in {source}")
        images = np.stack([t[2] for t in items])
        labels = np.asarray([t[0] for t in items], dtype=np.int64)
        out[split] = (images, labels)
    return out


def _split_and_label(parts: tuple[str, ...]) -> tuple[str, int] | None:
    """('train', 3) for …/train/cat/0001.jpg, else None."""
    if len(parts) < 3 or parts[-3] not in SPLIT_SIZES:
        return None
    label = LABEL_OF_FOLDER.get(parts[-2])
    return None if label is None else (parts[-3], label)


def _read_tarball(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """An image-folder tree or a cifar-10-batches-py folder inside a tar archive."""
    parts: dict[str, list[_Item]] = {}
    batches: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                names = tuple(member.name.split("/"))
                base = names[-1]
                if len(names) >= 2 and names[-2] == "cifar-10-batches-py" and (
                        base.startswith("data_batch_") or base == "test_batch"):
                    batches[base] = tar.extractfile(member).read()  # type: ignore[union-attr]
                    continue
                where = _split_and_label(names)
                if where is None or not base.lower().endswith(IMAGE_SUFFIXES):
                    continue
                split, label = where
                raw = tar.extractfile(member).read()  # type: ignore[union-attr]
                parts.setdefault(split, []).append((label, base, _decode_image(raw, f"{path}:{member.name}")))
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DataUnavailable(f"CIFAR-10 not usable: {path} could not be read as an archive ({exc})") from None
    if batches:
        return _from_batches(batches, str(path))
    return _stack(parts, str(path))


def _from_batches(raw: dict[str, bytes], where: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    names = [f"data_batch_{i}" for i in range(1, 6)]
    missing = [n for n in names + ["test_batch"] if n not in raw]
    if missing:
        raise DataUnavailable(f"CIFAR-10 not usable: {where} lacks {', '.join(missing)}")
    train = [_decode_batch(raw[n], f"{where}/{n}") for n in names]
    test = _decode_batch(raw["test_batch"], f"{where}/test_batch")
    return {"train": (np.concatenate([t[0] for t in train]), np.concatenate([t[1] for t in train])),
            "test": test}


def _read_batches(folder: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    return _from_batches({n: (folder / n).read_bytes() for n in names if (folder / n).is_file()}, str(folder))


def _read_tree(root: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    parts: dict[str, list[_Item]] = {}
    for split in ("train", "test"):
        parts[split] = [(label, p.name, _decode_image(p.read_bytes(), str(p)))
                        for label, p in _tree_files(root, split)]
    return _stack(parts, str(root))


def decode(source: _Source) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Decode a located source into {'train': (images, labels), 'test': (images, labels)}."""
    if source.kind == "tarball":
        return _read_tarball(source.path)
    if source.kind == "batches":
        return _read_batches(source.path)
    return _read_tree(source.path)


def shuffle_once(images: np.ndarray, labels: np.ndarray, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The split in a fixed pseudo-random order (the same for every run and every run seed)."""
    order = np.random.default_rng([SHUFFLE_SEED, 0 if split == "train" else 1]).permutation(len(labels))
    return np.ascontiguousarray(images[order]), np.ascontiguousarray(labels[order])


# -- the cache --------------------------------------------------------------------------------
def _write_cache(folder: Path, splits: dict[str, tuple[np.ndarray, np.ndarray]], source: _Source) -> None:
    """Write the arrays into a fresh folder next to ``folder``, then rename it into place."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".tmp-", dir=folder.parent))
    try:
        worker = tmp / "worker"
        worker.mkdir()
        train_x, train_y = shuffle_once(*splits["train"], "train")
        test_x, test_y = shuffle_once(*splits["test"], "test")
        np.save(worker / "train_images.npy", train_x)
        np.save(worker / "train_labels.npy", train_y)
        np.save(worker / "test_images.npy", test_x)
        np.save(tmp / "test_labels.npy", test_y)
        meta = {"source": source.description, "kind": source.kind, "version": CACHE_VERSION,
                "train": int(len(train_y)), "test": int(len(test_y)),
                "classes": list(CIFAR_FOLDERS)}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
        for p in [tmp, *tmp.rglob("*")]:
            p.chmod(0o755 if p.is_dir() else 0o644)
        os.rename(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _complete(folder: Path) -> bool:
    return (folder / "meta.json").is_file() and (folder / "test_labels.npy").is_file() and all(
        (folder / "worker" / name).is_file() for name in WORKER_FILES)


def _load(folder: Path) -> CifarData:
    meta = json.loads((folder / "meta.json").read_text())
    labels = np.load(folder / "test_labels.npy", mmap_mode="r")
    return CifarData(worker_dir=folder / "worker", test_labels=labels, source=str(meta["source"]),
                     classes=tuple(meta.get("classes", CIFAR_FOLDERS)))


def prepare(config: Any, *, download: bool = True) -> CifarData:
    """Find, decode (once) and cache CIFAR-10 for ``config`` (a `GradingConfig`).

    Raises DataUnavailable, saying where it looked, when there is no usable data set.
    """
    source = find_source(getattr(config, "data", None), download=download)
    cache = Path(config.cache)
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataUnavailable(f"CIFAR-10 cannot be cached: {cache} is not writable ({exc})") from None
    key = _content_key(source, cache / "keys")
    folder = cache / f"cifar10-v{CACHE_VERSION}-{key[:24]}"
    if not _complete(folder):
        with (cache / ".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # another judge may be decoding the same source
            if not _complete(folder):
                if folder.exists():
                    shutil.rmtree(folder, ignore_errors=True)
                _write_cache(folder, decode(source), source)
    return _load(folder)
