"""Code similarity across a class: which pairs of students handed in unusually alike code, per problem.

Each submission's file for a problem is fingerprinted (:mod:`fingerprints`: normalised AST,
k-grams, winnowing). Then, as MOSS does:

- **Given code is excluded.** Every k-gram of the homework's given code — the tutorial pieces in
  ``autograder/worker/baseline.py``, the reference solutions (which are the tutorial's Net,
  transform and loops, completed) and whatever the instructor names with ``--starter`` — is
  removed from every submission's fingerprints before anything is compared (MOSS's ``-b``).
- **Code most of the class shares is excluded.** A fingerprint found in more than
  :func:`common_limit` submissions is treated as given code too (MOSS's ``-m``; ten by default
  there): a passage that many students have is an idiom or a shared source, not one student
  copying another.
- **Pairs come from an inverted index**, fingerprint → submissions, so only pairs that share
  something are ever looked at; with the common-code limit each fingerprint yields a bounded
  number of pairs, which keeps a class of hundreds to seconds.

The score of a pair for a problem is ``shared / min(|A|, |B|)``: the share of the smaller file's
fingerprints (after the exclusions) that the other file has too — 1.0 when one is contained in the
other. A pair is flagged when the score reaches the threshold *and* at least
:data:`MIN_SHARED` fingerprints are shared, so that two short functions written the same obvious
way (a three-line softmax) flag nobody. Both defaults come from measurement: docs/similarity.md.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from autograder.common import layout
from autograder.common.contract import PROBLEMS
from autograder.common.results import SubmissionResult
from autograder.orchestrator import fingerprints as fp

THRESHOLD = 0.5
"""Default score from which a pair is flagged (see docs/similarity.md for the measurement)."""

MIN_SHARED = 15
"""Default least number of shared fingerprints for a flag: below it a match is too short to mean copying."""

MAX_DETAILED_PAIRS = 250
"""At most this many flagged pairs (the highest scores) get their files side by side in the page,
as MOSS shows 250 by default; the others are listed with their scores only."""

MAX_STARTER_FILES = 1000
"""A --starter folder contributes at most this many .py files."""

_PACKAGE = Path(__file__).resolve().parents[1]
GIVEN_CODE: tuple[Path, ...] = (_PACKAGE / "worker" / "baseline.py",
                                *sorted((_PACKAGE / "judge" / "reference").glob("*.py")))
"""The homework's given code that ships with the grader: the tutorial pieces and the reference."""


