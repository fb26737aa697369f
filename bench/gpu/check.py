"""The device check of `--device cuda` grading (issue 12): one call on a GPU machine, one results file.

    python3 bench/gpu/check.py [--out DIR] [--deadline S] [--device cuda|cpu] [...]

Run by the device tool in the repository root of a copy of the checkout, with the carried
``bench/gpu/carry`` (``sh bench/gpu/prepare.sh`` fills it here; bench/gpu/README.md has the exact
call). In order, each step bounded by one deadline so that the whole stays inside the call's limit:

1. setup (`install`): bubblewrap from its .deb on PATH (not /usr/bin), the carried wheels, the
   project copied outside /tmp and installed; the machine and its versions;
2. CUDA in the sandbox: problem 1 graded with ``--device cuda`` (the worker's handshake reports
   "CUDA could not start in the sandbox" when it cannot; then some diagnostics, one grading that
   must not stall, and the check ends);
3. CIFAR-10 decoded into the cache (outside /tmp), timed apart from the gradings;
4. 20163140 at ``standard`` and at ``full``: wall time, phases, points against the CPU's;
5. the reference at ``full``: each training's accuracy against the homework report's (±4 points);
6. a class of 32 at ``standard`` with the default ``--jobs``/``--train-workers``: wall time and
   the extrapolation to 100 submissions;
7. if time is left: submissions that hog the host's and the GPU's memory beside a copy of
   20163140 (the hogs contained, the neighbour graded on CUDA), then other ``--jobs`` ×
   ``--train-workers`` settings on a smaller class.

It writes ``RESULTS-gpu.md`` (after every step), ``check.log`` (every command's whole output),
``figures.json`` and ``results.tar.gz`` (every results.json) into ``--out`` (default ``$OUT``).
``--device cpu`` with smaller budgets (``--standard quick --full quick``), ``--problems`` and a
small class is the dry run of the same code on a machine without a GPU; its targets do not apply.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import sys
import tarfile
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TextIO

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import bounded  # noqa: E402
import classroom  # noqa: E402
import grading  # noqa: E402
import install  # noqa: E402
import report  # noqa: E402
from report import Section, Table, Verdict  # noqa: E402

STANDARD_TARGET, STANDARD_AIM, FULL_TARGET = 15.0, 10.0, 60.0
"""Wall seconds for 20163140 at ``standard`` (aim) and at ``full`` on the H200 (issue 12)."""
CLASS_TARGET, CLASS_OF = 600.0, 100
"""100 submissions at ``standard`` in at most 10 minutes."""
RESERVE = 20.0
"""Seconds kept at the end: a stopped step's grace, writing the results."""
STUDENT = classroom.STUDENT
BUNDLE_LIMIT = 12 * 2**20
"""Compressed bytes of results.json bundled at most: the runner returns files of up to 16 MiB."""


@dataclass
class Check:
    """The run's state: settings, the machine as installed, the deadline and the document."""

    args: argparse.Namespace
    installed: install.Installed
    deadline: bounded.Deadline
    log: TextIO
    doc: report.Document
    out: Path
    work: Path

    def write(self) -> None:
        """RESULTS-gpu.md and figures.json as they stand, the check's folders shown as $OUT, <home>
        and <checkout> (the file is committed; the machine's own paths say nothing there)."""
        self.doc.elapsed = self.deadline.elapsed()
        (self.out / "RESULTS-gpu.md").write_text(self.anonymous(report.render(self.doc)))
        (self.out / "figures.json").write_text(self.anonymous(json.dumps(self.doc.as_dict(), indent=1, default=str)))

    def anonymous(self, text: str) -> str:
        for path, name in ((self.out.resolve(), "$OUT"), (self.args.home.resolve(), "<home>"), (ROOT, "<checkout>")):
            text = text.replace(str(path), name)
        return text

    def cap(self, seconds: float) -> float:
        return seconds * self.args.patience

    def run(self, cmd: list[str], cap: float, title: str) -> bounded.Ran:
        return bounded.run(cmd, env=self.installed.env, cwd=self.installed.project,
                           timeout=self.deadline.timeout(cap, RESERVE), log=self.log, title=title)

    def autograde(self, paths: list[Path], out: Path, budget: str, *extra: str,
                  problems: str | None = None) -> list[str]:
        problems = problems if problems is not None else self.args.problems
        return [self.installed.python, "-m", "autograder.orchestrator.cli", *map(str, paths), "--out", str(out),
                "--budget", budget, "--device", self.args.device, "--seed", str(self.args.seed), "--force",
                *(["--problems", problems] if problems else []), *extra]

    def shown(self, cmd: list[str]) -> str:
        """A command as the results show it: `autograde …`, paths relative to the check's folders."""
        text = " ".join(cmd)
        text = text.replace(f"{self.installed.python} -m autograder.orchestrator.cli", "autograde")
        text = text.replace(f"{self.installed.python} ", "python3 ")
        return text.replace(f"{self.work}/", "").replace(f"{self.installed.project}/", "")

    def has_time(self, needs: float, what: str) -> bool:
        if self.deadline.left() - RESERVE >= needs:
            return True
        self.doc.notes.append(f"{what}: skipped, {self.deadline.left():.0f} s left of the deadline "
                              f"(needs about {needs:.0f}, and {RESERVE:.0f} are kept for the end)")
        return False


