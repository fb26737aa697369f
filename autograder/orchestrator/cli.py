"""The `autograde` command: grade submission folders and write results and reports.

    autograde SUBMISSION_DIR... [--out DIR] [--jobs N] [--device auto|cpu|cuda] [--data PATH]
              [--budget quick|standard|full] [--seed N] [...]
    autograde report DIR            re-render the HTML reports from existing results
    autograde merge DIR... --out D  combine the outputs of shards into one class report
    autograde summary DIR           print the scores under DIR as a Markdown table
                                    (``--fail-under SCORE`` turns a low score into exit status 3)
    autograde similarity DIR...     pairs of students whose code for a problem is unusually alike
                                    (prints them; writes similarity.html)

Exit status: 0 when grading completed (whatever the scores); 1 when the grader itself failed on
some submission (its results say "grader_fault"); 2 for a usage error; 3 when --fail-under is
given and a submission scored below it.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from autograder import __version__
from autograder.common import config as cfg
from autograder.common.contract import PROBLEMS
from autograder.common.results import Status, SubmissionResult

EXIT_OK, EXIT_GRADER_FAULT, EXIT_USAGE, EXIT_BELOW = 0, 1, 2, 3
SUBCOMMANDS = ("grade", "report", "merge", "summary", "similarity")


class UsageError(Exception):
    """A problem with what the user asked for (exit status 2)."""


def _grade_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="autograde",
        description="Grade hw3 submissions: each folder is graded by the graded pytest suites in a "
                    "judge process, with the student's code confined to a sandboxed worker. Writes "
                    "results.json (Gradescope format), junit.xml and report.html per student, and "
                    "index.html and grades.csv for the class, under --out.",
        epilog="Other commands: `autograde report DIR` re-renders the HTML from existing results; "
               "`autograde merge DIR... --out DIR` combines shard outputs; `autograde summary DIR` "
               "prints a Markdown table of scores. Exit status: 0 when grading completed whatever "
               "the scores; 1 when the grader failed on a submission; 2 for a usage error; 3 when "
               "a score is below --fail-under.",
    )
    p.add_argument("submissions", nargs="+", metavar="SUBMISSION_DIR", type=Path,
                   help="a student's folder (problem1.py … problem5.py), or a folder of such folders")
    p.add_argument("--out", type=Path, default=Path("reports"), metavar="DIR",
                   help="where results and reports are written (default: reports/)")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="submissions graded at a time (default: the number of CPU cores; "
                        "4 sharing the GPU with --device cuda)")
    p.add_argument("--device", choices=cfg.DEVICES, default=None, help=cfg.HELP["device"])
    p.add_argument("--data", default=None, metavar="PATH", help=cfg.HELP["data"])
    p.add_argument("--budget", choices=cfg.BUDGETS, default=None, help=cfg.HELP["budget"])
    p.add_argument("--seed", type=int, default=None, metavar="N", help=cfg.HELP["seed"])
    p.add_argument("--sandbox", choices=cfg.SANDBOXES, default=None, help=cfg.HELP["sandbox"])
    p.add_argument("--train-workers", type=int, default=None, metavar="N", help=cfg.HELP["train_workers"])
    p.add_argument("--problems", default=None, metavar="LIST",
                   help="grade only these problems, comma-separated: 1, 2, 3 (all six variations), "
                        "3_2, 4, 5 (default: all)")
    p.add_argument("--force", action="store_true",
                   help="regrade submissions whose earlier results are still valid (default: skip them)")
    p.add_argument("--shard", default=None, metavar="K/N",
                   help="grade only the K-th of N deterministic slices of the submissions "
                        "(combine the outputs with `autograde merge`)")
    p.add_argument("--changed-since", default=None, metavar="GIT_REF",
                   help="grade only the submission folders with files changed since GIT_REF "
                        "(all of them when the ref is unknown)")
    p.add_argument("--fail-under", type=float, default=None, metavar="SCORE",
                   help="exit with status 3 when a submission scores below SCORE")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return p


def find_submissions(paths: list[Path]) -> list[Path]:
    """Expand each path: a submission folder itself, or a folder whose subfolders are submissions."""
    modules = {f"{p.module}.py" for p in PROBLEMS}
    found: list[Path] = []
    for path in paths:
        if not path.is_dir():
            raise UsageError(f"{path}: not a folder")
        if any((path / m).is_file() for m in modules):
            found.append(path)
            continue
        subs = sorted(d for d in path.iterdir() if d.is_dir() and not d.name.startswith("."))
        found.extend(subs if subs else [path])
    return found


def changed_since(submissions: list[Path], ref: str) -> list[Path]:
    """The submissions with a file changed between ``ref`` and the working tree (git)."""
    if set(ref) <= {"0"}:  # a new branch: GitHub's "before" is all zeros
        return submissions
    changed: set[Path] = set()
    for folder in submissions:
        proc = subprocess.run(["git", "diff", "--name-only", ref, "--", "."], cwd=folder,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"autograde: cannot compare with {ref!r} ({proc.stderr.strip()[:200]}); "
                  "grading every submission", file=sys.stderr)
            return submissions
        if proc.stdout.strip():
            changed.add(folder)
    return [s for s in submissions if s in changed]


def grade_main(argv: list[str]) -> int:
    args = _grade_parser().parse_args(argv)
    from autograder.orchestrator import runner
    from autograder.orchestrator.progress import Progress

    try:
        config = cfg.resolve({"seed": args.seed, "budget": args.budget, "device": args.device,
                              "data": args.data, "sandbox": args.sandbox,
                              "train_workers": args.train_workers})
        problems = runner.parse_problems(args.problems) if args.problems else None
        shard = runner.parse_shard(args.shard) if args.shard else None
        submissions = find_submissions(args.submissions)
        if args.jobs is not None and args.jobs < 1:
            raise UsageError("--jobs must be at least 1")
        names = [s.name for s in submissions]
        if len(set(names)) != len(names):
            raise UsageError("two submission folders share a name")
    except (cfg.ConfigError, UsageError, ValueError) as exc:
        print(f"autograde: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.changed_since:
        submissions = changed_since(submissions, args.changed_since)
    submissions = [s for s in submissions if runner.in_shard(s.name, shard)]
    device = config.resolved_device()
    jobs = args.jobs or (4 if device == "cuda" else cfg.available_cores())
    config = dataclasses.replace(
        config, train_workers=config.resolved_train_workers(concurrent=min(jobs, max(1, len(submissions)))))
    out: Path = args.out
    print(f"grading {len(submissions)} submission(s), {jobs} at a time "
          f"[budget {config.budget}, device {device}, seed {config.seed}, "
          f"{config.train_workers} training(s) at once"
          f"{f', shard {args.shard}' if shard else ''}] → {out}/", flush=True)
    progress = Progress(len(submissions), jobs, stream=sys.stdout)
    results: list[SubmissionResult] = []

    def one(folder: Path) -> tuple[SubmissionResult, bool]:
        job = runner.Job(folder.resolve(), (out / folder.name).resolve())
        progress.start(folder.name, job.progress_path)
        return runner.grade_cached(job, config, problems=problems, force=args.force)

    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(one, s) for s in submissions]
            for future in as_completed(futures):
                result, cached = future.result()
                results.append(result)
                progress.finish(result, cached=cached)
    finally:
        progress.close()
    if results:
        _render(out)
    if any(r.status is Status.GRADER_FAULT for r in results):
        return EXIT_GRADER_FAULT
    return _below(results, args.fail_under)


def _load(out: Path) -> list[SubmissionResult]:
    from autograder.common import results_json

    return [results_json.read(f) for f in sorted(out.glob("*/results.json"))]


def _render(out: Path) -> None:
    """Render the class from every result under ``out`` (earlier runs' students included)."""
    from autograder.orchestrator.report import render

    render.render_all(out, _load(out))
    print(f"reports: {out / 'index.html'}", flush=True)


def _report_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="autograde report",
                                description="Re-render report.html, index.html and grades.csv from "
                                            "the results.json files under DIR, without regrading.")
    p.add_argument("dir", type=Path, metavar="DIR", help="an --out folder of an earlier run")
    return p


