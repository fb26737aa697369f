"""No verdict of problems 1, 4 and 5 depends on the run seed: every variant — the reference, other
correct styles (the textbook's, ``nn.Sequential``, functional, a layer class of the student's own,
float32, δ in the log, log₂) and each known-bad one — earns the same points under 20 seeds.

Each variant gets one sandboxed worker (a `GradingSession` of its own, as the judge makes); the
graded suites' checks are then run against it once per seed, with the fixtures the plugin would
give them (the seed's ``rng``, the reference, ``remark``) and their endings classified as the
plugin classifies them (`outcomes.classify`). Twenty full gradings per variant would cost a
worker start each; the checks and the worker are the same either way.
"""

from __future__ import annotations

import importlib.util
import inspect
import shutil
import sys
import zlib
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from code_mutations import disguise
from conftest import GRADED, REFERENCE
from autograder.common import config as cfg
from autograder.common.results import Outcome
from autograder.judge.outcomes import classify
from autograder.judge.references import reference_module
from autograder.judge.session import GradingSession

SEEDS = [7, 0, 1, 2, 3, 42, 99, 123, 2024, 31337, 65535, 10**6 + 3, 2**31 - 1, 1367392631, 5, 8, 13, 21, 34, 55]
SUITES = ("test_problem1.py", "test_problem4.py", "test_problem5.py")

LENET = (REFERENCE / "problem1.py").read_text(encoding="utf-8")
SOFTMAX = (REFERENCE / "problem4.py").read_text(encoding="utf-8")
LOSSES = (REFERENCE / "problem5.py").read_text(encoding="utf-8")

OWN_CONV_LENET = '''
import torch
import torch.nn as nn
import torch.nn.functional as F


class Conv2d(nn.Module):
    """The student's own convolution: an int kernel_size, a list stride."""

    def __init__(self, in_channels, out_channels, kernel_size):
        super().__init__()
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.stride = [1, 1]
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size) * 0.1)
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias)


class Dense(nn.Module):
    """A linear layer that keeps no sizes at all."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_out, n_in) * 0.05)
        self.bias = nn.Parameter(torch.zeros(n_out))

    @property
    def in_features(self):
        raise RuntimeError("not kept")

    def forward(self, x):
        return x @ self.weight.t() + self.bias


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = Conv2d(1, 6, 5)
        self.conv2 = Conv2d(6, 16, 5)
        self.fc1 = Dense(16 * 5 * 5, 120)
        self.fc2 = Dense(120, 84)
        self.fc3 = Dense(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(-1, 16 * 5 * 5)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def sgd_step(net, learning_rate):
    for f in net.parameters():
        f.data.sub_(f.grad.data * learning_rate)
'''

TEXTBOOK_BATCH = '''
import numpy as np


def softmax(x):
    if x.ndim == 2:
        x = x.T
        x = x - np.max(x, axis=0)
        y = np.exp(x) / np.sum(np.exp(x), axis=0)
        return y.T
    x = x - np.max(x)
    return np.exp(x) / np.sum(np.exp(x))
'''

FLOAT32_LOG2 = '''
import numpy as np


def MSE(y, t):
    y, t = np.asarray(y, dtype=np.float32), np.asarray(t, dtype=np.float32)
    return np.float32(0.5) * np.sum((y - t) ** 2)


def cross_entropy_error(y, t):
    y, t = np.asarray(y, dtype=np.float32), np.asarray(t, dtype=np.float32)
    return -np.sum(t * np.log(np.clip(y, 1e-7, 1.0)))


def loglikelihood(y, t):
    y = np.asarray(y, dtype=np.float32)
    return -np.log2(y[int(np.argmax(t))] + np.float32(1e-7))
'''

NO_DELTA = '''
import numpy as np


def MSE(y, t):
    return sum((a - b) ** 2 for a, b in zip(y, t)) / 2


def cross_entropy_error(y, t):
    return -float(np.sum(np.asarray(t) * np.log(np.asarray(y))))


def loglikelihood(y, t):
    i = list(t).index(1)
    return -np.log(y[i] + 1e-7)
'''

