"""Where a submission's fixed cost goes: each part measured on its own, on this machine.

    python bench/fixed_costs.py [--repeat 5] [--data PATH] [--out bench/RESULTS.md]

The parts every grading pays whatever the student wrote, before and besides the checks'
own work: starting interpreters, the judge's imports (pytest and the plugin, torch, torch's
``_dynamo`` that the first ``torch.optim`` optimizer imports, torchvision, the reference), a
sandboxed worker's start with each preload, the reference's answers to the checks of problems 1,
4 and 5, loading the prepared CIFAR-10 arrays, and rendering one student's pages. Each is timed
in fresh processes ``--repeat`` times (median; wall-clock seconds, and CPU seconds where the
process can be waited for: a bubblewrap worker's CPU cannot, so its row gives wall-clock time
only). The table replaces the "fixed costs" section of ``--out``; the rest of the file is kept.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sections import replace_section  # noqa: E402

IMPORTS = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
out = {}
def lap(label, t=[time.perf_counter(), time.process_time()]):
    now = (time.perf_counter(), time.process_time())
    out[label] = (now[0] - t[0], now[1] - t[1])
    t[:] = now
import pytest, numpy, autograder.judge.plugin
lap("judge: pytest, numpy and the plugin")
import torch
lap("judge: torch")
torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
lap("judge: torch._dynamo (imported by the first torch.optim optimizer)")
import torchvision.transforms
lap("judge: torchvision (after torch and _dynamo)")
from autograder.judge.references import reference_module
for m in ("problem1", "problem2", "problem3_1", "problem3_2", "problem3_3", "problem3_4",
          "problem3_5", "problem3_6", "problem4", "problem5"):
    reference_module(m)
lap("judge: the reference modules (all ten)")
print(json.dumps(out))
"""

ANSWERS = r"""
import json, sys, time, zlib
sys.path.insert(0, sys.argv[1])
import numpy as np, torch
from autograder.judge.references import reference_module
for m in ("problem1", "problem4", "problem5"):
    reference_module(m)
torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)  # _dynamo: measured above
def answers():
  rng = np.random.default_rng([1, zlib.crc32(b"x")])
  torch.manual_seed(1)
  net = reference_module("problem1").Net()
  x = torch.from_numpy(rng.normal(0, 1, size=(3, 1, 32, 32)).astype(np.float32))
  with torch.no_grad():
      net(x)
  out = net(x[:1])
  loss = torch.nn.functional.mse_loss(out, torch.zeros(1, 10))
  net.zero_grad(); loss.backward()
  params = [torch.nn.Parameter(p.detach().clone()) for p in net.parameters()]
  for p in params:
      p.grad = torch.ones_like(p)
  torch.optim.SGD(params, lr=0.01).step()
  p4, p5 = reference_module("problem4"), reference_module("problem5")
  for _ in range(10):
      p4.softmax(rng.normal(0, 1, size=10))
      y = p4.softmax(rng.normal(0, 1, size=10)); t1 = np.eye(10)[3]
      p5.MSE(y, t1); p5.cross_entropy_error(y, t1)
t, c = time.perf_counter(), time.process_time()
answers()
first = (time.perf_counter() - t, time.process_time() - c)
t, c = time.perf_counter(), time.process_time()
answers()
print(json.dumps({"reference answers of problems 1, 4, 5, as their checks compute them: first time in a process": first,
                  "the same answers again in that process (a warm judge)": (time.perf_counter() - t, time.process_time() - c)}))
"""

CIFAR = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
t, c = time.perf_counter(), time.process_time()
from autograder.common import config as cfg
from autograder.judge import cifar
data = cifar.prepare(cfg.resolve({"data": sys.argv[2] or None, "seed": 1}))
int(data.test_labels[:2000].sum())
print(json.dumps({"CIFAR-10: find the source, check its key, map the prepared arrays (judge)":
                  (time.perf_counter() - t, time.process_time() - c)}))
