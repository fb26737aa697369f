"""RESULTS-gpu.md: what the device check found, as plain data rendered to Markdown.

The document is rewritten after every step, so that a check stopped by the device tool's limit
still leaves what it had measured. Every figure comes with the command that produced it, and
every target with pass, FAIL or "not measured" — never a figure that was not read off a run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Verdict:
    """One target of the issue, and what this run measured for it."""

    target: str
    measured: str
    ok: bool | None
    """None: not measured (skipped, or the run stopped before it)."""


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass
class Section:
    """One step: its command, how it ended, and its figures."""

    title: str
    command: str = ""
    outcome: str = ""
    lines: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


@dataclass
class Document:
    title: str
    invocation: str
    started: str
    machine: list[tuple[str, str]] = field(default_factory=list)
    setup: list[tuple[str, bool, str]] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    state: str = "running"
    """``running`` (the file was written mid-run), ``finished`` or why it stopped."""
    elapsed: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def cell(text: object) -> str:
    """A table cell: one line, pipes escaped."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").strip()


def mark(ok: bool | None) -> str:
    return {True: "pass", False: "**FAIL**", None: "not measured"}[ok]


def table(t: Table) -> list[str]:
    lines = [t.caption, ""] if t.caption else []
    lines.append("| " + " | ".join(cell(h) for h in t.header) + " |")
    lines.append("|" + "|".join("---" for _ in t.header) + "|")
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in t.rows]
    return lines + [""]


def render(doc: Document) -> str:
    out = [f"# {doc.title}", "", f"Command: `{doc.invocation}`", "",
           f"Started {doc.started}; {doc.elapsed:.0f} s; state: **{doc.state}**.", ""]
    if doc.machine:
        out += ["## Machine", ""] + table(Table(["", ""], [[k, v] for k, v in doc.machine]))
    if doc.verdicts:
        out += ["## Targets", ""] + table(Table(["target", "measured", "result"],
                                                [[v.target, v.measured, mark(v.ok)] for v in doc.verdicts]))
    if doc.setup:
        out += ["## Setup", ""] + table(Table(["step", "ok", "what happened"],
                                              [[name, "yes" if ok else "**no**", detail]
                                               for name, ok, detail in doc.setup]))
    for s in doc.sections:
        out += [f"## {s.title}", ""]
        if s.command:
            out += [f"`{s.command}`", ""]
        if s.outcome:
            out += [f"Outcome: {s.outcome}", ""]
        if s.lines:
            out += [f"- {line}" for line in s.lines] + [""]
        for t in s.tables:
            out += table(t)
    if doc.notes:
        out += ["## Notes", ""] + [f"- {n}" for n in doc.notes] + [""]
    return "\n".join(out).rstrip() + "\n"
