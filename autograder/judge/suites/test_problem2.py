"""Problem 2 — the CIFAR-10 classifier (25 points).

Split: `transform` 3; the network's layers and 62,006 weights 4; its forward pass with the
reference's weights 3; `criterion` 2; `make_optimizer` 3; `evaluate` 3; `train` lowers the loss 3;
test accuracy at the floor 4. The pieces are checked one by one (12 + 6 points for the pieces the
variations reuse), so that a bug costs the points of the piece it lives in; only the last two
checks need a training run, which uses every piece of problem2.py, the student's own `train`
included, over a loader the grader builds (batch size 4, seeded order, a budget of mini-batches).
The floor gets the most weight because it is the homework's own result: a classifier that learns.

Tolerances: the transform within 1e-5 of (x/255 − 0.5)/0.5; the forward pass within
1e-5 + 1e-4·|expected| of the reference's (both float32, same weights in parameter order); the
loss within 1e-6 + 1e-5·|expected|. `train` lowers the loss when it uses every mini-batch of the
loader with one optimizer step each, clears the gradients between steps (``zero_grad`` anywhere
before ``backward``: first in the loop, or after the loss as the PyTorch tutorial has it), keeps the loss finite,
and the mean loss of the last tenth of the mini-batches is at least `budgets.LOSS_DROP` (0.05)
below that of the first tenth (the reference's drop is 0.36 or more at every budget).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autograder.common import budgets
from autograder.common.protocol import NetDescription
from autograder.judge import layers
from autograder.judge.checks import as_array, as_float, describe, expect_close, fail, show_size

pytestmark = pytest.mark.problem("problem2")

MODULE = "problem2"
EXPECTED_LAYERS = [
    ("Conv2d", 3, 6, (5, 5)), ("Conv2d", 6, 16, (5, 5)),
    ("Linear", 400, 120, None), ("Linear", 120, 84, None), ("Linear", 84, 10, None),
]
WEIGHTS = 62_006


def normalised(images: np.ndarray) -> np.ndarray:
    """The homework's transform, by its definition: ToTensor then Normalize(0.5, 0.5) → [-1, 1]."""
    return (images.transpose(0, 3, 1, 2).astype(np.float64) / 255.0 - 0.5) / 0.5


@pytest.mark.points(3)
def test_transform_maps_pixels_into_minus_one_to_one(worker, rng):
    """transform: a 32×32 RGB image becomes a 3×32×32 tensor, pixel 0 → −1 and 255 → 1"""
    images = np.stack([np.zeros((32, 32, 3), np.uint8), np.full((32, 32, 3), 255, np.uint8),
                       rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8)])
    draws = worker.call("transform_images", module=MODULE, name="transform", images=images,
                        draws=1, seed=0, doing="applying transform to three images")
    where = "problem2.py:transform"
    names = ["an all-black image (pixels 0)", "an all-white image (pixels 255)", "a random image"]
    for found, expected, name in zip(draws[0], normalised(images), names):
        found = as_array(found, f"transform of {name}", where, shape=(3, 32, 32))
        expect_close(found, expected, f"transform of {name}", where, rtol=0, atol=1e-5)


def _layers(description: NetDescription) -> list[tuple]:
    convs = [("Conv2d", c.in_channels, c.out_channels, c.kernel_size) for c in layers.convolutions(description)]
    return convs + [("Linear", x.in_features, x.out_features, None) for x in layers.linears(description)]


def _show_layers(layers: list[tuple]) -> str:
    return ", ".join(f"{t}({i}, {o}{', ' + show_size(k) if t == 'Conv2d' else ''})" for t, i, o, k in layers) or "none"


@pytest.fixture(scope="module")
def described(worker) -> NetDescription:
    """The student's Net as the worker describes it, built once for the module."""
    return worker.call("describe_net", module=MODULE, input_shape=[1, 3, 32, 32], doing="building Net()")


@pytest.mark.points(4)
def test_network_layers_and_weights(described):
    """Net: Conv2d 3→6 and 6→16 (5×5), Linear 400→120→84→10, 62,006 weights, output 1×10"""
    d = described
    where = "problem2.py:Net"
    found = _layers(d)
    if found != EXPECTED_LAYERS:
        fail("the convolution and linear layers of Net, in order", _show_layers(EXPECTED_LAYERS),
             _show_layers(found), where)
    if d.weights != WEIGHTS:
        fail("number of weights of Net", f"{WEIGHTS:,}", f"{d.weights:,}", where)
    if d.forward_error:
        fail("Net's output for one 3×32×32 image", "shape [1, 10]", f"the forward pass raised {d.forward_error}",
             where + ".forward")
    if d.output_shape != [1, 10]:
        fail("output shape of Net for one 3×32×32 image", "[1, 10]", str(d.output_shape), where)


