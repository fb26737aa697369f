"""Grading a class: plan the run once, grade every submission with a fresh session of its own in a
judge server per lane (`runner`, `judge_server`), account for all.

`plan` resolves everything before any judge starts — the configuration (device, budget, seed,
training workers, each worker's memory share), the sandbox (bubblewrap must run unless
limits-only is asked for by name), a usable GPU when ``--device cuda`` is asked for, the output
folder (never inside a submission or, unless it is the default, a class folder), the class's
manual.csv (every row usable, every student known), the CIFAR-10 data when a training problem is
graded (found, read and decoded once here) — and refuses with a usage error naming what was
tried. `run` grades, prints a line per submission that says what of its grade is pending, ends
with one line of counts, and returns the exit status (`exit_status`). SIGTERM, SIGINT and SIGHUP
end every judge (and so every worker) it started; the submissions being graded are recorded as
interrupted (not graded yet), results already written stay as they were, and the same command
continues where the run stopped.
"""

from __future__ import annotations

import collections
import dataclasses
import queue
import signal
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TextIO

from autograder.common import budgets, limits
from autograder.common import config as cfg
from autograder.common.results import PENDING_WORDS, Status, SubmissionResult, pending_by_kind, pending_text
from autograder.orchestrator import manual, roster, runner
from autograder.orchestrator.discovery import Skipped, changed_since, check_output_folder, find_submissions
from autograder.orchestrator.exit_status import SIGNAL_BASE, Exit, of_run
from autograder.orchestrator.progress import Progress
from autograder.orchestrator.roster import Roster

EXIT_OK, EXIT_GRADER_FAULT, EXIT_USAGE, EXIT_BELOW, EXIT_INCOMPLETE, EXIT_UNGRADABLE = (
    Exit.OK, Exit.GRADER_FAULT, Exit.USAGE, Exit.BELOW, Exit.INCOMPLETE, Exit.UNGRADABLE)
"""The statuses of `exit_status.Exit`, by the names the commands use."""
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class UsageError(Exception):
    """A problem with what the user asked for, found before any grading (exit status 2)."""


@dataclass
class ClassRun:
    """One `autograde` run, planned: what to grade and how."""

    config: cfg.GradingConfig
    submissions: list[Path]
    out: Path
    jobs: int
    problems: list[str] | None = None
    skipped: list[Skipped] = field(default_factory=list)
    force: bool = False
    fail_under: float | None = None
    shard: str = ""
    roster: Roster | None = None
    """The class roster: its students without a folder are written as not submitted."""
    folders: list[str] = field(default_factory=list)
    """Every student folder found, before --changed-since and --shard picked some to grade."""
    manual_points: list[manual.ManualEntry] = field(default_factory=list)
    """The class's manual points (out/manual.csv), merged into what the console says of a grade."""


