"""How a line of student text names a problem of the contract: the one reading for every place.

Students name hw3's problems in headings of notebooks and report.md ("## 3-(1) INPUT - CONV…",
"문제 3 (2)", "Part 2: problem 4", "Q4", "5번"), in first-line comments of code cells
(``# problem3_1``) and in file names (``hw3_problem3-1.ipynb``, ``p4.py``, ``problem5 (1).py``).
`read_heading`, `read_line` and `read_file_stem` read all of them with one grammar, so that the
notebook splitter (`autograder.judge.notebooks`), the report.md reader
(`autograder.orchestrator.report.answers`) and the file layout (`autograder.common.layout`) never
disagree about what a piece of text names.

**The grammar.** A problem reference is an optional *prefix word* — 문제, problem, prob(.),
question, q, p (any case; a whole word, so "hw3", "step 4" and "mlp4" name nothing) — then the
problem's number 1…5 (never part of a longer number: "2019" names nothing), an optional 번, and an
optional sub-number: ``3-1``, ``3_1``, ``3.1``, ``3-(1)``, ``3 (1)``, ``3 - (6)``. For problem 3 the
sub-number names the variation (1…6; "3-(7)" names nothing, a bare "3" names problem 3 without a
variation); for the others it is a question of the problem ("1-(4)" is problem 1).

* a **heading** names the problem its text starts with ("3-(2) 2번 문제의 신경망에 Adam" is 3-(2):
  the "2번 문제" after it refers back), or else its first *prefixed* reference when what comes
  before is a label — short, and ending in a mark (``:``, ``-``, ``|``, ``]``, …) or naming the
  homework ("Part 2: problem 4" and "인공지능 hw3 문제 1" name problems 4 and 1; "Compare with
  problem 2" names none); the number must not run on into a word ("3D plots" names nothing);
* a **line** (a plain first line of a markdown cell, a first-line comment) must be nothing but a
  reference and a closing mark (``2``, ``**3-(1)**``, ``4.``, ``5번``);
* a **file stem** is a reference — starting the stem, or prefixed after a separator
  ("20163140_problem4") — followed by nothing but an upload suffix ("problem5 (1)", "problem5-1",
  "problem3_1-2": what an LMS or a browser appends to a file uploaded again).

Every function runs in time linear in its input and uses no regular expression (a heading is
student text: nothing here can backtrack).
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIXES = ("문제", "problem", "prob.", "prob", "question", "q", "p")
"""Words that introduce a problem's number; longer spellings before their own beginnings."""
MAJORS = "12345"
VARIATIONS = 6
_SEPARATORS = "-_.–"
_CLOSERS = ".:)"
_EMPHASIS = "*_`"


@dataclass(frozen=True)
class ProblemRef:
    """What a piece of text names."""

    major: int
    minor: int | None
    """The sub-number: a variation of problem 3, a question of the others."""
    prefixed: bool
    """Named with a word ("문제", "problem", "Q") or with a sub-number ("3-(1)", "1-(2)"): a bare
    number ("1.") may be a step inside a problem instead."""

    @property
    def module(self) -> str | None:
        """The contract module, ``problem3`` for problem 3 without a variation, or None (3-(7))."""
        if self.major != 3:
            return f"problem{self.major}"
        if self.minor is None:
            return "problem3"
        return f"problem3_{self.minor}" if 1 <= self.minor <= VARIATIONS else None


@dataclass(frozen=True)
class _Match:
    ref: ProblemRef
    end: int
    """Index just past the reference."""


def _skip_spaces(text: str, i: int) -> int:
    n = len(text)
    while i < n and text[i].isspace():
        i += 1
    return i


def _is_ascii_alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _number_at(text: str, i: int) -> _Match | None:
    """A problem's number (and sub-number) starting exactly at ``i``, unprefixed."""
    n = len(text)
    if i >= n or text[i] not in MAJORS or (i + 1 < n and text[i + 1].isdigit()):
        return None
    if i > 0 and text[i - 1].isdigit():
        return None
    major, k = int(text[i]), i + 1
    after_bun = _skip_spaces(text, k)
    if text.startswith("번", after_bun):
        k = after_bun + 1
    minor, end = _sub_number(text, k)
    return _Match(ProblemRef(major, minor, minor is not None), end)


def _sub_number(text: str, k: int) -> tuple[int | None, int]:
    """``-1``, ``_1``, ``.1``, ``-(1)``, `` (1)`` after a problem's number: (sub-number, end) or (None, k)."""
    n = len(text)
    j = _skip_spaces(text, k)
    if j < n and text[j] in _SEPARATORS:
        j = _skip_spaces(text, j + 1)
        if j < n and text[j] == "(":
            j = _skip_spaces(text, j + 1)
    elif j < n and text[j] == "(":
        j = _skip_spaces(text, j + 1)
    else:
        return None, k
    if j >= n or text[j] not in "123456789" or (j + 1 < n and text[j + 1].isdigit()):
        return None, k
    minor, end = int(text[j]), j + 1
    close = _skip_spaces(text, end)
    if close < n and text[close] == ")":
        end = close + 1
    return minor, end


