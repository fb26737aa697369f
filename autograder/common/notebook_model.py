"""What the judge made of a submission's notebooks: plain data, kept in the results for the report.

The judge turns a notebook into the contract's modules statically (`autograder.judge.notebooks`);
these dataclasses record, per problem, the module it generated, the cells it came from and what
it left out and why, so that the student's report can show all three side by side. They live in
``common`` because they cross from the judge to the orchestrator inside results.json.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class NotebookCell:
    """A code cell a generated module was made from."""

    notebook: str
    """The notebook's file name in the submission folder."""
    index: int
    """Position among the notebook's cells, from 0 (the report counts from 1)."""
    source: str
    """The cell's code as the student wrote it (bounded; a cut is marked)."""


@dataclass
class LeftOut:
    """A piece of a problem's cells that the generated module does not contain."""

    notebook: str
    index: int
    """The cell, as in `NotebookCell.index`."""
    line: int
    """Line in the cell, from 1 (0: the whole cell)."""
    code: str
    """The statement's first line, shortened."""
    reason: str
    """Why it was left out, in a TA's words."""


@dataclass
class NotebookModule:
    """One contract module generated from a notebook's cells."""

    module: str
    """Contract module name, e.g. ``problem3_1``."""
    notebook: str
    source: str
    """The generated module's text, exactly as written beside the student's files."""
    cells: list[NotebookCell] = field(default_factory=list)
    left_out: list[LeftOut] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    """Contract names the problem's cells do not define."""
    from_problem2: list[str] = field(default_factory=list)
    """Names a variation imports from the generated problem2 instead of defining them again."""
    unresolved: list[str] = field(default_factory=list)
    """Names the kept code uses that the notebook defines nowhere (builtins excepted)."""
    unusable: list[str] = field(default_factory=list)
    """Cells of the problem that could not be used, each with why ("hw3.ipynb cell 7 does not parse
    as Python (line 3: invalid syntax)"): said to the student beside the problem's checks."""
    after_end: list[str] = field(default_factory=list)
    """Contract names the problem's own cells do not define, taken from cells after a heading that
    ended them ("# 2" followed by "# Training" at the same level)."""
    used: bool = True
    """False when a ``.py`` file of the same module in the folder wins over the notebook."""


@dataclass
class NotebookHeading:
    """A markdown heading (or first-line comment) found while splitting a notebook."""

    notebook: str
    index: int
    text: str
    problem: str = ""
    """The problem whose cells the heading starts: a contract module, ``problem3`` (no variation
    named), or empty (it names no problem, or it is a step inside the current one)."""
    read_as: str = ""
    """What the heading was read as, in words ("starts problem2", "a step inside problem2",
    "names no problem: ends problem2's cells")."""


@dataclass
class NotebookConversion:
    """Everything the judge made of the notebooks of one submission folder."""

    notebooks: list[str] = field(default_factory=list)
    """The notebooks read, by file name."""
    modules: list[NotebookModule] = field(default_factory=list)
    headings: list[NotebookHeading] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    """What could not be read or split: refused files, invalid JSON, cells that do not parse,
    a notebook whose problems cannot be told apart (naming the headings found)."""

    def module(self, name: str) -> NotebookModule | None:
        return next((m for m in self.modules if m.module == name), None)

    def used_modules(self) -> list[str]:
        """The modules the worker gets from the notebooks (a ``.py`` file wins over them)."""
        return [m.module for m in self.modules if m.used]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NotebookConversion:
        modules = []
        for m in data.get("modules", []):
            m = dict(m)
            cells = [NotebookCell(**c) for c in m.pop("cells", [])]
            left_out = [LeftOut(**x) for x in m.pop("left_out", [])]
            modules.append(NotebookModule(cells=cells, left_out=left_out, **m))
        return cls(notebooks=list(data.get("notebooks", [])), modules=modules,
                   headings=[NotebookHeading(**h) for h in data.get("headings", [])],
                   errors=list(data.get("errors", [])))
