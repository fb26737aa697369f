"""Problem 3-(3) — data augmentation (6 points).

Split: train_transform is random (draws on the same image differ) 1; it keeps the 3×32×32 shape
and the [−1, 1] range 1; it is a real augmentation, not noise 1; test accuracy at the floor 3.

"Real augmentation" is judged on smooth test images, where the two differ plainly: a flip, crop,
shift, rotation or colour change of a smooth image leaves a smooth difference from it (or none,
for an exact flip or shift), while added noise leaves a difference with no correlation between
neighbouring pixels. A draw passes when it equals the image, its mirror image, or a shifted copy
of either (up to 8 pixels, any padding), or when its difference from the nearer of the image and
its mirror image has a lag-1 autocorrelation of at least 0.5 (noise: about 0); three quarters of
the draws must pass. The training uses train_transform with the homework's given Net, loss and
SGD (the test images go through the given transform).
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from autograder.judge.checks import as_array, fail

pytestmark = pytest.mark.problem("problem3_3")

MODULE = "problem3_3"
WHERE = "problem3_3.py:train_transform"
DRAWS = 8
MAX_SHIFT = 8
EXACT = 1e-4
MIN_AUTOCORRELATION = 0.5
MIN_PASSING = 0.75


def smooth_images(rng: np.random.Generator, n: int = 3) -> np.ndarray:
    """Random 4×4 colour fields scaled up to 32×32 (bilinear): smooth, and not mirror-symmetric."""
    out = []
    for _ in range(n):
        small = Image.fromarray(rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8), mode="RGB")
        out.append(np.asarray(small.resize((32, 32), Image.BILINEAR), dtype=np.uint8))
    return np.stack(out)


def clean(image: np.ndarray) -> np.ndarray:
    """The image through problem 2's transform (3×32×32 in [-1, 1])."""
    return image.transpose(2, 0, 1).astype(np.float64) / 127.5 - 1.0


def shifted_copy(d: np.ndarray, c: np.ndarray) -> bool:
    """``d`` equals ``c`` shifted by up to MAX_SHIFT pixels, wherever they overlap (padding is free)."""
    size = c.shape[-1]
    for dy in range(-MAX_SHIFT, MAX_SHIFT + 1):
        for dx in range(-MAX_SHIFT, MAX_SHIFT + 1):
            ys, xs = slice(max(dy, 0), size + min(dy, 0)), slice(max(dx, 0), size + min(dx, 0))
            yc, xc = slice(max(-dy, 0), size + min(-dy, 0)), slice(max(-dx, 0), size + min(-dx, 0))
            if np.max(np.abs(d[:, ys, xs] - c[:, yc, xc])) < EXACT:
                return True
    return False


def autocorrelation(r: np.ndarray) -> float:
    """Lag-1 correlation of neighbouring pixels of ``r``, across and down, averaged."""
    pairs = [(r[:, :, :-1], r[:, :, 1:]), (r[:, :-1, :], r[:, 1:, :])]
    values = []
    for a, b in pairs:
        denominator = np.sqrt(np.sum(a * a) * np.sum(b * b))
        values.append(np.sum(a * b) / denominator if denominator > 0 else 1.0)
    return float(np.mean(values))


def classify(d: np.ndarray, c: np.ndarray) -> str:
    """'same', 'geometric' (an exact flip or shift) or 'structured' (a smooth change); else 'noise'."""
    if np.max(np.abs(d - c)) < EXACT:
        return "same"
    mirror = c[:, :, ::-1]
    if shifted_copy(d, c) or shifted_copy(d, mirror) or np.max(np.abs(d - c[:, ::-1, :])) < EXACT:
        return "geometric"
    nearer = min((c, mirror), key=lambda x: float(np.sum((d - x) ** 2)))
    return "structured" if autocorrelation(d - nearer) >= MIN_AUTOCORRELATION else "noise"


@pytest.fixture(scope="module")
def draws(worker, grading):
    """DRAWS applications of train_transform to each of three smooth images: [draw][image] arrays."""
    rng = np.random.default_rng([grading.config.seed, 33])
    images = smooth_images(rng)
    reply = worker.call("transform_images", module=MODULE, name="train_transform", images=images,
                        draws=DRAWS, seed=int(rng.integers(2**31)),
                        doing=f"applying train_transform {DRAWS} times to three images")
    if not isinstance(reply, list) or len(reply) != DRAWS:
        fail("what applying train_transform returned", f"{DRAWS} draws", repr(type(reply)), WHERE)
    return images, [[as_array(x, "train_transform of a 32×32 image", WHERE) for x in draw] for draw in reply]


@pytest.mark.points(1)
def test_transform_is_random(draws):
    """train_transform is random: several draws on the same image are not all the same"""
    _, out = draws
    differs = [any(out[k][i].shape != out[0][i].shape or np.max(np.abs(out[k][i] - out[0][i])) > 1e-6
                   for k in range(1, DRAWS)) for i in range(len(out[0]))]
    if not any(differs):
        fail(f"{DRAWS} applications of train_transform to each of three images",
             "different results (a random augmentation)", "the same tensor every time", WHERE)


@pytest.mark.points(1)
def test_shape_and_range(draws):
    """train_transform gives 3×32×32 tensors in [−1, 1], like problem 2's transform"""
    _, out = draws
    for draw in out:
        for x in draw:
            if x.shape != (3, 32, 32):
                fail("shape of train_transform's output for a 32×32 RGB image", "(3, 32, 32)",
                     str(tuple(x.shape)), WHERE)
            if x.min() < -1 - EXACT or x.max() > 1 + EXACT:
                fail("range of train_transform's output", "[-1, 1] (ToTensor, then Normalize(0.5, 0.5))",
                     f"[{x.min():.3f}, {x.max():.3f}]", WHERE)


@pytest.mark.points(1)
def test_real_augmentation(draws):
    """train_transform is an augmentation (flip, crop, shift, rotation, colour …), not added noise"""
    images, out = draws
    kinds = [classify(x, clean(images[i])) if x.shape == (3, 32, 32) else "wrong shape"
             for draw in out for i, x in enumerate(draw)]
    counts = {k: kinds.count(k) for k in dict.fromkeys(kinds)}
    show = ", ".join(f"{n} {k}" for k, n in counts.items())
    if counts.get("same", 0) == len(kinds):
        fail("train_transform's draws against the image itself", "some draws changed by an augmentation",
             f"all {len(kinds)} draws equal the plainly transformed image", WHERE)
    passing = counts.get("same", 0) + counts.get("geometric", 0) + counts.get("structured", 0)
    if passing < MIN_PASSING * len(kinds):
        fail(f"{len(kinds)} draws on smooth images: each the image, a flip or shift of it, or a smooth "
             "change of it (neighbouring pixels of the difference correlate)",
             f"at least {MIN_PASSING:.0%} of the draws", f"{passing} ({show}) — it looks like added noise",
             WHERE)


@pytest.mark.points(3)
def test_accuracy_floor(training_runs):
    """Trained on augmented images (given Net, loss and SGD), the net reaches the accuracy floor"""
    training_runs.check_floor(MODULE)
