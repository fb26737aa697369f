"""Problems as people write them: the homework's "3-(1)", a TA's "3-1", "3.1" or "3_1", the
contract's "problem3_1" — one reading for ``--problems`` and manual.csv's ``problem`` column.
"""

from __future__ import annotations

import re

from autograder.common.contract import BY_MODULE

_SPELLING = re.compile(r"(?P<major>\d+)(?:[-_.]\(?(?P<minor>\d+)\)?|\((?P<paren>\d+)\))?")
"""``3``, ``3-1``, ``3-(1)``, ``3.1``, ``3_1``, ``3(1)`` (after "problem", spaces and case are dropped)."""


def problem_name(text: str) -> str | None:
    """``"3-(1)"`` → ``"problem3_1"``, ``"Problem 4"`` → ``"problem4"``, ``"3"`` → ``"problem3"`` (the
    six variations together); None when ``text`` is not written like a problem."""
    name = re.sub(r"\s+", "", text).lower().removeprefix("problem")
    m = _SPELLING.fullmatch(name)
    if m is None:
        return None
    minor = m["minor"] or m["paren"]
    return f"problem{int(m['major'])}" + (f"_{int(minor)}" if minor else "")


def problem_module(text: str) -> str | None:
    """The contract module ``text`` names (``"3-(1)"`` → ``"problem3_1"``), or None."""
    name = problem_name(text)
    return name if name in BY_MODULE else None


def parse_problems(text: str) -> list[str]:
    """``"1,3-(2),problem4"`` → ``["problem1", "problem3_2", "problem4"]``; ``"3"`` means all six
    3-(n). ValueError naming the part that is no problem."""
    names = ", ".join(m.removeprefix("problem") for m in BY_MODULE)
    hint = f"the problems are {names} (3 means all six 3_n; 3-1, 3-(1) and 3.1 are 3_1)"
    out: list[str] = []
    parts = [p.strip() for p in text.split(",")]
    if not any(parts):
        raise ValueError(f"--problems {text!r}: empty; name some of {names} (3 means all six 3_n)")
    for part in filter(None, parts):
        name = problem_name(part)
        matches = [m for m in BY_MODULE if name is not None and (m == name or m.startswith(name + "_"))]
        if not matches:
            raise ValueError(f"--problems: unknown problem {part!r}; {hint}")
        out += [m for m in matches if m not in out]
    return out
