"""What one training step and one predicted image cost on this machine.

    python bench/step_cost.py [--steps N] [--repeat N] [--data PATH]

1. With torch's oneDNN (mkldnn) CPU kernels on and off, the measurement behind
   `autograder.training.onednn`: in process, one torch thread (as in the worker), batch 4, SGD with
   momentum and cross-entropy as in the homework, random inputs (the cost does not depend on the
   pixels), for the homework's LeNet (problem 2 and most variations), the reference's
   four-convolution net of 3-(1) and its batch-norm net of 3-(4).
2. With ``--data`` (CIFAR-10, as for the grader): each problem's reference run through
   `training.run_training`, the code that grades, for 1,000 steps: the cost per step relative to
   problem 2's, which is `budgets.STEP_COST` (trainings side by side take the costliest first).

Prints Markdown tables of medians over ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.worker import baseline  # noqa: E402
from autograder.worker.training import BATCH_SIZE, PREDICT_BATCH, onednn  # noqa: E402


def reference_net(module: str) -> Callable[[], nn.Module]:
    spec = importlib.util.spec_from_file_location(module, ROOT / "autograder" / "judge" / "reference" / f"{module}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.Net


def ms_per_step(make: Callable[[], nn.Module], steps: int) -> float:
    torch.manual_seed(0)
    net = make()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.001, momentum=0.9)
    criterion = nn.CrossEntropyLoss()
    x = torch.randn(steps + 20, BATCH_SIZE, 3, 32, 32)
    y = torch.randint(0, 10, (steps + 20, BATCH_SIZE))
    for i in range(steps + 20):
        if i == 20:  # after a warm-up
            started = time.perf_counter()
        optimizer.zero_grad()
        loss = criterion(net(x[i]), y[i])
        loss.item()
        loss.backward()
        optimizer.step()
    return (time.perf_counter() - started) / steps * 1000


def ms_per_image(make: Callable[[], nn.Module], images: int = 1000) -> float:
    torch.manual_seed(0)
    net = make().eval()
    x = torch.randn(images, 3, 32, 32)
    with torch.no_grad():
        net(x[:PREDICT_BATCH])
        started = time.perf_counter()
        for start in range(0, images, PREDICT_BATCH):
            net(x[start:start + PREDICT_BATCH])
    return (time.perf_counter() - started) / images * 1000


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--data", default=None, help="CIFAR-10 (as for the grader's --data): adds the per-problem table")
    args = p.parse_args()
    torch.set_num_threads(1)
    nets = {"LeNet (problem 2)": baseline.Net, "3-(1) four convolutions": reference_net("problem3_1"),
            "3-(4) batch norm": reference_net("problem3_4")}
    print(f"torch {torch.__version__}, 1 thread, batch {BATCH_SIZE}; prediction in batches of "
          f"{PREDICT_BATCH}; median of {args.repeat}\n")
    print("| net | ms a step, oneDNN on | off | ms an image predicted, on | off |")
    print("|---|---:|---:|---:|---:|")
    for name, make in nets.items():
        row = []
        for measure in (lambda: ms_per_step(make, args.steps), lambda: ms_per_image(make)):
            for enabled in (True, False):
                with onednn(enabled):
                    row.append(statistics.median(measure() for _ in range(args.repeat)))
        step_on, image_on, step_off, image_off = row[0], row[2], row[1], row[3]
        print(f"| {name} | {step_on:.2f} | {step_off:.2f} | {image_on:.2f} | {image_off:.2f} |", flush=True)
    if args.data:
        per_problem(Path(args.data), args.repeat)


def per_problem(data_path: Path, repeat: int, steps: int = 1_000) -> None:
    """Each problem's reference run through the grading code: ms a step, relative to problem 2."""
    sys.path.insert(0, str(ROOT / "bench"))
    from measure_floors import reference_lookup

    from autograder.common import budgets
    from autograder.judge import cifar
    from autograder.worker import training
    from autograder.common.config import GradingConfig

    data = training.TrainingData.load(cifar.prepare(GradingConfig(data=data_path)).worker_dir)
    cost = {}
    for problem in budgets.TRAINED:
        runs = [training.run_training(training.pieces_for(problem, reference_lookup), data, steps=steps,
                                      seed=s, test_count=0)["train_seconds"] for s in range(repeat)]
        cost[problem] = statistics.median(runs) / steps * 1000
    print(f"\nEach problem's reference run, {steps:,} steps through `training.run_training`\n")
    print("| problem | ms a step | relative to problem 2 | `budgets.STEP_COST` |")
    print("|---|---:|---:|---:|")
    for problem, ms in cost.items():
        print(f"| {problem} | {ms:.2f} | {ms / cost['problem2']:.1f} | {budgets.STEP_COST[problem]:.1f} |")


if __name__ == "__main__":
    main()
