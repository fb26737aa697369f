"""Problem 3-(4) — batch normalisation (6 points).

Split: a BatchNorm2d right after each of the two convolutions (6 and 16 features) 3; test
accuracy at the floor 3. The judge's accuracy always comes from predictions in eval mode (running
statistics); a problem2.py `evaluate` that never calls ``net.eval()`` gets a remark here, where it
matters (a BatchNorm net in train mode normalises each test batch by its own statistics), and
costs nothing: its points belong to problem 2's `evaluate` check, which it passes.
"""

from __future__ import annotations

import pytest

from autograder.judge.checks import fail

pytestmark = pytest.mark.problem("problem3_4")

MODULE = "problem3_4"
WHERE = "problem3_4.py:Net"


@pytest.mark.points(3)
def test_batchnorm_after_each_convolution(worker):
    """Net applies BatchNorm2d right after each convolution: conv1 → BN(6), conv2 → BN(16)"""
    d = worker.call("describe_net", module=MODULE, input_shape=[2, 3, 32, 32], doing="building Net()")
    if d.forward_error:
        fail("the layers Net's forward pass applies", "conv1 → BatchNorm2d(6), conv2 → BatchNorm2d(16)",
             f"the forward pass raised {d.forward_error}", WHERE + ".forward")
    layers = {layer.name: layer for layer in d.layers}
    calls = d.calls
    order = " → ".join(f"{c.module} ({c.type})" for c in calls)
    convs = [i for i, c in enumerate(calls) if c.type == "Conv2d"]
    channels = [layers[calls[i].module].out_channels for i in convs]
    if channels != [6, 16]:
        fail("the convolutions Net applies", "problem 2's two: 3→6 and 6→16",
             f"{len(convs)} convolution(s) with {channels} output channels", WHERE, details=order)
    for i, ch in zip(convs, channels):
        following = calls[i + 1] if i + 1 < len(calls) else None
        if following is None or following.type != "BatchNorm2d":
            fail(f"the layer right after {calls[i].module} in the forward pass",
                 f"BatchNorm2d({ch})", f"{following.module} ({following.type})" if following else "nothing",
                 WHERE, details=order)
        features = layers[following.module].num_features
        if features != ch:
            fail(f"num_features of {following.module} (after {calls[i].module})", str(ch),
                 str(features), WHERE)


@pytest.mark.points(0)
def test_evaluate_uses_eval_mode(call_evaluate, remark):
    """Advisory: problem2.py's evaluate puts the net in eval mode (net.eval()) before testing"""
    try:
        reply = call_evaluate(MODULE).reply
    except Exception as exc:  # advisory only: evaluate's own check in problem 2 carries its points
        remark(f"evaluate could not be watched: {exc}")
        return
    if reply.calls_in_train_mode:
        remark("problem2.py:evaluate never calls net.eval(): with batch normalisation in train mode, "
               "each test batch of 4 is normalised by its own statistics, which lowers the accuracy "
               "(the grader measures yours in eval mode, so no points are lost)")


@pytest.mark.points(3)
def test_accuracy_floor(training_runs):
    """Trained with this Net (given transform, loss and SGD), predicting in eval mode, it reaches the floor"""
    training_runs.check_floor(MODULE)
