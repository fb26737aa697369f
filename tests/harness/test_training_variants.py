"""Invariants of problems 2 and 3-(1)…3-(6), graded end to end on CIFAR-10 at the quick budget.

The reference earns every point; 20163140 loses only 3-(1)'s architecture points; each planted
bug costs the points of the problem it lives in and nothing elsewhere. Variants that break
different problems share one submission, since problems are graded independently.

These need CIFAR-10: ``AUTOGRADE_DATA`` names it (CI sets it to the shared tarball); without it,
and without ``./data``, they are skipped. Each training run takes seconds on an idle 2-core CPU.
"""

from __future__ import annotations

import pytest

from autograder.common import budgets
from autograder.common.results import Outcome, SubmissionResult
from conftest import ROOT, grade_folder, graded_suites as suites

pytestmark = pytest.mark.usefixtures("cifar_present")


ALL = ("problem2", "problem3_1", "problem3_2", "problem3_3", "problem3_4", "problem3_5", "problem3_6")


def lost(result: SubmissionResult) -> dict[str, float]:
    """Points lost per check, keyed 'problem3_5::test_accuracy_floor' (names repeat across files)."""
    return {f"{t.problem}::{t.id.split('::')[-1]}": t.max_points - t.points for t in result.tests
            if t.outcome is not Outcome.PASSED}


def by_key(result: SubmissionResult) -> dict[str, object]:
    return {f"{t.problem}::{t.id.split('::')[-1]}": t for t in result.tests}


def record(result: SubmissionResult, problem: str):
    return next(r for r in result.training if r.problem == problem)


def test_reference_earns_every_point(tmp_path):
    result = grade_folder(ROOT / "autograder" / "judge" / "reference", tmp_path / "out", suites(*ALL))
    assert result.not_graded == [], [t.message for t in result.not_graded]
    assert lost(result) == {}
    assert result.max_score == 25 + 6 * 6
    assert {r.problem for r in result.training} == set(ALL)
    assert record(result, "problem2").pieces["train"] == "student"
    assert record(result, "problem3_3").pieces == {"transform": "baseline", "Net": "baseline",
                                                   "criterion": "baseline", "make_optimizer": "baseline",
                                                   "train": "grader", "train_transform": "student"}
    quick = budgets.budget("quick")
    assert all(r.steps_run == r.steps == quick.steps_for(r.problem) == len(r.losses) for r in result.training)
    assert record(result, "problem3_1").steps < quick.steps  # its shorter run (docs/training.md)


def test_20163140_loses_only_the_architecture_of_3_1(tmp_path):
    result = grade_folder(ROOT / "submissions" / "20163140", tmp_path / "out",
                          suites("problem3_1", "problem3_2", "problem3_4"))
    assert lost(result) == {"problem3_1::test_four_distinct_convolutions": 1,
                            "problem3_1::test_output_layer_and_weights": 1}
    tests = by_key(result)
    assert "18,154" in tests["problem3_1::test_output_layer_and_weights"].feedback.found
    assert any("eps" in r for r in tests["problem3_2::test_optimizer_is_adam"].remarks)
    assert any("net.eval()" in r for r in tests["problem3_4::test_evaluate_uses_eval_mode"].remarks)
    assert record(result, "problem3_1").pieces["Net"] == "student"


def test_layers_that_differ_cost_problem_2_their_points_once(variant, tmp_path):
    """A Net 128 wide where the homework has 120 trains and runs: the layers check charges it, the
    forward check says it cannot compare with the reference's weights instead of charging it again."""
    folder = variant("wider_fc1", {"problem2.py": [
        ("self.fc1 = nn.Linear(16 * 5 * 5, 120)", "self.fc1 = nn.Linear(16 * 5 * 5, 128)"),
        ("self.fc2 = nn.Linear(120, 84)", "self.fc2 = nn.Linear(128, 84)")]})
    result = grade_folder(folder, tmp_path / "out", suites("problem2"))
    assert lost(result) == {"problem2::test_network_layers_and_weights": 4}
    tests = by_key(result)
    assert "Linear(400, 128)" in tests["problem2::test_network_layers_and_weights"].feedback.found
    assert any("charges once" in r for r in tests["problem2::test_forward_matches_the_reference"].remarks)


def test_train_without_zero_grad_and_nll_on_raw_outputs(variant, tmp_path):
    folder = variant("bad_train_and_loss", {
        "problem2.py": [("            optimizer.zero_grad()\n", "")],
        "problem3_5.py": [("self.nll(F.log_softmax(outputs, dim=1), labels)", "self.nll(outputs, labels)")],
    })
    result = grade_folder(folder, tmp_path / "out", suites("problem2", "problem3_5", "problem3_6"))
    assert lost(result) == {
        "problem2::test_train_lowers_the_loss": 3, "problem2::test_accuracy_floor": 4,
        "problem3_5::test_loss_is_cross_entropy": 2, "problem3_5::test_finite_on_large_outputs": 1,
        "problem3_5::test_accuracy_floor": 3,
    }  # problem3_6, trained in the grader's own loop, keeps its points
    tests = by_key(result)
    assert "zero_grad" in tests["problem2::test_train_lowers_the_loss"].feedback.expected
    nll = record(result, "problem3_5")
    assert nll.steps_run < nll.steps and "NLLLoss expects log-probabilities" in nll.stopped_early
    floor = tests["problem3_5::test_accuracy_floor"].feedback
    assert "budget quick" in floor.checked and "stopped early" in floor.found


