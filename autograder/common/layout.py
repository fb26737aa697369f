"""Which file of a student's folder is which module of the contract, and how its text is read.

The contract asks for ``problem1.py`` … ``problem5.py`` at the top of the folder, in UTF-8. Folders
arrive otherwise: the modules inside one subfolder (``hw3/problem1.py``, a zip unpacked by hand),
other spellings (``Problem4.py``, ``problem 4.py``, ``p4.py``, ``problem_4.py``, ``3-1.py``,
``problem3-1.py``), a file uploaded again (``problem5 (1).py``, ``problem5-1.py``), sources saved by
Korean Windows in CP949, or with a byte-order mark. These rules — the one place that decides it;
the judge stages every worker's copy by them, and a self-check can tell a student from them which
files the grader will find — read a folder as a TA would, and say every liberty they take.

**Where the code is.** The folder itself when it holds a candidate for a module (a file named
for a problem, or a notebook); otherwise the subfolder (up to `MAX_DEPTH` levels down, never
``__MACOSX``, hidden or cache folders) holding the most modules under their exact names, then the
most candidates, the shallowest, the first by name. The grader grades from there, as if the
student had run their scripts in it.

**Which file is a module.** Its exact name (``problem4.py``) wins. Otherwise the files whose stems
name the problem (`autograder.common.headings.read_file_stem`): the latest upload (the largest
``(N)`` or ``-N`` suffix) first, then the shortest name, then the first by name. Every choice that
is not the exact name, and every candidate passed over, is a `Note`.

**How a source is read** (`decode_source`): as Python itself reads it (UTF-8, or the encoding its
coding line declares); else, when those bytes are not valid, as UTF-8 with a byte-order mark,
UTF-16 (Windows Notepad's "Unicode"), then CP949 (EUC-KR and Korean Windows' extension of it).
The worker's copy holds the text re-encoded as UTF-8, its line numbers unchanged.

Pure functions of a listing and of bytes: nothing here runs student code.
"""

from __future__ import annotations

import codecs
import io
import os
import tokenize
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Iterable

from autograder.common.contract import BY_MODULE, PROBLEMS
from autograder.common.headings import read_file_stem
from autograder.common.text import safe_name

MAX_DEPTH = 2
"""Folder levels below the student's folder searched for the code (``hw3/``, ``hw3/hw3/``)."""
MAX_ENTRIES = 10_000
"""Files and folders of a student's folder looked at; the rest are not seen."""
SKIPPED_FOLDERS = frozenset({"__MACOSX", "__pycache__", ".ipynb_checkpoints", "node_modules", "site-packages"})
"""Folders never searched (nor any hidden one): archive metadata, caches, installed packages."""
ARCHIVES = (".zip", ".tar", ".tar.gz", ".tgz", ".7z", ".rar", ".egg", ".alz")
"""Kinds of file that hold the homework packed: the folder's reason says to unpack them."""
CONTRACT_FILES = {f"{p.module}.py": p.module for p in PROBLEMS}


@dataclass(frozen=True)
class Note:
    """A liberty the layout took, in words the TA and the student both read."""

    module: str
    """The contract module it concerns, or "" for the folder as a whole."""
    text: str


@dataclass
class Layout:
    """What a student's folder holds for the contract."""

    root: str
    """The folder the code is graded from, relative to the student's folder ("" for itself)."""
    modules: dict[str, str] = field(default_factory=dict)
    """Contract module → the file (relative to the student's folder) that is it."""
    notebooks: list[str] = field(default_factory=list)
    """The notebooks of ``root`` (relative paths), by name."""
    notes: list[Note] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    """Every file seen (relative paths, by name), for saying what a folder without code holds."""
    truncated: bool = False
    """More than `MAX_ENTRIES` entries: not every file was seen."""

    @property
    def has_code(self) -> bool:
        return bool(self.modules or self.notebooks)

    def no_code_reason(self) -> str:
        """Why nothing can be graded, naming what the folder holds (and how to unpack an archive)."""
        if not self.files:
            return "the folder is empty"
        shown = ", ".join(self.files[:8]) + (f", … ({len(self.files)} files)" if len(self.files) > 8 else "")
        reason = ("no module of the contract (problem1.py … problem5.py) and no notebook in the folder; "
                  f"it holds {shown}")
        if any(f.lower().endswith(ARCHIVES) for f in self.files):
            reason += " — unpack the archive with `autograde intake`, or unzip it into the folder"
        return reason


HOMEWORK_FOLDER_WORDS = ("hw", "homework", "assignment", "과제", "숙제", "lab")
"""Words of a folder name that say it holds the homework (``hw3/``, ``HW3_20163140/``, ``과제3/``)."""