# ----------------------------------------------------------------------------------------- steps

FACTS = r"""
import json, os, platform, shutil, subprocess, sys
f = {}
f["Python"] = f"{platform.python_version()} ({sys.executable})"
f["OS"] = next((l.split("=", 1)[1].strip('"\n') for l in open("/etc/os-release") if l.startswith("PRETTY_NAME")), "?")
f["kernel"] = platform.release()
f["CPU cores"] = f"{os.cpu_count()} ({len(os.sched_getaffinity(0))} usable)"
mem = dict(l.split(":", 1) for l in open("/proc/meminfo"))
f["memory (MemTotal)"] = f"{int(mem['MemTotal'].split()[0]) / 2**20:.1f} GiB"
try:
    import torch, torchvision, numpy
    f["torch"] = f"{torch.__version__} (CUDA {torch.version.cuda}), torchvision {torchvision.__version__}, numpy {numpy.__version__}"
    if torch.cuda.is_available():
        p = torch.cuda.get_device_properties(0)
        f["GPU (torch)"] = f"{p.name}, {p.total_memory / 2**30:.0f} GiB, {p.multi_processor_count} SMs, {torch.cuda.device_count()} device(s)"
    else:
        f["GPU (torch)"] = "torch.cuda.is_available() is False"
except Exception as e:
    f["torch"] = f"failed: {type(e).__name__}: {e}"
smi = shutil.which("nvidia-smi")
if smi:
    q = subprocess.run([smi, "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"], capture_output=True, text=True, timeout=30)
    f["nvidia-smi"] = (q.stdout.strip() or q.stderr.strip())[:200]
f["LD_LIBRARY_PATH"] = os.environ.get("LD_LIBRARY_PATH", "(unset)")
ld = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout if shutil.which("ldconfig") else ""
f["libcuda.so.1 in ld.so.cache"] = next((l.split("=>")[-1].strip() for l in ld.splitlines() if "libcuda.so.1 " in l), "no")
f["/dev/nvidia*"] = " ".join(sorted(n for n in os.listdir("/dev") if n.startswith("nvidia"))) or "none"
ctl = "/sys/fs/cgroup/cgroup.controllers"
f["cgroup"] = f"v2, controllers: {open(ctl).read().strip()}" if os.path.exists(ctl) else "not v2"
from autograder.common import config, limits
from autograder.orchestrator import class_run, runner
c = config.resolve({})
f["--device auto resolves to"] = c.device + (f" ({c.device_note})" if c.device_note else "")
f["memory the grader plans with"] = f"{limits.machine_memory() / 2**30:.1f} GiB"
jobs = class_run.default_jobs("cuda")
f["CUDA defaults"] = f"--jobs {jobs}, --train-workers {config.core_share(jobs)}"
f["grader fingerprint"] = runner.grader_fingerprint()[:16]
print(json.dumps(f))
"""


