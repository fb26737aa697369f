"""The training engine of problems 2 and 3-(n), run inside the worker (its probes: `training_probes`).

Problem 2 is trained with every piece of the student's problem2.py, their own ``train`` included,
over a loader the grader builds. A variation 3-(n) is trained with the student's one changed piece
and `autograder.worker.baseline` for the rest, in the grader's own loop, so a bug in problem2.py is
charged in problem 2 only. Either way the loss of every mini-batch is recorded, a run stops at the
first non-finite loss, and the test images are *predicted* here; only the judge, which keeps the
test labels, turns predictions into accuracy.

`run_training` is also what ``bench/measure_floors.py`` calls in-process, so the floors are
measured with exactly the code that grades.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import queue
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.utils.data
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, RandomSampler
from torch.utils.data.dataloader import default_collate

from autograder.common.contract import BY_MODULE
from autograder.common.protocol import TrainingReply
from autograder.worker import baseline


BATCH_SIZE = 4
"""The homework's mini-batch size; the student's ``evaluate`` may hard-code ``range(4)``."""
TRAIN_SET = 50_000
PREDICT_BATCH = 100
"""Test images per forward pass when predicting (faster than 500 for the 3-(1) net on a CPU)."""
CHECKED_FORWARDS = 100
"""Backward passes in which ``train`` is watched for gradients left over from the previous step."""


# -- data ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainingData:
    """CIFAR-10 as the worker sees it: uint8 images (N,32,32,3) and int64 labels, no test labels."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray

    @classmethod
    def load(cls, folder: Path) -> TrainingData:
        """Memory-map the prepared arrays (see `autograder.judge.cifar`)."""
        return cls(np.load(folder / "train_images.npy", mmap_mode="r"),
                   np.load(folder / "train_labels.npy", mmap_mode="r"),
                   np.load(folder / "test_images.npy", mmap_mode="r"))


def normalise(images: np.ndarray) -> torch.Tensor:
    """The baseline transform, vectorised: uint8 (N,32,32,3) → float (N,3,32,32) in [-1, 1].

    Same arithmetic as ``Normalize((0.5,)*3, (0.5,)*3)(ToTensor()(img))``.
    """
    array = np.ascontiguousarray(images)
    if not array.flags.writeable:  # a slice of the memory-mapped file
        array = array.copy()
    x = torch.from_numpy(array).permute(0, 3, 1, 2).float().div_(255)
    return x.sub_(0.5).div_(0.5).contiguous()


def _to_pil(image: np.ndarray) -> Any:
    return Image.fromarray(np.ascontiguousarray(image), mode="RGB")


def apply_transform(transform: Callable[[Any], Any], image: np.ndarray, name: str) -> torch.Tensor:
    """``transform`` on one uint8 image given as a PIL image, as torchvision's datasets do."""
    out = transform(_to_pil(image))
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"{name} returned a {type(out).__name__}, not a tensor")
    return out


def acts_as_baseline(transform: Callable[[Any], Any], images: np.ndarray, name: str,
                     samples: int = 32) -> bool:
    """Whether ``transform`` gives exactly the vectorised `normalise` on a sample of ``images``
    (plus an all-black and an all-white image), so that the images can be converted in one go.

    Only a shortcut: the values are the same either way; a transform that differs, or is random,
    is applied image by image as torchvision's datasets would.
    """
    idx = np.random.default_rng(0).choice(len(images), size=min(samples, len(images)), replace=False)
    sample = np.concatenate([np.asarray(images[np.sort(idx)]),
                             np.zeros((1, 32, 32, 3), np.uint8), np.full((1, 32, 32, 3), 255, np.uint8)])
    expected = normalise(sample)
    for x, want in zip(sample, expected):
        got = apply_transform(transform, x, name)
        if got.shape != want.shape or got.dtype != want.dtype or not torch.equal(got, want):
            return False
    return True