def is_homework_folder(name: str) -> bool:
    """Whether a subfolder's name says it holds the homework (then its parent is the student's)."""
    return any(word in name.lower() for word in HOMEWORK_FOLDER_WORDS)


def shown(path: str) -> str:
    """A file name as the pages show it: a name that is not UTF-8 keeps its readable part, and a
    control or bidirectional character (U+202E: ``gpj.exe`` shown as ``exe.jpg``) shows escaped."""
    return safe_name(path)


def scan(folder: Path) -> tuple[list[str], bool]:
    """The regular files under ``folder`` (relative POSIX paths, links and skipped folders left
    out), at most `MAX_ENTRIES` of them; and whether the listing was cut."""
    found: list[str] = []
    seen = 0
    for root, dirs, files in os.walk(folder, followlinks=False):
        rel = Path(root).relative_to(folder)
        depth = len(rel.parts)
        dirs[:] = sorted(d for d in dirs if not _skipped(d) and depth < MAX_DEPTH
                         and not os.path.islink(os.path.join(root, d)))
        for name in sorted(files):
            seen += 1
            if seen > MAX_ENTRIES:
                return found, True
            path = os.path.join(root, name)
            if not os.path.islink(path) and os.path.isfile(path):
                found.append((rel / name).as_posix())
        seen += len(dirs)
    return found, False


def _skipped(name: str) -> bool:
    return name in SKIPPED_FOLDERS or name.startswith(".")


@dataclass(frozen=True)
class _Candidate:
    module: str
    path: str
    name: str
    exact: bool
    upload: int

    def rank(self) -> tuple[int, int, int, str]:
        return (0 if self.exact else 1, -self.upload, len(self.name), self.name)


def _candidates(files: list[str]) -> tuple[list[_Candidate], list[str], list[tuple[str, str]]]:
    """The module candidates among one folder's files, its notebooks, and its near misses (file, module)."""
    candidates: list[_Candidate] = []
    notebooks: list[str] = []
    near: list[tuple[str, str]] = []
    for path in files:
        name = path.rpartition("/")[2]
        stem, dot, suffix = name.rpartition(".")
        if not dot or not stem:
            continue
        if suffix.lower() == "ipynb":
            notebooks.append(path)
            continue
        if suffix.lower() != "py":
            continue
        if name in CONTRACT_FILES:
            candidates.append(_Candidate(CONTRACT_FILES[name], path, name, True, 0))
            continue
        reading = read_file_stem(stem)
        module = reading.ref.module if reading else None
        if reading is None or module is None:
            continue
        if module == "problem3":
            near.append((path, module))
        elif not reading.named:
            near.append((path, module))
        else:
            candidates.append(_Candidate(module, path, name, False, reading.upload))
    return candidates, sorted(notebooks), near


def _folders(files: list[str]) -> list[str]:
    """Every folder holding a listed file (and the top), by depth then name."""
    out = {""}
    for path in files:
        parent = path.rpartition("/")[0]
        while parent and parent not in out:
            out.add(parent)
            parent = parent.rpartition("/")[0]
    return sorted((f for f in out if f.count("/") < MAX_DEPTH), key=lambda f: (f.count("/") + bool(f), f))


