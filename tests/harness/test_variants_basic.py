"""Invariants of problems 1, 4 and 5: wrong variants lose exactly their points; other styles lose none.

Each variant is graded end to end (judge subprocess, sandboxed worker). Variants that break
different problems share one submission: problems are graded independently, so each problem's
lost points can be attributed to its own bug.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import grade_folder, graded_suites, lost
from autograder.common.results import Outcome

HERE = Path(__file__).resolve().parent
SUITES = graded_suites("1", "4", "5")


def test_reference_scores_full_marks(tmp_path):
    result = grade_folder(HERE.parents[1] / "autograder" / "judge" / "reference", tmp_path / "out", SUITES)
    assert result.max_score == 36  # problem 1 (12 of its 15; 3 are written answers) + 4 (10) + 5 (14)
    assert lost(result) == {}
    assert result.score == result.max_score


def test_wrong_layer_size_no_max_shift_mse_without_half(variant, tmp_path):
    folder = variant("bad_a", {
        "problem1.py": [("nn.Linear(16 * 5 * 5, 120)", "nn.Linear(16 * 5 * 5, 100)"),
                        ("nn.Linear(120, 84)", "nn.Linear(100, 84)")],
        "problem4.py": [("np.exp(x - np.max(x, axis=-1, keepdims=True))", "np.exp(x)")],
        "problem5.py": [("0.5 * np.sum((y - t) ** 2)", "np.sum((y - t) ** 2)")],
    })
    result = grade_folder(folder, tmp_path / "out", SUITES)
    assert lost(result) == {
        "test_module_tree": 1, "test_parameters": 1,            # wrong layer size
        "test_no_overflow_on_large_inputs": 3,                  # softmax without the max shift (3 since lists are advice)
        "test_mse_example": 2, "test_mse_random": 2,            # MSE without ½
    }
    by_name = {t.id.split("::")[-1]: t for t in result.tests}
    assert "Linear(400→100)" in by_name["test_module_tree"].feedback.found
    assert "problem1.py:Net" == by_name["test_module_tree"].feedback.where
    assert "Σ (no ½)" in by_name["test_mse_example"].feedback.found
    assert any("not compared" in r for r in by_name["test_forward_equivalence"].remarks)


def test_gradient_ascent_and_loglikelihood_sign(variant, tmp_path):
    folder = variant("bad_b", {
        "problem1.py": [("p -= learning_rate * p.grad", "p += learning_rate * p.grad")],
        "problem5.py": [("return -np.log(y[np.argmax(t)])", "return np.log(y[np.argmax(t)])")],
    })
    result = grade_folder(folder, tmp_path / "out", SUITES)
    assert lost(result) == {"test_sgd_step": 2, "test_loglikelihood_example": 2,
                            "test_loglikelihood_random": 2}
    fb = {t.id.split("::")[-1]: t.feedback for t in result.tests if t.feedback}
    assert fb["test_sgd_step"].where == "problem1.py:sgd_step"
    assert fb["test_loglikelihood_example"].where == "problem5.py:loglikelihood"


def test_output_squeezed(variant, tmp_path):
    folder = variant("bad_c", {"problem1.py": [("return self.fc3(x)", "return self.fc3(x).squeeze()")]})
    result = grade_folder(folder, tmp_path / "out", graded_suites("1"))
    assert lost(result) == {"test_output_shape": 1}
    shape = next(t for t in result.tests if t.id.endswith("test_output_shape"))
    assert shape.feedback.expected == "(1, 10)" and shape.feedback.found == "(10,)"


def test_missing_relu_costs_the_forward_pass(variant, tmp_path):
    folder = variant("bad_d", {"problem1.py": [("x = F.relu(self.fc2(x))", "x = self.fc2(x)")]})
    result = grade_folder(folder, tmp_path / "out", graded_suites("1"))
    assert lost(result) == {"test_forward_equivalence": 4, "test_loss_and_gradients": 3}


def test_a_forward_pass_that_fails_costs_points_once(variant, tmp_path):
    """``Conv2d(3, 6, 5)`` on the 1-channel input: the structure checks charge the wrong layer; the
    net is still described without its forward pass, so ``sgd_step`` keeps its points and the
    checks that need the forward pass say why they did not charge it. A forward pass that fails
    with the homework's layers is charged in the output-shape and forward checks."""
    folder = variant("bad_e", {"problem1.py": [("nn.Conv2d(1, 6, 5)", "nn.Conv2d(3, 6, 5)")]})
    result = grade_folder(folder, tmp_path / "out", graded_suites("1"))
    assert lost(result) == {"test_module_tree": 1, "test_parameters": 1}
    by_name = {t.id.split("::")[-1]: t for t in result.tests}
    assert "Conv2d(3→6, 5×5)" in by_name["test_module_tree"].feedback.found
    assert "(6, 3, 5, 5)" in by_name["test_parameters"].feedback.found
    shape_remark = " ".join(by_name["test_output_shape"].remarks)
    assert "the forward pass fails (problem1.py:" in shape_remark and "in forward: RuntimeError" in shape_remark
    assert "charged once, in the structure checks" in " ".join(by_name["test_loss_and_gradients"].remarks)

    folder = variant("bad_f", {"problem1.py": [("F.max_pool2d(F.relu(self.conv2(x)), 2)",
                                                "F.max_pool2d(F.relu(self.conv2(x)), 3)")]})
    result = grade_folder(folder, tmp_path / "out2", graded_suites("1"))
    assert lost(result) == {"test_output_shape": 1, "test_forward_equivalence": 4}
    by_name = {t.id.split("::")[-1]: t for t in result.tests}
    assert by_name["test_output_shape"].feedback.where == "problem1.py:Net.forward"
    assert "the forward pass raised problem1.py:" in by_name["test_output_shape"].feedback.found
    assert "charged once, in the forward-pass check" in " ".join(by_name["test_loss_and_gradients"].remarks)


@pytest.mark.parametrize("style", ["sequential", "vectorised"])
def test_correct_in_another_style(style, tmp_path):
    folder = tmp_path / style
    shutil.copytree(HERE / "variants" / style, folder)
    result = grade_folder(folder, tmp_path / "out", SUITES)
    assert lost(result) == {}, [t.feedback for t in result.tests if t.outcome is not Outcome.PASSED]
    assert result.score == 36
    if style == "sequential":
        remarks = [r for t in result.tests for r in t.remarks]
        assert any("log₂" in r for r in remarks)
