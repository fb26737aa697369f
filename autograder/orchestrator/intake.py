"""LMS intake: an LMS's bulk download of a class's files → one submission folder per student.

``autograde intake ARCHIVE --out submissions/ [--roster roster.csv]`` reads the zip an LMS gives
a TA and lays out ``submissions/<student id>/``:

* **Canvas** ("Download Submissions"): flat files named ``lastfirst_USERID_ATTACHMENTID_file``,
  ``lastfirst_LATE_USERID_ATTACHMENTID_file`` for late ones. Canvas renames a file uploaded again
  in a later attempt ``problem2-1.py``; such a contract module gets its name back.
* **Moodle** ("Download all submissions"): ``Full Name_PARTICIPANTID_assignsubmission_file_`` then
  the student's file name (flat) or ``/`` and their path (in folders).

The roster (see `autograder.orchestrator.roster`) maps the LMS's id or name to the student id that
names the folder; without one, or for a student not on it, the folder is ``canvas-USERID`` or
``moodle-PARTICIPANTID`` (grading with the roster then flags it). A zip the student uploaded
(``hw3.zip``) is unpacked into their folder under the same rules, and a folder holding nothing but
one subfolder with the homework (``hw3/problem1.py``) is flattened.

The archive is hostile: members with an absolute path, ``..``, a link or a device, an encrypted
member, a file over the size bound or with an absurd compression ratio, a name holding a control or
bidirectional character (U+202E shows ``gpj.exe`` as ``exe.jpg``) are refused one by one with a
message; an archive whose members or total uncompressed size exceed the bounds, or whose members
overlap (a zip bomb's trick), is refused whole. Each student has bounds of their own as well
(`Limits.student_bytes`, `Limits.student_files`), which a zip they uploaded counts against: one
upload can never use up what the archive leaves for another student's files. Every file is written with ``O_EXCL |
O_NOFOLLOW`` into a folder whose resolved path is checked to lie under ``--out``, never over an
existing file, and its size is counted while it is written (declared sizes can lie). Only the
standard library's zipfile reads the archive, member by member — never ``extractall``.

Run again on a later download, intake never mixes two uploads: a student's folder from the earlier
intake is moved aside whole to ``--out/.replaced/<folder>/<time>/`` (named in the student's notes)
before the newest upload is laid out, so the folder holds that upload alone.
"""

from __future__ import annotations

import io
import os
import re
import stat
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Iterator

from autograder.common.contract import PROBLEMS
from autograder.common.text import has_unsafe_name_chars, safe_name
from autograder.orchestrator.roster import Roster


@dataclass(frozen=True)
class Limits:
    """The bounds an archive must keep, and each student's files within it (a zip a student uploaded
    counts against that student's bounds, never another's)."""

    member_bytes: int = 64 * 2**20
    """Largest file (uncompressed)."""
    total_bytes: int = 2 * 2**30
    """All the archive's files together (uncompressed, as declared: checked before anything is written)."""
    members: int = 20_000
    student_bytes: int = 512 * 2**20
    """One student's files together (uncompressed, as written), their uploaded zips' contents included."""
    student_files: int = 5_000
    """Files one student's folder may hold."""
    ratio: float = 100.0
    """Largest compression ratio (uncompressed / compressed) of a file over `ratio_floor` bytes."""
    ratio_floor: int = 2**20
    name_chars: int = 400


EXIT_REFUSED = 1
"""`autograde intake`'s exit status when some archive members were refused (the rest was laid out)."""
JUNK = re.compile(r"(^|/)(__MACOSX|\.ipynb_checkpoints|__pycache__)(/|$)|(^|/)(\.DS_Store|Thumbs\.db|desktop\.ini)$")
CANVAS = re.compile(r"(?P<name>[^/]+?)_(?:(?P<late>LATE)_)?(?P<id>\d+)_(?P<attachment>\d+)_(?P<file>[^/]+)")
MOODLE = re.compile(r"(?P<name>[^/]+?)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+)_?/?(?P<file>.*)", re.S)
CANVAS_RENAMED = re.compile(r"(?P<stem>.+)-\d+(?P<ext>\.[^.]+)")
HOMEWORK = {f"{p.module}.py" for p in PROBLEMS}


@dataclass
class Refused:
    member: str
    """The member's name as in the archive (inner zip: ``outer.zip!inner/path``), control and
    bidirectional characters escaped (`text.safe_name`)."""
    reason: str

    def __post_init__(self) -> None:
        self.member = safe_name(self.member)