def machine(check: Check) -> None:
    ran = check.run([check.installed.python, "-c", FACTS], 120, "machine facts")
    try:
        facts = json.loads(ran.output.strip().splitlines()[-1])
    except (ValueError, IndexError):
        check.doc.notes.append(f"machine facts: {ran.outcome()}: {ran.output.strip()[-600:]}")
        return
    manifest = check.args.carry / "manifest.txt"
    if manifest.is_file():
        lines = manifest.read_text().splitlines()
        facts["carry"] = "; ".join(l for l in lines if l.startswith(("prepared", "commit", "python")))
    facts["bwrap used"] = check.installed.bwrap or "none found"
    facts["project installed"] = f"{check.installed.how} from {check.installed.project}"
    check.doc.machine = list(facts.items())
    if check.args.device == "cuda":
        auto = facts.get("--device auto resolves to", "")
        check.doc.verdicts.append(Verdict("`--device auto` picks CUDA on a GPU machine", auto, auto.startswith("cuda")))


DIAGNOSE_CUDA = "import torch; torch.zeros(1, device='cuda'); print('CUDA starts')"


def diagnose_cuda(check: Check) -> Section:
    """Why CUDA cannot start in the sandbox: the same first CUDA call with the worker's bare
    environment, under the worker's address-space bound, and inside a plain bubblewrap."""
    py = check.installed.python
    limit = "import resource; resource.setrlimit(resource.RLIMIT_AS, (64 << 30, 64 << 30)); "
    nodes = [a for n in sorted(Path("/dev").glob("nvidia*")) for a in ("--dev-bind", str(n), str(n))]
    tries = {
        "bare environment (PATH=/usr/bin:/bin, as the worker gets)":
            ["env", "-i", "PATH=/usr/bin:/bin", py, "-c", DIAGNOSE_CUDA],
        "RLIMIT_AS 64 GiB": [py, "-c", limit + DIAGNOSE_CUDA],
        "plain bwrap with the device nodes": [check.installed.bwrap or "bwrap", "--bind", "/", "/", "--dev", "/dev",
                                             *nodes, "--proc", "/proc", py, "-c", DIAGNOSE_CUDA],
    }
    rows = []
    for name, cmd in tries.items():
        ran = check.run(cmd, 60, f"diagnose: {name}")
        rows.append([name, ran.outcome(), (ran.output.strip().splitlines() or [""])[-1][:300]])
    return Section("Diagnostics: the first CUDA call", tables=[Table(["how", "outcome", "last line"], rows)])


def cuda_in_sandbox(check: Check) -> bool:
    """Problem 1 graded with the check's device: its worker starts the device before anything else."""
    out = check.work / "p1-sandbox"
    cmd = check.autograde([check.installed.project / "submissions" / STUDENT], out, check.args.standard,
                          problems="1")
    ran = check.run(cmd, check.cap(120), "problem 1 in the sandbox")
    g = grading.read(out, STUDENT)
    faults = [m for m in (g.not_graded if g else []) if "could not start" in m]
    ok = bool(ran.ok and g and g.complete and g.device == check.args.device and not g.lost)
    found = "none written" if g is None else f"{g.score:g} / {g.max_score:g}, device {g.device}, sandbox {g.sandbox}"
    lines = [f"results: {found}"]
    if g is not None and "sandbox start" in g.timings:
        lines.append(f"the worker's start (torch imported, the device started): {g.timings['sandbox start']:.1f} s; "
                     f"the whole command: {ran.seconds:.1f} s")
    lines += grading.not_graded_summary(g) if g else []
    if not ok:
        lines.append("autograde's output, last lines: " + " ⏎ ".join(ran.output.strip().splitlines()[-8:]))
    check.doc.sections.append(Section(f"{check.args.device.upper()} in the bubblewrap sandbox (problem 1)",
                                      check.shown(cmd), ran.outcome(), lines))
    what = "CUDA starts in the bubblewrap sandbox" if check.args.device == "cuda" else "the sandbox grades problem 1"
    measured = (f"problem 1 {g.score:g} / {g.max_score:g} on {g.device}" if g else "no results") + (
        f"; {faults[0]}" if faults else "")
    check.doc.verdicts.append(Verdict(what, measured, ok))
    if not ok and check.args.device == "cuda":
        check.doc.sections.append(diagnose_cuda(check))
    return ok


CIFAR = ("from autograder.common import config as cfg; from autograder.judge import cifar; "
         "d = cifar.prepare(cfg.resolve({'device': 'cpu'})); print(d.source, d.worker_dir)")