def report_main(argv: list[str]) -> int:
    args = _report_parser().parse_args(argv)
    if not list(args.dir.glob("*/results.json")):
        print(f"autograde report: error: no */results.json under {args.dir}", file=sys.stderr)
        return EXIT_USAGE
    _render(args.dir)
    return EXIT_OK


def _merge_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="autograde merge",
                                description="Combine the --out folders of several shards into one "
                                            "class report (each student's folder is copied over).")
    p.add_argument("dirs", nargs="+", type=Path, metavar="DIR", help="--out folders of shard runs")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="where the merged reports go")
    return p


def merge_main(argv: list[str]) -> int:
    args = _merge_parser().parse_args(argv)
    seen: dict[str, Path] = {}
    for d in args.dirs:
        for results in sorted(d.glob("*/results.json")):
            student = results.parent.name
            if student in seen:
                print(f"autograde merge: error: {student} is in both {seen[student]} and {d}",
                      file=sys.stderr)
                return EXIT_USAGE
            seen[student] = d
    if not seen:
        print("autograde merge: error: no */results.json in the given folders", file=sys.stderr)
        return EXIT_USAGE
    args.out.mkdir(parents=True, exist_ok=True)
    for student, d in seen.items():
        if (d / student).resolve() != (args.out / student).resolve():
            shutil.copytree(d / student, args.out / student, dirs_exist_ok=True)
    _render(args.out)
    return EXIT_OK


def _summary_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="autograde summary",
                                description="Print the scores under DIR as a Markdown table "
                                            "(for a CI job summary).")
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("--fail-under", type=float, default=None, metavar="SCORE",
                   help="exit with status 3 when a submission scores below SCORE")
    return p


def summary_main(argv: list[str]) -> int:
    args = _summary_parser().parse_args(argv)
    results = _load(args.dir)
    print(markdown_summary(results))
    return _below(results, args.fail_under)


