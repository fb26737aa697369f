"""The `autograde` command: grade submission folders and write results and reports.

    autograde SUBMISSION_DIR... [--out DIR] [--jobs N] [--device auto|cpu|cuda] [--data PATH]
              [--budget adaptive|quick|standard|full] [--seed N] [...]
    autograde report DIR            re-render the HTML reports from existing results, merge the
                                    manual points (DIR/manual.csv or --manual FILE), write the
                                    students' feedback.html (--published once grades are released)
                                    and the Canvas / Moodle gradebooks (--canvas FILE, --moodle FILE)
    autograde merge DIR... --out D  combine the outputs of shards into one class report
    autograde summary DIR           print the grades under DIR as a Markdown table
                                    (``--fail-under POINTS`` turns a low grade into exit status 3)
    autograde intake ARCHIVE --out DIR [--roster CSV]
                                    lay out an LMS's bulk download, one folder per student
    autograde similarity DIR...     pairs of students whose code for a problem is unusually alike
                                    (prints them; writes similarity.html)

Every command reads the class's manual points through `manual.class_results`. The exit statuses
of a grading run are the table of `exit_status`.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from autograder import __version__
from autograder.common import config as cfg
from autograder.common.results import SubmissionResult
from autograder.orchestrator import class_run, exit_status, manual
from autograder.orchestrator import roster
from autograder.orchestrator.class_run import EXIT_OK, EXIT_USAGE
from autograder.orchestrator.discovery import find_submissions

if TYPE_CHECKING:
    from autograder.orchestrator import gradebooks

SUBCOMMANDS: dict[str, str] = {
    "grade": "grade submission folders (the default: `autograde DIR...` is `autograde grade DIR...`)",
    "report": "re-render the pages from existing results, merge manual.csv, write the students' pages "
              "and the Canvas / Moodle gradebooks",
    "merge": "combine the --out folders of shards into one class report",
    "summary": "print the grades under DIR as a Markdown table (a CI job summary)",
    "intake": "lay out an LMS's bulk download as one folder per student",
    "similarity": "find pairs of students whose code for a problem is unusually alike",
}
"""Every subcommand and what it does: `autograde --help` lists them all."""
DEFAULT_OUT = Path("reports")
FAIL_UNDER_HELP = ("exit with status 3 when a grade is below POINTS: its points so far out of the "
                   "assignment's 100 (the same number as a percentage; the written answers count once "
                   "manual.csv scores them, and a grade that is not final is compared as it stands)")



def _grade_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="autograde",
        description="Grade hw3 submissions: each folder is graded by the graded pytest suites in a "
                    "judge process, with the student's code confined to a sandboxed worker. Writes "
                    "results.json (Gradescope format), junit.xml and report.html per student, and "
                    "index.html and grades.csv for the class, under --out.",
        epilog="Commands: " + "; ".join(f"`autograde {name}`: {what}" for name, what in SUBCOMMANDS.items())
               + " (each has its own --help). " + exit_status.help_text(),
    )
    p.add_argument("submissions", nargs="+", metavar="SUBMISSION_DIR", type=Path,
                   help="a student's folder (problem1.py … problem5.py), or a folder of such folders")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="where results and reports are written (default: reports/); never inside a "
                        "submission folder, nor inside a class folder unless it is the default")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="submissions graded at a time (default: the number of CPU cores, a quarter "
                        "of them sharing the GPU with --device cuda, fewer when memory is short)")
    p.add_argument("--device", choices=cfg.DEVICES, default=None, help=cfg.HELP["device"])
    p.add_argument("--data", default=None, metavar="PATH", help=cfg.HELP["data"])
    p.add_argument("--budget", choices=cfg.BUDGETS, default=None, help=cfg.HELP["budget"])
    p.add_argument("--seed", type=int, default=None, metavar="N", help=cfg.HELP["seed"])
    p.add_argument("--sandbox", choices=cfg.SANDBOXES, default=None, help=cfg.HELP["sandbox"])
    p.add_argument("--train-workers", type=int, default=None, metavar="N", help=cfg.HELP["train_workers"])
    p.add_argument("--problems", default=None, metavar="LIST",
                   help="grade only these problems, comma-separated: 1, 2, 3 (all six variations), "
                        "3-2 (also 3-(2), 3.2, 3_2, problem3_2), 4, 5 (default: all)")
    p.add_argument("--force", action="store_true",
                   help="regrade submissions whose earlier results are still valid (default: skip them)")
    p.add_argument("--shard", default=None, metavar="K/N",
                   help="grade only the K-th of N deterministic slices of the submissions "
                        "(combine the outputs with `autograde merge`)")
    p.add_argument("--changed-since", default=None, metavar="GIT_REF",
                   help="grade only the submission folders with files changed since GIT_REF "
                        "(all of them when the ref is unknown)")
    p.add_argument("--fail-under", type=float, default=None, metavar="POINTS", help=FAIL_UNDER_HELP)
    p.add_argument("--roster", type=Path, default=None, metavar="CSV",
                   help="the class roster (columns student_id, name, lms_id): students without a "
                        "submission folder are listed as not submitted, folders not on it are flagged")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return p


def grade_main(argv: list[str]) -> int:
    args = _grade_parser().parse_args(argv)
    options = {"seed": args.seed, "budget": args.budget, "device": args.device, "data": args.data,
               "sandbox": args.sandbox, "train_workers": args.train_workers}
    out = args.out if args.out is not None else DEFAULT_OUT
    try:
        planned = class_run.plan(args.submissions, options=options, out=out, jobs=args.jobs,
                                 problems=args.problems, shard=args.shard, changed=args.changed_since,
                                 force=args.force, fail_under=args.fail_under, roster_file=args.roster,
                                 out_given=args.out is not None)
    except class_run.UsageError as exc:
        print(f"autograde: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    status = class_run.run(planned)
    if any(out.glob("*/results.json")):  # after a stop too: the pages of what finished
        try:
            _render(out)
        except manual.ManualPointsError as exc:
            print(f"autograde: error: {exc}; the results are kept: mend the file, then run "
                  f"`autograde report {out}`", file=sys.stderr)
            return status if status >= exit_status.SIGNAL_BASE else EXIT_USAGE
    return status


def _render(out: Path, *, published: bool = False, manual_file: Path | None = None) -> list[SubmissionResult]:
    """Render the class from every result under ``out`` (earlier runs' students included), with the
    manual points merged in (`manual.class_results`: ManualPointsError when the file cannot be used,
    and nothing is rendered then)."""
    from autograder.orchestrator.report import render

    results = manual.class_results(out, manual_file)
    render.render_all(out, results, published=published)
    print(f"reports: {out / 'index.html'}", flush=True)
    return results


def _report_parser() -> argparse.ArgumentParser:
    from autograder.orchestrator import gradebooks

    p = argparse.ArgumentParser(
        prog="autograde report",
        description="Re-render report.html, index.html and grades.csv from the results.json files "
                    "under DIR, without regrading; merge the manual points; write each student's "
                    "feedback.html and feedback.json (what the student may see); optionally write "
                    "gradebook files for Canvas and Moodle.",
        epilog="Exit status: 0 when the reports were written (students whose grade is not final are "
               "left out of the gradebooks, with a warning); 2 for a usage error, a manual point or "
               "roster file that cannot be used.")
    p.add_argument("dir", type=Path, metavar="DIR", help="an --out folder of an earlier run")
    p.add_argument("--manual", type=Path, default=None, metavar="FILE",
                   help="the class's manual point file: CSV with columns student, problem, points, "
                        "comment (default: DIR/manual.csv when it exists)")
    p.add_argument("--published", action="store_true",
                   help="the grades are released: the students' pages show checks marked "
                        "after_published, the points of hidden checks and the manual points")
    p.add_argument("--canvas", type=Path, default=None, metavar="FILE",
                   help="write Canvas's gradebook import CSV (final grades out of 100) to FILE")
    p.add_argument("--moodle", type=Path, default=None, metavar="FILE",
                   help="write Moodle's grade import CSV (final grades out of 100, with feedback) to FILE")
    p.add_argument("--column", default=gradebooks.DEFAULT_COLUMN, metavar="NAME",
                   help="the grade column's name in the gradebooks: the LMS's assignment or grade "
                        "item, e.g. 'hw3 (12345)' for Canvas assignment 12345 (default: %(default)s)")
    p.add_argument("--lms-roster", type=Path, default=None, metavar="FILE",
                   help="a CSV of the LMS's students (a gradebook export of the course will do) whose "
                        "'SIS User ID', 'ID number' or 'student' column holds the folder names; its "
                        "ids, names and sections go into the gradebooks (default: the folder name is "
                        "the SIS User ID / ID number)")
    return p


def _warn_left_out(path: Path, export: "gradebooks.GradebookExport") -> None:
    if export.left_out:
        print(f"autograde report: warning: {path.name}: {len(export.left_out)} student(s) left out — "
              "their grades are not final:", file=sys.stderr)
        for student, reasons in export.left_out.items():
            print(f"  {student}: {'; '.join(reasons)}", file=sys.stderr)
    if export.not_submitted:
        print(f"autograde report: warning: {path.name}: in the roster without results: "
              f"{', '.join(export.not_submitted)}", file=sys.stderr)


def report_main(argv: list[str]) -> int:
    from autograder.orchestrator import gradebooks

    args = _report_parser().parse_args(argv)
    if not list(args.dir.glob("*/results.json")):
        print(f"autograde report: error: no */results.json under {args.dir}", file=sys.stderr)
        return EXIT_USAGE
    if not args.column.strip():
        print("autograde report: error: --column needs a name", file=sys.stderr)
        return EXIT_USAGE
    try:
        roster = gradebooks.read_roster(args.lms_roster) if args.lms_roster else None
        results = _render(args.dir, published=args.published, manual_file=args.manual)
    except (manual.ManualPointsError, gradebooks.RosterError) as exc:
        print(f"autograde report: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for path, make in ((args.canvas, gradebooks.canvas), (args.moodle, gradebooks.moodle)):
        if path is not None:
            export = make(results, column=args.column.strip(), roster=roster)
            gradebooks.write(export, path)
            print(f"{path}: {len(export.final)} final grade(s) out of {gradebooks.ASSIGNMENT_POINTS:g}", flush=True)
            _warn_left_out(path, export)
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
    try:
        _render(args.out)
    except manual.ManualPointsError as exc:
        print(f"autograde merge: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _summary_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="autograde summary",
                                description="Print the grades under DIR (out of 100, with the manual "
                                            "points of DIR/manual.csv and what is pending) as a Markdown "
                                            "table, for a CI job summary.",
                                epilog="Exit status: 0; 2 for a usage error or a manual point file that "
                                       "cannot be used; 3 when a grade is below --fail-under.")
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("--manual", type=Path, default=None, metavar="FILE",
                   help="the class's manual point file (default: DIR/manual.csv when it exists)")
    p.add_argument("--fail-under", type=float, default=None, metavar="POINTS", help=FAIL_UNDER_HELP)
    return p


def summary_main(argv: list[str]) -> int:
    from autograder.orchestrator.exports import markdown_summary

    args = _summary_parser().parse_args(argv)
    if not any(args.dir.glob("*/results.json")):
        print(f"autograde summary: error: no */results.json under {args.dir}", file=sys.stderr)
        return EXIT_USAGE
    try:
        results = manual.class_results(args.dir, args.manual)
    except manual.ManualPointsError as exc:
        print(f"autograde summary: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(markdown_summary(results))
    return class_run.below(results, args.fail_under)


def _intake_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="autograde intake",
        description="Lay out an LMS's bulk download of a class's submissions (Canvas's "
                    "'Download Submissions' or Moodle's 'Download all submissions' zip) as one "
                    "folder per student under --out, ready for `autograde DIR`. Unsafe members "
                    "(absolute paths, '..', links, devices, oversized files, zip bombs) are refused "
                    "with a message; nothing is written outside --out.",
        epilog="Exit status: 0 when every member was placed; 1 when some were refused (listed); "
               "2 for a usage error or an archive that cannot be used at all.")
    p.add_argument("archive", type=Path, metavar="ARCHIVE", help="the LMS's zip")
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="where the students' folders go (e.g. submissions/)")
    p.add_argument("--roster", type=Path, default=None, metavar="CSV",
                   help="maps LMS ids or names to student ids (columns student_id, name, lms_id); "
                        "without it, folders are named canvas-USERID / moodle-ID")
    return p


def intake_main(argv: list[str]) -> int:
    args = _intake_parser().parse_args(argv)
    from autograder.orchestrator import intake

    try:
        class_roster = roster.load(args.roster) if args.roster else None
        report = intake.intake(args.archive, args.out, class_roster)
    except (roster.RosterError, intake.IntakeError) as exc:
        print(f"autograde intake: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for folder, s in sorted(report.students.items()):
        flags = (" LATE" if s.late else "") + ("" if s.on_roster or class_roster is None else " NOT ON ROSTER")
        print(f"{folder}: {len(s.files)} file(s) from {s.lms} ({s.lms_name}, id {s.lms_id}){flags}")
        for note in s.notes:
            print(f"    {note}")
    for r in report.refused:
        print(f"refused: {r.member!r}: {r.reason}", file=sys.stderr)
    print(f"{len(report.students)} student folder(s) under {args.out}; {len(report.refused)} member(s) "
          f"refused; {len(report.skipped)} skipped (folders, OS metadata)", flush=True)
    return intake.EXIT_REFUSED if report.refused else EXIT_OK


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
            raise ValueError(f"--threshold {args.threshold:g}: expected a number above 0, at most 1")
        if args.min_shared < 1:
            raise ValueError(f"--min-shared {args.min_shared}: expected at least 1")
        submissions, _ = find_submissions(args.dirs)
        names = [s.name for s in submissions]
        if len(set(names)) != len(names):
            raise ValueError("two submission folders share a name")
        if len(submissions) < 2:
            raise ValueError("needs at least two submissions to compare")
        settings = similarity.Settings(threshold=args.threshold, min_shared=args.min_shared)
        report = similarity.check([(s.name, s) for s in submissions], args.starter, settings)
    except (ValueError, FileNotFoundError) as exc:  # NoSubmissions is a ValueError
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
                "summary": summary_main, "intake": intake_main,
                "similarity": similarity_main}[command](rest)
    return grade_main(argv)


if __name__ == "__main__":
    sys.exit(main())
