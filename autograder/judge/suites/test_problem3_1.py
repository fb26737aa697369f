"""Problem 3-(1) — four 3×3 convolutions (6 points).

Split: four distinct Conv2d layers 3→32, 32→32, 32→32, 32→32 (3×3) 1; Linear 800→10 and 36,650
weights 1; feature maps 30→28→(14)→12→10→(5) 1; test accuracy at the floor 3. The architecture is
checked on its own, and the training uses the student's Net with the homework's given pieces for
the rest, so a net that reuses one convolution loses the architecture points but still earns the
floor if it learns: half the points for the design, half for a classifier that works.
"""

from __future__ import annotations

import pytest

from autograder.common.protocol import Layer, NetDescription
from autograder.judge.checks import fail, pair, show_size

pytestmark = pytest.mark.problem("problem3_1")

MODULE = "problem3_1"
WHERE = "problem3_1.py:Net"
CONVS = [(3, 32, (3, 3)), (32, 32, (3, 3)), (32, 32, (3, 3)), (32, 32, (3, 3))]
WEIGHTS = 36_650


@pytest.fixture(scope="module")
def description(worker):
    return worker.call("describe_net", module=MODULE, input_shape=[1, 3, 32, 32], doing="building Net()")


def _convs(d: NetDescription) -> list[Layer]:
    return [layer for layer in d.layers if layer.type == "Conv2d"]


@pytest.mark.points(1)
def test_four_distinct_convolutions(description):
    """Net has four distinct 3×3 Conv2d layers (3→32, 32→32, 32→32, 32→32), each used once"""
    convs = _convs(description)
    found = [(c.in_channels, c.out_channels, pair(c.kernel_size)) for c in convs]
    if description.forward_error:
        fail("the convolutions Net's forward pass applies", "four, each applied once",
             f"the forward pass raised {description.forward_error}", WHERE + ".forward")
    calls = [c.module for c in description.calls if c.type == "Conv2d"]
    if found != CONVS or len(calls) != 4 or len(set(calls)) != 4:
        show = ", ".join(f"{c.name} {c.in_channels}→{c.out_channels} {show_size(c.kernel_size)}"
                         for c in convs) or "none"
        fail("the Conv2d layers of Net, and the convolutions its forward pass applies",
             "four distinct layers 3→32, 32→32, 32→32, 32→32 (3×3), each applied once",
             f"{len(convs)} layer(s): {show}; forward applies {', '.join(calls) or 'none'}"
             + (" (a layer used more than once shares its weights)" if len(set(calls)) < len(calls) else ""),
             WHERE)


@pytest.mark.points(1)
def test_output_layer_and_weights(description):
    """The output layer is Linear 800→10 (32·5·5 features), and Net has 36,650 weights"""
    linears = [(x.in_features, x.out_features) for x in description.layers if x.type == "Linear"]
    if linears != [(800, 10)]:
        fail("the Linear layers of Net", "one: 800 → 10", ", ".join(f"{i} → {o}" for i, o in linears) or "none",
             WHERE)
    if description.weights != WEIGHTS:
        fail("number of weights of Net", f"{WEIGHTS:,} (4 convolutions 896 + 3 × 9,248, linear 8,010)",
             f"{description.weights:,}", WHERE)


@pytest.mark.points(1)
def test_feature_maps(description):
    """Feature maps shrink 32 → 30 → 28 → 14 → 12 → 10 → 5 (convolutions without padding, two poolings)"""
    if description.forward_error:
        fail("sizes of the feature maps after each convolution (and pooling)", "32 channels of 30, 28, (pool) 14, "
             "12, 10, (pool) 5", f"the forward pass raised {description.forward_error}", WHERE + ".forward")
    sizes = [c.shape[-1] for c in description.calls if c.type == "Conv2d" and len(c.shape) == 4]
    pools = [c.shape[-1] for c in description.calls if "Pool" in c.type and len(c.shape) == 4]
    channels = {c.shape[1] for c in description.calls if c.type == "Conv2d" and len(c.shape) == 4}
    if sizes != [30, 28, 12, 10] or channels != {32} or (pools and pools != [14, 5]):
        fail("sizes of the feature maps after each convolution (and pooling)",
             "32 channels of 30, 28, (pool) 14, 12, 10, (pool) 5",
             f"convolutions give {sizes} with channels {sorted(channels)}"
             + (f"; poolings give {pools}" if pools else ""), WHERE)


@pytest.mark.points(3)
def test_accuracy_floor(training_runs):
    """Trained with this Net (and the given transform, loss and SGD), it reaches the accuracy floor"""
    training_runs.check_floor(MODULE)