def common_limit(submissions: int) -> int:
    """A fingerprint in more submissions than this is common code, not evidence: MOSS's ``-m 10``,
    raised to a tenth of the class for classes over a hundred."""
    return max(10, submissions // 10)


# -- the data ---------------------------------------------------------------------------------------
@dataclass
class Settings:
    threshold: float = THRESHOLD
    min_shared: int = MIN_SHARED
    k: int = fp.K
    window: int = fp.WINDOW


@dataclass
class Note:
    """A file that was not compared, and why (it cannot be parsed, it is too large, …)."""

    student: str
    """The submission's name, or ``starter`` for an instructor's file."""
    file: str
    message: str


@dataclass
class Document:
    """One submission's file for one problem, fingerprinted."""

    student: str
    module: str
    text: str
    fingerprint: fp.Fingerprint
    hashes: set[int] = field(default_factory=set)
    """Its fingerprints once the given and the common code are removed."""


@dataclass
class CodeLine:
    number: int
    text: str
    mark: str
    """``shared`` (in a passage both files have), ``given`` (the homework's code, or code most of
    the class has) or empty."""


@dataclass
class ProblemMatch:
    """How alike two students' files for one problem are."""

    module: str
    score: float
    """``shared / min(size_a, size_b)``."""
    shared: int
    """Fingerprints both files have (after the exclusions)."""
    size_a: int
    size_b: int
    flagged: bool
    left: list[CodeLine] = field(default_factory=list)
    right: list[CodeLine] = field(default_factory=list)
    """The two files line by line with the shared parts marked (flagged problems of the first
    :data:`MAX_DETAILED_PAIRS` pairs only; empty otherwise)."""


@dataclass
class PairMatch:
    """Two students with at least one flagged problem."""

    a: str
    b: str
    problems: list[ProblemMatch]
    """Every problem they share fingerprints in, flagged or not, in contract order."""

    @property
    def flagged(self) -> list[ProblemMatch]:
        return [p for p in self.problems if p.flagged]

    @property
    def score(self) -> float:
        return max(p.score for p in self.flagged)


@dataclass
class SimilarityReport:
    """What ``autograde similarity`` found: the flagged pairs, highest score first."""

    students: list[str]
    pairs: list[PairMatch]
    notes: list[Note]
    settings: Settings
    given_files: list[str]
    """The grader's own given-code files (tutorial pieces, reference), relative to the project."""
    starter_files: list[str]
    """The instructor's starter files (--starter), as named on the command line."""
    common_limit: int
    files_compared: int
    seconds: float = 0.0
    detailed_pairs: int = MAX_DETAILED_PAIRS


# -- reading ----------------------------------------------------------------------------------------
def _read(path: Path) -> bytes:
    """A regular file's bytes (never through a link), at most one byte over the size limit."""
    if path.is_symlink() or not path.is_file():
        raise fp.Unreadable("not a regular file")
    with path.open("rb") as f:
        return f.read(fp.MAX_SOURCE_BYTES + 1)


def starter_files(paths: Iterable[Path]) -> list[Path]:
    """The .py files an instructor named: files as given, folders searched (bounded, no links)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*.py") if not p.is_symlink())[:MAX_STARTER_FILES])
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    return found


def given_hashes(files: Iterable[Path], settings: Settings, notes: list[Note]) -> set[int]:
    """Every k-gram hash of the given code (all of them, not just the winnowed ones)."""
    hashes: set[int] = set()
    for path in files:
        try:
            tree = fp.parse(_read(path))
        except (fp.Unreadable, OSError) as exc:
            notes.append(Note("starter", path.name, str(exc)))
            continue
        hashes |= fp.fingerprint(tree, settings.k, settings.window).every_hash()
    return hashes


def load(submissions: Sequence[tuple[str, Path]], settings: Settings,
         notes: list[Note]) -> list[Document]:
    """Fingerprint each submission's problem files (found as the grader finds them:
    `autograder.common.layout`); files that cannot be read become notes."""
    documents: list[Document] = []
    for student, folder in submissions:
        files = layout.find(folder).modules if folder.is_dir() else {}
        for problem in PROBLEMS:
            path = folder / files.get(problem.module, f"{problem.module}.py")
            if problem.module not in files and not path.is_symlink():
                continue  # (a link is never graded: it is noted)
            try:
                data = _read(path)
                if len(data) <= fp.MAX_SOURCE_BYTES:
                    data = layout.decode_source(path.name, data).data  # a CP949 file reads as the grader reads it
                tree = fp.parse(data)
            except (fp.Unreadable, OSError) as exc:
                notes.append(Note(student, path.name, str(exc)))
                continue
            documents.append(Document(student, problem.module, fp.decode(data),
                                      fp.fingerprint(tree, settings.k, settings.window)))
    return documents


# -- comparing --------------------------------------------------------------------------------------
def _index(documents: Sequence[Document], excluded: set[int],
           limit: int) -> tuple[dict[int, list[int]], set[int]]:
    """Fingerprint → indices of the documents that have it, and the common fingerprints (in more
    than ``limit`` documents), which are left out like the given code's; sets each ``hashes``."""
    postings: dict[int, list[int]] = defaultdict(list)
    for i, doc in enumerate(documents):
        for h in doc.fingerprint.selected - excluded:
            postings[h].append(i)
    common = {h for h, docs in postings.items() if len(docs) > limit}
    for h in common:
        del postings[h]
    for doc in documents:
        doc.hashes = doc.fingerprint.selected - excluded - common
    return postings, common


def _shared_counts(postings: dict[int, list[int]]) -> dict[tuple[int, int], int]:
    counts: dict[tuple[int, int], int] = defaultdict(int)
    for docs in postings.values():
        if len(docs) < 2:
            continue
        for x in range(len(docs)):
            for y in range(x + 1, len(docs)):
                counts[docs[x], docs[y]] += 1
    return counts