def warm_cifar(check: Check) -> None:
    cmd = [check.installed.python, "-c", CIFAR]
    ran = check.run(cmd, check.cap(150), "CIFAR-10 into the cache")
    check.doc.sections.append(Section(
        "CIFAR-10 decoded into the cache (once, before the timed gradings)",
        "python3 -c \"cifar.prepare(config.resolve(...))\"", f"{ran.outcome()}, {ran.seconds:.1f} s",
        [f"AUTOGRADE_CACHE={check.installed.env['AUTOGRADE_CACHE']}",
         (ran.output.strip().splitlines() or [""])[-1][-300:]]))


def load_lines(load: bounded.Load) -> list[str]:
    parts = []
    if load.gpu_memory_peak_mib is not None:
        parts.append(f"GPU memory peak {load.gpu_memory_peak_mib / 1024:.1f} GiB, GPU busy "
                     f"{load.gpu_utilisation_mean:.0f} % on average (nvidia-smi, every second)")
    if load.host_memory_peak_gib is not None:
        parts.append(f"host memory in use at most {load.host_memory_peak_gib:.1f} GiB")
    return ["; ".join(parts)] if parts else []


def grade_one(check: Check, title: str, folder: Path, name: str, budget: str, cap: float,
              target: float | None, aim: float | None = None, compare: str = "cpu") -> grading.Graded | None:
    """One submission graded alone: wall time against ``target``, its phases, and ``compare``:
    its points against the CPU's (``cpu``), its accuracies against the report's (``report``)."""
    out = check.work / title.replace(" ", "-")
    cmd = check.autograde([folder], out, budget)
    with bounded.Sampler() as sampler:
        ran = check.run(cmd, check.cap(cap), title)
    g = grading.read(out, name)
    section = Section(f"{title}", check.shown(cmd), f"{ran.outcome()}, {ran.seconds:.1f} s wall")
    section.lines += load_lines(sampler.load())
    if g is None:
        section.lines.append("no results.json written; output: " + " ⏎ ".join(ran.output.strip().splitlines()[-8:]))
    else:
        section.lines.append(f"score {g.score:g} / {g.max_score:g}; device {g.device}; sandbox {g.sandbox}; "
                             f"memory: {g.memory_bound or '?'}")
        section.lines += grading.not_graded_summary(g)
        section.lines += [f"{t.problem} stopped early: {t.stopped_early}" for t in g.trainings if t.stopped_early]
        section.tables.append(Table(["phase", "seconds"], [[k, f"{v:.1f}"] for k, v in grading.phases(g)],
                                    "Phases (results.json, `extra_data.timings`; trainings overlap):"))
    check.doc.sections.append(section)
    if target is not None:
        wall = f"{ran.seconds:.1f} s ({ran.outcome()})"
        ok = ran.ok and g is not None and g.complete and ran.seconds <= target
        label = f"{title}: ≤ {target:g} s wall" + (f" (aim {aim:g})" if aim else "")
        if aim and ok:
            wall += f"; aim of {aim:g} s {'met' if ran.seconds <= aim else 'not met'}"
        check.doc.verdicts.append(Verdict(label, wall, ok))
    if compare == "cpu":
        if g is None:
            check.doc.verdicts.append(Verdict(f"{title}: same points as on the CPU", "no results", False))
        else:
            ok, found = grading.same_points_as_cpu(g)
            check.doc.verdicts.append(Verdict(f"{title}: same points as on the CPU (95 / 97, only 3-(1)'s "
                                              "architecture lost)", found, ok))
    if compare == "report" and g is not None:
        ok, rows = grading.reference_accuracy(g)
        section.tables.append(Table(
            ["problem", "accuracy (%)", "report (%)", "difference", "CPU reference, 5 seeds (%)", "training (s)", ""],
            rows, f"Test accuracy against the homework report's, ±{grading.ACCURACY_TOLERANCE:g} points:"))
        check.doc.verdicts.append(Verdict(
            f"{title}: every accuracy within ±{grading.ACCURACY_TOLERANCE:g} points of the report's",
            ", ".join(f"{r[0].removeprefix('problem')}: {r[1]} %" for r in rows) or "no trainings", ok))
    return g