@pytest.mark.points(3)
def test_forward_matches_the_reference(worker, described, reference, rng, remark):
    """Net's forward pass equals the reference's with the same weights (loaded in parameter order).
    A Net whose layers differ from the homework's cannot take the reference's weights: that is
    charged once, by the layers check, and this check says so instead of charging it again."""
    if _layers(described) != EXPECTED_LAYERS:
        remark("not compared with the reference: Net's layers differ from the homework's, which "
               "test_network_layers_and_weights charges once")
        return
    torch.manual_seed(int(rng.integers(2**31)))
    ref = reference(MODULE).Net()
    weights = [p.detach().numpy().copy() for p in ref.parameters()]
    inputs = rng.uniform(-1, 1, size=(8, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        expected = ref(torch.from_numpy(inputs)).numpy()
    found = worker.call("forward", module=MODULE, weights=weights, inputs=inputs,
                        doing="running Net's forward pass with the reference's weights")
    expect_close(found, expected, "Net's output for 8 random images with the reference's weights "
                 "(conv-relu-pool ×2, fc-relu ×2, fc)", "problem2.py:Net.forward", rtol=1e-4, atol=1e-5)


@pytest.mark.points(2)
def test_criterion_is_cross_entropy(losses):
    """criterion(outputs, labels) is the cross-entropy loss (mean over the batch)"""
    logits, labels = losses.random([(4, 1.0, 0.0), (16, 3.0, 0.0)])
    expected = [losses.cross_entropy(x, y) for x, y in zip(logits, labels)]
    expect_close(losses.student(MODULE, logits, labels), np.array(expected),
                 "criterion on random outputs of 4 and 16 images", "problem2.py:criterion",
                 rtol=1e-5, atol=1e-6)


@pytest.mark.points(3)
def test_optimizer_is_sgd_with_momentum(optimizers):
    """make_optimizer: SGD with lr 0.001 and momentum 0.9 over every parameter"""
    where = "problem2.py:make_optimizer"
    d = optimizers.describe(MODULE)
    if d.type != "SGD":
        fail("the optimizer's type", "torch.optim.SGD", optimizers.name(d), where)
    for key, value in (("lr", 0.001), ("momentum", 0.9)):
        found = optimizers.setting(d, key)
        if not optimizers.all_close(found, value):
            fail(f"the optimizer's {key}", f"{value} in every parameter group", describe(found), where)
    optimizers.check_covers_every_parameter(d, where)


@pytest.mark.points(3)
def test_evaluate_returns_fractions(call_evaluate):
    """evaluate(net, testloader) returns (accuracy, per-class accuracies) as fractions"""
    where = "problem2.py:evaluate"
    call = call_evaluate(MODULE)
    result = call.reply.result
    checked = ("evaluate(net, testloader) for a net the grader controls, on 100 images "
               "(batch size 4) whose right answers it knows")
    if not isinstance(result, list) or len(result) != 2:
        fail(checked, "a pair (accuracy, per-class accuracies)", describe(result), where)
    found_acc = as_float(result[0], "the overall accuracy evaluate returns", where)
    found_per = as_array(result[1], "the per-class accuracies evaluate returns", where, shape=(10,))
    if np.isclose(found_acc, 100 * call.accuracy, atol=1e-4):
        fail("the overall accuracy evaluate returns", f"a fraction: {call.accuracy:g}",
             f"{found_acc:g} — a percentage; the contract asks for fractions in [0, 1]", where)
    expect_close(found_acc, call.accuracy, "the overall accuracy evaluate returns", where, rtol=0, atol=1e-6)
    expect_close(found_per, call.per_class, "the per-class accuracies evaluate returns, in `classes` order",
                 where, rtol=0, atol=1e-6)


@pytest.mark.points(3)
def test_train_lowers_the_loss(training_runs):
    """train(net, trainloader, criterion, optimizer, epochs) steps through the loader and lowers the loss"""
    run = training_runs.get(MODULE)
    where = "problem2.py:train"
    steps = run.steps
    if run.reply.nonfinite_step is not None:
        fail("the loss during training", "finite values", run.stopped_text(), where)
    if run.reply.steps_run != steps:
        fail("mini-batches trained on (losses computed with the given criterion)",
             f"{steps:,} (every mini-batch of the loader, `epochs` times)",
             f"{run.reply.steps_run:,}" + (f" — {run.reply.stopped}" if run.reply.stopped else ""), where)
    if run.reply.optimizer_steps < steps:
        fail("optimizer.step() calls", f"one per mini-batch ({steps:,})", f"{run.reply.optimizer_steps:,}", where)
    if run.reply.stale_gradients:
        fail("gradients at the start of each step",
             "cleared before each backward pass (optimizer.zero_grad())",
             f"in {run.reply.stale_gradients} of the first {run.reply.checked_forwards} steps loss.backward() began "
             "with the previous step's gradients still there — gradients accumulate across steps", where)
    tenth = max(1, len(run.losses) // 10)
    first, last = float(run.losses[:tenth].mean()), float(run.losses[-tenth:].mean())
    if not last <= first - budgets.LOSS_DROP:
        fail(f"mean loss of the last tenth of the mini-batches against the first tenth ({tenth:,} each)",
             f"at least {budgets.LOSS_DROP} lower", f"{first:.3f} at first, {last:.3f} at the end", where)


@pytest.mark.points(4)
def test_accuracy_floor(training_runs):
    """Trained with every piece of problem2.py, Net reaches the accuracy floor on the test images"""
    training_runs.check_floor(MODULE)
