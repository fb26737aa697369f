"""Which folders are students: a submission folder itself, or a class folder of them.

A class folder as instructors really have it holds more than students: macOS's ``__MACOSX``
from an unzipped archive, hidden folders (``.git``), the output folder of an earlier run, folders
holding no Python at all. Those are not graded (and so never show as "ungradable" students);
they are listed once, with why (`Skipped`). An output folder is never graded, and ``--out`` may
not lie where it would be (`check_output_folder`).
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from autograder.common.contract import PROBLEMS

SOURCE_SUFFIXES = (".py", ".ipynb")
"""A folder with no file of these kinds anywhere in it is not a submission."""
MAX_FILES_LOOKED_AT = 10_000


class NoSubmissions(ValueError):
    """A path that is not a folder, or a class folder with no submission in it (a usage error)."""


@dataclass(frozen=True)
class Skipped:
    folder: Path
    why: str


def _holds_source(folder: Path) -> bool:
    for i, path in enumerate(folder.rglob("*")):
        if i >= MAX_FILES_LOOKED_AT:
            return False
        if path.suffix in SOURCE_SUFFIXES and path.is_file() and not path.is_symlink():
            return True
    return False


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
    if not _holds_source(folder):
        return "holds no .py or .ipynb file"
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


def find_submissions(paths: list[Path], out: Path | None = None) -> tuple[list[Path], list[Skipped]]:
    """Expand each path: a submission folder itself (it holds a module of the contract or a
    notebook), or a class folder whose subfolders are submissions. Returns the submissions and the
    folders skipped."""
    modules = {f"{p.module}.py" for p in PROBLEMS}
    found: list[Path] = []
    skipped: list[Skipped] = []
    for path in paths:
        if not path.is_dir():
            raise NoSubmissions(f"{path}: not a folder")
        if any((path / m).is_file() for m in modules) or any(path.glob("*.ipynb")):
            found.append(path)  # a student's folder: the contract's modules, or a notebook
            continue
        students = []
        for folder in sorted(d for d in path.iterdir() if d.is_dir() and not d.is_symlink()):
            why = _not_a_student(folder, out)
            if why:
                skipped.append(Skipped(folder, why))
            else:
                students.append(folder)
        if not students and _holds_source(path):
            students = [path]  # a student's folder whose files are misnamed: graded, and says so
        if not students:
            raise NoSubmissions(f"{path}: no submission in it (a student's folder holds problem1.py … "
                                "problem5.py, or a notebook)")
        found += students
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
