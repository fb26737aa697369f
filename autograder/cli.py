"""The `autograde` command: grade submission folders and write results and reports.

    autograde SUBMISSION_DIR... [--out DIR] [--jobs N] [--device auto|cpu|cuda] [--data PATH]
              [--budget quick|standard|full] [--seed N]
    autograde report DIR          re-render the HTML reports from existing results

Exit status: 0 when grading completed (whatever the scores), 2 for a usage error, 1 when the
grader itself failed on some submission (its results say "grader_fault").
"""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from autograder import __version__
from autograder import config as cfg
from autograder.contract import PROBLEMS

EXIT_OK, EXIT_GRADER_FAULT, EXIT_USAGE = 0, 1, 2


def _grade_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="autograde",
        description="Grade hw3 submissions: each folder is graded by the graded pytest suites in a "
                    "judge process, with the student's code confined to a sandboxed worker. Writes "
                    "results.json (Gradescope format), junit.xml and report.html per student, and "
                    "index.html and grades.csv for the class, under --out.",
        epilog="Other commands: `autograde report DIR` re-renders the HTML from existing results. "
               "Exit status: 0 when grading completed whatever the scores; 1 when the grader "
               "failed on a submission; 2 for a usage error.",
    )
    p.add_argument("submissions", nargs="+", metavar="SUBMISSION_DIR", type=Path,
                   help="a student's folder (problem1.py … problem5.py), or a folder of such folders")
    p.add_argument("--out", type=Path, default=Path("reports"), metavar="DIR",
                   help="where results and reports are written (default: reports/)")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="submissions graded at a time (default: the number of CPU cores)")
    p.add_argument("--device", choices=cfg.DEVICES, default=None, help=cfg.HELP["device"])
    p.add_argument("--data", default=None, metavar="PATH", help=cfg.HELP["data"])
    p.add_argument("--budget", choices=cfg.BUDGETS, default=None, help=cfg.HELP["budget"])
    p.add_argument("--seed", type=int, default=None, metavar="N", help=cfg.HELP["seed"])
    p.add_argument("--sandbox", choices=cfg.SANDBOXES, default=None, help=cfg.HELP["sandbox"])
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return p


def _report_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="autograde report",
                                description="Re-render report.html, index.html and grades.csv from "
                                            "the results.json files under DIR, without regrading.")
    p.add_argument("dir", type=Path, metavar="DIR", help="an --out folder of an earlier run")
    return p


def find_submissions(paths: list[Path]) -> list[Path]:
    """Expand each path: a submission folder itself, or a folder whose subfolders are submissions."""
    modules = {f"{p.module}.py" for p in PROBLEMS}
    found: list[Path] = []
    for path in paths:
        if not path.is_dir():
            raise cfg.ConfigError(f"{path}: not a folder")
        if any((path / m).is_file() for m in modules):
            found.append(path)
            continue
        subs = sorted(d for d in path.iterdir() if d.is_dir() and not d.name.startswith("."))
        found.extend(subs if subs else [path])
    return found


def grade_main(argv: list[str]) -> int:
    args = _grade_parser().parse_args(argv)
    from autograder import runner

    try:
        config = cfg.resolve({"seed": args.seed, "budget": args.budget, "device": args.device,
                              "data": args.data, "sandbox": args.sandbox})
        submissions = find_submissions(args.submissions)
    except cfg.ConfigError as exc:
        print(f"autograde: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.jobs is not None and args.jobs < 1:
        print("autograde: error: --jobs must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    jobs = args.jobs or os.cpu_count() or 1
    out = args.out
    names = [s.name for s in submissions]
    if len(set(names)) != len(names):
        print("autograde: error: two submission folders share a name", file=sys.stderr)
        return EXIT_USAGE
    print(f"grading {len(submissions)} submission(s), {jobs} at a time "
          f"[budget {config.budget}, seed {config.seed}] → {out}/", flush=True)
    results = []
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(runner.grade, runner.Job(s.resolve(), (out / s.name).resolve()), config): s
                   for s in submissions}
        for done, future in enumerate(as_completed(futures), start=1):
            r = future.result()
            results.append(r)
            note = "" if r.status.value == "graded" else f"  [{r.status.value}: {r.status_reason[:120]}]"
            print(f"[{done}/{len(submissions)}] {r.student}: {r.score:g} / {r.max_score:g} "
                  f"({r.duration:.0f} s){note}", flush=True)
    _render(out, results)
    faults = [r for r in results if r.status.value == "grader_fault"]
    return EXIT_GRADER_FAULT if faults else EXIT_OK


def _render(out: Path, results: list) -> None:
    from autograder import report

    report.render_all(out, results)
    print(f"reports: {out / 'index.html'}", flush=True)


def report_main(argv: list[str]) -> int:
    args = _report_parser().parse_args(argv)
    from autograder import exports

    files = sorted(args.dir.glob("*/results.json"))
    if not files:
        print(f"autograde report: error: no */results.json under {args.dir}", file=sys.stderr)
        return EXIT_USAGE
    _render(args.dir, [exports.read_results_json(f) for f in files])
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "report":
        return report_main(argv[1:])
    if argv and argv[0] == "grade":
        argv = argv[1:]
    return grade_main(argv)


if __name__ == "__main__":
    sys.exit(main())
