"""The messages between the judge and a worker: typed dataclasses, validated on receipt.

The whole contract between the two processes is here (as Bazel's persistent workers keep theirs
in one request/response schema): the worker's start message, its handshake, probe requests, and
each probe's reply type (`REPLIES`). Both ends validate what they receive with `typed.parse`, which
checks every field against its annotation — types, keys, lengths, ranges — and builds the
dataclass. A reply that does not fit its type is the student's failure (the worker ran their
code), reported with the path of the bad field.

Values travel through `autograder.common.wire`, which already admits only plain data and arrays;
`typed.to_plain` turns these dataclasses into that plain data.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from typing import Annotated, Any

import numpy as np

from autograder.common.limits import ResourceLimits
from autograder.common.typed import ArrayOf, Between, MaxLen

Count = Annotated[int, Between(0, 2**40)]
Seconds = Annotated[float, Between(0.0, 1e7)]
Name = Annotated[str, MaxLen(200)]
Text = Annotated[str, MaxLen(20_000)]
Shape = Annotated[list[Annotated[int, Between(0, 2**31)]], MaxLen(32)]
Owner = typing.Literal["student", "baseline", "grader"]
"""Whose a piece of a training run is: the student's code, the homework's given baseline, or the
grader's own loop."""


# -- starting a worker ----------------------------------------------------------------------------
@dataclass(frozen=True)
class WorkerStart:
    """The worker's start message (its argument): how to confine itself and what to serve."""

    limits: ResourceLimits
    uid: int | None
    """The uid to drop to (as root, in bubblewrap), or None."""
    scratch: str
    submission: str
    data: str | None
    device: str
    threads: int
    preload: tuple[str, ...]
    gpu_memory_fraction: float | None = None
    """The share of the GPU's memory this worker may use (CUDA workers sharing one GPU)."""
    parent: int | None = None
    """The judge's pid, for a worker with no bubblewrap to die with the judge: it asks the kernel
    for a parent-death signal itself (`channel.die_with_parent`), first thing."""


@dataclass(frozen=True)
class Ready:
    """The worker's handshake, sent after its limits are set and before any student import."""

    ready: bool
    uid: int
    pid: int
    startup_seconds: Seconds
    versions: dict[str, Name]
    device: Name = "cpu"
    device_error: Text = ""
    """Why the device could not start (CUDA in the sandbox); the worker serves nothing then."""


# -- probes -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProbeRequest:
    id: int
    probe: Name
    args: dict[str, Any]


Bytes = Annotated[int, Between(0, 2**60)]


@dataclass(frozen=True)
class GpuMemory:
    """A CUDA worker's account of the GPU's memory at an out-of-memory error, read with the
    functions the worker held before any student code ran."""

    own_peak: Bytes
    """The most this worker's process ever reserved (torch's caching allocator)."""
    share: Bytes
    """What this worker may use: its fraction of the GPU's memory (all of it with no fraction)."""
    free: Bytes
    """The GPU's free memory as the driver reports it, after the error."""
    total: Bytes


@dataclass(frozen=True)
class ProbeError:
    """The worker's account of an exception raised by (or through) student code."""

    type: Name
    message: Text
    where: Name | None = None
    traceback: Text = ""
    missing_name: tuple[Name, Name] | None = None
    """(module, name) the contract asks for and the module lacks."""
    missing_module: Name | None = None
    out_of_memory: bool = False
    """A CUDA out-of-memory error: the grader's to retry only when `gpu_memory` shows the memory
    was taken by others (`worker_client.gpu_taken_by_others`); otherwise the student's."""
    gpu_memory: GpuMemory | None = None
    """What the worker measured of the GPU's memory when the error reached it."""


TAMPERED = "GraderTampered"
"""`ProbeError.type` of a reply the worker refused because the submission changed the worker's own
code (`autograder.worker.integrity`)."""


@dataclass(frozen=True)
class ProbeReply:
    id: int
    ok: bool
    value: Any = None
    error: ProbeError | None = None
    seconds: Seconds = 0.0


@dataclass(frozen=True)
class ImportReply:
    defined: list[Name]
    baseline_problem2: bool
    stand_ins: Annotated[list[Name], MaxLen(32)] = field(default_factory=list)
    """The inert stand-ins (`contract.STAND_INS`) the worker has given the student's code so far."""


Size = Annotated[int, Between(-(2**31), 2**31)] | Shape | Name
"""A layer's size attribute as the layer holds it: a number (``MaxPool2d(2)``), one per dimension
(``Conv2d``'s ``(5, 5)``), or a mode (``padding="same"``)."""


@dataclass(frozen=True)
class Layer:
    """One leaf module of a net, with the sizes the checks look at (None where it has none)."""

    name: Name
    type: Name
    in_channels: Size | None = None
    out_channels: Size | None = None
    kernel_size: Size | None = None
    stride: Size | None = None
    padding: Size | None = None
    in_features: Size | None = None
    out_features: Size | None = None
    num_features: Size | None = None


@dataclass(frozen=True)
class Parameter:
    name: Name
    shape: Shape


@dataclass(frozen=True)
class LayerCall:
    """One leaf module applied in the forward pass, in order, with the shape it output."""

    module: Name
    type: Name
    shape: Shape