def plan(files: Iterable[str], *, truncated: bool = False) -> Layout:
    """Read a student's folder from its listing (relative POSIX paths of its regular files)."""
    files = sorted(files)
    by_folder: dict[str, list[str]] = {}
    for path in files:
        by_folder.setdefault(path.rpartition("/")[0], []).append(path)
    per_folder = {f: _candidates(by_folder.get(f, [])) for f in _folders(files)}
    top = per_folder[""]
    root = ""
    if not (top[0] or top[1]):
        holding = [f for f, (c, nb, _) in per_folder.items() if c or nb]
        if holding:
            def score(f: str) -> tuple[int, int, int, str]:
                c, nb, _ = per_folder[f]
                return (-len({x.module for x in c if x.exact}), -(len({x.module for x in c}) + len(nb)),
                        f.count("/"), f)
            holding.sort(key=score)
            root = holding[0]
    candidates, notebooks, near = per_folder[root]
    layout = Layout(root=root, notebooks=notebooks, files=[shown(f) for f in files], truncated=truncated)
    if root:
        others = [f for f, (c, nb, _) in per_folder.items() if (c or nb) and f != root]
        also = f" (also holding code, not used: {', '.join(shown(f) + '/' for f in others[:5])})" if others else ""
        layout.notes.append(Note("", f"the code is in the subfolder {shown(root)}/, not at the top of the "
                                     f"folder: it was graded from there{also}"))
    by_module: dict[str, list[_Candidate]] = {}
    for c in candidates:
        by_module.setdefault(c.module, []).append(c)
    order = {p.module: i for i, p in enumerate(PROBLEMS)}
    for module in sorted(by_module, key=order.__getitem__):
        ranked = sorted(by_module[module], key=_Candidate.rank)
        chosen = ranked[0]
        layout.modules[module] = chosen.path
        if len(ranked) > 1:
            passed = ", ".join(shown(c.name) for c in ranked[1:])
            if chosen.exact:
                used = f"{module}.py was used (the contract's name)"
            else:
                why = ("the latest upload" if chosen.upload > max(c.upload for c in ranked[1:]) else
                       "the shortest name, then the first by name")
                used = f"{shown(chosen.name)} was used as {module}.py ({why})"
            layout.notes.append(Note(module, f"{used}; also found and not used: {passed}"))
        elif not chosen.exact:
            layout.notes.append(Note(module, f"{shown(chosen.name)} was read as {module}.py (the contract's "
                                             f"name for it is {module}.py)"))
    for path, module in near:
        name = shown(path.rpartition("/")[2])
        if module == "problem3" and not any(m.startswith("problem3_") for m in layout.modules):
            layout.notes.append(Note("", f"{name}: problem 3 is six modules, problem3_1.py … problem3_6.py, "
                                         "each with the piece its variation changes; it was not used"))
        elif module in BY_MODULE and module not in layout.modules:
            layout.notes.append(Note(module, f"{name} looks like {module}.py but has more in its name: not "
                                             f"used (name it {module}.py)"))
    return layout


def find(folder: Path) -> Layout:
    """`plan` of the folder as it is on disk."""
    files, truncated = scan(folder)
    layout = plan(files, truncated=truncated)
    if truncated:
        layout.notes.append(Note("", f"the folder holds over {MAX_ENTRIES:,} files and folders; only the "
                                     "first were looked at"))
    return layout


# -- text -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Decoded:
    """A source file's text as the worker's copy holds it."""

    data: bytes
    """The bytes to write: the original, or the text re-encoded as UTF-8."""
    encoding: str
    """How the original was read: ``utf-8``, the codec of its coding line, ``utf-8-sig``, ``utf-16``,
    ``cp949``; empty when it could not be read at all (``data`` is then the original)."""
    note: str = ""
    """What was done, for the remark ("" when Python reads the file as it is)."""


def decode_source(name: str, data: bytes) -> Decoded:
    """How ``data`` (the file ``name``) becomes text the worker's Python reads (see the module)."""
    declared = _declared_encoding(data)
    if declared is not None and declared != "utf-8-sig":
        try:
            data.decode(declared)
            return Decoded(data, declared)
        except (UnicodeDecodeError, LookupError):
            pass
    if data.startswith(codecs.BOM_UTF8):
        text = _try(data[len(codecs.BOM_UTF8):], "utf-8")
        if text is not None:
            return Decoded(_utf8(text), "utf-8-sig",
                           f"{shown(name)} starts with a byte-order mark; it was read as UTF-8")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = _try(data, "utf-16")
        if text is not None:
            return Decoded(_utf8(text), "utf-16",
                           f"{shown(name)} is saved as UTF-16 (\"Unicode\"); it was read as such — save it as UTF-8")
    text = _try(data, "cp949")
    if text is not None:
        return Decoded(_utf8(text), "cp949",
                       f"{shown(name)} is not UTF-8: it was read as CP949 (EUC-KR, as Korean Windows saves "
                       "files) — save it as UTF-8")
    return Decoded(data, "", f"{shown(name)} is neither UTF-8 nor CP949 text: Python cannot read it — save it "
                             "as UTF-8")


def _declared_encoding(data: bytes) -> str | None:
    """The encoding Python itself would read ``data`` with (UTF-8 unless a coding line says
    otherwise), or None when that declaration is not one Python accepts."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data[:4096]).readline)
    except SyntaxError:
        return None
    return encoding


def _try(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _utf8(text: str) -> bytes:
    """``text`` as UTF-8, a coding line that names another encoding replaced (same line count)."""
    text = text.lstrip("\ufeff")
    lines = text.split("\n", 2)
    for i in range(min(2, len(lines))):
        line = lines[i]
        lowered = line.lower()
        if line.lstrip().startswith("#") and "coding" in lowered and "utf-8" not in lowered and "utf8" not in lowered:
            lines[i] = "# (coding line replaced by the grader: the file is read as UTF-8)"
    return "\n".join(lines).encode("utf-8")
