"""The submission contract of hw3: which module defines which names, and what they are for.

Plain data shared by the judge, the worker and the reports. Nothing here imports torch, so the
CLI and the report renderer stay fast to start.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProblemSpec:
    """One problem of the homework as the contract names it."""

    module: str
    """Module name in the submission folder, without `.py` (also the problem's id in results)."""
    title: str
    """Short human title, as the report shows it."""
    names: tuple[str, ...]
    """Names the module must define (or, for 3-(n), take from `problem2`)."""
    own_names: tuple[str, ...] = ()
    """For a variation: the names the variation changes; the rest come from `problem2`."""
    points: float = 0.0
    """The problem's share of the assignment's `ASSIGNMENT_POINTS`: its checks plus `written`."""
    written: float = 0.0
    """Of ``points``, those a person scores (the written answers) — the problem's manual maximum.
    The graded suite's checks are worth ``points - written`` (a test keeps the two in step)."""


PROBLEMS: tuple[ProblemSpec, ...] = (
    # problem 1's questions (1) and (2) ask the student to explain print(net) and the network's
    # structure in writing: 3 of its 15 points are scored by a person (manual.csv), 12 by checks
    ProblemSpec("problem1", "LeNet forward, loss, backward and SGD step", ("Net", "sgd_step"),
                points=15, written=3),
    ProblemSpec(
        "problem2",
        "CIFAR-10 classifier",
        ("transform", "classes", "Net", "criterion", "make_optimizer", "train", "evaluate"),
        points=25,
    ),
    ProblemSpec("problem3_1", "3-(1) four 3×3 convolutions", ("Net",), own_names=("Net",), points=6),
    ProblemSpec("problem3_2", "3-(2) Adam", ("make_optimizer",), own_names=("make_optimizer",), points=6),
    ProblemSpec(
        "problem3_3", "3-(3) data augmentation", ("train_transform",), own_names=("train_transform",),
        points=6,
    ),
    ProblemSpec("problem3_4", "3-(4) batch normalisation", ("Net",), own_names=("Net",), points=6),
    ProblemSpec("problem3_5", "3-(5) log-likelihood loss", ("criterion",), own_names=("criterion",), points=6),
    ProblemSpec("problem3_6", "3-(6) L2 regularisation", ("make_optimizer",), own_names=("make_optimizer",),
                points=6),
    ProblemSpec("problem4", "softmax in NumPy", ("softmax",), points=10),
    ProblemSpec("problem5", "loss functions in NumPy", ("MSE", "cross_entropy_error", "loglikelihood"),
                points=14),
)

ASSIGNMENT_POINTS: float = 100
"""The assignment's maximum: the sum of the problems' points (a test keeps them in step). Gradebook
exports always use it, whatever subset of the problems a run graded; a student of the roster who
submitted nothing has 0 of it."""

BY_MODULE: dict[str, ProblemSpec] = {p.module: p for p in PROBLEMS}

CLASSES: tuple[str, ...] = (
    "plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)
"""CIFAR-10's classes in label order, as the homework spells them."""

REPORT_FILE = "report.md"
"""Optional file of written answers in a submission folder."""

GRADING_ENVIRONMENT: tuple[str, ...] = ("torch", "torchvision", "numpy", "PIL", "matplotlib", "tqdm")
"""What a submission may import besides the standard library and its own modules: what the
homework itself uses (the grader installs them; matplotlib draws to no screen, ``plt.show()`` does
nothing)."""

STAND_INS: dict[str, str] = {
    "torch.utils.tensorboard": "TensorBoard's SummaryWriter (torch.utils.tensorboard)",
    "tensorboardX": "tensorboardX's SummaryWriter",
    "wandb": "Weights & Biases (wandb)",
    "google.colab": "Colab's google.colab (drive.mount, files)",
    "IPython": "IPython (display, clear_output)",
}
"""Display and logging packages a script may import that grading never needs: where they are not
installed, the worker gives the student's code an inert stand-in of each (every call does
nothing) and the grade says so in a remark — never a lost problem."""

RUNS_AT_IMPORT_DEDUCTION: float = 0.0
"""Points taken from a problem whose module had to be graded without its top-level code (it
trained, plotted, downloaded or blocked when imported: see `autograder.judge.staging`); never more
than the problem earned. An instructor who asks for scripts guarded by
``if __name__ == "__main__":`` may set it; by default none."""

SIGNATURES: dict[str, tuple[str, ...]] = {
    "Net": (),
    "sgd_step": ("net", "learning_rate"),
    "transform": ("image",),
    "train_transform": ("image",),
    "criterion": ("outputs", "labels"),
    "make_optimizer": ("net",),
    "train": ("net", "trainloader", "criterion", "optimizer", "epochs"),
    "evaluate": ("net", "testloader"),
    "softmax": ("x",),
    "MSE": ("y", "t"),
    "cross_entropy_error": ("y", "t"),
    "loglikelihood": ("y", "t"),
}
"""How the grader calls each callable name: these arguments, by position (``Net()`` takes none;
``classes`` is a value, not called). The handout's starters and its self-check (``autograde
assign``) are written from this table."""
