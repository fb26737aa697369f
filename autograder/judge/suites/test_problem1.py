"""Problem 1 — a LeNet for 1×32×32 input: structure, forward, loss and gradients, SGD step (15 points:
12 here, 3 for the written answers).

Split: module tree 1; parameter tensors and count 1; output shape 1; forward equivalence 4;
loss and gradients 3; ``sgd_step`` 2. The forward pass is weighted most: it is where the
homework's network is actually defined. Questions (1) and (2) ask the student to explain
``print(net)`` and the network's structure in writing; no check can judge that, so those 3 points
are scored by a person (``manual.csv``, see `contract.ProblemSpec.written`).

The checks judge behaviour, not spelling: layers are found by type and size wherever they live
(attributes, ``nn.Sequential``, any names); weights are matched to the student's parameters by
shape (every LeNet parameter has a distinct shape), so declaration order does not matter.
"The first parameter" of the homework's question (3) is read as the first layer's weight: a
net that declares its layers in another order prints another ``params[0]`` but is not wrong.
A bug costs points once: when the parameter shapes differ from the reference's, the forward pass
cannot be compared and is not charged again (the structure checks already are); gradients are
then checked against finite differences of the student's own network instead of the reference.
When the forward pass fails (``Conv2d(3, 6, 5)`` on a 1-channel input), the net is still described
without it: the structure checks judge the layers and parameters that are there and ``sgd_step``
runs on the student's own parameters; the failure is charged in the output-shape and forward
checks — only in the structure checks when the layers differ from the homework's — and the loss
check says it could not run and which check charged it. A layer class of the student's own counts
as torch's layer of the same name; an int or list size (``kernel_size=5``) reads as torch's tuple;
a missing size is shown as "?".
Tolerances hold for float32 on every seed (the outputs are compared with the reference's weights).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

from autograder.judge import layers
from autograder.judge.checks import as_array, as_float, expect_close, fail, show_size
from autograder.judge.worker_client import FailureKind, ProbeFailure

pytestmark = pytest.mark.problem("problem1")

WHERE_NET = "problem1.py:Net"
INPUT = [1, 1, 32, 32]
CONVS = Counter({(1, 6, (5, 5)): 1, (6, 16, (5, 5)): 1})
LINEARS = Counter({(400, 120): 1, (120, 84): 1, (84, 10): 1})
FORWARD_TOL = {"rtol": 1e-4, "atol": 1e-5}


@pytest.fixture(scope="module")
def described(worker):
    """The student's Net as the worker describes it (built once for the module), cross-checked."""
    described = worker.call("describe_net", module="problem1", input_shape=INPUT, doing="building Net()")
    cross_check_parameters(worker, described)
    return described


def cross_check_parameters(worker, described) -> None:
    """The parameters `describe_net` reported must be those the forward pass loads weights into:
    weights of exactly the reported shapes are sent, and a net they do not fit means the
    description was not of this Net (a submission that changed the worker's answer) — tampering,
    which fails the problem. Any other failure of this pass is left to the forward checks."""
    zeros = [np.zeros(shape, dtype=np.float32) for shape in student_shapes(described)]
    try:
        worker.call("forward", module="problem1", weights=zeros, inputs=np.zeros(INPUT, dtype=np.float32),
                    doing="loading weights of the shapes described")
    except ProbeFailure as failure:
        if "ParameterMismatch:" not in failure.message:
            return
        found = failure.message.split("ParameterMismatch:", 1)[1].strip()
        raise ProbeFailure(FailureKind.TAMPERED, f"problem1.py: TAMPERING — the structure reported for Net() "
                           f"({len(zeros)} parameter tensors) is not the Net the forward pass builds: {found}",
                           where=WHERE_NET) from None


@pytest.fixture
def ref_net(reference, rng):
    """The reference Net with weights drawn for this run."""
    torch.manual_seed(int(rng.integers(2**31)))
    return reference("problem1").Net()


def student_shapes(described) -> list[tuple[int, ...]]:
    return [tuple(p.shape) for p in described.parameters]


def weights_for_student(ref_net, shapes) -> list[np.ndarray] | None:
    """The reference weights in the student's parameter order, matched by shape (None if impossible)."""
    by_shape = {tuple(p.shape): p.detach().numpy().copy() for p in ref_net.parameters()}
    if len(by_shape) != len(list(ref_net.parameters())) or sorted(shapes) != sorted(by_shape):
        return None
    return [by_shape[s] for s in shapes]


def shapes_match_reference(reference, shapes) -> bool:
    """Whether the student's parameter shapes are the reference's (in any order)."""
    return sorted(shapes) == sorted(tuple(p.shape) for p in reference("problem1").Net().parameters())