def epoch_plan(steps: int, n: int = TRAIN_SET) -> tuple[int, int]:
    """(epochs, samples per epoch) for ``steps`` mini-batches over ``n`` images: as few passes as the
    budget needs (the full budget, 25,000, is the homework's 2 epochs of 50,000 images)."""
    epochs = max(1, math.ceil(steps * BATCH_SIZE / n))
    return epochs, math.ceil(steps / epochs) * BATCH_SIZE


def sample_order(steps: int, seed: int, n: int) -> torch.Tensor:
    """The training indices, batch after batch: what a seeded ``RandomSampler`` hands out."""
    epochs, per_epoch = epoch_plan(steps, n)
    g = torch.Generator().manual_seed(seed)
    order = torch.cat([torch.randperm(n, generator=g)[:per_epoch] for _ in range(epochs)])
    return order[: steps * BATCH_SIZE]


def seed_everything(seed: int) -> None:
    """Initialisation and augmentation draw from torch's, Python's and NumPy's global generators."""
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)


@contextlib.contextmanager
def onednn(enabled: bool) -> Any:
    """torch's oneDNN (mkldnn) CPU kernels on or off for a block, restored after.

    Training at batch 4 is 15–35 % faster per step on a CPU without them (docs/training.md);
    prediction, at batches of `PREDICT_BATCH`, runs with them as torch's default has it. Both are
    set explicitly so that a run's numbers do not depend on what ran before it in the process.
    """
    before = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = enabled
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = before


# -- observing a training run --------------------------------------------------------------------
class _Stop(BaseException):
    """Raised from the criterion wrapper to end a student's ``train`` (not an ``Exception``, so a
    ``try/except Exception`` in their loop does not swallow it)."""


@dataclass
class _Run:
    """What a training run did, filled in as it goes."""

    steps: int
    losses: list[float]
    loader_batches: int = 0
    """Mini-batches the student's loader holds over all epochs (can round up past ``steps``)."""
    stopped: str = ""
    nonfinite_step: int | None = None
    optimizer_steps: int = 0
    stale_gradients: int = 0
    """Backward passes (among the first CHECKED_FORWARDS) that began with gradients of the previous step."""
    checked_forwards: int = 0
    ended_at: int | None = None
    """The checkpoint at which a sequential run was ended by the judge's word."""


def loss_value(loss: Any, where: str) -> float:
    if isinstance(loss, torch.Tensor):
        if loss.numel() != 1:
            raise ValueError(f"{where} returned a tensor of shape {tuple(loss.shape)}, not a single loss")
        return float(loss.detach().reshape(()).item())
    if isinstance(loss, (int, float)):
        return float(loss)
    raise TypeError(f"{where} returned a {type(loss).__name__}, not a loss tensor")


def _mark_nonfinite(run: _Run, value: float) -> None:
    run.nonfinite_step = len(run.losses)
    run.stopped = f"loss became {value} at step {len(run.losses)}"


class ObservedCriterion:
    """The student's criterion, recording every loss and stopping the run when it must stop."""

    def __init__(self, criterion: Callable[..., Any], run: _Run, where: str,
                 before_backward: Callable[[], None] = lambda: None) -> None:
        self._criterion = criterion
        self._run = run
        self._where = where
        self._before_backward = before_backward

    def __call__(self, outputs: Any, labels: Any) -> Any:
        run = self._run
        if run.stopped:
            raise _Stop
        if len(run.losses) >= run.steps:
            if run.loader_batches <= run.steps:
                run.stopped = (f"train asked for more than the loader's {run.loader_batches:,} mini-batches "
                               "(does it ignore `epochs`?); stopped at the budget")
            raise _Stop
        loss = self._criterion(outputs, labels)
        value = loss_value(loss, self._where)
        run.losses.append(value)
        if not math.isfinite(value):
            _mark_nonfinite(run, value)
            raise _Stop
        if isinstance(loss, torch.Tensor) and loss.requires_grad:
            # runs when backward reaches the loss, before any gradient flows into the net: the
            # moment zero_grad must have happened by, wherever train calls it
            loss.register_hook(self._backward_begins)
        return loss

    def _backward_begins(self, _grad: Any) -> None:
        self._before_backward()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._criterion, name)