def no_stall(check: Check, student: Path) -> None:
    """After a failed start: a whole grading must still end within seconds, every check not graded
    with the reason, no points lost."""
    title = f"{STUDENT} at {check.args.standard} after the failed start"
    g = grade_one(check, title, student, STUDENT, check.args.standard, 60, None, compare="")
    outcome = check.doc.sections[-1].outcome
    failed = {k for k in (g.lost if g else {}) if not any(m.startswith(k + ":") for m in g.not_graded)}
    check.doc.verdicts.append(Verdict(
        "a worker whose device cannot start is reported at once: not graded, no points lost, never a stall",
        f"{outcome}; " + ("; ".join(grading.not_graded_summary(g))[:400] if g else "no results"),
        bool(g and g.not_graded and not failed and "stopped at its timeout" not in outcome)))


SETTINGS = re.compile(r"(\d+) submission\(s\), (\d+) at a time .*?(\d+) training\(s\) at once")


@dataclass
class ClassRun:
    size: int
    jobs: str
    train_workers: str
    seconds: float
    finished: int
    complete: int
    ran: bounded.Ran
    load: bounded.Load

    @property
    def per_minute(self) -> float:
        return 60 * self.finished / self.seconds if self.seconds else 0.0

    def extrapolated(self, n: int = CLASS_OF) -> float | None:
        return n * self.seconds / self.finished if self.finished else None


def grade_class(check: Check, folder: Path, members: list[classroom.Member], out: Path, cap: float,
                *extra: str) -> tuple[ClassRun, list]:
    cmd = check.autograde([folder], out, check.args.standard, *extra)
    with bounded.Sampler() as sampler:
        ran = check.run(cmd, cap, f"class of {len(members)} {' '.join(extra)}".strip())
    found = SETTINGS.search(ran.output)
    # a judge stopped at the timeout leaves a result too ("grading was stopped"): not finished
    graded = [g for m in members if (g := grading.read(out, m.name)) is not None and g.status == "graded"]
    run = ClassRun(len(members), found.group(2) if found else "?", found.group(3) if found else "?", ran.seconds,
                   len(graded), sum(g.complete for g in graded), ran, sampler.load())
    return run, graded


def class_of(check: Check) -> ClassRun | None:
    members, notes = classroom.build(check.installed.project, check.work / "class", check.args.class_size)
    run, graded = grade_class(check, check.work / "class", members, check.work / "class-out",
                              check.deadline.left() - RESERVE)
    section = Section(f"A class of {run.size} at {check.args.standard}, default --jobs and --train-workers",
                      check.shown(run.ran.command), f"{run.ran.outcome()}, {run.seconds:.1f} s wall")
    section.lines += notes + load_lines(run.load)
    section.lines.append(f"chosen: --jobs {run.jobs}, --train-workers {run.train_workers}; {run.finished} of "
                         f"{run.size} graded ({run.complete} complete), {run.per_minute:.1f} submissions a minute")
    by_name = {g.student: g for g in graded}
    rows = []
    for kind in dict.fromkeys(m.kind for m in members):
        gs = [by_name[m.name] for m in members if m.kind == kind and m.name in by_name]
        n = sum(m.kind == kind for m in members)
        scores = sorted({f"{g.score:g}/{g.max_score:g}" for g in gs})
        durations = [g.duration for g in gs]
        rows.append([kind, f"{len(gs)} of {n}", ", ".join(scores) or "—",
                     f"{grading.median(durations):.1f}" if durations else "—",
                     f"{max(durations):.1f}" if durations else "—", str(sum(not g.complete for g in gs))])
    section.tables.append(Table(["submissions", "graded", "scores", "judge median (s)", "judge max (s)",
                                 "incomplete"], rows))
    for g in graded:
        section.lines += [f"{g.student}: {line}" for line in grading.not_graded_summary(g)]
    check.doc.sections.append(section)
    copies = [g for g in graded if g.student.startswith(f"{STUDENT}_")]
    same = [g for g in copies if grading.same_points_as_cpu(g)[0]]
    n_copies = sum(m.kind == f"{STUDENT} copy" for m in members)
    check.doc.verdicts.append(Verdict(f"class of {run.size}: the copies of {STUDENT} get the CPU's points",
                                      f"{len(same)} of {n_copies}" + (f" ({n_copies - len(copies)} not finished)"
                                                                      if len(copies) < n_copies else ""),
                                      len(same) == n_copies))
    extrapolated = run.extrapolated()
    measured = (f"{run.seconds:.0f} s for {run.finished} of {run.size} → {extrapolated:.0f} s for {CLASS_OF} "
                f"(× {CLASS_OF}/{run.finished}, --jobs {run.jobs})" if extrapolated
                else f"none finished ({run.ran.outcome()})")
    check.doc.verdicts.append(Verdict(f"{CLASS_OF} submissions at {check.args.standard} ≤ {CLASS_TARGET / 60:g} min "
                                      f"(class of {run.size} measured, extrapolated)", measured,
                                      bool(extrapolated and run.ran.ok and run.complete == run.size
                                           and extrapolated <= CLASS_TARGET)))
    return run


