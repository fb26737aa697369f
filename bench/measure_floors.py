"""Measure the reference's test accuracy per problem, budget and seed, and propose the floors.

Runs in-process (no sandbox): the reference pieces from ``reference/`` go through
`autograder.training.run_training`, the very code the worker grades with, on CIFAR-10 prepared by
`autograder.judge.cifar`. For each (seed, problem), ONE run as long as the largest budget still
missing is made, and the shorter budgets are read at checkpoints of it: with the same seed, a
shorter budget's run is exactly the start of a longer one (same initialisation, same order). One
JSON line per budget is appended to ``--out`` (pairs already there are skipped, so an interrupted
measurement resumes); ``--table`` prints the markdown table of
accuracies, the proposed floors (worst seed − FLOOR_MARGIN, rounded down) and the floors in force.

    python bench/measure_floors.py --data PATH --budgets quick,standard --seeds 5
    python bench/measure_floors.py --out bench/out/floors.jsonl --table
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.common import budgets  # noqa: E402
from autograder.judge import cifar  # noqa: E402
from autograder.common.config import GradingConfig  # noqa: E402
from autograder.judge import sequential  # noqa: E402


def reference_lookup(module: str, name: str) -> Any:
    """A name of the reference solution (the variations' own names only, as the grader asks)."""
    if str(ROOT / "autograder" / "judge" / "reference") not in sys.path:
        sys.path.insert(0, str(ROOT / "autograder" / "judge" / "reference"))
    return getattr(importlib.import_module(module), name)


VARIANTS: dict[str, tuple[str, str, Any]] = {
    # name: (the problem whose slot it fills, the piece, a factory of the piece)
    "sgd-lr0.01": ("problem3_2", "make_optimizer",
                   lambda: lambda net: __import__("torch").optim.SGD(net.parameters(), lr=0.01, momentum=0.9)),
    "sgd-lr0.03": ("problem3_2", "make_optimizer",
                   lambda: lambda net: __import__("torch").optim.SGD(net.parameters(), lr=0.03, momentum=0.9)),
    "adam-lr0.01": ("problem3_2", "make_optimizer",
                    lambda: lambda net: __import__("torch").optim.Adam(net.parameters(), lr=0.01)),
    "sgd-lr0.0001": ("problem3_2", "make_optimizer",
                     lambda: lambda net: __import__("torch").optim.SGD(net.parameters(), lr=0.0001, momentum=0.9)),
}
"""Runs that should fail, some of them late (a learning rate that diverges after a while, a loss
that stops falling): `--problems variant:NAME` measures them like the reference's problems, to see
that a sequential budget never ends one of them early with a pass (docs/training.md)."""


def lookup_for(problem: str) -> tuple[str, Any]:
    """(the slot trained, the name lookup) of a reference problem or ``variant:NAME``."""
    if not problem.startswith("variant:"):
        return problem, reference_lookup
    slot, piece, make = VARIANTS[problem.split(":", 1)[1]]
    return slot, lambda module, name: make() if name == piece else reference_lookup(module, name)


def measure(data_path: Path | None, cache: Path, budget_names: list[str], seeds: list[int],
            problems: list[str], out: Path, device: str, shard: tuple[int, int] = (0, 1)) -> None:
    """One run per (seed, problem), as long as the largest budget still missing; the smaller budgets
    are read at checkpoints of that run (a shorter budget's run is the start of a longer one)."""
    import torch

    from autograder.worker import training

    torch.set_num_threads(1)
    config = GradingConfig(data=data_path, cache=cache)
    prepared = cifar.prepare(config)
    data = training.TrainingData.load(prepared.worker_dir)
    labels = np.asarray(prepared.test_labels)
    earlier = {(r["budget"], r["seed"], r["problem"]): r for r in read(out)
               if r["steps"] == budgets.budget(r["budget"]).steps_for(r["problem"])}
    out.parent.mkdir(parents=True, exist_ok=True)
    pairs = [(seed, problem) for seed in seeds for problem in problems]
    for index, (seed, problem) in enumerate(pairs):
        if index % shard[1] != shard[0]:
            continue
        missing = [budgets.budget(n) for n in budget_names if (n, seed, problem) not in earlier]
        if not missing:
            continue
        slot, lookup = lookup_for(problem)

        def steps(b: budgets.Budget) -> int:
            return b.steps_for(slot)

        longest = max(missing, key=steps)
        shorter = [budgets.budget(n) for n in budgets.FIXED if steps(budgets.budget(n)) < steps(longest)]
        pieces = training.pieces_for(slot, lookup)
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            run = training.run_training(pieces, data, steps=steps(longest), seed=seed, device=device,
                                        test_count=longest.test_images,
                                        checkpoints={steps(b): b.test_images for b in shorter})
        seconds = round(time.perf_counter() - started, 2)
        predictions = {longest.name: run.predictions,
                       **{b.name: run.checkpoints[str(steps(b))] for b in shorter if str(steps(b)) in run.checkpoints}}
        for name, pred in predictions.items():
            b = budgets.budget(name)
            losses = run.losses[:steps(b)]
            tenth = max(1, len(losses) // 10)
            record = {
                "budget": name, "seed": seed, "problem": problem, "steps": steps(b),
                "test_images": b.test_images,
                "accuracy": float(np.mean(pred == labels[:b.test_images])),
                "first_tenth_loss": float(np.mean(losses[:tenth])),
                "last_tenth_loss": float(np.mean(losses[-tenth:])),
                "steps_run": min(run.steps_run, b.steps), "stopped": run.stopped,
                "finite": bool(np.all(np.isfinite(losses))), "rising": sequential.loss_rising(np.asarray(losses)),
                "seconds": seconds, "run_steps": longest.steps, "device": device,
            }
            before = earlier.get((name, seed, problem))
            if before is not None:
                same = "same" if abs(before["accuracy"] - record["accuracy"]) < 1e-12 else "DIFFERENT"
                print(f"check {name} seed {seed} {problem}: separate run {before['accuracy']:.4f}, "
                      f"checkpoint {record['accuracy']:.4f} ({same})", flush=True)
                continue
            with out.open("a") as f:
                f.write(json.dumps(record) + "\n")
            print(f"{name:8} seed {seed} {problem:10} {record['accuracy']:.3f} "
                  f"loss {record['first_tenth_loss']:.3f}→{record['last_tenth_loss']:.3f} "
                  f"(run of {steps(longest):,} steps, {seconds:.0f} s)", flush=True)


def read(path: Path) -> list[dict[str, Any]]:
    """The records of ``path``, the first one of each (budget, seed, problem, steps) (shards may overlap)."""
    if not path.is_file():
        return []
    records: dict[tuple, dict[str, Any]] = {}
    for line in path.read_text().splitlines():
        if line.strip():
            r = json.loads(line)
            records.setdefault((r["budget"], r["seed"], r["problem"], r["steps"]), r)
    return list(records.values())


def proposed_floor(worst: float) -> float:
    """Worst seed less the margin, rounded down to a whole percent (as a fraction)."""
    return math.floor(worst * 100 - budgets.FLOOR_MARGIN) / 100


def table(records: list[dict[str, Any]]) -> str:
    """Markdown per fixed budget: the accuracies' tail over the seeds (worst, the five lowest, mean,
    standard deviation), the smallest loss drop, the proposed floor (worst − margin) and the floor
    in force; at the checkpoints of the adaptive budget, the early-pass bar and the seeds that clear
    it with a loss finite and not rising."""
    lines = []
    for name in budgets.FIXED:
        b = budgets.budget(name)
        rows = [r for r in records if r["budget"] == name and r["steps"] == b.steps_for(lookup_for(r["problem"])[0])]
        if not rows:
            continue
        fewer = "".join(f" ({p}: {n:,})" for p, n in b.shorter)
        early = name in budgets.EARLY_MARGIN
        lines += [f"**{name}** — {b.steps:,} mini-batches of 4{fewer}, accuracy on {b.test_images:,} test images", "",
                  "| problem | seeds | worst | five lowest (%) | mean | sd | loss drop (min) | proposed floor | floor |"
                  + (" early-pass bar | seeds ending early |" if early else ""),
                  "|---|---:|---:|---|---:|---:|---:|---:|---:|" + ("---:|---|" if early else "")]
        variants = sorted({r["problem"] for r in rows if r["problem"].startswith("variant:")})
        for problem in [*budgets.TRAINED, *variants]:
            got = sorted((r for r in rows if r["problem"] == problem), key=lambda r: r["accuracy"])
            if not got:
                continue
            acc = np.array([r["accuracy"] for r in got])
            drop = min(r["first_tenth_loss"] - r["last_tenth_loss"] for r in got)
            slot = lookup_for(problem)[0]
            row = (f"| {problem} | {len(acc)} | {100 * acc.min():.1f} | {' '.join(f'{100 * a:.1f}' for a in acc[:5])} | "
                   f"{100 * acc.mean():.1f} | {100 * acc.std(ddof=1) if len(acc) > 1 else 0:.1f} | {drop:.2f} | "
                   f"{100 * proposed_floor(acc.min()):.0f} | {100 * budgets.floor(name, slot):.0f} |")
            if early:
                bar = budgets.early_pass(name, slot)
                known = [r for r in got if "rising" in r]
                ends = sum(1 for r in known if r["accuracy"] >= bar and r["finite"] and not r["rising"])
                row += (f" {100 * bar:.0f} | {ends} of {len(known)}"
                        + (f" (+{len(got) - len(known)} without a loss record)" if len(known) < len(got) else "") + " |")
            lines.append(row)
        lines.append("")
    return "\n".join(lines)


HOMEWORK = {"problem2": 54, "problem3_1": 58, "problem3_2": 56, "problem3_3": 57, "problem3_4": 54,
            "problem3_5": 55, "problem3_6": 55}
"""Test accuracy (%) in the homework's report (student 20163140, 2 epochs, one run each)."""


def homework_table(records: list[dict[str, Any]]) -> str:
    """Markdown: the reference at the full budget, per seed, next to the homework's accuracies."""
    rows = [r for r in records if r["budget"] == "full"]
    seeds = sorted({r["seed"] for r in rows})
    lines = ["| problem | homework (%) | reference, full budget (%) per seed | mean |", "|---|---|---|---|"]
    for problem in budgets.TRAINED:
        got = sorted((r for r in rows if r["problem"] == problem), key=lambda r: r["seed"])
        acc = " ".join(f"{100 * r['accuracy']:.1f}" for r in got) or "–"
        mean = f"{100 * np.mean([r['accuracy'] for r in got]):.1f}" if got else "–"
        lines.append(f"| {problem} | {HOMEWORK[problem]} | {acc} | {mean} |")
    return f"seeds {', '.join(map(str, seeds)) or 'none yet'}\n\n" + "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=os.environ.get("AUTOGRADE_DATA") or None,
                   help="CIFAR-10 (as for the grader's --data) [env AUTOGRADE_DATA]")
    p.add_argument("--cache", type=Path, default=Path(os.environ.get("AUTOGRADE_CACHE") or Path.home() / ".cache" / "hw3-autograder"))
    p.add_argument("--budgets", default="quick,standard")
    p.add_argument("--seeds", type=int, default=5, help="seeds 0 … N-1")
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--problems", default=",".join(budgets.TRAINED))
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "floors.jsonl")
    p.add_argument("--shard", default="0/1", help="I/N: only every N-th (seed, problem) pair, from the I-th")
    p.add_argument("--table", action="store_true", help="only print the table of what --out holds")
    args = p.parse_args(argv)
    if not args.table:
        measure(Path(args.data) if args.data else None, args.cache, args.budgets.split(","),
                list(range(args.first_seed, args.first_seed + args.seeds)), args.problems.split(","),
                args.out, args.device, tuple(int(x) for x in args.shard.split("/")))
    print(table(read(args.out)))
    print(homework_table(read(args.out)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