def _prefix_at(text: str, i: int) -> int | None:
    """The index just past a prefix word starting at ``i`` (a whole word), or None."""
    if i > 0 and text[i - 1].isalnum():
        return None
    lowered = text[i:i + 8].lower()
    for word in PREFIXES:
        if lowered.startswith(word):
            end = i + len(word)
            if word.isascii() and end < len(text) and text[end].isascii() and text[end].isalpha():
                continue  # "probably", "quiz", "part": a longer word
            return end
    return None


def _prefixed_at(text: str, i: int) -> _Match | None:
    """A prefixed reference starting at ``i``: the word, an optional ``#``/``-``/``_``/``.``, the number."""
    end = _prefix_at(text, i)
    if end is None:
        return None
    j = _skip_spaces(text, end)
    if j < len(text) and text[j] in "#-_.:":
        j = _skip_spaces(text, j + 1)
    found = _number_at(text, j)
    if found is None:
        return None
    return _Match(ProblemRef(found.ref.major, found.ref.minor, True), found.end)


def _at_start(text: str) -> _Match | None:
    return _prefixed_at(text, 0) or _number_at(text, 0)


LABEL_MARKS = ":-–—|])/·>"
"""What ends a label before a heading's prefixed reference ("Part 2: problem 4")."""
HOMEWORK_WORDS = ("hw", "homework", "assignment", "과제", "숙제")
MAX_LABEL = 40


def _first_prefixed(text: str) -> _Match | None:
    """The first prefixed reference of a heading, when what precedes it is a label."""
    for i in range(len(text)):
        if (found := _prefixed_at(text, i)) is not None:
            lead = text[:i].strip()
            if not lead or (len(lead) <= MAX_LABEL and (
                    lead[-1] in LABEL_MARKS or any(w in lead.lower() for w in HOMEWORK_WORDS))):
                return found
            return None
    return None


def _unwrapped(text: str) -> str:
    """The text without surrounding spaces and markdown emphasis (``**3-(1)**``)."""
    return text.strip().strip(_EMPHASIS).strip()


def read_heading(text: str, *, anywhere: bool = True) -> ProblemRef | None:
    """What a heading names (see the module docstring), or None. ``anywhere=False``: only a
    reference that starts the text counts (a comment's "# TODO: problem 4" names nothing)."""
    text = _unwrapped(text)
    found = _at_start(text)
    if found is not None and found.end < len(text) and _is_ascii_alnum(text[found.end]):
        found = None  # "3D plots", "1st try"
    if found is None and anywhere:
        found = _first_prefixed(text)
        if found is not None and found.end < len(text) and _is_ascii_alnum(text[found.end]):
            found = None
    return found.ref if found else None


def read_line(text: str) -> ProblemRef | None:
    """What a line that is nothing but a reference names ("2", "**3-(1)**", "4.", "5번"), or None."""
    text = _unwrapped(text)
    found = _at_start(text)
    if found is None:
        return None
    k = _skip_spaces(text, found.end)
    if k < len(text) and text[k] in _CLOSERS:
        k = _skip_spaces(text, k + 1)
    if text.startswith("번", k):
        k = _skip_spaces(text, k + 1)
    return found.ref if k == len(text) else None


@dataclass(frozen=True)
class FileReading:
    """What a file's stem names, and how."""

    ref: ProblemRef
    upload: int
    """The number an LMS or a browser added to a file uploaded again ("problem5 (2)": 2; 0: none).
    For a problem other than 3 a sub-number counts as one ("problem5-1")."""
    rest: str
    """What follows the reference when it is not an upload suffix ("problem4_final": "_final"):
    the stem does not name the problem then (`named` is False)."""

    @property
    def named(self) -> bool:
        return not self.rest


def read_file_stem(stem: str) -> FileReading | None:
    """What a file's stem names ("p4", "problem_4", "3-1", "hw3_problem3-1", "problem5 (1)"), or
    None; a stem whose reference is followed by other words is returned with ``rest`` set."""
    stem = stem.strip()
    found = _at_start(stem)
    if found is None:
        for i in range(1, len(stem)):
            if not stem[i - 1].isalnum() and (found := _prefixed_at(stem, i)) is not None:
                break
    if found is None:
        return None
    ref = found.ref
    upload, end = _upload_suffixes(stem, found.end)
    if ref.major != 3 and ref.minor is not None:
        upload = max(upload, ref.minor)
    rest = stem[end:]
    if rest and _is_ascii_alnum(rest[0]) and found.end == end:
        return None  # "p4x", "problem4a": not a reference at all
    return FileReading(ref, upload, rest)


def _upload_suffixes(stem: str, i: int) -> tuple[int, int]:
    """The largest number among upload suffixes (`` (1)``, ``(2)``, ``-1``, ``_2``) from ``i`` on, and
    where they end."""
    n, largest = len(stem), 0
    while i < n:
        j = _skip_spaces(stem, i)
        if j < n and stem[j] == "(":
            k = j + 1
            while k < n and stem[k].isdigit():
                k += 1
            if k == j + 1 or k >= n or stem[k] != ")":
                break
            largest, i = max(largest, int(stem[j + 1:k])), k + 1
        elif j < n and stem[j] in "-_" and j + 1 < n and stem[j + 1].isdigit():
            k = j + 1
            while k < n and stem[k].isdigit():
                k += 1
            largest, i = max(largest, int(stem[j + 1:k])), k
        else:
            break
    return largest, i
