"""The student's report.md, split into sections tied to the problems their headings name."""

from __future__ import annotations

import re
from dataclasses import dataclass

from autograder.common.contract import BY_MODULE


# -- the student's report.md --------------------------------------------------------------------
@dataclass
class Block:
    kind: str
    """``code`` (a fenced block), ``heading`` (a ``###`` line) or ``text`` (a paragraph)."""
    text: str


@dataclass
class AnswerSection:
    heading: str
    problem: str | None
    blocks: list[Block]


_FENCE = re.compile(r"^\s*(```|~~~)")
_MODULE_NAME = re.compile(r"problem\s*([1-5])(?:_([1-6]))?", re.IGNORECASE)
_PART = re.compile(r"(?<![\d.])([1-5])\s*[-–.]\s*\(?\s*([1-9])\s*\)?")
_NUMBER = re.compile(r"(?<![\d.])([1-5])(?![\d.])")


def problem_of_heading(heading: str) -> str | None:
    """The contract module a report.md heading names ("3-(1)" → problem3_1, "1-(4)" → problem1)."""
    for pattern in (_MODULE_NAME, _PART):
        m = pattern.search(heading)
        if m:
            major, minor = m.group(1), m.group(2)
            module = f"problem3_{minor}" if major == "3" and minor else f"problem{major}"
            if module in BY_MODULE:
                return module
    m = _NUMBER.search(heading)
    if m and f"problem{m.group(1)}" in BY_MODULE:
        return f"problem{m.group(1)}"
    return None


def _blocks(lines: list[str]) -> list[Block]:
    blocks: list[Block] = []
    para: list[str] = []
    code: list[str] | None = None

    def flush() -> None:
        if any(line.strip() for line in para):
            blocks.append(Block("text", "\n".join(para).strip("\n")))
        para.clear()

    for line in lines:
        if code is not None:
            if _FENCE.match(line):
                blocks.append(Block("code", "\n".join(code)))
                code = None
            else:
                code.append(line)
        elif _FENCE.match(line):
            flush()
            code = []
        elif line.startswith("#"):
            flush()
            blocks.append(Block("heading", line.lstrip("#").strip()))
        elif not line.strip():
            flush()
        else:
            para.append(line)
    flush()
    if code is not None:  # an unclosed fence: keep what was there
        blocks.append(Block("code", "\n".join(code)))
    return blocks


def answer_sections(report_md: str) -> list[AnswerSection]:
    """report.md split at its ``## `` headings (outside code fences), each tied to a problem if named."""
    sections: list[tuple[str, list[str]]] = [("", [])]
    in_code = False
    for line in report_md.replace("\r\n", "\n").split("\n"):
        if _FENCE.match(line):
            in_code = not in_code
        if not in_code and line.startswith("## "):
            sections.append((line[3:].strip(), []))
        else:
            sections[-1][1].append(line)
    out = []
    for heading, lines in sections:
        blocks = _blocks(lines)
        if heading or blocks:
            out.append(AnswerSection(heading, problem_of_heading(heading) if heading else None, blocks))
    return out