def default_jobs(device: str, memory: int | None = None) -> int:
    """Submissions at once: one per core on the CPU; on one GPU a quarter of the cores (each
    submission's trainings take the rest). Never more than the machine's memory holds."""
    cores = cfg.available_cores()
    jobs = cores if device == "cpu" else max(1, cores // 4)
    while jobs > 1 and limits.workers_that_fit(jobs, memory) < jobs:
        jobs -= 1
    return jobs


def plan(paths: list[Path], *, options: dict[str, object], out: Path, jobs: int | None,
         problems: str | None, shard: str | None, changed: str | None, force: bool,
         fail_under: float | None, roster_file: Path | None = None, out_given: bool = True) -> ClassRun:
    """Everything decided before the first judge starts; UsageError when something cannot work.
    ``out_given``: ``--out`` was given (the default output folder may lie in a class folder)."""
    try:
        wanted = runner.parse_problems(problems) if problems is not None else None
        slice_ = runner.parse_shard(shard) if shard else None
        found, skipped = find_submissions(paths, out=out)
        check_output_folder(paths, found, out, default=not out_given)
        class_roster = roster.load(roster_file) if roster_file is not None else None
        config = cfg.resolve(options)
        entries = manual.load(out)
    except (ValueError, cfg.ConfigError, roster.RosterError) as exc:  # NoSubmissions, ManualPointsError too
        raise UsageError(str(exc)) from None
    _check_device(config)
    if jobs is not None and jobs < 1:
        raise UsageError("--jobs must be at least 1")
    names = [s.name for s in found]
    folders = list(names)
    if len(set(names)) != len(names):
        raise UsageError("two submission folders share a name: "
                         + ", ".join(sorted({n for n in names if names.count(n) > 1})))
    known = set(names) | {p.parent.name for p in out.glob("*/results.json")}
    known |= {e.student for e in class_roster.entries} if class_roster is not None else set()
    try:
        manual.check_students(entries, known, f"among the submissions and the results under {out}")
    except manual.ManualPointsError as exc:
        raise UsageError(str(exc)) from None
    if changed:
        found = changed_since(found, changed)
    found = [s for s in found if runner.in_shard(s.name, slice_)]
    _check_sandbox(config)
    concurrent = min(jobs or default_jobs(config.device), max(1, len(found)))
    config = cfg.with_concurrency(config, concurrent)
    if config.worker_memory < limits.WORKER_MEMORY_MIN:
        raise UsageError(
            f"{concurrent} submission(s) at once × {config.train_workers} worker(s) each need "
            f"{limits.WORKER_MEMORY_MIN / limits.GiB:.0f} GiB per worker; this machine has "
            f"{limits.machine_memory() / limits.GiB:.1f} GiB in all: give a smaller --jobs "
            f"(at most {max(1, limits.workers_that_fit(concurrent) // max(1, config.train_workers))}) "
            "or --train-workers")
    trained = [p for p in (wanted or budgets.TRAINED) if p in budgets.TRAINED]
    if trained and found:
        config = _with_data(config)
    return ClassRun(config=config, submissions=found, out=out, jobs=concurrent, problems=wanted,
                    skipped=skipped, force=force, fail_under=fail_under, shard=shard or "",
                    roster=class_roster, folders=folders, manual_points=entries)


def _check_device(config: cfg.GradingConfig) -> None:
    """``--device cuda`` (or AUTOGRADE_DEVICE=cuda) on a machine where torch cannot use a GPU: one
    line, before anything is graded (else every check would fail to start, one by one)."""
    if config.device != "cuda":
        return
    usable, why = cfg.cuda_usable()
    if not usable:
        raise UsageError(f"--device cuda: no usable GPU on this machine ({why}); grade on the CPU with "
                         "--device cpu (or auto, which picks the GPU when there is one)")


def _check_sandbox(config: cfg.GradingConfig) -> None:
    from autograder.judge import sandbox

    try:
        sandbox.mode_for(config.sandbox)
    except sandbox.SandboxUnavailable as exc:
        raise UsageError(str(exc)) from None


def _with_data(config: cfg.GradingConfig) -> cfg.GradingConfig:
    """CIFAR-10 found, read and decoded once, before any judge starts; the judges get its source."""
    from autograder.judge import cifar

    try:
        config = dataclasses.replace(config, data=cifar.find_source(config.data).path)
        cifar.prepare(config)
    except cifar.DataUnavailable as exc:
        raise UsageError(f"{exc}. The training problems (2, 3) need CIFAR-10: give --data PATH, "
                         "or grade others with --problems") from None
    return config


def busy_cores(problems: list[str] | None, train_workers: int) -> int:
    """Cores one submission keeps busy while it is graded: its trainings side by side (at most one
    per training problem), else one."""
    trained = [p for p in (problems or budgets.TRAINED) if p in budgets.TRAINED]
    return max(1, min(train_workers, len(trained)))


def _stop_on_signals(judges: runner.Judges) -> dict[int, object]:
    """Make SIGTERM/SIGINT/SIGHUP end every judge, then this process (status 128 + the signal). A
    second signal while stopping changes nothing: the stop is already under way."""
    def handler(signum: int, _frame: FrameType | None) -> None:
        if judges.stopping:
            return
        judges.stop_all()
        raise Stopped(signum)

    return {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}


class Stopped(BaseException):
    """A stop signal arrived (a BaseException, so that no `except Exception` goes on grading)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def incomplete_note(result: SubmissionResult) -> str:
    """What the console says of a grade that is not final ("" for a final one): its status, the
    checks not graded and why, missing modules, and the points pending."""
    parts = []
    if result.status is not Status.GRADED:
        parts.append(f"{result.status.value.upper()}: {result.status_reason.splitlines()[0][:300] if result.status_reason else ''}")
    not_run = result.not_graded
    if not_run:
        reasons = list(dict.fromkeys(t.message.removeprefix("not graded: ").splitlines()[0][:200] for t in not_run))
        parts.append(f"INCOMPLETE: {len(not_run)} check(s) worth {sum(t.max_points for t in not_run):g} "
                     f"point(s) not graded — {'; '.join(reasons[:3])}")
    if result.missing:
        parts.append("missing: " + ", ".join(f"{m}.py" for m in result.missing))
    if result.pending() and result.status is not Status.NOT_SUBMITTED:
        parts.append("NOT FINAL: " + pending_text(result))
    return "  [" + " | ".join(parts) + "]" if parts else ""


def run(plan_: ClassRun, stream: TextIO = sys.stdout) -> int:
    """Grade the planned class; returns the exit status."""
    config, out = plan_.config, plan_.out
    if config.device_note:
        print(f"autograde: note: {config.device_note}", file=sys.stderr, flush=True)
    if config.sandbox == "limits-only":
        print("autograde: WARNING: limits-only mode — the students' code runs WITHOUT filesystem, "
              "network or uid isolation", file=sys.stderr, flush=True)
    if plan_.skipped:
        print("not submissions, skipped: " + "; ".join(f"{s.folder.name} ({s.why})" for s in plan_.skipped),
              file=stream, flush=True)
    print(f"grading {len(plan_.submissions)} submission(s), {plan_.jobs} at a time "
          f"[budget {config.budget}, device {config.device}, seed {config.seed}, "
          f"{config.train_workers} training(s) at once"
          f"{f', shard {plan_.shard}' if plan_.shard else ''}] → {out}/", file=stream, flush=True)
    progress = Progress(len(plan_.submissions), plan_.jobs, stream=stream)
    graded: list[runner.Graded] = []
    judges = runner.Judges()
    made: list[runner.JudgeServer] = []
    todo = collections.deque(plan_.submissions)
    lanes = min(plan_.jobs, max(1, len(plan_.submissions)))
    taking = threading.Lock()
    finished: queue.SimpleQueue[runner.Graded | None] = queue.SimpleQueue()
    # with a core to spare, a judge starts the next submission's worker while it grades this one —
    # when that worker also fits in the memory planned (shares for workers_at_once workers)
    busy = busy_cores(plan_.problems, config.train_workers)
    ahead = plan_.jobs * busy < cfg.available_cores() and plan_.jobs * (busy + 1) <= config.workers_at_once

    def take(*, ahead_of_time: bool = False) -> runner.Job | None:
        """The next submission to grade; ``ahead_of_time`` (claimed while the lane still grades
        another): only while no other lane would go without one for it."""
        with taking:
            spare = len(todo) >= lanes if ahead_of_time else bool(todo)
            folder = todo.popleft() if spare and not judges.stopping else None
        return runner.Job(folder.resolve(), (out / folder.name).resolve()) if folder is not None else None

    def lane() -> None:
        """Grade submissions one after another in a judge server of this lane's, until none is left."""
        judge = runner.new_judge(config, judges)
        made.append(judge)
        job = take()
        try:
            while job is not None:
                after = take(ahead_of_time=True) if ahead else None
                hint = None
                if ahead and after is not None and runner.needs_grading(after, config, problems=plan_.problems,
                                                                       force=plan_.force):
                    hint = runner.ahead_of(after, config, plan_.problems)
                progress.start(job.submission.name, job.progress_path)
                finished.put(runner.grade_cached(job, config, problems=plan_.problems, force=plan_.force,
                                                 judges=judges, judge=judge, ahead=hint))
                job = after if after is not None else take()
        except InterruptedError:  # grading is being stopped: this job was left as it was
            pass
        finally:
            judge.close_requests()  # no submission follows: the server ends while the others finish
            finished.put(None)

    def shown(g: runner.Graded) -> runner.Graded:
        """``g`` with the class's manual points merged in, as the pages will show it."""
        g.result.manual = manual.scores_of(plan_.manual_points, g.result.student)
        return g

    previous = _stop_on_signals(judges) if threading.current_thread() is threading.main_thread() else {}
    pool = ThreadPoolExecutor(max_workers=lanes)
    stopped: Stopped | None = None
    try:
        futures = [pool.submit(lane) for _ in range(lanes)]
        open_lanes = lanes
        while open_lanes:
            g = finished.get()
            if g is None:
                open_lanes -= 1
                continue
            graded.append(shown(g))
            progress.finish(g.result, cached=g.cached, note=incomplete_note(g.result),
                            regraded_because=g.regraded_because)
        for future in futures:
            future.result()  # a lane that failed otherwise than by being stopped is a bug: say so
    except Stopped as stop:
        stopped = stop
        pool.shutdown(wait=True, cancel_futures=True)  # the lanes record what they were grading
        while not finished.empty():
            g = finished.get()
            if g is not None and all(g.result.student != d.result.student for d in graded):
                graded.append(shown(g))
    finally:
        pool.shutdown(wait=True)
        runner.stop_judges(made)
        for sig, handler in previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
    progress.close()
    results = [g.result for g in graded]
    if stopped is not None:
        name = signal.Signals(stopped.signum).name
        interrupted = sum(r.status is Status.INTERRUPTED for r in results)
        print(counts_line(graded), file=stream, flush=True)
        print(f"autograde: stopped by {name}: every judge and worker ended; {len(results) - interrupted} of "
              f"{len(plan_.submissions)} submission(s) finished (their results stand), {interrupted} "
              f"interrupted (recorded as not graded yet), {len(plan_.submissions) - len(results)} not started. "
              "Run the same command to continue: what finished is not graded again.",
              file=sys.stderr, flush=True)
        return SIGNAL_BASE + stopped.signum
    if plan_.roster is not None:
        slice_ = runner.parse_shard(plan_.shard) if plan_.shard else None
        roster.apply(plan_.roster, plan_.folders, out, owns=lambda student: runner.in_shard(student, slice_))
    print(counts_line(graded), file=stream, flush=True)
    return exit_status(results, plan_.fail_under)


def counts_line(graded: list[runner.Graded]) -> str:
    """One line of counts for the end of a run: each submission in exactly one of graded (every
    check run), incomplete (some checks not graded), ungradable, grader fault, interrupted; how
    many came from the cache; then how many grades are final and what the others wait for."""
    results = [g.result for g in graded]
    counts = {
        "graded": sum(r.status is Status.GRADED and not r.not_graded for r in results),
        "incomplete": sum(r.status is Status.GRADED and bool(r.not_graded) for r in results),
        "ungradable": sum(r.status is Status.UNGRADABLE for r in results),
        "grader faults": sum(r.status is Status.GRADER_FAULT for r in results),
    }
    interrupted = sum(r.status is Status.INTERRUPTED for r in results)
    if interrupted:
        counts["interrupted"] = interrupted
    cached = sum(g.cached for g in graded)
    line = "done: " + ", ".join(f"{v} {k}" for k, v in counts.items())
    line += f" ({cached} from the cache)" if cached else ""
    final = sum(r.final for r in results)
    line += f"; {final} of {len(results)} grade(s) final"
    waiting: dict[str, int] = {}
    for r in results:
        for kind, _, _ in pending_by_kind(r.pending()):
            waiting[PENDING_WORDS[kind]] = waiting.get(PENDING_WORDS[kind], 0) + 1
    if waiting:
        line += " — not final: " + "; ".join(f"{n} wait for {words}" for words, n in waiting.items())
    return line


def exit_status(results: list[SubmissionResult], fail_under: float | None) -> int:
    """The run's status (`exit_status.of_run`), naming on stderr the grades below ``fail_under``."""
    return int(of_run(results, below(results, fail_under) == EXIT_BELOW))


def below(results: list[SubmissionResult], fail_under: float | None) -> int:
    """EXIT_BELOW (naming the students on stderr) when a grade — its points so far, out of the
    assignment's 100 — is under ``fail_under`` points."""
    if fail_under is None:
        return EXIT_OK
    low = sorted((r for r in results if r.score < fail_under), key=lambda r: r.student)
    if low:
        names = ", ".join(f"{r.student} ({r.score:g}{'' if r.final else ', not final'})" for r in low)
        print(f"below {fail_under:g} points of 100: {names}", file=sys.stderr)
        return EXIT_BELOW
    return EXIT_OK
