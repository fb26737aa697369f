"""Where grading time goes, measured on this machine; writes the "bench" section of bench/RESULTS.md.

    python bench/bench.py [--small] [--repeat N] [--data PATH] [--device cpu|cuda] [--out FILE]

Everything runs through the `autograde` command, as an instructor would run it, one part after
another (never two at once), with the machine's load average recorded before and after each:

1. A whole grading of submission 20163140 at each budget (quick, standard; and full without
   ``--small``), split by phase (worker starts, each problem's checks, each training in its
   worker, reports), median of ``--repeat``. Trainings run side by side, so the phases overlap:
   the wall-clock total is what an instructor waits.
2. Problem 2 against the homework's recipe (`homework_problem2.py`: torchvision CIFAR10 +
   DataLoader(num_workers=2), batch 4, 2 epochs — what each student ran), at quick and at
   standard: the grader on one submission alone (``--problems 2``, a cold start: every process,
   import and report included), and per submission in a class of `P2_CLASS` copies graded
   ``--jobs 2`` (the judge's start paid once per lane, the next worker started during the current
   grading where a core is free); the ratio of each to the recipe.
3. Classes of 8 and 32 copies of 20163140 on problems 1, 4 and 5, with ``--jobs 1`` and ``2``:
   seconds, submissions per minute and the peak memory of the whole process tree; every copy
   must get the same grade, check by check (the run stops otherwise).

``--small`` keeps the run to about ten minutes on a 2-core CPU: one grading per budget (no full),
one recipe run. The other sections of ``--out`` (fixed costs, similarity) are kept.
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
sys.path.insert(0, str(ROOT / "bench"))

from sections import replace_section  # noqa: E402

from autograder.common import config as cfg  # noqa: E402
from autograder.common import results_json  # noqa: E402

STUDENT = "20163140"
P2_CLASS = 4
"""Copies of the submission graded together for problem 2's per-submission figure."""
CLASS_SIZES = (8, 32)