def test_missing_relu_percentages_sgd_for_adam_and_no_weight_decay(variant, tmp_path):
    folder = variant("bad_pieces", {
        "problem2.py": [("x = F.relu(self.fc2(x))", "x = self.fc2(x)"),
                        ("accuracy = correct / total if total else 0.0",
                         "accuracy = 100 * correct / total if total else 0.0"),
                        ("per_class = [c / t if t else 0.0", "per_class = [100 * c / t if t else 0.0")],
        "problem3_2.py": [("optim.Adam(net.parameters(), lr=0.001, betas=(0.9, 0.999))",
                           "optim.SGD(net.parameters(), lr=0.001, momentum=0.9)")],
        "problem3_6.py": [("weight_decay=5e-4", "weight_decay=0")],
    })
    result = grade_folder(folder, tmp_path / "out", suites("problem2", "problem3_2", "problem3_6"))
    found = lost(result)
    # SGD trains more slowly than Adam: whether it also misses 3-(2)'s floor depends on the budget
    floor_3_2 = found.pop("problem3_2::test_accuracy_floor", None)
    assert floor_3_2 in (None, 3)
    assert found == {
        "problem2::test_forward_matches_the_reference": 3,   # same weights, different function
        "problem2::test_evaluate_returns_fractions": 3,
        "problem3_2::test_optimizer_is_adam": 3,
        "problem3_6::test_weight_decay_on_every_parameter": 3,
    }
    tests = by_key(result)
    assert "percentage" in tests["problem2::test_evaluate_returns_fractions"].feedback.found
    assert tests["problem3_2::test_optimizer_is_adam"].feedback.found == "torch.optim.SGD"
    assert tests["problem3_6::test_weight_decay_on_every_parameter"].feedback.where == "problem3_6.py:make_optimizer"


NLL_WITH_OWN_NET = '''\
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    """problem 2's network, ending in log_softmax as PyTorch's own examples write it"""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = x.view(-1, 16 * 5 * 5)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return F.log_softmax(self.fc3(x), dim=1)


criterion = nn.NLLLoss()
'''

DECAY_ON_WEIGHTS_ONLY = '''\
import torch.optim as optim


def make_optimizer(net):
    decay = [p for name, p in net.named_parameters() if not name.endswith("bias")]
    no_decay = [p for name, p in net.named_parameters() if name.endswith("bias")]
    return optim.SGD([{"params": decay, "weight_decay": 5e-4}, {"params": no_decay, "weight_decay": 0}],
                     lr=0.001, momentum=0.9)
'''


def test_pieces_that_belong_together_and_the_tutorials_zero_grad(variant, tmp_path):
    """3-(5) as PyTorch's examples write it (a Net ending in log_softmax, ``nn.NLLLoss()``) is
    trained as one; 3-(6) decaying the weights but not the biases is L2; problem 2's ``train``
    with the tutorial's order (forward, loss, zero_grad, backward, step) clears its gradients in
    time. Every point is earned. A bias-only decay still fails."""
    folder = variant("together", {
        "problem2.py": [("            optimizer.zero_grad()\n            outputs = net(inputs)\n"
                         "            loss = criterion(outputs, labels)\n",
                         "            outputs = net(inputs)\n            loss = criterion(outputs, labels)\n"
                         "            optimizer.zero_grad()\n")],
    }, {"problem3_5.py": NLL_WITH_OWN_NET, "problem3_6.py": DECAY_ON_WEIGHTS_ONLY})
    result = grade_folder(folder, tmp_path / "out", suites("problem2", "problem3_5", "problem3_6"))
    assert lost(result) == {}, {k: by_key(result)[k].feedback for k in lost(result)}
    assert record(result, "problem3_5").pieces["Net"] == "student"
    assert record(result, "problem3_5").pieces["criterion"] == "student"
    remarks = by_key(result)["problem3_5::test_loss_is_cross_entropy"].remarks
    assert any("ends in log_softmax" in r for r in remarks), remarks

    biases_only = variant("biases_only", {}, {"problem3_6.py": DECAY_ON_WEIGHTS_ONLY.replace(
        '"params": decay, "weight_decay": 5e-4}, {"params": no_decay, "weight_decay": 0}',
        '"params": decay, "weight_decay": 0}, {"params": no_decay, "weight_decay": 5e-4}')})
    result = grade_folder(biases_only, tmp_path / "out2", suites("problem3_6"))
    assert "problem3_6::test_weight_decay_on_every_parameter" in lost(result)
    assert "no decay on conv1.weight" in by_key(result)["problem3_6::test_weight_decay_on_every_parameter"].feedback.found