@dataclass(frozen=True)
class NetDescription:
    layers: Annotated[list[Layer], MaxLen(10_000)]
    parameters: Annotated[list[Parameter], MaxLen(10_000)]
    weights: Count
    output_shape: Shape
    """Empty when the forward pass failed."""
    calls: Annotated[list[LayerCall], MaxLen(100_000)]
    forward_error: Text = ""
    """Why the forward pass on the probe's input failed ("" when it ran): 'file:line in f: Type: message'."""


@dataclass(frozen=True)
class LossAndGradients:
    output: np.ndarray
    loss: float
    grads_after_zero_grad: Annotated[list[np.ndarray | None], MaxLen(10_000)]
    grads: Annotated[list[np.ndarray | None], MaxLen(10_000)]


@dataclass(frozen=True)
class ParamGroup:
    params: Annotated[list[Name], MaxLen(10_000)]
    settings: dict[str, Any]


@dataclass(frozen=True)
class OptimizerDescription:
    type: Name
    module: Name
    is_optimizer: bool
    groups: Annotated[list[ParamGroup], MaxLen(10_000)]
    parameters: Annotated[list[Name], MaxLen(10_000)]
    covered: Annotated[list[Name], MaxLen(100_000)]
    foreign: Count


@dataclass(frozen=True)
class EvaluateReply:
    result: Any
    calls_in_train_mode: Count
    calls_in_eval_mode: Count
    images_seen: Count


@dataclass(frozen=True)
class TrainingRequest:
    """Train ``module`` for ``steps`` mini-batches of 4 with ``seed``, then predict the first
    ``test_count`` test images; with ``checkpoints`` ((step, test images), …, before ``steps``)
    the run pauses at each for the judge's word (a sequential budget)."""

    module: Name
    steps: Count
    seed: Annotated[int, Between(0, 2**63 - 1)]
    test_count: Count
    checkpoints: tuple[tuple[int, int], ...] = ()

    def args(self) -> dict[str, Any]:
        """The probe's arguments, ``module`` aside (it is the call's own)."""
        args: dict[str, Any] = {"steps": self.steps, "seed": self.seed, "test_count": self.test_count}
        if self.checkpoints:
            args["checkpoints"] = [list(c) for c in self.checkpoints]
        return args


@dataclass(frozen=True)
class TrainingReply:
    """What the worker saw of a training run; the accuracy is the judge's to compute."""

    losses: Annotated[np.ndarray, ArrayOf("f", 1)]
    """The loss of every mini-batch, in order (non-finite ones included)."""
    steps_run: Count
    stopped: Text
    nonfinite_step: Count | None
    optimizer_steps: Count
    stale_gradients: Count
    checked_forwards: Count
    predictions: Annotated[np.ndarray, ArrayOf("iu", 1)]
    owner: dict[Name, Owner]
    """Whose each piece of the run was (``Net``, ``criterion``, …)."""
    train_seconds: Seconds
    predict_seconds: Seconds
    checkpoints: dict[str, Annotated[np.ndarray, ArrayOf("iu", 1)]] = field(default_factory=dict)
    """For measurements only: predictions after some earlier steps, by step."""
    paused_at: Count | None = None
    """A sequential run waiting at this checkpoint for the judge's word (`resume_training`):
    ``predictions`` and ``losses`` are those of the run so far."""
    ended_at: Count | None = None
    """The checkpoint at which the judge ended a sequential run (its final reply)."""


REPLIES: dict[str, Any] = {
    "import_module": ImportReply,
    "call_function": Any,
    "describe_net": NetDescription,
    "forward": Annotated[np.ndarray, ArrayOf("biuf")],
    "loss_and_gradients": LossAndGradients,
    "sgd_step": Annotated[list[np.ndarray], MaxLen(10_000)],
    "train_and_predict": TrainingReply,
    "resume_training": TrainingReply,
    "variation_pieces": dict[Name, Owner],
    "transform_images": Annotated[list[Annotated[list[Any], MaxLen(10_000)]], MaxLen(100)],
    "criterion_values": Annotated[list[float], MaxLen(10_000)],
    "describe_optimizer": OptimizerDescription,
    "evaluate_oracle": EvaluateReply,
}
"""Each probe's reply type: what the judge accepts back (``Any`` for a student function's own
value, which the checks type themselves)."""


# -- the orchestrator and a judge server ----------------------------------------------------------
Argument = Annotated[str, MaxLen(1_000_000)]


@dataclass(frozen=True)
class JudgeReady:
    """A judge server's handshake: its imports are done, it waits for submissions."""

    ready: bool
    pid: int
    startup_seconds: Seconds


@dataclass(frozen=True)
class GradeAhead:
    """The submission a judge server grades next: its worker may start while this one is graded."""

    submission: Argument
    config: Argument
    """Its `GradingConfig`, as JSON."""
    problems: Annotated[list[Name], MaxLen(100)]
    """The contract modules it will be graded on."""


@dataclass(frozen=True)
class GradeRequest:
    """Grade one submission: pytest's command line for it (``--submission DIR`` and the rest, as a
    judge process of its own would get) and the file that gets its output (judge.log)."""

    id: int
    args: Annotated[list[Argument], MaxLen(10_000)]
    log: Argument
    ahead: GradeAhead | None = None


@dataclass(frozen=True)
class GradeDone:
    """The judge's answer to a `GradeRequest`: pytest's exit status; the results are in the files."""

    id: int
    exit_status: int
    seconds: Seconds