def layer_summary(described) -> str:
    parts = [f"Conv2d({c.in_channels}→{c.out_channels}, {show_size(c.kernel_size)})"
             for c in layers.convolutions(described)]
    parts += [f"Linear({x.in_features}→{x.out_features})" for x in layers.linears(described)]
    return ", ".join(parts) or "no Conv2d or Linear layers"


@pytest.mark.points(1)
def test_module_tree(described):
    """Two Conv2d (1→6, 6→16, 5×5) and three Linear (400→120→84→10)"""
    convs = Counter((c.in_channels, c.out_channels, c.kernel_size) for c in layers.convolutions(described))
    linears = Counter((x.in_features, x.out_features) for x in layers.linears(described))
    if convs != CONVS or linears != LINEARS:
        fail("the layers of Net()", "Conv2d(1→6, 5×5), Conv2d(6→16, 5×5), Linear(400→120), "
             "Linear(120→84), Linear(84→10)", layer_summary(described), WHERE_NET)


@pytest.mark.points(1)
def test_parameters(described):
    """10 parameter tensors, the first layer's weight of shape (6, 1, 5, 5), 61,706 weights"""
    shapes = student_shapes(described)
    if len(shapes) != 10:
        fail("len(list(net.parameters()))", "10", str(len(shapes)), WHERE_NET)
    first_conv = next((s for s in shapes if len(s) == 4), None)
    if first_conv != (6, 1, 5, 5):
        fail("the first convolution's weight (params[0] in the tutorial's order)", "(6, 1, 5, 5)",
             str(first_conv), WHERE_NET)
    if described.weights != 61706:
        fail("the number of weights (sum of numel over parameters)", "61,706",
             f"{described.weights:,}", WHERE_NET)


@pytest.mark.points(1)
def test_output_shape(described, reference, remark):
    """The output for one 1×1×32×32 input has shape (1, 10)"""
    if described.forward_error:
        if not shapes_match_reference(reference, student_shapes(described)):
            remark(f"the forward pass fails ({described.forward_error}); not charged here: the layers "
                   "differ from the homework's, which the structure checks charge once")
            return
        fail("net(torch.randn(1, 1, 32, 32))", "an output of shape (1, 10)",
             f"the forward pass raised {described.forward_error}", WHERE_NET + ".forward")
    if described.output_shape != [1, 10]:
        fail("net(torch.randn(1, 1, 32, 32)).shape", "(1, 10)", str(tuple(described.output_shape)),
             WHERE_NET)


@pytest.mark.points(4)
def test_forward_equivalence(worker, described, ref_net, rng, remark):
    """With the reference's weights, Net computes the reference's function"""
    weights = weights_for_student(ref_net, student_shapes(described))
    if weights is None:
        remark("forward pass not compared: the parameter shapes differ from the reference's "
               "(charged once, in the structure checks)")
        return
    x = rng.normal(0, 1, size=(3, 1, 32, 32)).astype(np.float32)
    found = worker.call("forward", module="problem1", weights=weights, inputs=x, doing="running forward")
    with torch.no_grad():
        expected = ref_net(torch.from_numpy(x)).numpy()
    expect_close(found, expected, "net(x) for 3 random inputs, with the reference's weights loaded",
                 WHERE_NET + ".forward", **FORWARD_TOL)


def _student_loss(worker, weights, x, target) -> float:
    """The MSE loss of the student's net in float64, computed here from its output."""
    out = as_array(worker.call("forward", module="problem1", weights=weights, inputs=x, double=True,
                               doing="running forward in float64"), "net(x)", WHERE_NET)
    return float(np.mean((out.reshape(target.shape) - target) ** 2))


