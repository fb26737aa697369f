"""3-(3)'s judgement of "a real augmentation, not noise" (autograder/judge/suites/test_problem3_3.py), tried
on torchvision's own augmentations and on added noise, in-process on the suite's smooth images."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.transforms as T
from PIL import Image

SUITE = Path(__file__).resolve().parents[2] / "autograder" / "judge" / "suites" / "test_problem3_3.py"
spec = importlib.util.spec_from_file_location("graded_problem3_3", SUITE)
suite = importlib.util.module_from_spec(spec)
spec.loader.exec_module(suite)

NORMALISE = [T.ToTensor(), T.Normalize((0.5,) * 3, (0.5,) * 3)]


class AddNoise:
    def __init__(self, sigma: float) -> None:
        self.sigma = sigma

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return (x + self.sigma * torch.randn_like(x)).clamp(-1, 1)


def kinds(transform, seed: int = 0) -> list[str]:
    torch.manual_seed(seed)
    images = suite.smooth_images(np.random.default_rng(seed))
    return [suite.classify(transform(Image.fromarray(img)).numpy().astype(np.float64), suite.clean(img))
            for _ in range(suite.DRAWS) for img in images]


@pytest.mark.parametrize("augmentation", [
    T.RandomHorizontalFlip(), T.RandomCrop(32, padding=4), T.RandomRotation(15), T.RandomResizedCrop(32),
    T.ColorJitter(0.4, 0.4, 0.4, 0.1), T.RandomAffine(10, translate=(0.1, 0.1)), T.RandomGrayscale(0.5),
], ids=lambda t: type(t).__name__)
def test_augmentations_pass(augmentation):
    found = kinds(T.Compose([augmentation, *NORMALISE]))
    passing = sum(k in ("same", "geometric", "structured") for k in found)
    assert passing >= suite.MIN_PASSING * len(found), found
    assert any(k != "same" for k in found)


@pytest.mark.parametrize("sigma", [0.02, 0.1, 0.5])
@pytest.mark.parametrize("flip", [False, True])
def test_added_noise_fails(sigma, flip):
    steps = ([T.RandomHorizontalFlip()] if flip else []) + NORMALISE + [AddNoise(sigma)]
    found = kinds(T.Compose(steps))
    passing = sum(k in ("same", "geometric", "structured") for k in found)
    assert passing < suite.MIN_PASSING * len(found), found


def test_flip_and_shift_are_recognised_exactly():
    image = suite.smooth_images(np.random.default_rng(1))[0]
    c = suite.clean(image)
    assert suite.classify(c[:, :, ::-1].copy(), c) == "geometric"
    shifted = np.full_like(c, -1.0)
    shifted[:, 3:, :-2] = c[:, :-3, 2:]
    assert suite.classify(shifted, c) == "geometric"
    assert suite.classify(c.copy(), c) == "same"