@dataclass
class StudentFiles:
    folder: str
    """The submission folder's name under --out (a student id, or ``canvas-ID``/``moodle-ID``)."""
    lms: str
    lms_name: str
    lms_id: str
    on_roster: bool
    late: bool = False
    files: list[str] = field(default_factory=list)
    """Paths written, relative to the student's folder."""
    notes: list[str] = field(default_factory=list)
    bytes_written: int = 0
    """What the student's files take so far (against `Limits.student_bytes`)."""


@dataclass
class IntakeReport:
    students: dict[str, StudentFiles] = field(default_factory=dict)
    refused: list[Refused] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Members left out on purpose: folders, macOS/Windows metadata, notebook checkpoints."""


class IntakeError(Exception):
    """The archive as a whole cannot be used (not a zip, over the bounds, overlapping members)."""


# -- member names -------------------------------------------------------------------------------
def member_name(info: zipfile.ZipInfo) -> str:
    """The member's name, decoded: zip tools on Korean Windows write CP949 without the UTF-8 flag,
    which zipfile reads as CP437."""
    name = info.filename
    if info.flag_bits & 0x800:
        return name
    try:
        raw = name.encode("cp437")
    except UnicodeEncodeError:
        return name
    for encoding in ("utf-8", "cp949"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return name


def safe_parts(name: str, limits: Limits) -> tuple[str, ...] | str:
    """The path's parts, or why the name is refused (absolute, ``..``, drive, control characters)."""
    if len(name) > limits.name_chars:
        return f"name longer than {limits.name_chars} characters"
    if has_unsafe_name_chars(name):
        return "control or bidirectional character in the name (it would show as another name)"
    if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name):
        return "absolute path"
    parts = tuple(p for p in re.split(r"[/\\]", name) if p not in ("", "."))
    if ".." in parts:
        return "'..' in the path (it would write outside the folder)"
    if not parts:
        return "empty name"
    return parts


def _kind(info: zipfile.ZipInfo) -> str | None:
    """Why a member is not a plain file (link, device, encrypted), or None."""
    if info.flag_bits & 0x1:
        return "encrypted"
    mode = info.external_attr >> 16
    if info.create_system == 3 and stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
        for test, what in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISCHR, "a character device"),
                           (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"),
                           (stat.S_ISSOCK, "a socket")):
            if test(mode):
                return what
        return "not a regular file"
    return None


def _check_archive(zf: zipfile.ZipFile, label: str, members: int, bytes_left: int, bound: str) -> None:
    """IntakeError when the archive as a whole is over the bounds (``members``, ``bytes_left`` of
    what ``bound`` names) or its members overlap."""
    infos = zf.infolist()
    if len(infos) > members:
        raise IntakeError(f"{label}: {len(infos):,} members, over the bound of {members:,}")
    declared = sum(i.file_size for i in infos)
    if declared > bytes_left:
        raise IntakeError(f"{label}: {declared:,} bytes uncompressed, over what is left of {bound}")
    offsets = sorted((i.header_offset, i.compress_size) for i in infos if not i.is_dir())
    for (a, size), (b, _) in zip(offsets, offsets[1:]):
        if b < a + size or b == a:
            raise IntakeError(f"{label}: members overlap in the archive (a zip bomb's trick); refused whole")