def _watch(net: nn.Module, optimizer: Any, run: _Run) -> tuple[list[Any], Callable[[], None]]:
    """Count optimizer steps; and the check, run as each backward pass begins, for gradients of
    the previous step still there. ``zero_grad`` may come anywhere before ``backward``: first in
    the loop, or after the forward pass and the loss as PyTorch's tutorials write it."""
    handles = []
    if isinstance(optimizer, torch.optim.Optimizer):
        def counted(*_: Any) -> None:
            run.optimizer_steps += 1
        handles.append(optimizer.register_step_post_hook(counted))

    def before_backward() -> None:
        if run.checked_forwards >= CHECKED_FORWARDS:
            return
        run.checked_forwards += 1
        if run.optimizer_steps and any(p.grad is not None and bool(p.grad.any()) for p in net.parameters()):
            run.stale_gradients += 1

    return handles, before_backward


# -- the pieces ----------------------------------------------------------------------------------
@dataclass
class Pieces:
    """What a run is made of; ``owner`` says for each piece whether it is the student's or the baseline's."""

    net: Callable[[], nn.Module]
    criterion: Callable[..., Any]
    make_optimizer: Callable[[nn.Module], Any]
    train_transform: Callable[[Any], Any] | None
    """Per-image transform of a PIL image; None: the baseline's, vectorised."""
    test_transform: Callable[[Any], Any] | None
    train: Callable[..., Any] | None
    """The student's ``train(net, loader, criterion, optimizer, epochs)``; None: the grader's loop."""
    owner: dict[str, str]
    where: dict[str, str]
    """'problem2.py:criterion' and the like, for messages."""


def baseline_pieces() -> dict[str, Any]:
    return {"Net": baseline.Net, "criterion": baseline.criterion,
            "make_optimizer": baseline.make_optimizer, "transform": None}


COMPANIONS = {"criterion": "Net", "Net": "criterion"}
"""Pieces that belong together: a net's outputs and the loss that reads them. A variation whose
own piece is one of them and that defines the other itself (a 3-(5) ``Net`` ending in
``log_softmax`` for its ``nn.NLLLoss()``) is trained with both."""


def pieces_for(module: str, lookup: Callable[[str, str], Any],
               defined_here: Callable[[str, str], bool] = lambda _module, _name: False) -> Pieces:
    """Problem 2: every piece from the module. A variation: its own names from the module, with
    their `COMPANIONS` where the module defines them itself (``defined_here``), the rest from the
    baseline. ``lookup(module, name)`` fetches a student's name."""
    spec = BY_MODULE[module]
    where = {}
    if module == "problem2":
        names = ("transform", "Net", "criterion", "make_optimizer", "train")
        got = {n: lookup(module, n) for n in names}
        where = {n: f"problem2.py:{n}" for n in names}
        return Pieces(net=got["Net"], criterion=got["criterion"], make_optimizer=got["make_optimizer"],
                      train_transform=got["transform"], test_transform=got["transform"],
                      train=got["train"], owner={n: "student" for n in names}, where=where)
    if not spec.own_names:
        raise ValueError(f"{module} is not trained")
    base = baseline_pieces()
    own = {n: lookup(module, n) for n in spec.own_names}
    for n in spec.own_names:
        companion = COMPANIONS.get(n)
        if companion and companion not in own and defined_here(module, companion):
            own[companion] = lookup(module, companion)
    pick = {n: own.get(n, base.get(n)) for n in ("Net", "criterion", "make_optimizer")}
    owner = {n: ("student" if n in own else "baseline")
             for n in ("transform", "Net", "criterion", "make_optimizer")}
    owner["train"] = "grader"
    if "train_transform" in own:
        owner["train_transform"] = "student"
    where = {n: f"{module}.py:{n}" if owner.get(n) == "student" else f"baseline {n}"
             for n in ("Net", "criterion", "make_optimizer", "train_transform")}
    return Pieces(net=pick["Net"], criterion=pick["criterion"], make_optimizer=pick["make_optimizer"],
                  train_transform=own.get("train_transform"), test_transform=None, train=None,
                  owner=owner, where=where)