def memory_hogs(check: Check) -> None:
    """Hogs of the host's and the GPU's memory graded beside a copy of 20163140, problem 1 only."""
    members = classroom.hogs(check.installed.project, check.work / "hogs", host_gib=check.args.hog_gib,
                             gpu=check.args.device == "cuda")
    out = check.work / "hogs-out"
    cmd = check.autograde([check.work / "hogs"], out, check.args.standard, "--jobs", str(len(members)),
                          "--train-workers", "1", problems="1")
    ran = check.run(cmd, check.cap(90), "memory hogs")
    hogs = [f"hog_host writes {check.args.hog_gib} GiB in 1-GiB pieces on import"]
    if check.args.device == "cuda":
        hogs.append(f"hog_gpu asks for half the GPU's memory on import (each of the {len(members)} workers' "
                    f"share is 0.9 / {len(members)} of it)")
    section = Section("Memory hogs beside a copy of 20163140 (problem 1 only)", check.shown(cmd),
                      f"{ran.outcome()}, {ran.seconds:.1f} s", ["; ".join(hogs)])
    oks = []
    for m in members:
        g = grading.read(out, m.name)
        if g is None:
            section.lines.append(f"{m.name}: no results")
            oks.append(False)
            continue
        charged = len(g.lost) - len(g.not_graded)
        section.lines.append(f"{m.name}: {g.score:g} / {g.max_score:g}, status {g.status}, {charged} checks "
                             f"failed, {len(g.not_graded)} not graded; memory: {g.memory_bound or '?'}"
                             + (f"; first: {g.first_failure[:300]}" if g.first_failure else ""))
        if m.kind == "hog":  # contained: it did not pass, whether charged to it or not graded
            oks.append(g.status != "grader_fault" and bool(g.lost))
        else:
            oks.append(g.complete and not g.lost and g.device == check.args.device)
    section.lines.append("what the judges said about the hogs: " + " ⏎ ".join(
        l for l in ran.output.splitlines() if "hog" in l)[-1200:])
    check.doc.sections.append(section)
    check.doc.verdicts.append(Verdict(
        "memory hogs: each is stopped without passing (its checks failed or not graded, no grader fault), "
        f"the neighbour is graded in full on {check.args.device}",
        ", ".join(f"{m.name} {'ok' if ok else 'NOT ok'}" for m, ok in zip(members, oks)),
        all(oks) and ran.status is not None and not ran.timed_out))


def settings_sweep(check: Check, baseline: ClassRun | None) -> None:
    """Other --jobs × --train-workers on a smaller class, while the deadline allows."""
    if not check.args.sweeps:
        return
    members, _ = classroom.build(check.installed.project, check.work / "sweep", check.args.sweep_size)
    per_submission = baseline.seconds / baseline.finished if baseline and baseline.finished else 10.0
    rows = [_sweep_row(baseline, "the class above (default settings)")] if baseline else []
    check.doc.sections.append(Section(
        f"Settings for a class on one GPU ({len(members)} submissions at {check.args.standard})",
        tables=[Table(["command", "--jobs", "--train-workers", "submissions", "wall (s)", "per minute",
                       f"{CLASS_OF} extrapolated (s)", "complete", "GPU memory peak (GiB)", "GPU busy (%)",
                       "host memory peak (GiB)"], rows)]))
    for setting in check.args.sweeps.split(","):
        jobs, workers = setting.split("x")
        needs = 1.5 * per_submission * len(members) + 10
        if not check.has_time(needs, f"--jobs {jobs} --train-workers {workers}"):
            break
        run, _ = grade_class(check, check.work / "sweep", members, check.work / f"sweep-{setting}",
                             check.deadline.left() - RESERVE, "--jobs", jobs, "--train-workers", workers)
        rows.append(_sweep_row(run, check.shown(run.ran.command)))  # the section's table, in place
        check.write()


