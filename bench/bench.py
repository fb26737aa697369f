"""Where grading time goes, measured on this machine; writes bench/RESULTS.md.

    python bench/bench.py [--small] [--repeat N] [--data PATH] [--device cpu|cuda] [--out FILE]

1. Grading submission 20163140 at each budget, end to end through `autograde`, split by phase
   (worker starts, each problem's checks, each training in its worker, reports), median of
   ``--repeat``. With training workers (the default on 2 or more cores) the trainings run side by
   side in the background, so the phases overlap: a trained problem's "checks" are mostly the wait
   for its run, and the wall-clock total is what an instructor waits.
2. The baseline a course would otherwise use: the homework's problem 2 as its students ran it
   (`homework_problem2.py`: torchvision CIFAR10 + DataLoader(num_workers=2), batch 4, 2 epochs),
   against grading problem 2 alone at the standard budget: the time of each and both accuracies.
3. A class: N generated submissions graded with ``--jobs 1``, ``2``, …: submissions per minute
   and the peak memory of the whole process tree.
4. With ``--device cuda`` (on a machine with a GPU) the same figures on the GPU.

``--small`` keeps the run under 15 minutes on a 2-core CPU: one grading of every problem at quick
and at standard (``--repeat N`` for medians of N), problem 2 alone at standard (for the comparison
with the homework), one baseline run, and a class graded on problems 1, 4 and 5.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.common import config as cfg  # noqa: E402
from autograder.common import results_json  # noqa: E402


def tree_rss(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants, in bytes (from /proc)."""
    total, stack, seen = 0, [pid], set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
            for task in Path(f"/proc/{p}/task").iterdir():
                children = (task / "children").read_text().split()
                stack.extend(int(c) for c in children)
        except (OSError, ValueError):
            continue
    return total


def run_measured(cmd: list[str], **kwargs: object) -> tuple[subprocess.CompletedProcess[str], float, int]:
    """Run ``cmd``; returns (process, wall seconds, peak RSS of its process tree)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.2):
            peak = max(peak, tree_rss(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    done.set()
    sampler.join()
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err), time.perf_counter() - start, peak


def autograde(args: list[str]) -> tuple[subprocess.CompletedProcess[str], float, int]:
    return run_measured([sys.executable, "-m", "autograder.orchestrator.cli", *args], cwd=ROOT)


def grade_phases(budget: str, repeat: int, common: list[str], work: Path,
                 problems: str | None = None) -> dict[str, object]:
    """Grade 20163140 ``repeat`` times; median seconds per phase, and the problem-2 accuracy."""
    runs: list[dict[str, float]] = []
    accuracy = None
    only = ["--problems", problems] if problems else []
    for i in range(repeat):
        out = work / f"{budget}-{i}"
        proc, wall, _ = autograde(["submissions/20163140", "--budget", budget, "--out", str(out),
                                   "--force", *common, *only])
        if proc.returncode != 0:
            raise SystemExit(f"grading failed ({proc.returncode}): {proc.stderr[-2000:]}")
        result = results_json.read(out / "20163140" / "results.json")
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "autograder.orchestrator.cli", "report", str(out)], cwd=ROOT,
                       check=True, capture_output=True)
        phases = {k: v for k, v in result.timings.items()
                  if k != "worker busy" and not k.startswith("import ")}  # imports: hundredths of a second
        for record in result.training:
            phases[f"{record.problem} training (in its worker)"] = record.seconds
        phases["reports (autograde report)"] = time.perf_counter() - start
        phases["total (autograde, wall)"] = wall
        runs.append(phases)
        p2 = next((r for r in result.training if r.problem == "problem2"), None)
        accuracy = p2.accuracy if p2 else None
        score = f"{result.score:g} / {result.max_score:g}"
    keys = list(runs[0])
    return {"phases": {k: statistics.median(r.get(k, 0.0) for r in runs) for k in keys},
            "runs": repeat, "p2_accuracy": accuracy, "score": score}


def rebuild_batches(data: object, folder: Path) -> Path:
    """A torchvision ``cifar-10-batches-py`` folder written from the grader's decoded arrays."""
    import numpy as np

    from autograder.judge import cifar

    prepared = cifar.prepare(data)
    images = np.load(prepared.worker_dir / "train_images.npy")
    labels = np.load(prepared.worker_dir / "train_labels.npy")
    test_images = np.load(prepared.worker_dir / "test_images.npy")
    test_labels = np.asarray(prepared.test_labels)
    root = folder / "cifar-10-batches-py"
    root.mkdir(parents=True, exist_ok=True)

    def dump(name: str, x: np.ndarray, y: np.ndarray) -> None:
        flat = x.transpose(0, 3, 1, 2).reshape(len(x), -1)  # torchvision's layout: CHW rows
        with (root / name).open("wb") as f:
            pickle.dump({"data": flat, "labels": [int(v) for v in y]}, f)

    for i in range(5):
        dump(f"data_batch_{i + 1}", images[i * 10000:(i + 1) * 10000], labels[i * 10000:(i + 1) * 10000])
    dump("test_batch", test_images, test_labels)
    with (root / "batches.meta").open("wb") as f:
        pickle.dump({"label_names": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
                                     "horse", "ship", "truck"]}, f)
    return folder


