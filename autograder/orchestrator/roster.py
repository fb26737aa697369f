"""The class roster: who should have handed in, so that a student who handed in nothing is listed.

A roster is a CSV file (UTF-8, with or without a byte-order mark — Excel's "CSV UTF-8") with a
header row naming its columns:

* ``student_id`` (or ``학번``) — required: the student's id, which is also their submission
  folder's name and their row in grades.csv;
* ``name`` (or ``이름``) — optional: the name the LMS shows, used by ``autograde intake`` to find
  the student's files (Canvas writes it as "lastfirst", Moodle as "Full Name");
* ``lms_id`` — optional: the LMS's own number for the student (Canvas's user id, Moodle's
  participant id in the download's file names), which intake prefers to the name; several may be
  given, separated by spaces or ``;``.

Other columns are ignored. With ``autograde DIR --roster roster.csv`` every roster student
without a submission folder gets a result of status ``not_submitted`` (0 of the assignment's
points) and the class page flags submission folders that are not on the roster.
"""

from __future__ import annotations

import csv
import io
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from autograder.common import results_json
from autograder.common.results import Status, SubmissionResult

MAX_ROSTER_BYTES = 5 * 2**20
STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""What a student id may look like: it names a folder and starts a CSV cell, so no path
separators, no leading dot and no leading = + - @."""
COLUMNS = {"student_id": ("student_id", "학번"), "name": ("name", "이름"), "lms_id": ("lms_id",)}


class RosterError(ValueError):
    """The roster cannot be used; the message names the file and the line."""


@dataclass(frozen=True)
class RosterEntry:
    student: str
    name: str = ""
    lms_ids: tuple[str, ...] = ()


@dataclass
class Roster:
    entries: list[RosterEntry]
    source: Path
    _by_lms: dict[str, RosterEntry] = field(default_factory=dict, repr=False)
    _by_name: dict[str, list[RosterEntry]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for e in self.entries:
            for lms in e.lms_ids:
                self._by_lms[lms] = e
            for key in name_keys(e.name):
                self._by_name.setdefault(key, []).append(e)

    def ids(self) -> set[str]:
        return {e.student for e in self.entries}

    def match(self, lms_name: str, lms_id: str) -> RosterEntry | None:
        """The student an LMS file belongs to: by LMS id first, else by a name only one student has."""
        if lms_id in self._by_lms:
            return self._by_lms[lms_id]
        for key in name_keys(lms_name):
            found = self._by_name.get(key, [])
            if len(found) == 1:
                return found[0]
        return None


def name_keys(name: str) -> list[str]:
    """Spellings under which an LMS may write ``name``: letters and digits only, case-folded, in the
    given order and last-name-first (Canvas's "lastfirst" of "Sujin Lee" is "leesujin")."""
    words = [w for w in re.split(r"[\s_]+", unicodedata.normalize("NFC", name)) if w]

    def key(parts: Iterable[str]) -> str:
        return "".join(ch for ch in "".join(parts).casefold() if ch.isalnum())

    keys = [key(words), key(words[-1:] + words[:-1])] if words else []
    return [k for i, k in enumerate(keys) if k and k not in keys[:i]]


def load(path: Path) -> Roster:
    """Read a roster CSV (see the module docstring); RosterError names what is wrong and where."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RosterError(f"{path}: cannot read the roster ({exc.strerror})") from None
    if len(data) > MAX_ROSTER_BYTES:
        raise RosterError(f"{path}: {len(data):,} bytes; a roster may have at most {MAX_ROSTER_BYTES:,}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RosterError(f"{path}: not UTF-8 — save it as 'CSV UTF-8' (Excel) or UTF-8 text") from None
    rows = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip().casefold() for h in next(rows, [])]
    where = {key: next((header.index(a) for a in aliases if a in header), None)
             for key, aliases in COLUMNS.items()}
    if where["student_id"] is None:
        raise RosterError(f"{path}: the header row has no 'student_id' (or '학번') column; "
                          f"found: {', '.join(header) or 'nothing'}")
    entries: list[RosterEntry] = []
    seen: dict[str, int] = {}

    def cell(row: list[str], key: str) -> str:
        i = where[key]
        return row[i].strip() if i is not None and i < len(row) else ""

    for line, row in enumerate(rows, start=2):
        if not any(c.strip() for c in row):
            continue
        student = cell(row, "student_id")
        if not STUDENT_ID.fullmatch(student):
            raise RosterError(f"{path}, line {line}: student id {student[:40]!r} is not usable as a "
                              "folder name (letters, digits, '.', '_' and '-', not starting with '.' or '-')")
        if student in seen:
            raise RosterError(f"{path}, line {line}: student {student} is also on line {seen[student]}")
        seen[student] = line
        lms = tuple(x for x in re.split(r"[\s;]+", cell(row, "lms_id")) if x)
        entries.append(RosterEntry(student, cell(row, "name"), lms))
    if not entries:
        raise RosterError(f"{path}: no students (only a header row)")
    return Roster(entries, path)


def not_submitted(entry: RosterEntry) -> SubmissionResult:
    """The result of a roster student with no submission folder: 0 of the assignment's points."""
    who = f" ({entry.name})" if entry.name else ""
    return SubmissionResult(student=entry.student, submission="", status=Status.NOT_SUBMITTED,
                            status_reason=f"on the roster{who}, but no submission folder was found",
                            on_roster=True)


@dataclass
class RosterCheck:
    """What comparing the class with its roster found."""

    absent: list[str]
    """Roster students with no submission folder (a ``not_submitted`` result was written)."""
    unlisted: list[str]
    """Submission folders whose name is not on the roster."""


def apply(roster: Roster, folders: list[str], out: Path, *,
          owns: Callable[[str], bool] = lambda student: True) -> RosterCheck:
    """Mark the class under ``out`` against the roster, given every submission folder's name.

    Writes ``out/<id>/results.json`` (status ``not_submitted``) for each roster student without a
    folder whom this run ``owns`` (a shard writes only its own slice), unless a result of that
    student is already there from a grading; sets ``on_roster`` in every result under ``out``;
    warns on stderr about folders not on the roster.
    """
    ids = roster.ids()
    present = set(folders)
    absent = [e for e in roster.entries if e.student not in present]
    for entry in absent:
        path = out / entry.student / "results.json"
        if not owns(entry.student):
            continue
        if path.is_file():
            try:
                if results_json.read(path).status is not Status.NOT_SUBMITTED:
                    continue  # graded from elsewhere earlier: keep it
            except (OSError, ValueError, KeyError, TypeError):
                pass
        results_json.write(not_submitted(entry), path)
    for path in sorted(out.glob("*/results.json")):
        try:
            result = results_json.read(path)
        except (OSError, ValueError, KeyError, TypeError):
            continue
        listed = result.student in ids
        if result.on_roster is not listed:
            result.on_roster = listed
            results_json.write(result, path)
    unlisted = sorted(present - ids)
    for name in unlisted:
        print(f"autograde: warning: submission folder {name!r} is not on the roster {roster.source}",
              file=sys.stderr)
    if absent:
        print(f"roster: {len(absent)} student(s) without a submission: "
              + ", ".join(e.student for e in absent[:20]) + (" …" if len(absent) > 20 else ""), flush=True)
    return RosterCheck([e.student for e in absent], unlisted)