def load() -> float:
    return os.getloadavg()[0]


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
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)  # type: ignore[call-overload]
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
    proc, wall, peak = run_measured([sys.executable, "-m", "autograder.orchestrator.cli", *args], cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"autograde {' '.join(args)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc, wall, peak


def grade_phases(budget: str, repeat: int, common: list[str], work: Path) -> dict[str, object]:
    """Grade the submission ``repeat`` times at ``budget``; median seconds per phase."""
    runs: list[dict[str, float]] = []
    loads = [load()]
    for i in range(repeat):
        out = work / f"{budget}-{i}"
        _, wall, _ = autograde([f"submissions/{STUDENT}", "--budget", budget, "--out", str(out), "--force", *common])
        result = results_json.read(out / STUDENT / "results.json")
        start = time.perf_counter()
        autograde(["report", str(out)])
        phases = {k: v for k, v in result.timings.items() if k != "worker busy" and not k.startswith("import ")}
        for record in result.training:
            phases[f"{record.problem} training (in its worker)"] = record.seconds or 0.0
        phases["reports (autograde report)"] = time.perf_counter() - start
        phases["total (autograde, wall)"] = wall
        runs.append(phases)
        p2 = next((r for r in result.training if r.problem == "problem2"), None)
        accuracy = p2.accuracy if p2 else None
        score = f"{result.score:g} / {result.max_score:g}"
    loads.append(load())
    keys = list(dict.fromkeys(k for r in runs for k in r))
    return {"phases": {k: statistics.median(r.get(k, 0.0) for r in runs) for k in keys},
            "runs": repeat, "p2_accuracy": accuracy, "score": score, "loadavg": loads}


def make_class(folder: Path, n: int) -> Path:
    for i in range(n):
        shutil.copytree(ROOT / "submissions" / STUDENT, folder / f"student{i:02d}")
    return folder


def verdicts(out: Path) -> dict[str, list[tuple[object, ...]]]:
    """Each student's grade, check by check (outcome, points, feedback), without timings."""
    got = {}
    for path in sorted(out.glob("*/results.json")):
        r = results_json.read(path)
        got[r.student] = [(t.id, t.outcome, t.points, t.message, t.feedback) for t in r.tests]
    return got


def same_grades(out: Path, n: int) -> str:
    """Check that the ``n`` copies got the same grade, check by check; what they got."""
    got = verdicts(out)
    if len(got) != n or any(v != next(iter(got.values())) for v in got.values()):
        raise SystemExit(f"the copies in {out} were not graded alike")
    r = results_json.read(next(out.glob("*/results.json")))
    return f"{r.score:g} / {r.max_score:g}"


def problem2(budget: str, repeat: int, common: list[str], work: Path) -> dict[str, object]:
    """Problem 2 at ``budget``: one submission alone (median of ``repeat``), and per submission in a
    class of `P2_CLASS` graded two at a time."""
    loads = [load()]
    alone = []
    for i in range(repeat):
        out = work / f"p2-{budget}-{i}"
        _, wall, _ = autograde([f"submissions/{STUDENT}", "--problems", "2", "--budget", budget,
                                "--out", str(out), "--force", *common])
        alone.append(wall)
    result = results_json.read(out / STUDENT / "results.json")
    p2 = next((r for r in result.training if r.problem == "problem2"), None)
    folder = make_class(work / f"p2-class-{budget}", P2_CLASS)
    out = work / f"p2-class-{budget}-out"
    _, wall, _ = autograde([str(folder), "--problems", "2", "--budget", budget, "--jobs", "2",
                            "--out", str(out), "--force", *common])
    score = same_grades(out, P2_CLASS)
    loads.append(load())
    return {"alone": statistics.median(alone), "runs": repeat, "class": wall, "per_submission": wall / P2_CLASS,
            "accuracy": p2.accuracy if p2 else None, "score": score, "loadavg": loads}


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
    before = load()
    proc, wall, peak = run_measured([sys.executable, str(ROOT / "bench" / "homework_problem2.py"),
                                     str(root), "2", "--rebuilt"])
    if proc.returncode != 0:
        raise SystemExit(f"the homework script failed: {proc.stderr[-2000:]}")
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    figures.update(wall=wall, peak_rss=peak, loadavg=[before, load()])
    return figures


def class_throughput(n: int, jobs_list: list[int], extra: list[str], work: Path) -> list[dict[str, object]]:
    folder = make_class(work / f"class-{n}", n)
    rows = []
    for jobs in jobs_list:
        before = load()
        out = work / f"class-{n}-out-{jobs}"
        _, wall, peak = autograde([str(folder), "--jobs", str(jobs), "--force", "--out", str(out), *extra])
        rows.append({"size": n, "jobs": jobs, "seconds": wall, "per_minute": n / wall * 60, "peak_rss": peak,
                     "score": same_grades(out, n), "loadavg": [before, load()]})
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


def _loads(pair: list[float]) -> str:
    return f"{pair[0]:.1f} → {pair[-1]:.1f}"


def render(figures: dict[str, object], command: str) -> str:
    lines = ["## Grading times", "", f"Machine: {figures['machine']}", "", f"Command: `{command}`", "",
             f"Date: {figures['date']}", "",
             "The machine is shared with other work: each table gives the 1-minute load average before "
             "→ after its runs (2.0 fills both cores). Every part runs alone, one after another.", ""]
    budgets = figures["budgets"]
    lines += ["### A whole grading of submission 20163140, by phase (median seconds)", ""]
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
    lines.append("| load average | " + " | ".join(_loads(b["loadavg"]) for b in budgets.values()) + " |")

    base, p2 = figures["baseline"], figures["problem2"]
    lines += ["", "### Problem 2: the homework's recipe against the grader", "",
              f"The recipe (torchvision CIFAR10, DataLoader num_workers=2, batch 4, 2 epochs — 25,000 "
              f"mini-batches, 10,000 test images): **{base['wall']:.1f} s** (data loading {base['load']:.1f}, "
              f"train {base['train']:.1f}, test {base['test']:.1f}), test accuracy {base['accuracy']:.1%}; "
              f"load average {_loads(base['loadavg'])}.", "",
              "| `autograde --problems 2` | " + " | ".join(p2) + " |", "|---|" + "---:|" * len(p2),
              "| one submission alone, end to end (s) | " + " | ".join(
                  f"{v['alone']:.1f} (×{v['runs']})" for v in p2.values()) + " |",
              "| recipe ÷ one submission alone | " + " | ".join(
                  f"**{base['wall'] / v['alone']:.1f}×**" for v in p2.values()) + " |",
              f"| per submission in a class of {P2_CLASS}, `--jobs 2` (s) | " + " | ".join(
                  f"{v['per_submission']:.1f} ({v['class']:.1f} for {P2_CLASS})" for v in p2.values()) + " |",
              "| recipe ÷ per submission in a class | " + " | ".join(
                  f"**{base['wall'] / v['per_submission']:.1f}×**" for v in p2.values()) + " |",
              "| score, problem 2 test accuracy | " + " | ".join(
                  f"{v['score']}, {v['accuracy']:.1%}" if v["accuracy"] is not None else v["score"]
                  for v in p2.values()) + " |",
              "| load average | " + " | ".join(_loads(v["loadavg"]) for v in p2.values()) + " |"]

    cls = figures["class"]
    lines += ["", f"### A class: copies of {STUDENT}, problems 1, 4 and 5", "",
              "| copies | --jobs | seconds | submissions per minute | peak memory (process tree) | every copy | load average |",
              "|---:|---:|---:|---:|---:|---|---|"]
    for row in cls:
        lines.append(f"| {row['size']} | {row['jobs']} | {row['seconds']:.1f} | {row['per_minute']:.1f} | "
                     f"{row['peak_rss'] / 2**30:.2f} GiB | {row['score']} | {_loads(row['loadavg'])} |")
    lines += ["", f"GPU: {figures.get('gpu_note', '')}"]
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--small", action="store_true", help="a run of about ten minutes on a 2-core CPU")
    p.add_argument("--repeat", type=int, default=None,
                   help="gradings per budget, for the medians (default 3; 1 with --small)")
    p.add_argument("--data", default=None, help=cfg.HELP["data"])
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    p.add_argument("--figures", type=Path, default=None,
                   help="also keep the raw figures here, as JSON; with --render-only, render them")
    p.add_argument("--render-only", action="store_true", help="render --figures again, measure nothing")
    args = p.parse_args()
    if args.render_only:
        saved = json.loads(args.figures.read_text())
        text = render(saved["figures"], saved["command"])
        replace_section(args.out, "bench", text, before="fixed costs")
        print(text)
        return
    config = cfg.resolve({"data": args.data, "seed": 1})
    common = ["--seed", "1", "--device", args.device]
    if config.data is not None:
        common += ["--data", str(config.data)]
    work = Path(tempfile.mkdtemp(prefix="autograde-bench-"))
    figures: dict[str, object] = {"machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M")}
    n = args.repeat or (1 if args.small else 3)
    try:
        figures["budgets"] = {}
        for budget in ("quick", "standard") if args.small else ("quick", "standard", "full"):
            print(f"grading {STUDENT} at {budget} × {n} …", file=sys.stderr, flush=True)
            figures["budgets"][budget] = grade_phases(budget, n if budget != "full" else 1, common, work)
        figures["problem2"] = {}
        for budget in ("quick", "standard"):
            print(f"problem 2 at {budget}: alone × {n}, and a class of {P2_CLASS} …", file=sys.stderr, flush=True)
            figures["problem2"][budget] = problem2(budget, n, common, work)
        print("the homework's own script …", file=sys.stderr, flush=True)
        figures["baseline"] = homework_baseline(config, work)
        figures["class"] = []
        for size in CLASS_SIZES:
            print(f"a class of {size} with --jobs 1 and 2 …", file=sys.stderr, flush=True)
            figures["class"] += class_throughput(size, [1, 2], common + ["--problems", "1,4,5"], work)
        figures["gpu_note"] = ("measured with --device cuda" if args.device == "cuda" else
                               "none on this machine; rerun with `--device cuda` where one is present")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    shown = (["--small"] if args.small else []) + ([f"--repeat {args.repeat}"] if args.repeat else []) + (
        [f"--device {args.device}"] if args.device != "cpu" else [])  # no paths of this machine
    command = " ".join(["python bench/bench.py", *shown]) + (
        " (CIFAR-10 from $AUTOGRADE_DATA or --data)" if config.data is not None else "")
    if args.figures is not None:
        args.figures.write_text(json.dumps({"figures": figures, "command": command.strip()}, indent=1))
    text = render(figures, command.strip())
    replace_section(args.out, "bench", text, before="fixed costs")
    print(text)


if __name__ == "__main__":
    main()
