"""Probes for problems 2 and 3-(n): training runs, transforms, criteria, optimizers and ``evaluate``.

They observe the student's pieces (see `training` for how a run is made) and return plain data;
the judge decides what is right.
"""

from __future__ import annotations

import sys
import types
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from autograder.common.protocol import EvaluateReply, OptimizerDescription, ParamGroup, TrainingReply
from autograder.worker import baseline
from autograder.worker.context import WorkerContext
from autograder.worker.registry import probe
from autograder.worker.training import (BATCH_SIZE, SequentialRun, TrainingData, apply_transform, loss_value,
                                        pieces_for, run_training, seed_everything)


def _end_paused(ctx: WorkerContext, module: str) -> None:
    """End a sequential run of ``module`` the judge left waiting (a retried run starts afresh)."""
    run = ctx.paused.pop(module, None)
    if run is not None and run.paused:
        try:
            run.resume(False)
        except BaseException:  # noqa: BLE001 — that run is over; its error was not asked for
            pass


def defined_in(ctx: WorkerContext, module: str, name: str) -> bool:
    """Whether ``module`` defines ``name`` itself, rather than importing it from problem2.py: a
    class or function written in the module, or another value that is not problem2's own."""
    mod = ctx.module(module)
    value = vars(mod).get(name)
    if value is None:
        return False
    if isinstance(value, (type, types.FunctionType)):
        return getattr(value, "__module__", None) == mod.__name__
    problem2 = sys.modules.get("problem2")
    return problem2 is None or getattr(problem2, name, None) is not value


@probe
def variation_pieces(ctx: WorkerContext, module: str) -> dict[str, str]:
    """Whose each piece of ``module``'s training run is (``Net``, ``criterion``, …), as
    `train_and_predict` will choose them; needs no data."""
    return dict(pieces_for(module, ctx.name, lambda m, n: defined_in(ctx, m, n)).owner)


@probe
def train_and_predict(ctx: WorkerContext, module: str, steps: int, seed: int,
                      test_count: int | None = None, checkpoints: list[list[int]] | None = None) -> TrainingReply:
    """Problem 2 or a variation trained under the budget; losses, predictions and observations.

    With ``checkpoints`` ([step, test images] pairs) the run is sequential: the reply is the run
    at its first checkpoint (``paused_at``), and `resume_training` says whether it goes on."""
    if ctx.data is None:
        raise RuntimeError("the worker was started without the CIFAR-10 folder")
    _end_paused(ctx, module)
    pieces = pieces_for(module, ctx.name, lambda m, n: defined_in(ctx, m, n))
    data = TrainingData.load(ctx.data)
    if not checkpoints:
        return run_training(pieces, data, steps=steps, seed=seed, device=ctx.device, test_count=test_count)
    at = {int(k): int(n) for k, n in checkpoints}
    run = SequentialRun(lambda decide: run_training(pieces, data, steps=steps, seed=seed, device=ctx.device,
                                                    test_count=test_count, checkpoints=at, decide=decide))
    reply = run.next()
    if reply.paused_at is not None:
        ctx.paused[module] = run
    return reply


@probe
def resume_training(ctx: WorkerContext, module: str, go_on: bool) -> TrainingReply:
    """The sequential run of ``module`` goes on to its next checkpoint (or its end), or ends where
    it waits; the reply is the run there."""
    run = ctx.paused.pop(module, None)
    if run is None:
        raise RuntimeError(f"no training of {module} waits at a checkpoint")
    reply = run.resume(bool(go_on))
    if reply.paused_at is not None:
        ctx.paused[module] = run
    return reply


@probe
def transform_images(ctx: WorkerContext, module: str, name: str, images: np.ndarray,
                     draws: int = 1, seed: int = 0) -> list[list[torch.Tensor]]:
    """``draws`` applications of a per-image transform to each uint8 image: [draw][image] tensors."""
    seed_everything(seed)
    transform = ctx.name(module, name)
    return [[apply_transform(transform, img, f"{module}.py:{name}").detach().cpu() for img in images]
            for _ in range(draws)]


@probe
def criterion_values(ctx: WorkerContext, module: str, logits: list[np.ndarray],
                     labels: list[np.ndarray]) -> list[float]:
    """The student's ``criterion(logits, labels)`` on each given pair, as floats."""
    criterion = ctx.name(module, "criterion")
    return [loss_value(criterion(torch.from_numpy(x), torch.from_numpy(y)), f"{module}.py:criterion")
            for x, y in zip(logits, labels)]


def _plain(value: Any) -> Any:
    """A hyperparameter or return value as plain data; anything else as its repr."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().tolist() if value.numel() <= 100 else f"tensor of shape {tuple(value.shape)}"
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist() if value.size <= 100 else f"array of shape {value.shape}"
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    text = repr(value)
    return {"repr": text[:200], "type": type(value).__name__}


@probe
def describe_optimizer(ctx: WorkerContext, module: str) -> OptimizerDescription:
    """``make_optimizer`` on the baseline Net: its type, each group's settings, and coverage."""
    torch.manual_seed(0)
    net = baseline.Net()
    optimizer = ctx.name(module, "make_optimizer")(net)
    names = {id(p): n for n, p in net.named_parameters()}
    if not isinstance(optimizer, torch.optim.Optimizer):
        return OptimizerDescription(type=type(optimizer).__name__[:200], module=type(optimizer).__module__[:200],
                                    is_optimizer=False, groups=[], parameters=list(names.values()),
                                    covered=[], foreign=0)
    groups, covered, foreign = [], [], 0
    for group in optimizer.param_groups:
        params = group.get("params", [])
        groups.append(ParamGroup(params=[names.get(id(p), "?") for p in params],
                                 settings={str(k)[:200]: _plain(v) for k, v in group.items() if k != "params"}))
        for p in params:
            if id(p) in names:
                covered.append(names[id(p)])
            else:
                foreign += 1
    return OptimizerDescription(type=type(optimizer).__name__[:200], module=type(optimizer).__module__[:200],
                                is_optimizer=True, groups=groups, parameters=list(names.values()),
                                covered=covered, foreign=foreign)


class PixelOracle(nn.Module):
    """A trusted classifier whose answer is written in its input: the logits are the first ten
    pixels of channel 0's first row. The judge, which wrote those pixels, knows every prediction.

    It also notes whether it was in eval mode on each call (a student's ``evaluate`` should set it).
    """

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))
        self.calls_in_train_mode = 0
        self.calls_in_eval_mode = 0
        self.images_seen = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.calls_in_train_mode += 1
        else:
            self.calls_in_eval_mode += 1
        self.images_seen += int(x.shape[0])
        return x[:, 0, 0, :10] * self.scale.to(x.device)  # wherever evaluate moved the images


@probe
def evaluate_oracle(ctx: WorkerContext, module: str, inputs: np.ndarray, labels: np.ndarray) -> EvaluateReply:
    """The student's ``evaluate(net, testloader)`` on `PixelOracle` over a judge-made labelled set
    (batch size 4, unshuffled, on the CPU)."""
    evaluate = ctx.name(module, "evaluate")
    loader = DataLoader(TensorDataset(torch.from_numpy(inputs), torch.from_numpy(labels)),
                        batch_size=BATCH_SIZE, shuffle=False)
    net = PixelOracle()
    net.train()
    result = evaluate(net, loader)
    return EvaluateReply(result=_plain(result), calls_in_train_mode=net.calls_in_train_mode,
                         calls_in_eval_mode=net.calls_in_eval_mode, images_seen=net.images_seen)
