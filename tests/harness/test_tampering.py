"""A submission that makes the worker report what is not there, graded end to end: swapping the
worker's probe for problem 1's structure (the issue's example): problem 1 fails, the TA's page
flags it, and the rest of the submission is graded as usual. The judge's own cross-check (the
parameters described against those the forward pass loads) is driven apart from the worker's, in
`test_a_description_the_forward_pass_contradicts_is_tampering`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from autograder.common.results import Outcome, Status
from autograder.judge import sandbox
from conftest import REFERENCE, grade_folder, graded_suites

pytestmark = pytest.mark.skipif(sandbox.bwrap_check()[0] is None, reason="needs a working bubblewrap")

ONE_LAYER = '''
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(1024, 10)

    def forward(self, x):
        return self.fc(x.flatten(1))
'''

SWAPS_THE_PROBE = ONE_LAYER + '''

import sys
import types

_probes = sys.modules["autograder.worker.probes"]
_registry = sys.modules["autograder.worker.registry"]
_lenet = {"layers": [], "parameters": [], "weights": 61706, "output_shape": [1, 10]}
_registry.PROBES["describe_net"] = lambda ctx, **kwargs: _registry_real(ctx, **kwargs)
_registry_real = _probes.describe_net
'''

@pytest.mark.parametrize("source", [SWAPS_THE_PROBE], ids=["swaps-the-probe"])
def test_a_submission_that_forges_its_structure_fails_problem_1_and_is_flagged(tmp_path: Path, source: str) -> None:
    folder = tmp_path / "s"
    shutil.copytree(REFERENCE, folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "problem1.py").write_text(source)
    result = grade_folder(folder, tmp_path / "out", graded_suites("1", "4"))
    assert result.status is Status.GRADED, result.status_reason
    by = {p.module: p.points for p in result.problems()}
    assert by["problem1"] == 0, [(t.name, t.outcome, t.feedback) for t in result.tests if t.problem == "problem1"]
    assert by["problem4"] == 10
    assert all(t.outcome is Outcome.FAILED for t in result.tests if t.problem == "problem1")
    assert any(r.problem == "problem1" and r.text.startswith("TAMPERING") for r in result.remarks)


class _Worker:
    """A worker whose forward pass finds other parameters than the description reported."""

    def __init__(self, message: str) -> None:
        self.message = message

    def call(self, probe: str, **kwargs: object) -> None:
        from autograder.judge.worker_client import FailureKind, ProbeFailure

        raise ProbeFailure(FailureKind.RAISED, self.message, where="problem1.py")


def test_a_description_the_forward_pass_contradicts_is_tampering() -> None:
    """The judge's cross-check: weights of the described shapes that the forward pass cannot load
    (ParameterMismatch) fail problem 1 as tampering; any other failure of that pass is left to the
    forward checks (a Net whose forward raises is wrong, not forging)."""
    import importlib.util

    from autograder.common.protocol import NetDescription
    from autograder.common import typed
    from autograder.judge.worker_client import FailureKind, ProbeFailure

    spec = importlib.util.spec_from_file_location("suite_problem1", REFERENCE.parents[0] / "suites" / "test_problem1.py")
    suite = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(suite)
    described = typed.parse(NetDescription, {"layers": [], "parameters": [{"name": "conv1.weight", "shape": [6, 1, 5, 5]}],
                                             "weights": 150, "output_shape": [1, 10], "calls": []})
    with pytest.raises(ProbeFailure) as caught:
        suite.cross_check_parameters(_Worker("problem1.py: ParameterMismatch: Net has 2 parameter tensors; 1 were expected"),
                                     described)
    assert caught.value.kind is FailureKind.TAMPERED and "Net has 2 parameter tensors" in caught.value.message
    suite.cross_check_parameters(_Worker("problem1.py:9 in forward: RuntimeError: shapes cannot be multiplied"),
                                 described)