def homework_baseline(data: object, work: Path) -> dict[str, float]:
    root = rebuild_batches(data, work / "torchvision-root")
    proc, wall, peak = run_measured([sys.executable, str(ROOT / "bench" / "homework_problem2.py"),
                                     str(root), "2", "--rebuilt"])
    if proc.returncode != 0:
        raise SystemExit(f"the homework script failed: {proc.stderr[-2000:]}")
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    figures["wall"] = wall
    figures["peak_rss"] = peak
    return figures


def make_class(folder: Path, n: int) -> None:
    for i in range(n):
        shutil.copytree(ROOT / "submissions" / "20163140", folder / f"student{i:02d}")


def class_throughput(n: int, jobs_list: list[int], extra: list[str], work: Path) -> list[dict[str, float]]:
    make_class(work / "class", n)
    rows = []
    for jobs in jobs_list:
        proc, wall, peak = autograde([str(work / "class"), "--jobs", str(jobs), "--force",
                                      "--out", str(work / f"class-out-{jobs}"), *extra])
        if proc.returncode != 0:
            raise SystemExit(f"class grading failed: {proc.stderr[-2000:]}")
        rows.append({"jobs": jobs, "seconds": wall, "per_minute": n / wall * 60, "peak_rss": peak})
    return rows


def machine() -> str:
    cpu = ""
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                   if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return (f"{cpu or platform.processor()}, {os.cpu_count()} cores, {mem:.0f} GiB; GPU: {gpu}; "
            f"Python {platform.python_version()}, torch {torch.__version__}")


P2_ALONE = "standard, problem 2 alone"


