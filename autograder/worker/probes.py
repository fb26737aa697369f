"""Trusted probe functions that run inside the worker on the student's modules.

Each probe takes the `WorkerContext` and plain-data arguments, and returns plain data (numbers,
strings, lists, dicts, arrays): the judge decides what is right, never the probe. Probes only
*observe* the student's code; they hold no expected values.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from autograder.common.contract import BY_MODULE
from autograder.common.protocol import ImportReply, Layer, LayerCall, LossAndGradients, NetDescription, Parameter
from autograder.worker.context import WorkerContext, where_in_submission
from autograder.worker.registry import probe


@probe
def import_module(ctx: WorkerContext, module: str, baseline_problem2: bool = False) -> ImportReply:
    """Import ``module``; a variation is imported over the baseline when problem2 is broken.

    A student's ``problem3_n.py`` usually does ``from problem2 import ...``: if their problem2.py
    does not import (or the judge already knows it does not: ``baseline_problem2``), the variation
    is imported against the homework's given baseline instead, so that the bug costs points in
    problem 2 only. The reply names the stand-ins the student's code has been given so far.
    """
    spec = BY_MODULE[module]
    substituted = False
    if spec.own_names and "problem2" not in ctx.modules:
        try:
            if baseline_problem2:
                raise ImportError("problem2.py does not import")
            ctx.module("problem2")
        except BaseException:
            from autograder.worker import baseline  # torch: only variations, which need it anyway

            sys.modules["problem2"] = baseline
            ctx.modules["problem2"] = baseline
            substituted = True
    mod = ctx.module(module)
    return ImportReply(defined=[n for n in spec.names if hasattr(mod, n)], baseline_problem2=substituted,
                       stand_ins=ctx.stand_ins())


@probe
def call_function(ctx: WorkerContext, module: str, name: str, args: list[Any]) -> Any:
    """``module.name(*args)``: for the NumPy problems."""
    return ctx.name(module, name)(*args)


def _build(ctx: WorkerContext, module: str, name: str = "Net") -> Any:
    import torch

    torch.manual_seed(0)
    return ctx.name(module, name)()


class ParameterMismatch(ValueError):
    """The weights sent do not fit the net's parameters (their number or a shape): the judge sends
    weights shaped as `describe_net` reported, so this is how it learns the two disagree."""


def _load_in_order(net: Any, weights: list[np.ndarray]) -> None:
    """Copy ``weights`` into ``net``'s parameters in parameter order, checking shapes."""
    import torch

    params = list(net.parameters())
    if len(params) != len(weights):
        raise ParameterMismatch(f"Net has {len(params)} parameter tensors; {len(weights)} were expected")
    with torch.no_grad():
        for i, (p, w) in enumerate(zip(params, weights)):
            if tuple(p.shape) != tuple(w.shape):
                raise ParameterMismatch(f"parameter {i} has shape {tuple(p.shape)}; "
                                        f"{tuple(w.shape)} was expected")
            p.copy_(torch.from_numpy(w))


SIZES = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "in_features",
         "out_features", "num_features")
"""The attributes of a layer that `describe_net` reports, when they hold sizes."""


def _size(value: Any) -> int | list[int] | str | None:
    """A layer attribute as a size (an int, a list of ints, or a padding mode), else None."""
    if type(value) is int:
        return value
    if isinstance(value, (tuple, list)) and all(type(v) is int for v in value):
        return list(value)
    if isinstance(value, str):
        return value[:50]
    return None


def _attribute(layer: Any, attr: str) -> Any:
    """``layer.attr``, or None when the student's layer lacks it or its property raises."""
    try:
        return getattr(layer, attr, None)
    except Exception:  # noqa: BLE001 — a layer of the student's own: what is not there is None
        return None