TEXTBOOK_BATCH_LOSSES = '''
import numpy as np


def MSE(y, t):
    return 0.5 * np.sum((y - t) ** 2)


def cross_entropy_error(y, t):
    if y.ndim == 1:
        t = t.reshape(1, t.size)
        y = y.reshape(1, y.size)
    batch_size = y.shape[0]
    return -np.sum(t * np.log(y + 1e-7)) / batch_size


def loglikelihood(y, t):
    if y.ndim == 1:
        t = t.reshape(1, t.size)
        y = y.reshape(1, y.size)
    return -np.sum(np.log2(y[np.arange(y.shape[0]), t.argmax(axis=1)] + 1e-7)) / y.shape[0]
'''
"""The textbook's batch losses: right for arrays, but ``y - t`` and ``y.ndim`` fail on the lists
the homework itself passes (problem 5's example), which costs the lists check alone."""

SOFTMAX32 = '''
import numpy as np


def softmax(x):
    x = np.asarray(x, dtype=np.float32)
    e = np.exp(x - x.max())
    return e / e.sum()
'''


def _fixed(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")


def _patched(folder: Path, patches: dict[str, list[tuple[str, str]]]) -> None:
    for module, edits in patches.items():
        path = folder / module
        text = path.read_text(encoding="utf-8")
        for old, new in edits:
            assert old in text, (module, old)
            text = text.replace(old, new)
        path.write_text(text, encoding="utf-8")


VARIANTS: dict[str, tuple[dict[str, str], dict[str, list[tuple[str, str]]], dict[str, float]]] = {
    # name: (files written, patches to the reference, points lost — the same on every seed)
    "reference": ({}, {}, {}),
    "bad_a": ({}, {
        "problem1.py": [("nn.Linear(16 * 5 * 5, 120)", "nn.Linear(16 * 5 * 5, 100)"),
                        ("nn.Linear(120, 84)", "nn.Linear(100, 84)")],
        "problem4.py": [("np.exp(x - np.max(x, axis=-1, keepdims=True))", "np.exp(x)")],
        "problem5.py": [("0.5 * np.sum((y - t) ** 2)", "np.sum((y - t) ** 2)")],
    }, {"test_module_tree": 1, "test_parameters": 1, "test_no_overflow_on_large_inputs": 3,
        "test_mse_example": 2, "test_mse_random": 2}),
    "bad_b": ({}, {
        "problem1.py": [("p -= learning_rate * p.grad", "p += learning_rate * p.grad")],
        "problem5.py": [("return -np.log(y[np.argmax(t)])", "return np.log(y[np.argmax(t)])")],
    }, {"test_sgd_step": 2, "test_loglikelihood_example": 2, "test_loglikelihood_random": 2}),
    "bad_c": ({}, {"problem1.py": [("return self.fc3(x)", "return self.fc3(x).squeeze()")]},
              {"test_output_shape": 1}),
    "bad_d": ({}, {"problem1.py": [("x = F.relu(self.fc2(x))", "x = self.fc2(x)")]},
              {"test_forward_equivalence": 4, "test_loss_and_gradients": 3}),
    "wrong_conventions": ({}, {
        # the loss at the prediction's maximum, not at the answer; log₁₀; a min shift; a mean MSE
        "problem5.py": [("-np.sum(t * np.log(y + delta))", "-np.log(np.max(y) + delta)"),
                        ("return -np.log(y[np.argmax(t)])", "return -np.log10(y[np.argmax(t)])"),
                        ("0.5 * np.sum((y - t) ** 2)", "np.mean((y - t) ** 2)")],
        "problem4.py": [("np.exp(x - np.max(x, axis=-1, keepdims=True))", "np.exp(x - np.min(x, axis=-1, keepdims=True))")],
    }, {"test_cross_entropy_example": 2, "test_cross_entropy_random": 2, "test_loglikelihood_example": 2,
        "test_loglikelihood_random": 2, "test_mse_example": 2, "test_mse_random": 2,
        "test_no_overflow_on_large_inputs": 3}),
    "wrong_input_channels": ({}, {"problem1.py": [("nn.Conv2d(1, 6, 5)", "nn.Conv2d(3, 6, 5)")]},
                             {"test_module_tree": 1, "test_parameters": 1}),
    "forward_fails": ({}, {"problem1.py": [("F.max_pool2d(F.relu(self.conv2(x)), 2)", "F.max_pool2d(F.relu(self.conv2(x)), 3)")]},
                      {"test_output_shape": 1, "test_forward_equivalence": 4}),
    "own_layers_textbook_batch": ({"problem1.py": OWN_CONV_LENET, "problem4.py": TEXTBOOK_BATCH}, {}, {}),
    "float32_log2_clip": ({"problem5.py": FLOAT32_LOG2, "problem4.py": SOFTMAX32}, {}, {}),
    "loops_without_delta": ({"problem5.py": NO_DELTA}, {}, {}),
    "textbook_batch_losses": ({"problem5.py": TEXTBOOK_BATCH_LOSSES}, {}, {"test_lists_and_arrays": 2}),
    "disguised": ({f"problem{n}.py": disguise((REFERENCE / f"problem{n}.py").read_text(encoding="utf-8"), seed=n)
                   for n in (1, 4, 5)}, {}, {}),
    "sequential": ({}, {}, {}),
    "vectorised": ({}, {}, {}),
    "textbook": ({}, {}, {}),
}


def _build(name: str, root: Path) -> Path:
    files, patches, _ = VARIANTS[name]
    folder = root / name
    shutil.copytree(REFERENCE, folder, ignore=shutil.ignore_patterns("__pycache__"))
    style = Path(__file__).resolve().parent / "variants" / name
    if style.is_dir():
        for path in style.glob("*.py"):
            shutil.copy(path, folder / path.name)
    _patched(folder, patches)
    _fixed(folder, files)
    return folder


def _suite(file: str) -> Any:
    name = f"_seeded_{file[:-3]}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, GRADED / file)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def _points(fn: Callable[..., Any]) -> float | None:
    marks = [m for m in getattr(fn, "pytestmark", []) if m.name == "points"]
    return float(marks[0].args[0]) if marks else None


class _Checks:
    """The checks of one suite, run with the fixtures the plugin and the suite's own would give."""

    def __init__(self, file: str, worker: Any) -> None:
        self.file, self.module, self.worker = file, _suite(file), worker
        self.scoped: dict[str, Any] = {}
        """Module-scoped fixtures (``described``): made once per worker, as in one grading."""

    def _fixture(self, name: str, base: dict[str, Any]) -> Any:
        if name in base:
            return base[name]
        if name in self.scoped:
            return self.scoped[name]
        definition = getattr(self.module, name)
        fn = definition._get_wrapped_function()
        value = fn(**{p: self._fixture(p, base) for p in inspect.signature(fn).parameters})
        if definition._fixture_function_marker.scope == "module":
            self.scoped[name] = value
        return value

    def run(self, seed: int) -> dict[str, tuple[Outcome, float, str]]:
        out = {}
        for name, fn in vars(self.module).items():
            points = _points(fn) if name.startswith("test_") and callable(fn) else None
            if points is None:
                continue
            nodeid = f"{self.file}::{name}"
            remarks: list[str] = []
            base = {"worker": self.worker, "reference": reference_module, "remark": remarks.append,
                    "rng": np.random.default_rng([seed, zlib.crc32(nodeid.encode())])}
            error: BaseException | None = None
            try:
                fn(**{p: self._fixture(p, base) for p in inspect.signature(fn).parameters})
            except Exception as exc:  # noqa: BLE001 — classified below, as the plugin does
                error = exc
            verdict = classify(error, passed=error is None, skipped=False, skip_reason="", check=name,
                               nodeid=nodeid)
            text = verdict.grader_fault or (str(verdict.feedback) if verdict.feedback else "")
            out[name] = (verdict.outcome, points, text)
        return out


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("seeded")
    for name in VARIANTS:
        _build(name, root)
    return root


@pytest.mark.parametrize("name", list(VARIANTS))
def test_same_points_on_every_seed(name, built):
    expected = VARIANTS[name][2]
    config = cfg.resolve({"seed": 7, "budget": "quick", "device": "cpu"})
    session = GradingSession(config, built / name, None)
    try:
        worker = session.worker()
        suites = [_Checks(file, worker) for file in SUITES]
        for seed in SEEDS:
            verdicts = {k: v for checks in suites for k, v in checks.run(seed).items()}
            faults = {k: text for k, (outcome, _, text) in verdicts.items() if outcome is Outcome.NOT_GRADED}
            assert faults == {}, (name, seed, faults)
            lost = {k: points for k, (outcome, points, _) in verdicts.items()
                    if outcome is not Outcome.PASSED and points}
            assert lost == expected, (name, seed, {k: verdicts[k][2] for k in set(lost) ^ set(expected)})
    finally:
        session.close()