"""


def timed(argv: list[str], **kwargs: object) -> tuple[float, float, str]:
    """Run ``argv`` to its end: (wall seconds, CPU seconds of it and its waited-for children, stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=True, **kwargs)  # type: ignore[call-overload]
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout


def in_process_parts(script: str, repeat: int, *extra: str) -> dict[str, list[tuple[float, float]]]:
    rows: dict[str, list[tuple[float, float]]] = {}
    for _ in range(repeat):
        _, _, out = timed([sys.executable, "-c", script, str(ROOT), *extra])
        for label, value in json.loads(out.strip().splitlines()[-1]).items():
            rows.setdefault(label, []).append(tuple(value))
    return rows


def worker_starts(repeat: int) -> dict[str, list[tuple[float, float]]]:
    """The submission's worker, started and closed through the judge's own client, per preload."""
    from autograder.common import config as cfg
    from autograder.common import limits
    from autograder.judge import matplotlib_cache
    from autograder.judge.sandbox import mode_for
    from autograder.judge.worker_client import Worker, WorkerSettings

    mode = mode_for("bubblewrap")
    fonts = matplotlib_cache.fontlist(cfg.resolve({"device": "cpu"}).cache)
    pyplot = ("numpy", "torch", "matplotlib", "matplotlib.pyplot")
    rows: dict[str, list[tuple[float, float]]] = {}
    for label, preload, font_list in (("worker: sandbox and interpreter, nothing preloaded", (), None),
                                      ("worker: + numpy", ("numpy",), None),
                                      ("worker: + numpy, torch", ("numpy", "torch"), None),
                                      ("worker: + numpy, torch, torchvision (and the training probes)",
                                       ("numpy", "torch", "torchvision"), None),
                                      ("worker: + numpy, torch, matplotlib.pyplot (the font list mounted)", pyplot, fonts),
                                      ("worker: + numpy, torch, matplotlib.pyplot (its font list built in the worker)",
                                       pyplot, None)):
        for _ in range(repeat):
            w = Worker(WorkerSettings(submission=ROOT / "submissions" / "20163140", mode=mode,
                                      preload=preload, memory=limits.WORKER_MEMORY_MIN, matplotlib_cache=font_list))
            start = time.perf_counter()
            w.start()
            rows.setdefault(label, []).append((time.perf_counter() - start, float("nan")))
            w.close()
    return rows


def report_rendering(repeat: int, data: str) -> dict[str, list[tuple[float, float]]]:
    """One student's pages (report.html, feedback.html) and the class page, from a graded result."""
    work = Path(tempfile.mkdtemp(prefix="autograde-fixed-"))
    rows: dict[str, list[tuple[float, float]]] = {}
    try:
        subprocess.run([sys.executable, "-m", "autograder.orchestrator.cli", "submissions/20163140",
                        "--problems", "1,4,5", "--seed", "1", "--out", str(work)], cwd=ROOT, check=True,
                       capture_output=True)
        for _ in range(repeat):
            wall, cpu, _ = timed([sys.executable, "-m", "autograder.orchestrator.cli", "report", str(work)], cwd=ROOT)
            rows.setdefault("`autograde report` of one student (a process: its imports and the pages)", []).append((wall, cpu))
            _, _, out = timed([sys.executable, "-c", (
                "import sys, time, json; sys.path.insert(0, sys.argv[1]); from pathlib import Path\n"
                "from autograder.orchestrator.report import render\n"
                "from autograder.common import results_json\n"
                "r = [results_json.read(Path(sys.argv[2]) / '20163140' / 'results.json')]\n"
                "render.render_all(Path(sys.argv[2]), r)\n"
                "t, c = time.perf_counter(), time.process_time(); render.render_all(Path(sys.argv[2]), r)\n"
                "print(json.dumps([time.perf_counter() - t, time.process_time() - c]))"), str(ROOT), str(work)])
            rows.setdefault("report pages of one student, rendered in a warm process", []).append(
                tuple(json.loads(out.strip().splitlines()[-1])))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