def render(figures: dict[str, object], command: str) -> str:
    lines = ["# Benchmarks", "", f"Machine: {figures['machine']}", "", f"Command: `{command}`", "",
             f"Date: {figures['date']}", ""]
    lines += ["## Grading submission 20163140, by phase (median seconds)", ""]
    budgets = figures["budgets"]
    keys: list[str] = []
    for b in budgets.values():
        keys += [k for k in b["phases"] if k not in keys]
    lines.append("| phase | " + " | ".join(f"{n} (×{b['runs']})" for n, b in budgets.items()) + " |")
    lines.append("|---|" + "---:|" * len(budgets))
    for k in keys:
        lines.append(f"| {k} | " + " | ".join(f"{b['phases'].get(k, 0):.1f}" for b in budgets.values()) + " |")
    lines.append("| score | " + " | ".join(str(b["score"]) for b in budgets.values()) + " |")
    lines.append("| problem 2 test accuracy | " + " | ".join(
        f"{b['p2_accuracy']:.1%}" if b["p2_accuracy"] is not None else "–" for b in budgets.values()) + " |")
    base = figures.get("baseline")
    if base:
        std = budgets.get(P2_ALONE) or next(iter(budgets.values()))
        p2 = std["phases"].get("total (autograde, wall)", 0.0)
        lines += ["", "## The homework's recipe against the grader, problem 2", "",
                  "| | seconds | test accuracy |", "|---|---:|---:|",
                  f"| homework script (torchvision CIFAR10, DataLoader num_workers=2, batch 4, 2 epochs) "
                  f"| {base['wall']:.1f} (load {base['load']:.1f}, train {base['train']:.1f}, test {base['test']:.1f}) "
                  f"| {base['accuracy']:.1%} |",
                  f"| `autograde --problems 2 --budget standard` (every check of problem 2, reports included) "
                  f"| {p2:.1f} | {std['p2_accuracy']:.1%} |" if std["p2_accuracy"] is not None else "",
                  "", f"Ratio (homework ÷ grader): **{base['wall'] / p2:.1f}×**" if p2 else ""]
    cls = figures.get("class")
    if cls:
        lines += ["", f"## A class: {figures['class_size']} copies of 20163140 ({figures['class_scope']})", "",
                  "| --jobs | seconds | submissions per minute | peak memory (process tree) |", "|---:|---:|---:|---:|"]
        for row in cls:
            lines.append(f"| {row['jobs']} | {row['seconds']:.1f} | {row['per_minute']:.1f} | "
                         f"{row['peak_rss'] / 2**30:.2f} GiB |")
    lines += ["", f"GPU: {figures.get('gpu_note', '')}", ""]
    return "\n".join(l for l in lines if l is not None)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--small", action="store_true", help="a run of under 15 minutes on a 2-core CPU")
    p.add_argument("--repeat", type=int, default=None,
                   help="gradings per budget, for the medians (default 3; 1 with --small)")
    p.add_argument("--data", default=None, help=cfg.HELP["data"])
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--class-size", type=int, default=None)
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = p.parse_args()
    config = cfg.resolve({"data": args.data, "seed": 1})
    common = ["--seed", "1", "--device", args.device]
    if config.data is not None:
        common += ["--data", str(config.data)]
    work = Path(tempfile.mkdtemp(prefix="autograde-bench-"))
    figures: dict[str, object] = {"machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M")}
    try:
        # every problem at quick and standard (a full run: repeated, and the full budget too), and
        # problem 2 alone at standard for the comparison with the homework's recipe
        n = args.repeat or (1 if args.small else 3)
        plan = [("quick, every problem", "quick", n, None), ("standard, every problem", "standard", n, None),
                (P2_ALONE, "standard", 1, "2")]
        if not args.small:
            plan.append(("full, every problem", "full", 1, None))
        figures["budgets"] = {}
        for label, budget, n, problems in plan:
            print(f"grading 20163140: {label} × {n} …", file=sys.stderr, flush=True)
            figures["budgets"][label] = grade_phases(budget, n, common, work, problems)
        print("the homework's own script …", file=sys.stderr, flush=True)
        figures["baseline"] = homework_baseline(config, work)
        size = args.class_size or (8 if args.small else 6)
        scope = "problems 1, 4 and 5" if args.small else "every problem, quick budget"
        extra = common + (["--problems", "1,4,5"] if args.small else ["--budget", "quick"])
        jobs = [1, 2] if (os.cpu_count() or 1) <= 2 else [1, 2, os.cpu_count() or 4]
        print(f"a class of {size} with --jobs {jobs} …", file=sys.stderr, flush=True)
        figures["class"] = class_throughput(size, jobs, extra, work)
        figures["class_size"], figures["class_scope"] = size, scope
        figures["gpu_note"] = ("measured with --device cuda" if args.device == "cuda" else
                               "none on this machine; rerun with `--device cuda` where one is present")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    command = "python bench/bench.py " + " ".join(sys.argv[1:])
    text = render(figures, command)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