def _sweep_row(run: ClassRun, command: str) -> list[str]:
    ext = run.extrapolated()
    l = run.load
    return [command, run.jobs, run.train_workers, f"{run.finished} of {run.size}", f"{run.seconds:.1f}",
            f"{run.per_minute:.1f}", f"{ext:.0f}" if ext else "—", str(run.complete),
            f"{l.gpu_memory_peak_mib / 1024:.1f}" if l.gpu_memory_peak_mib is not None else "—",
            f"{l.gpu_utilisation_mean:.0f}" if l.gpu_utilisation_mean is not None else "—",
            f"{l.host_memory_peak_gib:.1f}" if l.host_memory_peak_gib is not None else "—"]


# ------------------------------------------------------------------------------------------ main

def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path(os.environ.get("OUT") or ROOT / "bench" / "out" / "gpu"),
                   help="where RESULTS-gpu.md and the logs go (default: $OUT, else bench/out/gpu)")
    p.add_argument("--deadline", type=float, default=450, help="seconds for the whole check (default 450)")
    p.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    p.add_argument("--home", type=Path, default=Path.home() / "hw3-gpu-check",
                   help="the check's own folder, outside /tmp: bubblewrap, wheels, the project, the cache")
    p.add_argument("--carry", type=Path, default=HERE / "carry", help="what prepare.sh fetched")
    p.add_argument("--standard", default="standard", help="the budget graded as 'standard' (dry run: quick)")
    p.add_argument("--full", default="full", help="the budget graded as 'full' (dry run: quick)")
    p.add_argument("--problems", default=None, help="grade only these problems (dry run); default all")
    p.add_argument("--class-size", type=int, default=32)
    p.add_argument("--sweep-size", type=int, default=16)
    p.add_argument("--sweeps", default="8x2,16x1,2x7",
                   help="JOBSxTRAIN_WORKERS settings tried on the smaller class while time is left")
    p.add_argument("--hog-gib", type=int, default=24, help="GiB the host-memory hog writes")
    p.add_argument("--install", choices=("editable", "pythonpath"), default="editable",
                   help="how the project is installed: editable (PYTHONPATH when that fails) or PYTHONPATH")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--patience", type=float, default=1.0,
                   help="multiplies each grading's time cap (a slow CPU's dry run needs more)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    deadline = bounded.Deadline(args.deadline)
    args.out.mkdir(parents=True, exist_ok=True)
    dry = args.device != "cuda" or args.standard != "standard" or args.full != "full" or args.problems
    doc = report.Document(
        title="GPU grading, measured" + (" — DRY RUN (targets are the GPU machine's)" if dry else ""),
        invocation="python3 bench/gpu/check.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        started=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
    if dry:
        doc.notes.append(f"dry run: --device {args.device}, budgets {args.standard}/{args.full}, problems "
                         f"{args.problems or 'all'}, class of {args.class_size}: the mechanics of the check, not "
                         "the GPU's figures; the targets are the H200's and are shown only to exercise them")
    with (args.out / "check.log").open("w") as log:
        installed = install.install(ROOT, args.carry, args.home, log, editable=args.install == "editable")
        doc.setup = [(s.name, s.ok, s.detail) for s in installed.steps]
        for name, ok, detail in doc.setup:
            print(f"[{deadline.elapsed():4.0f} s] setup {name}: {'ok' if ok else 'FAILED'}: {detail[:300]}", flush=True)
        check = Check(args, installed, deadline, log, doc, args.out, args.home / "work")
        shutil.rmtree(check.work, ignore_errors=True)
        check.work.mkdir(parents=True, exist_ok=True)
        check.write()
        if not installed.ready:
            doc.state = "stopped: the setup failed (see Setup)"
            check.write()
            return finish(check, 1)
        sys.path.insert(0, str(installed.project))
        student = installed.project / "submissions" / STUDENT
        reference = check.work / "ref" / "reference"
        shutil.copytree(installed.project / "autograder" / "judge" / "reference", reference,
                        ignore=shutil.ignore_patterns("__pycache__"))
        run_steps(check, [("machine facts", 15, lambda: machine(check))])
        if not (check.has_time(30, "the sandbox") and guarded(check, "the sandbox", lambda: cuda_in_sandbox(check))):
            if check.has_time(30, "one grading that must not stall"):
                guarded(check, "no stall", lambda: no_stall(check, student))
            doc.state = "stopped: the sandbox could not grade problem 1 on the device (see its section)"
            return finish(check, 1)
        baseline: list[ClassRun | None] = [None]

        def run_class() -> None:
            baseline[0] = class_of(check)

        run_steps(check, [
            ("CIFAR-10 cache", 20, lambda: warm_cifar(check)),
            (f"{STUDENT} at {args.standard}", 20, lambda: grade_one(
                check, f"{STUDENT} at {args.standard}", student, STUDENT, args.standard, 90,
                STANDARD_TARGET, STANDARD_AIM)),
            (f"{STUDENT} at {args.full}", 60, lambda: grade_one(
                check, f"{STUDENT} at {args.full}", student, STUDENT, args.full, 150, FULL_TARGET)),
            (f"the reference at {args.full}", 60, lambda: grade_one(
                check, f"the reference at {args.full}", reference, "reference", args.full, 150, None,
                compare="report")),
            (f"a class of {args.class_size}", 60, run_class),
            ("memory hogs", 45, lambda: memory_hogs(check)),
            ("settings", 30, lambda: settings_sweep(check, baseline[0])),
        ])
        doc.state = "finished"
        return finish(check, 0)


def run_steps(check: Check, steps: list[tuple[str, float, Callable[[], object]]]) -> bool:
    """Each step in turn while the deadline allows; one that breaks is noted, the next still runs."""
    for name, needs, step in steps:
        if not check.has_time(needs, name):
            continue
        guarded(check, name, step)
    return True


def guarded(check: Check, name: str, step: Callable[[], object]) -> object:
    """Run one step; a fault of the check's own is noted in the file, and the file is rewritten.
    A line on stdout per step: the runner returns the output's tail even when the call is cut."""
    print(f"[{check.deadline.elapsed():4.0f} s] {name} …", flush=True)
    before = len(check.doc.verdicts)
    try:
        return step()
    except Exception:  # noqa: BLE001 — the check's own fault is reported in its file, never lost
        check.doc.notes.append(f"{name}: the check itself failed: {traceback.format_exc()[-1500:]}")
        return None
    finally:
        check.write()
        print(f"[{check.deadline.elapsed():4.0f} s] {name} done", flush=True)
        for v in check.doc.verdicts[before:]:
            print(f"         [{report.mark(v.ok)}] {v.target}: {v.measured[:200]}", flush=True)


def finish(check: Check, status: int) -> int:
    """Bundle every results.json, write the file a last time, print the targets."""
    bundle = check.out / "results.tar.gz"
    paths = sorted(check.work.rglob("results.json"), key=lambda p: (p.parent.parent.name.startswith(("class", "sweep")),
                                                                     str(p)))
    left_out = 0
    with tarfile.open(bundle, "w:gz") as tar:
        for path in paths:  # the single gradings first, then the classes', while the bundle is small
            if bundle.stat().st_size > BUNDLE_LIMIT:
                left_out += 1
                continue
            tar.add(path, arcname=str(path.relative_to(check.work)))
    if left_out:
        check.doc.notes.append(f"results.tar.gz: {left_out} results.json left out to keep it under "
                               f"{BUNDLE_LIMIT / 2**20:.0f} MiB")
    check.write()
    print(f"\n{check.doc.title}: {check.doc.state}, {check.deadline.elapsed():.0f} s")
    for v in check.doc.verdicts:
        print(f"  [{report.mark(v.ok)}] {v.target}: {v.measured}")
    for n in check.doc.notes:
        print(f"  note: {n[:400]}")
    print(f"written: {check.out / 'RESULTS-gpu.md'}")
    return status


if __name__ == "__main__":
    sys.exit(main())