def _below(results: list[SubmissionResult], fail_under: float | None) -> int:
    """EXIT_BELOW (naming the students on stderr) when a score is under ``fail_under``."""
    if fail_under is None:
        return EXIT_OK
    below = sorted(r.student for r in results if r.score < fail_under)
    if below:
        print(f"below {fail_under:g}: {', '.join(below)}", file=sys.stderr)
        return EXIT_BELOW
    return EXIT_OK


def markdown_summary(results: list[SubmissionResult]) -> str:
    """A Markdown table: one row per student, total and per-problem points."""
    modules = [p.module for p in PROBLEMS]
    lines = ["| student | total | " + " | ".join(modules) + " | status |",
             "|---|---:|" + "---:|" * len(modules) + "---|"]
    for r in sorted(results, key=lambda r: r.student):
        by = {p.module: p for p in r.problems()}
        cells = [f"{by[m].points:g}/{by[m].max_points:g}" if m in by else "–" for m in modules]
        status = r.status.value + (f" ({len(r.not_graded)} not graded)" if r.not_graded else "")
        lines.append(f"| {r.student} | {r.score:g}/{r.max_score:g} | " + " | ".join(cells) + f" | {status} |")
    if not results:
        lines.append("| (no submissions graded) | | " + " | " * len(modules) + " |")
    return "\n".join(lines)


def _similarity_parser() -> argparse.ArgumentParser:
    from autograder.orchestrator import similarity

    p = argparse.ArgumentParser(
        prog="autograde similarity",
        description="Find pairs of students whose code for a problem is unusually alike, compared "
                    "on the syntax tree after normalising names, comments, string contents and "
                    "formatting, with the homework's given code excluded. Prints the flagged pairs "
                    "and writes similarity.html (the two files side by side, shared parts marked). "
                    "Nothing is run or sent anywhere. Method and defaults: docs/similarity.md.")
    p.add_argument("dirs", nargs="+", type=Path, metavar="DIR",
                   help="a folder of submission folders (a class), or submission folders")
    p.add_argument("--out", type=Path, default=Path("reports"), metavar="FILE_OR_DIR",
                   help="where the page goes: a file name ending in .html, or a folder that gets "
                        "similarity.html (default: reports/)")
    p.add_argument("--threshold", type=float, default=similarity.THRESHOLD, metavar="X",
                   help="flag a pair from this score on, between 0 and 1: the share of the smaller "
                        f"file's fingerprints the other has too (default: {similarity.THRESHOLD:g})")
    p.add_argument("--min-shared", type=int, default=similarity.MIN_SHARED, metavar="N",
                   help="flag only pairs sharing at least N fingerprints, so that short code written "
                        f"the same obvious way flags nobody (default: {similarity.MIN_SHARED})")
    p.add_argument("--starter", type=Path, action="append", default=[], metavar="PATH",
                   help="code the students were given (a .py file or a folder of them), excluded "
                        "from the comparison like the tutorial's; repeatable")
    return p


def _printable(text: str) -> str:
    """Student-chosen text (folder names, parser messages) for a terminal: control characters escaped."""
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


def similarity_main(argv: list[str]) -> int:
    args = _similarity_parser().parse_args(argv)
    from autograder.orchestrator import similarity
    from autograder.orchestrator.report import render

    try:
        if not 0 < args.threshold <= 1:
            raise UsageError(f"--threshold {args.threshold:g}: expected a number above 0, at most 1")
        if args.min_shared < 1:
            raise UsageError(f"--min-shared {args.min_shared}: expected at least 1")
        submissions = find_submissions(args.dirs)
        names = [s.name for s in submissions]
        if len(set(names)) != len(names):
            raise UsageError("two submission folders share a name")
        if len(submissions) < 2:
            raise UsageError("needs at least two submissions to compare")
        settings = similarity.Settings(threshold=args.threshold, min_shared=args.min_shared)
        report = similarity.check([(s.name, s) for s in submissions], args.starter, settings)
    except (UsageError, FileNotFoundError) as exc:
        print(f"autograde similarity: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"compared {len(report.students)} submissions ({report.files_compared} files) in "
          f"{report.seconds:.2f} s; given code excluded: {len(report.given_files)} files; "
          f"threshold {settings.threshold:g}, at least {settings.min_shared} shared fingerprints")
    print(f"{len(report.pairs)} pair(s) flagged" + (":" if report.pairs else ""))
    for pair in report.pairs:
        problems = ", ".join(f"{m.module} {m.score:.2f} ({m.shared}/{min(m.size_a, m.size_b)})"
                             for m in pair.flagged)
        print(f"  {_printable(pair.a)} ~ {_printable(pair.b)}  score {pair.score:.2f}  {problems}")
    for note in report.notes:
        print(f"not compared: {_printable(note.student)}/{_printable(note.file)}: {_printable(note.message)}")
    path = args.out if args.out.suffix == ".html" else args.out / "similarity.html"
    render.render_similarity(report, path)
    print(f"report: {path}", flush=True)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in SUBCOMMANDS:
        command, rest = argv[0], argv[1:]
        return {"grade": grade_main, "report": report_main, "merge": merge_main,
                "summary": summary_main, "similarity": similarity_main}[command](rest)
    return grade_main(argv)


if __name__ == "__main__":
    sys.exit(main())
