"""Which files of a submission folder the grading did not use, for the student's pages.

A folder holds more than the homework: an older upload beside the new one (``hw3/problem1.py``
under a top-level ``problem1.py``), a misnamed module (``Problem1.py``, ``hw3_4.py``), data files.
The grading reads the contract's modules where the layout rules find them
(`autograder.common.layout`: another spelling, the one subfolder holding the code), the notebooks
the judge converted (`SubmissionResult.notebook`), ``report.md``, and whatever those modules import
from the folder they are in; everything else is listed, so that a TA or a student sees at once
that a file was not graded. The imports are found with ``ast`` (never by running anything): a
module or package at the top of the folder that a used module names in ``import x`` or
``from x import …``, followed from module to module.
"""

from __future__ import annotations

import ast
from pathlib import Path

from autograder.common import layout
from autograder.common.contract import REPORT_FILE
from autograder.common.results import SubmissionResult

METADATA = frozenset({"__pycache__", "__MACOSX", "Thumbs.db", "desktop.ini"})
"""Names of operating-system and tool metadata (and every hidden name, ``.git``, ``.DS_Store``):
never the student's work, never listed."""
MAX_LISTED = 200
"""At most this many files are looked at and listed (a folder of thousands of data files)."""
MAX_SOURCE_BYTES = 2_000_000
"""A module larger than this is not parsed for its imports."""


def _files(folder: Path) -> list[Path]:
    out: list[Path] = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part in METADATA or part.startswith(".") for part in rel.parts) or path.is_symlink() \
                or not path.is_file():
            continue
        out.append(rel)
        if len(out) > MAX_LISTED:
            break
    return out


def _imports(source: str | bytes) -> set[str]:
    """The top-level names ``source`` imports (absolute imports only: the folder is on sys.path)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes() if path.stat().st_size <= MAX_SOURCE_BYTES else b""
    except OSError:
        return b""


def _module_files(folder: Path, name: str) -> list[Path]:
    """The files of the folder that ``import name`` would load: ``name.py``, or the package ``name/``."""
    if (folder / f"{name}.py").is_file():
        return [Path(f"{name}.py")]
    package = folder / name
    if package.is_dir() and not package.is_symlink():
        return [p.relative_to(folder) for p in sorted(package.rglob("*.py")) if p.is_file()]
    return []


def unused(folder: Path, result: SubmissionResult) -> list[str]:
    """The files of ``folder`` (relative, ``/``-separated) the grading of ``result`` did not read."""
    if not folder.is_dir():
        return []
    found = layout.find(folder)
    root = Path(found.root)
    used = {Path(path) for path in found.modules.values()}
    used |= {Path(REPORT_FILE)} if (folder / REPORT_FILE).is_file() else set()
    if result.notebook is not None:
        used |= {root / name for name in result.notebook.notebooks}
    sources: list[str | bytes] = [m.source for m in result.notebook.modules] if result.notebook else []
    sources += [_read(folder / p) for p in used if p.suffix == ".py"]
    while sources:
        for name in sorted(_imports(sources.pop())):
            for rel in _module_files(folder / root, name):
                if root / rel not in used:
                    used.add(root / rel)
                    sources.append(_read(folder / root / rel))
    files = _files(folder)
    listed = [layout.shown(rel.as_posix()) for rel in files[:MAX_LISTED] if rel not in used]
    if len(files) > MAX_LISTED:
        listed.append(f"… (more than {MAX_LISTED} files in the folder)")
    return listed