@probe
def describe_net(ctx: WorkerContext, module: str, input_shape: list[int]) -> NetDescription:
    """The module tree, parameter shapes in order, and the shapes each layer outputs; a forward
    pass that fails is reported (``forward_error``), not raised, so the structure is still judged."""
    import torch

    net = _build(ctx, module)
    if not isinstance(net, torch.nn.Module):
        raise TypeError(f"Net() returned a {type(net).__name__}, not a torch.nn.Module")
    layers = []
    for qualname, m in net.named_modules():
        if qualname == "" or list(m.children()):
            continue
        sizes = {attr: _size(_attribute(m, attr)) for attr in SIZES}
        layers.append(Layer(name=qualname[:200], type=type(m).__name__[:200],
                            **{k: v for k, v in sizes.items() if v is not None}))
    params = [Parameter(name=n[:200], shape=list(p.shape)) for n, p in net.named_parameters()]
    calls: list[LayerCall] = []

    def hook(mod: Any, _inp: Any, out: Any) -> None:
        if isinstance(out, torch.Tensor):
            calls.append(LayerCall(module=names[id(mod)][:200], type=type(mod).__name__[:200], shape=list(out.shape)))

    names = {id(m): n for n, m in net.named_modules()}
    handles = [m.register_forward_hook(hook) for n, m in net.named_modules() if n and not list(m.children())]
    net.eval()
    forward_error, shape = "", []
    try:  # the layers and parameters are described even when the forward pass fails
        with torch.no_grad():
            out = net(torch.zeros(*input_shape))
        if isinstance(out, torch.Tensor):
            shape = list(out.shape)
        else:
            forward_error = f"Net's forward pass returned a {type(out).__name__[:200]}, not a tensor"
    except Exception as exc:  # noqa: BLE001 — reported to the judge, which charges it where it lives
        where = where_in_submission(exc.__traceback__, ctx.submission)
        try:
            message = str(exc)[:1000]
        except BaseException:  # a hostile __str__
            message = "<the exception's message could not be read>"
        forward_error = f"{where + ': ' if where else ''}{type(exc).__name__[:200]}: {message}"
    finally:
        for h in handles:
            h.remove()
    return NetDescription(layers=layers, parameters=params, weights=int(sum(p.numel() for p in net.parameters())),
                          output_shape=shape, calls=calls, forward_error=forward_error[:2000])


@probe
def forward(ctx: WorkerContext, module: str, weights: list[np.ndarray], inputs: np.ndarray,
            train_mode: bool = False, double: bool = False) -> np.ndarray:
    """Load ``weights`` in parameter order and run the forward pass on ``inputs``.

    ``double`` runs in float64, for finite differences the judge computes.
    """
    import torch

    net = _build(ctx, module)
    if double:
        net = net.double()
    _load_in_order(net, weights)
    net.train(train_mode)
    with torch.no_grad():
        return net(torch.from_numpy(inputs))


@probe
def loss_and_gradients(ctx: WorkerContext, module: str, weights: list[np.ndarray],
                       inputs: np.ndarray, target: np.ndarray) -> LossAndGradients:
    """Problem 1's steps (4)–(7): output, MSE loss, gradients after zero_grad and after backward."""
    import torch
    import torch.nn.functional as F

    net = _build(ctx, module)
    _load_in_order(net, weights)
    x, t = torch.from_numpy(inputs), torch.from_numpy(target)
    # give every parameter a gradient first, so that zero_grad() has something to clear
    net(x).sum().backward()
    net.zero_grad()
    after_zero = [None if p.grad is None else p.grad.detach().clone() for p in net.parameters()]
    out = net(x)
    loss = F.mse_loss(out, t)
    loss.backward()
    return LossAndGradients(output=out.detach(), loss=float(loss.item()), grads_after_zero_grad=after_zero,
                            grads=[None if p.grad is None else p.grad.detach() for p in net.parameters()])


@probe
def sgd_step(ctx: WorkerContext, module: str, weights: list[np.ndarray], grads: list[np.ndarray],
             learning_rate: float) -> list[np.ndarray]:
    """Call the student's ``sgd_step(net, learning_rate)`` on given weights and gradients."""
    import torch

    net = _build(ctx, module)
    _load_in_order(net, weights)
    for p, g in zip(net.parameters(), grads):
        p.grad = torch.from_numpy(g).clone()
    ctx.name(module, "sgd_step")(net, learning_rate)
    return [p.detach().clone() for p in net.parameters()]