# -- training ------------------------------------------------------------------------------------
class _NormalisedImages(torch.utils.data.Dataset):
    """The images through the baseline transform (`normalise`), a mini-batch at a time as the
    loader asks, labels as ints. Converting on demand costs a third of converting the run's images
    up front (the copies of a whole run's float images are hundreds of MB, not cache-sized)."""

    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return normalise(self.images[i:i + 1])[0], int(self.labels[i])

    def __getitems__(self, indices: list[int]) -> _Batch:
        """A whole mini-batch in one lookup (DataLoader asks this way when a dataset can): the
        tensors ``default_collate`` would stack from `__getitem__`, without its per-image work."""
        idx = np.asarray(indices, dtype=np.int64)
        return _Batch(normalise(self.images[idx]), torch.from_numpy(np.asarray(self.labels)[idx].astype(np.int64)))


@dataclass(frozen=True)
class _Batch:
    """A mini-batch already stacked by the dataset (see `_NormalisedImages.__getitems__`)."""

    inputs: torch.Tensor
    labels: torch.Tensor


class _TransformedImages(torch.utils.data.Dataset):
    """CIFAR-10 images through a per-image transform, labels as ints: what torchvision's CIFAR10 gives."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform: Callable[[Any], Any], name: str) -> None:
        self.images, self.labels, self.transform, self.name = images, labels, transform, name

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return apply_transform(self.transform, self.images[i], self.name), int(self.labels[i])


def _student_loader(data: TrainingData, pieces: Pieces, steps: int, seed: int, device: str,
                    run: _Run | None = None) -> Any:
    """The loader handed to the student's ``train``: batch 4, seeded order, ``steps`` batches in all.
    Once ``run`` has stopped (a non-finite loss, the end of a sequential run at a checkpoint) the
    loader hands out nothing more: even a loop that swallows every exception ends there."""
    assert pieces.train_transform is not None
    name = pieces.where.get("transform", "transform")
    dataset: torch.utils.data.Dataset
    if acts_as_baseline(pieces.train_transform, data.train_images, name):
        dataset = _NormalisedImages(data.train_images, data.train_labels)
    else:
        dataset = _TransformedImages(data.train_images, data.train_labels, pieces.train_transform, name)
    epochs, per_epoch = epoch_plan(steps, len(data.train_labels))
    sampler = RandomSampler(dataset, num_samples=per_epoch,
                            generator=torch.Generator().manual_seed(seed))

    def collate(batch: list[Any] | _Batch) -> Any:
        if run is not None and (run.stopped or run.ended_at is not None):
            raise _Stop
        inputs, labels = (batch.inputs, batch.labels) if isinstance(batch, _Batch) else default_collate(batch)
        return inputs.to(device), labels.to(device)

    return DataLoader(dataset, batch_size=BATCH_SIZE, sampler=sampler, num_workers=0,
                      collate_fn=collate), epochs


def _grader_loop(net: nn.Module, optimizer: Any, criterion: Callable[..., Any], data: TrainingData,
                 pieces: Pieces, run: _Run, seed: int, device: str) -> None:
    """zero_grad · forward · loss · backward · step, ``run.steps`` times, stopping at a non-finite loss."""
    order = sample_order(run.steps, seed, len(data.train_labels))
    labels = torch.from_numpy(np.asarray(data.train_labels)[order.numpy()]).to(device)
    if pieces.train_transform is None:
        images, idx = data.train_images, order.numpy()
        batch = lambda s: normalise(images[idx[s * BATCH_SIZE:(s + 1) * BATCH_SIZE]]).to(device)  # noqa: E731
    else:
        images, name = data.train_images, pieces.where["train_transform"]
        idx = order.tolist()
        batch = lambda s: torch.stack([apply_transform(pieces.train_transform, images[i], name)  # noqa: E731
                                       for i in idx[s * BATCH_SIZE:(s + 1) * BATCH_SIZE]]).to(device)
    for step in range(run.steps):
        optimizer.zero_grad()
        loss = criterion(net(batch(step)), labels[step * BATCH_SIZE:(step + 1) * BATCH_SIZE])
        value = loss_value(loss, pieces.where["criterion"])
        run.losses.append(value)
        if not math.isfinite(value):
            _mark_nonfinite(run, value)
            return
        loss.backward()
        try:
            optimizer.step()
        except _Stop:  # ended at a checkpoint (`_checkpoint_hook`)
            return


def predict(net: nn.Module, images: np.ndarray, transform: Callable[[Any], Any] | None, device: str,
            name: str = "transform") -> np.ndarray:
    """Class predictions (int64) of ``net`` in eval mode, without gradients."""
    net.eval()
    out = np.empty(len(images), dtype=np.int64)
    with torch.no_grad(), onednn(True):
        for start in range(0, len(images), PREDICT_BATCH):
            chunk = images[start:start + PREDICT_BATCH]
            if transform is None:
                x = normalise(chunk)
            else:
                x = torch.stack([apply_transform(transform, img, name) for img in chunk])
            logits = net(x.to(device))
            if not isinstance(logits, torch.Tensor) or logits.shape != (len(chunk), 10):
                shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
                raise ValueError(f"Net's output for {len(chunk)} test images is {shape}; "
                                 f"({len(chunk)}, 10) was expected")
            out[start:start + len(chunk)] = logits.argmax(1).cpu().numpy()
    return out


Decide = Callable[[TrainingReply], bool]
"""Asked at each checkpoint of a sequential run with what the run looks like there (the
predictions of that checkpoint's test images, the losses so far): go on (True) or end the run
there (False)."""


def _checkpoint_hook(net: nn.Module, run: _Run, checkpoints: dict[int, int], predict_at: Callable[[int], np.ndarray],
                     out: dict[int, np.ndarray], decide: Callable[[int, np.ndarray], bool] | None) -> Callable[..., None]:
    """After the optimizer's step k (a key of ``checkpoints``), predict the first checkpoints[k] test
    images; training state is left as it was (eval mode only for the prediction, no gradients).
    With ``decide``, the run then goes on or ends there: the next call of the criterion (the
    student's loop) or the grader's loop stops, so the net is exactly what a run of k steps left."""

    def hook(*_: Any) -> None:
        k = run.optimizer_steps
        if k in checkpoints and k not in out and len(run.losses) == k:
            was_training = net.training
            out[k] = predict_at(checkpoints[k])
            net.train(was_training)
            if decide is not None and not decide(k, out[k]):
                run.ended_at = k
                run.steps = k  # the criterion's next call stops the student's loop
                raise _Stop

    return hook


def run_training(pieces: Pieces, data: TrainingData, *, steps: int, seed: int, device: str = "cpu",
                 test_count: int | None = None, checkpoints: dict[int, int] | None = None,
                 decide: Decide | None = None) -> TrainingReply:
    """Train once under a budget of ``steps`` mini-batches, then predict the test images.

    ``checkpoints`` (``{step: test images}``) also predicts after those steps: a shorter budget's
    run is the start of a longer one (same order, same seed), so one run measures several budgets
    (``bench/measure_floors.py``). With ``decide`` the run is sequential: at each checkpoint
    ``decide`` is given the run as it stands there and says whether it goes on; a run ended at a
    checkpoint replies what a run of that length would have (its predictions, its losses).
    """
    seed_everything(seed)
    started = time.perf_counter()
    net = pieces.net()
    if not isinstance(net, nn.Module):
        raise TypeError(f"Net() returned a {type(net).__name__}, not a torch.nn.Module")
    net = net.to(device)
    optimizer = pieces.make_optimizer(net)
    run = _Run(steps=steps, losses=[])
    handles, before_backward = _watch(net, optimizer, run)
    name = pieces.where.get("transform", "transform")
    test_transform = pieces.test_transform
    at_checkpoints: dict[int, np.ndarray] = {}

    def reply(predictions: np.ndarray, paused_at: int | None, predict_seconds: float) -> TrainingReply:
        losses = run.losses[:paused_at] if paused_at is not None else run.losses
        return TrainingReply(
            losses=np.asarray(losses, dtype=np.float32),
            steps_run=len(losses) if run.nonfinite_step is None else run.nonfinite_step,
            stopped=run.stopped[:2000], nonfinite_step=run.nonfinite_step, optimizer_steps=run.optimizer_steps,
            stale_gradients=run.stale_gradients, checked_forwards=run.checked_forwards, predictions=predictions,
            owner=dict(pieces.owner), train_seconds=time.perf_counter() - started - predict_seconds,
            predict_seconds=predict_seconds, paused_at=paused_at,
            checkpoints={} if decide is not None else {str(k): v for k, v in at_checkpoints.items()})

    predicting = [0.0]
    if checkpoints:
        def predict_at(count: int) -> np.ndarray:
            began = time.perf_counter()
            images = data.test_images[:count]
            usable = test_transform if test_transform is None or not acts_as_baseline(
                test_transform, images, name) else None
            with torch.no_grad():
                out = predict(net, images, usable, device, name)
            predicting[0] += time.perf_counter() - began
            return out

        def ask(k: int, predictions: np.ndarray) -> bool:
            assert decide is not None
            return decide(reply(predictions, k, predicting[0]))

        handles.append(optimizer.register_step_post_hook(_checkpoint_hook(
            net, run, checkpoints, predict_at, at_checkpoints, ask if decide is not None else None)))
    net.train()
    with onednn(device != "cpu"):  # off on the CPU: see `onednn`
        if pieces.train is not None:
            loader, epochs = _student_loader(data, pieces, steps, seed, device, run)
            run.loader_batches = epochs * len(loader)
            criterion = ObservedCriterion(pieces.criterion, run, pieces.where["criterion"], before_backward)
            try:
                pieces.train(net, loader, criterion, optimizer, epochs)
            except _Stop:
                pass
        else:
            _grader_loop(net, optimizer, pieces.criterion, data, pieces, run, seed, device)
    for h in handles:
        h.remove()
    if run.ended_at is not None:
        ended = reply(at_checkpoints[run.ended_at], run.ended_at, predicting[0])
        return dataclasses.replace(ended, paused_at=None, ended_at=run.ended_at)
    trained = time.perf_counter()
    images = data.test_images if test_count is None else data.test_images[:test_count]
    if test_transform is not None and acts_as_baseline(test_transform, images, name):
        test_transform = None
    predictions = predict(net, images, test_transform, device, name)
    return reply(predictions, None, predicting[0] + time.perf_counter() - trained)


class SequentialRun:
    """A sequential run (`run_training` with ``decide``) on a thread of its own, paused at each
    checkpoint until the judge's word comes in a later probe (`training_probes.resume_training`):
    the worker never holds the test labels, so the judge, which does, decides.

    The student's code runs on this thread exactly as it would on the main one; what it raised is
    raised again to the probe that waits, so the reply is the same as for a run made in one call.
    """

    def __init__(self, start: Callable[[Decide], TrainingReply]) -> None:
        self._events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._answers: queue.Queue[bool] = queue.Queue()
        self.paused = False
        """Whether the run waits at a checkpoint for `resume`."""
        self._thread = threading.Thread(target=self._main, args=(start,), name="sequential-training", daemon=True)
        self._thread.start()

    def _main(self, start: Callable[[Decide], TrainingReply]) -> None:
        try:
            self._events.put(("done", start(self._decide)))
        except BaseException as exc:  # noqa: BLE001 — the probe that waits raises it
            self._events.put(("error", exc))

    def _decide(self, at: TrainingReply) -> bool:
        self._events.put(("paused", at))
        return self._answers.get()

    def next(self) -> TrainingReply:
        """The run at its next checkpoint (``paused_at`` set), or its end."""
        kind, value = self._events.get()
        self.paused = kind == "paused"
        if kind == "error":
            raise value
        return value

    def resume(self, go_on: bool) -> TrainingReply:
        """Go on to the next checkpoint, or end the run where it waits (then its final reply)."""
        if not self.paused:
            raise RuntimeError("the run does not wait at a checkpoint")
        self._answers.put(go_on)
        return self.next()