def measure(repeat: int, data: str) -> dict[str, list[tuple[float, float]]]:
    rows: dict[str, list[tuple[float, float]]] = {}
    for _ in range(repeat):
        wall, cpu, _ = timed([sys.executable, "-c", "pass"])
        rows.setdefault("a Python interpreter's start (`python -c pass`)", []).append((wall, cpu))
    rows.update(in_process_parts(IMPORTS, repeat))
    rows.update(in_process_parts(ANSWERS, repeat))
    rows.update(in_process_parts(CIFAR, repeat, data))
    rows.update(worker_starts(repeat))
    rows.update(report_rendering(repeat, data))
    return rows


PER_LANE = "each submission → once per judge (a lane: up to 32 submissions)"
PAID = {
    "a Python interpreter's start (`python -c pass`)": "each submission, twice (judge, worker) → once (its worker)",
    "judge: pytest, numpy and the plugin": PER_LANE,
    "judge: torch": PER_LANE,
    "judge: torch._dynamo (imported by the first torch.optim optimizer)": PER_LANE + " (problem 1's SGD check)",
    "judge: torchvision (after torch and _dynamo)": PER_LANE + " (the reference of problems 2, 3)",
    "judge: the reference modules (all ten)": PER_LANE,
    "reference answers of problems 1, 4, 5, as their checks compute them: first time in a process": PER_LANE,
    "the same answers again in that process (a warm judge)": "each submission (not cached: docs/training.md)",
    "CIFAR-10: find the source, check its key, map the prepared arrays (judge)": PER_LANE + " (training problems)",
    "worker: sandbox and interpreter, nothing preloaded": "each submission (a fresh sandbox and worker)",
    "worker: + numpy": "each submission",
    "worker: + numpy, torch": "each submission graded on problems 1–3",
    "worker: + numpy, torch, torchvision (and the training probes)":
        "each submission graded on problems 1–3 → only those graded on 2 or 3, or whose code imports torchvision",
    "worker: + numpy, torch, matplotlib.pyplot (the font list mounted)":
        "each submission whose code imports matplotlib (new: the homework's problem 2 does)",
    "worker: + numpy, torch, matplotlib.pyplot (its font list built in the worker)":
        "never: the font list is built once per machine and mounted (what each worker would pay otherwise)",
    "`autograde report` of one student (a process: its imports and the pages)": "each run (unchanged)",
    "report pages of one student, rendered in a warm process": "each submission, once per run (unchanged)",
}
"""How often each part is paid: before judge servers (one judge process per submission) → now."""


def load_line() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) when it ended"


def render(rows: dict[str, list[tuple[float, float]]], repeat: int, command: str, load: str) -> str:
    lines = ["## Fixed costs of a grading, part by part", "",
             f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; Python "
             f"{platform.python_version()}; {load} (the machine is shared)", "",
             f"Command: `{command}`", "", f"Date: {time.strftime('%Y-%m-%d %H:%M')}", "",
             f"Median of {repeat} runs, each in a fresh process. A judge-side row is the time added by "
             "that step after the rows above it (one process, in this order).", "",
             "| part | wall s | CPU s | paid |", "|---|---:|---:|---|"]
    for label, values in rows.items():
        wall = statistics.median(v[0] for v in values)
        cpus = [v[1] for v in values if v[1] == v[1]]
        cpu = f"{statistics.median(cpus):.3f}" if cpus else "–"
        lines.append(f"| {label} | {wall:.3f} | {cpu} | {PAID.get(label, '')} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--data", default=os.environ.get("AUTOGRADE_DATA", ""))
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    p.add_argument("--print-only", action="store_true", help="print the table, write nothing")
    args = p.parse_args()
    rows = measure(args.repeat, args.data)
    text = render(rows, args.repeat, f"python bench/fixed_costs.py --repeat {args.repeat}"
                  + (" (CIFAR-10 from $AUTOGRADE_DATA)" if args.data else ""), load_line())
    print(text)
    if not args.print_only:
        replace_section(args.out, "fixed costs", text, before="similarity")


if __name__ == "__main__":
    main()