# -- writing ------------------------------------------------------------------------------------
def _chunks(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> Iterator[bytes]:
    """The member's bytes, refusing (ValueError) past ``limit`` whatever its header declares."""
    seen = 0
    with zf.open(info) as stream:
        while chunk := stream.read(1 << 16):
            seen += len(chunk)
            if seen > limit:
                raise ValueError(f"larger than declared or than the bound of {limit:,} bytes")
            yield chunk


def _write(out: Path, rel: PurePosixPath, chunks: Iterator[bytes]) -> int:
    """Write a new file at ``out/rel`` (refusing an existing one and any path that resolves outside
    ``out``); returns its size. Partial files are removed."""
    root = out.resolve()
    target = root.joinpath(*rel.parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.parent.resolve().is_relative_to(root):
        raise ValueError("its folder resolves outside --out")
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    size = 0
    try:
        with os.fdopen(fd, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
                size += len(chunk)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return size


# -- the LMS layouts ----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Owner:
    lms: str
    name: str
    id: str
    late: bool
    path: tuple[str, ...]
    """The student's own path of the file."""


def parse_lms_name(parts: tuple[str, ...]) -> _Owner | None:
    """Whose file a member is, by the Moodle or Canvas naming of bulk downloads."""
    joined = "/".join(parts)
    if m := MOODLE.fullmatch(joined):
        rest = tuple(p for p in m["file"].split("/") if p)
        if m["plugin"] == "onlinetext" and not rest:
            rest = ("onlinetext.html",)
        return _Owner("moodle", m["name"], m["id"], False, rest) if rest else None
    if len(parts) == 1 and (m := CANVAS.fullmatch(parts[0])):
        return _Owner("canvas", m["name"], m["id"], bool(m["late"]), (m["file"],))
    return None


def _canvas_original(path: tuple[str, ...], taken: set[str]) -> tuple[tuple[str, ...], str]:
    """``problem2-1.py`` → ``problem2.py`` (Canvas's name for a file uploaded again), with a note."""
    if len(path) == 1 and (m := CANVAS_RENAMED.fullmatch(path[0])):
        original = m["stem"] + m["ext"]
        if original in HOMEWORK and original not in taken:
            return (original,), f"{path[0]} renamed {original} (Canvas's name for a file uploaded again)"
    return path, ""


# -- the archive --------------------------------------------------------------------------------
def intake(archive: Path, out: Path, roster: Roster | None = None, limits: Limits = Limits()) -> IntakeReport:
    """Lay out the students' files of an LMS bulk download under ``out`` (see the module docstring)."""
    report = IntakeReport()
    out.mkdir(parents=True, exist_ok=True)
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise IntakeError(f"{archive}: not a zip archive ({exc})") from None
    with zf:
        _check_archive(zf, str(archive), limits.members, limits.total_bytes,
                       f"the bound of {limits.total_bytes:,} bytes")
        entries: list[tuple[zipfile.ZipInfo, str, _Owner]] = []
        for info in zf.infolist():
            name = member_name(info)
            parts = safe_parts(name, limits)
            if isinstance(parts, str):
                report.refused.append(Refused(name, parts))
                continue
            if info.is_dir() or JUNK.search("/".join(parts)):
                report.skipped.append(name)
                continue
            owner = parse_lms_name(parts)
            if owner is not None and any(p in (".", "..") for p in owner.path):
                report.refused.append(Refused(name, "'..' in the path (it would write outside the folder)"))
                continue
            if owner is None:
                report.refused.append(Refused(name, "not named like a Canvas or Moodle submission file "
                                                    "(name_USERID_ID_file or Full Name_ID_assignsubmission_file_…)"))
                continue
            entries.append((info, name, owner))
        for info, name, owner in entries:
            student = _student(report, owner, roster, out)
            path, note = (_canvas_original(owner.path, set(student.files)) if owner.lms == "canvas"
                          else (owner.path, ""))
            if note:
                student.notes.append(note)
            _place(zf, info, name, out, student, path, report, limits, nested=False)
    for student in report.students.values():
        _flatten(out / student.folder, student)
    return report


def _student(report: IntakeReport, owner: _Owner, roster: Roster | None, out: Path) -> StudentFiles:
    entry = roster.match(owner.name, owner.id) if roster else None
    folder = entry.student if entry else f"{owner.lms}-{owner.id}"
    student = report.students.get(folder)
    if student is None:
        student = report.students[folder] = StudentFiles(folder, owner.lms, owner.name, owner.id, entry is not None)
        kept = _set_aside(out, folder)
        if kept:
            student.notes.append(f"replaced the earlier upload: its files are kept in {kept}")
    student.late |= owner.late
    return student


REPLACED = ".replaced"
"""Under --out, the folder where the earlier uploads of re-submitting students are kept (hidden:
never graded)."""


def _set_aside(out: Path, folder: str) -> str:
    """Move a student's folder left by an earlier intake to ``out/.replaced/<folder>/<time>`` so that
    this archive's upload — the newest — is all their folder holds (two uploads never mix); returns
    where it went, relative to ``out`` ("" when there was none)."""
    current = out / folder
    if not current.exists() and not current.is_symlink():
        return ""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    aside = PurePosixPath(REPLACED, folder, stamp)
    n = 1
    while (out / aside).exists():
        n += 1
        aside = PurePosixPath(REPLACED, folder, f"{stamp}-{n}")
    (out / aside).parent.mkdir(parents=True, exist_ok=True)
    current.rename(out / aside)
    return str(aside)


def _place(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, out: Path, student: StudentFiles,
           path: tuple[str, ...], report: IntakeReport, limits: Limits, *, nested: bool) -> None:
    """Check one member and write it into the student's folder (unpacking a zip they uploaded),
    within the student's own bounds."""
    why = _kind(info)
    if why is None and info.file_size > limits.member_bytes:
        why = f"{info.file_size:,} bytes uncompressed, over the bound of {limits.member_bytes:,}"
    if why is None and info.file_size > limits.ratio_floor and \
            info.file_size > limits.ratio * max(info.compress_size, 1):
        why = (f"compression ratio {info.file_size / max(info.compress_size, 1):,.0f}:1 "
               f"(over {limits.ratio:g}:1: a zip bomb?)")
    left = limits.student_bytes - student.bytes_written
    if why is None and info.file_size > left:
        why = f"the student's files together would exceed {limits.student_bytes:,} bytes"
    if why is None and len(student.files) >= limits.student_files:
        why = f"the student's folder would hold more than {limits.student_files:,} files"
    if why is not None:
        report.refused.append(Refused(name, why))
        return
    if not nested and path[-1].lower().endswith(".zip"):
        _unpack(zf, info, name, out, student, path, report, limits)
        return
    rel = PurePosixPath(student.folder, *path)
    try:
        size = _write(out, rel, _chunks(zf, info, min(limits.member_bytes, left)))
    except FileExistsError:
        report.refused.append(Refused(name, f"{rel} already exists under --out; not overwritten"))
        return
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError) as exc:
        report.refused.append(Refused(name, f"not written: {exc}"))
        return
    student.bytes_written += size
    student.files.append("/".join(path))


def _unpack(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, out: Path, student: StudentFiles,
            path: tuple[str, ...], report: IntakeReport, limits: Limits) -> None:
    """Unpack a zip the student uploaded into their folder, member by member, under the same rules
    (a zip inside it is kept as a file, not unpacked again)."""
    try:
        data = b"".join(_chunks(zf, info, limits.member_bytes))
        inner = zipfile.ZipFile(io.BytesIO(data))
    except (ValueError, zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError) as exc:
        report.refused.append(Refused(name, f"an uploaded zip that cannot be read: {exc}"))
        return
    label = f"{name}!"
    with inner:
        try:
            _check_archive(inner, name, limits.student_files - len(student.files),
                           limits.student_bytes - student.bytes_written,
                           f"the student's bound of {limits.student_bytes:,} bytes")
        except IntakeError as exc:
            report.refused.append(Refused(name, str(exc)))
            return
        count = 0
        for sub in inner.infolist():
            sub_name = member_name(sub)
            parts = safe_parts(sub_name, limits)
            if isinstance(parts, str):
                report.refused.append(Refused(label + sub_name, parts))
                continue
            if sub.is_dir() or JUNK.search("/".join(parts)):
                report.skipped.append(label + sub_name)
                continue
            before = len(student.files)
            _place(inner, sub, label + sub_name, out, student, path[:-1] + parts, report, limits, nested=True)
            count += len(student.files) - before
    student.notes.append(f"unpacked {'/'.join(path)}: {count} file(s)")


def _flatten(folder: Path, student: StudentFiles) -> None:
    """A folder with no homework at its top but one subfolder holding it (``hw3/problem1.py``, as
    unpacked from ``hw3.zip``) gets that subfolder's contents moved up (nothing is overwritten)."""
    if not folder.is_dir() or _has_homework(folder):
        return
    subs = [p for p in folder.iterdir() if p.is_dir() and not p.is_symlink() and _has_homework(p)]
    if len(subs) != 1:
        return
    inner = subs[0]
    moved = 0
    for child in sorted(inner.iterdir()):
        if not (folder / child.name).exists():
            child.rename(folder / child.name)
            moved += 1
    if not any(inner.iterdir()):
        inner.rmdir()
    prefix = inner.name + "/"
    student.files = [f.removeprefix(prefix) if (folder / f.removeprefix(prefix)).exists() else f
                     for f in student.files]
    student.notes.append(f"moved {moved} entr{'y' if moved == 1 else 'ies'} of {inner.name}/ up into the "
                         "student's folder")


def _has_homework(folder: Path) -> bool:
    return any((folder / m).is_file() for m in HOMEWORK) or any(folder.glob("*.ipynb"))