@pytest.mark.points(3)
def test_loss_and_gradients(worker, described, ref_net, rng, remark):
    """zero_grad() clears the gradients; MSE loss and backward() give the right gradients"""
    shapes = student_shapes(described)
    weights = weights_for_student(ref_net, shapes)
    comparable = weights is not None
    if described.forward_error:
        remark("loss and gradients not computed: they need Net's forward pass, which fails "
               f"({described.forward_error}); charged once, in "
               + ("the forward-pass check" if comparable else "the structure checks"))
        return
    if weights is None:  # compare the student's net with itself (finite differences)
        weights = [rng.normal(0, 0.1, size=s).astype(np.float32) for s in shapes]
    x = rng.normal(0, 1, size=(1, 1, 32, 32)).astype(np.float32)
    target = rng.normal(0, 1, size=(1, 10)).astype(np.float32)
    got = worker.call("loss_and_gradients", module="problem1", weights=weights, inputs=x, target=target,
                      doing="computing the loss and its gradients")
    for i, g in enumerate(got.grads_after_zero_grad):
        if g is not None and np.any(as_array(g, "a gradient after zero_grad()", WHERE_NET) != 0):
            fail("the gradients after net.zero_grad()", "zeros or None",
                 f"non-zero values in parameter {i} of shape {shapes[i]}", WHERE_NET)
    grads = got.grads
    if any(g is None for g in grads):
        missing = [str(shapes[i]) for i, g in enumerate(grads) if g is None]
        fail("the gradients after loss.backward()", "a gradient for every parameter",
             f"no gradient for parameter(s) of shape {', '.join(missing)} — is the forward pass "
             "cut from autograd (.data, .detach(), NumPy)?", WHERE_NET + ".forward")
    if comparable:
        out = ref_net(torch.from_numpy(x))
        loss = torch.nn.functional.mse_loss(out, torch.from_numpy(target))
        ref_net.zero_grad()
        loss.backward()
        by_shape = {tuple(p.shape): p.grad.numpy() for p in ref_net.parameters()}
        expect_close(as_float(got.loss, "the MSE loss", WHERE_NET), loss.item(),
                     "nn.MSELoss()(net(x), target) with the reference's weights", WHERE_NET, rtol=1e-4, atol=1e-6)
        for i, shape in enumerate(shapes):
            expect_close(grads[i], by_shape[shape],
                         f"the gradient of parameter {i} (shape {shape}) after loss.backward()",
                         WHERE_NET, rtol=1e-3, atol=1e-5)
        return
    # not comparable with the reference: finite differences (float64) on a few coordinates of the
    # first bias — the student's own forward and backward passes must agree, whatever the
    # architecture. ε is small enough (1e-7) that a step rarely crosses a ReLU or max-pool kink.
    bias_index = next((i for i, s in enumerate(shapes) if len(s) == 1), 0)
    bias_grad = as_array(grads[bias_index], "a gradient", WHERE_NET).reshape(-1)
    eps = 1e-7
    x64, t64 = x.astype(np.float64), target.astype(np.float64)
    for j in range(min(3, bias_grad.size)):
        plus = [w.astype(np.float64) for w in weights]
        minus = [w.astype(np.float64) for w in weights]
        plus[bias_index].reshape(-1)[j] += eps
        minus[bias_index].reshape(-1)[j] -= eps
        numeric = (_student_loss(worker, plus, x64, t64) - _student_loss(worker, minus, x64, t64)) / (2 * eps)
        if not np.isclose(bias_grad[j], numeric, rtol=1e-2, atol=1e-5):
            fail(f"∂loss/∂bias[{j}] of parameter {bias_index} against a finite difference",
                 f"{numeric:.6g} (central difference in float64, ε={eps:g})",
                 f"{bias_grad[j]:.6g} from backward()", WHERE_NET + ".forward")


@pytest.mark.points(2)
def test_sgd_step(worker, described, rng):
    """sgd_step(net, lr) moves every parameter by exactly −lr·grad, like torch.optim.SGD"""
    shapes = student_shapes(described)
    weights = [rng.normal(0, 0.1, size=s).astype(np.float32) for s in shapes]
    grads = [rng.normal(0, 1, size=s).astype(np.float32) for s in shapes]
    lr = 0.01
    found = worker.call("sgd_step", module="problem1", weights=weights, grads=grads, learning_rate=lr,
                        doing="calling sgd_step(net, 0.01)")
    params = [torch.nn.Parameter(torch.from_numpy(w.copy())) for w in weights]
    for p, g in zip(params, grads):
        p.grad = torch.from_numpy(g)
    torch.optim.SGD(params, lr=lr).step()
    if type(found) is not list or len(found) != len(shapes):
        fail("the parameters after sgd_step", f"{len(shapes)} tensors", "something else", "problem1.py:sgd_step")
    for i, (p, w) in enumerate(zip(params, weights)):
        got = as_array(found[i], f"parameter {i} after sgd_step", "problem1.py:sgd_step")
        if np.allclose(got, w):
            fail(f"parameter {i} (shape {shapes[i]}) after sgd_step(net, 0.01)", "w − 0.01·grad",
                 "unchanged — the update must change the net's parameters in place", "problem1.py:sgd_step")
        expect_close(got, p.detach().numpy(),
                     f"parameter {i} (shape {shapes[i]}) after sgd_step(net, 0.01), against one "
                     "torch.optim.SGD(lr=0.01) step", "problem1.py:sgd_step", rtol=1e-5, atol=1e-6)