def _marked_lines(doc: Document, shared: set[int], given: set[int]) -> list[CodeLine]:
    """The file's lines, each marked ``shared`` when a k-gram both files have (and that is not
    given or common code) covers it, ``given`` when only such code does."""
    shared_lines = doc.fingerprint.lines_where(shared)
    given_lines = doc.fingerprint.lines_where(given)
    lines = doc.text.splitlines()
    return [CodeLine(n, text, "shared" if n in shared_lines else "given" if n in given_lines else "")
            for n, text in enumerate(lines, start=1)]


def side_by_side(a: Document, b: Document, excluded: set[int]) -> tuple[list[CodeLine], list[CodeLine]]:
    """Both files with the passages they share marked: every k-gram (not only the winnowed ones)
    of one that the other has too, except given code."""
    shared = (a.fingerprint.every_hash() & b.fingerprint.every_hash()) - excluded
    return _marked_lines(a, shared, excluded), _marked_lines(b, shared, excluded)


def compare(documents: Sequence[Document], excluded: set[int], settings: Settings,
            limit: int) -> list[PairMatch]:
    """The flagged pairs, highest score first, each with every problem the two share code in."""
    by_module: dict[str, list[Document]] = defaultdict(list)
    for doc in documents:
        by_module[doc.module].append(doc)
    found: dict[tuple[str, str], list[ProblemMatch]] = defaultdict(list)
    docs_of: dict[tuple[str, str, str], tuple[Document, Document]] = {}
    common: dict[str, set[int]] = {}
    for problem in PROBLEMS:
        docs = by_module.get(problem.module, [])
        postings, common[problem.module] = _index(docs, excluded, limit)
        for (x, y), shared in _shared_counts(postings).items():
            a, b = sorted((docs[x], docs[y]), key=lambda d: d.student)
            smaller = min(len(a.hashes), len(b.hashes))
            score = shared / smaller if smaller else 0.0
            flagged = score >= settings.threshold and shared >= settings.min_shared
            found[a.student, b.student].append(
                ProblemMatch(problem.module, round(score, 4), shared, len(a.hashes), len(b.hashes), flagged))
            docs_of[a.student, b.student, problem.module] = (a, b)
    pairs = [PairMatch(a, b, problems) for (a, b), problems in found.items()
             if any(p.flagged for p in problems)]
    pairs.sort(key=lambda p: (-p.score, -sum(m.shared for m in p.flagged), p.a, p.b))
    for pair in pairs[:MAX_DETAILED_PAIRS]:
        for p in pair.flagged:
            p.left, p.right = side_by_side(*docs_of[pair.a, pair.b, p.module], excluded | common[p.module])
    return pairs


def check(submissions: Sequence[tuple[str, Path]], starters: Sequence[Path] = (),
          settings: Settings | None = None) -> SimilarityReport:
    """Compare every pair of ``(name, folder)`` submissions, problem by problem.

    Raises FileNotFoundError for a starter path that does not exist; unreadable files (the
    students' or the starters') are reported as notes, never fatal."""
    settings = settings or Settings()
    started = time.perf_counter()
    notes: list[Note] = []
    starter = starter_files(starters)
    excluded = given_hashes([*GIVEN_CODE, *starter], settings, notes)
    documents = load(submissions, settings, notes)
    limit = common_limit(len(submissions))
    pairs = compare(documents, excluded, settings, limit)
    return SimilarityReport(
        students=[name for name, _ in submissions], pairs=pairs, notes=notes, settings=settings,
        given_files=[str(p.relative_to(_PACKAGE.parent)) for p in GIVEN_CODE],
        starter_files=[str(p) for p in starter],
        common_limit=limit, files_compared=len(documents), seconds=time.perf_counter() - started)


def from_results(results: Iterable[SubmissionResult]) -> SimilarityReport | None:
    """The check for a graded class, from the submission folders its results name; None when
    fewer than two of those folders still exist (results merged from elsewhere, one student)."""
    found = [(r.student, Path(r.submission)) for r in results if r.submission]
    folders = [(name, folder) for name, folder in found if folder.is_dir()]
    return check(folders) if len(folders) >= 2 else None
