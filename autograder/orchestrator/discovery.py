"""Which folders are students: a submission folder itself, or a class folder of them.

A class folder as instructors really have it holds more than students: macOS's ``__MACOSX``
from an unzipped archive, hidden folders (``.git``), the output folder of an earlier run. Those
are not graded (and so never show as "ungradable" students); they are listed once, with why
(`Skipped`). An output folder is never graded, and ``--out`` may not lie where it would be
(`check_output_folder`). Every other folder is a student's, even one holding no code at all (an
empty folder, only ``report.pdf`` or ``hw3.zip``): it is graded 0 with what it holds, never left
out.

A path given is one student's folder when the code is at its top (`autograder.common.layout`),
when it has no subfolder, or when its one subfolder is named for the homework (``hw3/``) and holds
the code; otherwise its subfolders are the students.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from autograder.common import layout


class NoSubmissions(ValueError):
    """A path that is not a folder, or a class folder with no submission in it (a usage error)."""


@dataclass(frozen=True)
class Skipped:
    folder: Path
    why: str


def _not_a_student(folder: Path, out: Path | None) -> str:
    """Why ``folder`` of a class folder is not a student's, or ""."""
    if folder.name == "__MACOSX":
        return "macOS archive metadata"
    if folder.name.startswith("."):
        return "a hidden folder"
    if folder.name == "__pycache__":
        return "Python's bytecode cache"
    if out is not None and folder.resolve() == out.resolve():
        return "the output folder of this run"
    if is_grading_output(folder):
        return "grading output, not a submission"
    return ""


def is_grading_output(folder: Path) -> bool:
    """Whether ``folder`` is what a grading wrote: a student's results, or a run's output folder
    (its class page and grades, or students' results one level down)."""
    if (folder / "results.json").is_file() or (folder / "cache-key").is_file():
        return True
    if (folder / "index.html").is_file() and (folder / "grades.csv").is_file():
        return True
    return any(True for _ in folder.glob("*/results.json"))


class OutputInsideSubmissions(ValueError):
    """``--out`` where results would be graded as a student's files (a usage error)."""


def check_output_folder(paths: list[Path], found: list[Path], out: Path, *, default: bool) -> None:
    """OutputInsideSubmissions when ``out`` lies in a submission folder being graded (the results
    would be written into the student's code and hashed with it, so every run would regrade), is a
    class folder given (each student's results would land in their own folder), or lies inside one
    — unless it is the default output folder, which is then skipped like any other output."""
    where = out.resolve()
    for folder in found:
        inside = folder.resolve()
        if where == inside or where.is_relative_to(inside):
            raise OutputInsideSubmissions(
                f"--out {out}: inside the submission folder {folder}, whose files are graded; write the "
                "results outside the submissions (e.g. --out reports)")
    for path in paths:
        if path in found:
            continue
        course = path.resolve()
        if where == course:
            raise OutputInsideSubmissions(
                f"--out {out}: that is the class folder {path} itself: each student's results would be "
                "written into their code folder; write them elsewhere (e.g. --out reports)")
        if where.is_relative_to(course) and not default:
            raise OutputInsideSubmissions(
                f"--out {out}: inside the class folder {path}; write the results outside it "
                "(e.g. --out reports)")


def _subfolders(path: Path) -> list[Path]:
    return sorted(d for d in path.iterdir() if d.is_dir() and not d.is_symlink())


def is_student_folder(path: Path, out: Path | None = None) -> bool:
    """Whether ``path`` is one student's folder rather than a class folder (see the module)."""
    found = layout.find(path)
    if found.has_code and not found.root:
        return True
    subs = [d for d in _subfolders(path) if not _not_a_student(d, out)]
    if not subs:
        return True
    return (len(subs) == 1 and layout.is_homework_folder(subs[0].name) and found.has_code
            and found.root.split("/")[0] == subs[0].name)


def find_submissions(paths: list[Path], out: Path | None = None) -> tuple[list[Path], list[Skipped]]:
    """Expand each path: a submission folder itself, or a class folder whose subfolders are
    submissions (see the module). Returns the submissions and the folders skipped."""
    found: list[Path] = []
    skipped: list[Skipped] = []
    for path in paths:
        if not path.is_dir():
            raise NoSubmissions(f"{path}: not a folder")
        if is_student_folder(path, out):
            found.append(path)
            continue
        for folder in _subfolders(path):
            why = _not_a_student(folder, out)
            if why:
                skipped.append(Skipped(folder, why))
            else:
                found.append(folder)
    return found, skipped


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
