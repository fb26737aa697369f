"""Notebook submissions → the contract's modules, by static analysis only (nothing of them runs).

Students write hw3 in Colab/Jupyter, where a notebook trains for minutes at top level. The judge
reads a submission's ``.ipynb`` files with nbformat (bounded in size, treated as hostile), splits
their cells by problem and, with `ast` and `symtable`, keeps of each problem's cells only what
defines the contract's names: the imports, functions, classes and assignments of those names and
of every name they need (module constants, helpers), and the definitions a variation takes from
problem 2 as ``from problem2 import …``. Loops, calls, plots, prints, ``!shell`` and ``%magic``
lines are left out, each with its reason, so importing a generated module trains nothing.

**Splitting.** A markdown heading or a code cell whose first line is a comment naming a problem
(``# problem3_1``) starts that problem's cells, as `autograder.common.headings` reads it (the one
reading of headings, shared with report.md and file names); a heading deeper than the problem's own
that is a bare number ("## 1. 데이터") is a step inside it, not a new problem (a word or a
sub-number, "## 3-(1)", makes it one), and a heading at the problem's own level or above that names
no problem ("## Other experiments") ends the problem's cells. A notebook named for one problem
(``problem4.ipynb``, ``3-1.ipynb``) starts in that problem. A notebook whose cells cannot be told
apart is reported with the headings it has; the headings table says what each heading was read as.

**Which definition counts.** For a contract name, the problem's own cells' last definition; for
a name that definition needs, the last definition in the notebook up to the end of the problem's
cells (as a run from the top would see it), else a later one. A ``.py`` file of the same module in
the folder wins over the notebook.

**Scripts.** A ``.py`` module that trains or plots when imported is split the same way
(`split_script`): its top-level statements that no contract name needs are blanked out, line
numbers kept, when the judge finds that importing it times out or fails in its top-level code.

Everything here is linear in the notebook's size (no regular expression reads student text), and
student text is made safe to carry where it is read (`autograder.common.text`).
"""

from __future__ import annotations

import ast
import bisect
import builtins
import symtable
from dataclasses import dataclass, field
from pathlib import Path

from autograder.common.contract import BY_MODULE, PROBLEMS
from autograder.common.headings import ProblemRef, read_file_stem, read_heading, read_line
from autograder.common.layout import Layout
from autograder.common.layout import find as find_layout
from autograder.common.notebook_model import (LeftOut, NotebookCell, NotebookConversion,
                                              NotebookHeading, NotebookModule)
from autograder.common.text import no_lone_surrogates

MAX_NOTEBOOK_BYTES = 8 * 2**20
"""A larger notebook is refused (outputs included: clearing them makes a notebook small)."""
MAX_NOTEBOOKS = 10
"""Notebooks read from one folder; more are listed as refused."""
MAX_CELLS = 2000
MAX_CODE_CHARS = 300_000
"""Characters of code read from one notebook (its code cells together)."""
MAX_SHOWN_CELL_CHARS = 20_000
"""Characters of one cell kept for the report."""
MAX_HEADINGS_LISTED = 20

BUILTINS = frozenset(dir(builtins)) | {"__name__", "__file__", "__doc__", "__builtins__", "__spec__"}
NUMBERED = {p.module for p in PROBLEMS}

_CELL_MAGIC_PYTHON = ("%%time", "%%timeit", "%%capture", "%%prun")
MAX_IMPORT_WALK = 64
"""Earlier ``import name.sub`` lines looked back over for one import kept (a bound on the work)."""

REASONS = {
    "magic": "IPython shell/magic line — not Python",
    "loop": "top-level loop: it runs when the module is imported (training, evaluation, printing)",
    "call": "top-level call: it runs when the module is imported (printing, plotting, training)",
    "block": "top-level block: it runs when the module is imported",
    "mutation": "changes an existing object at top level: it runs when the module is imported",
    "main": '`if __name__ == "__main__":` block: it never runs on import',
    "other": "top-level statement that is not a definition",
}


# -- reading ------------------------------------------------------------------------------------
@dataclass
class _Cell:
    index: int
    kind: str
    source: str


def _read(path: Path, name: str) -> tuple[list[_Cell], list[str]]:
    """The notebook's cells, and the problems met reading it (a refused notebook has no cells).
    ``name`` is the file's name as the pages show it."""
    import nbformat  # only submissions with notebooks pay for it

    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        return [], [f"{name}: {size:,} bytes, over the {MAX_NOTEBOOK_BYTES:,} a notebook may have "
                    "(clear its outputs and submit it again); not read"]
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        return [], [f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start}); not read"]
    captured: dict[str, Exception] = {}
    try:
        nb = nbformat.reads(text, as_version=4, capture_validation_error=captured)
        raw_cells = list(nb.get("cells", []))
    except Exception as exc:  # noqa: BLE001 — hostile input: any failure of the parser is the file's
        return [], [f"{name}: not a notebook nbformat can read ({type(exc).__name__}: "
                    f"{no_lone_surrogates(str(exc)[:300])}); not read"]
    errors: list[str] = []
    if "ValidationError" in captured:
        message = str(getattr(captured["ValidationError"], "message", captured["ValidationError"]))
        errors.append(f"{name}: does not follow the notebook format ({no_lone_surrogates(message[:300])}); "
                      "read anyway")
    if len(raw_cells) > MAX_CELLS:
        errors.append(f"{name}: {len(raw_cells):,} cells; only the first {MAX_CELLS:,} were read")
    cells, code_chars = [], 0
    for index, raw in enumerate(raw_cells[:MAX_CELLS]):
        kind, source = (raw.get("cell_type"), raw.get("source")) if isinstance(raw, dict) else (None, None)
        if isinstance(source, list) and all(isinstance(s, str) for s in source):
            source = "".join(source)
        if kind not in ("code", "markdown") or not isinstance(source, str):
            continue
        if kind == "code":
            code_chars += len(source)
            if code_chars > MAX_CODE_CHARS:
                errors.append(f"{name}: over {MAX_CODE_CHARS:,} characters of code; "
                              f"cells from {index + 1} on were not read")
                break
        cells.append(_Cell(index, kind, no_lone_surrogates(source)))  # a JSON "\udcff" ends here
    return cells, errors


# -- splitting ----------------------------------------------------------------------------------
def _named(ref: ProblemRef | None) -> ProblemRef | None:
    """``ref`` when it names a module of the contract or problem 3 as a whole ("3-(7)" does not)."""
    return ref if ref is not None and ref.module is not None else None


def problem_of_filename(stem: str) -> ProblemRef | None:
    """``problem4`` → problem4, ``hw3_problem3-1`` → problem3_1, ``4`` → problem4; ``hw3`` → None."""
    reading = read_file_stem(stem)
    return _named(reading.ref) if reading is not None and reading.named else None


def _atx(line: str) -> tuple[int, str] | None:
    """(level, text) of a CommonMark ATX heading line (``## 3-(1) …  ##``; also after a list
    marker, as "- # 3-(1)" in a report pasted into a cell), else None."""
    i, n = 0, len(line)
    while i < n and i < 3 and line[i] == " ":
        i += 1
    if i + 1 < n and line[i] in "-*+" and line[i + 1] in " \t":
        i += 1
        while i < n and line[i] in " \t":
            i += 1
    level = 0
    while i < n and line[i] == "#" and level <= 6:
        level, i = level + 1, i + 1
    if not 1 <= level <= 6 or (i < n and line[i] not in " \t"):
        return None
    text = line[i:].strip()
    closed = text.rstrip("#")
    if closed != text and (not closed or closed[-1] in " \t"):
        text = closed.rstrip()
    return level, text


def _bold(line: str) -> str | None:
    """The text of a line that starts with bold text (``**문제 5** 손실 함수``), else None."""
    text = line.lstrip()
    if len(text) > 1 and text[0] in "-*+" and text[1] in " \t":
        text = text[1:].lstrip()
    if not text.startswith("**"):
        return None
    end = text.find("**", 2)
    return text[2:end] if end > 2 else None


def _candidates(cell: _Cell) -> list[tuple[str, int | None, str]]:
    """(text, level, kind) of each heading-like line of a markdown cell, in order."""
    out: list[tuple[str, int | None, str]] = []
    lines = cell.source.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), -1)
    fence = ""
    for i, line in enumerate(lines):
        marker = line.lstrip()[:3]
        if marker in ("```", "~~~") and (not fence or marker == fence):
            fence = "" if fence else marker  # code quoted in markdown: its "# …" lines are not headings
            continue
        if fence:
            continue
        if (atx := _atx(line)) is not None:
            out.append((atx[1], atx[0], "atx"))
        elif (bold := _bold(line)) is not None:
            out.append((bold, None, "bold"))
        elif i == first and len(line.strip()) <= 60:
            out.append((line.strip(), None, "plain"))
    return out


def _comment_target(first: str) -> ProblemRef | None:
    """What a code cell's first-line comment names: nothing but a reference (``# 2``), or a
    prefixed one at its start (``# problem 3_1: augmentation``)."""
    comment = first.lstrip("#").strip()
    found = read_line(comment)
    if found is None and (found := read_heading(comment, anywhere=False)) is not None and not found.prefixed:
        found = None
    return _named(found)


def _split(name: str, cells: list[_Cell]) -> tuple[dict[int, str], dict[int, str], list[NotebookHeading]]:
    """Each code cell's section (a contract module or ``problem3``; absent: before any problem,
    or after a heading that ended the problem's cells); the cells after such a heading, until the
    next problem's, with the module whose cells it ended; and the headings read."""
    start = problem_of_filename(Path(name).stem)
    current: ProblemRef | None = start
    level: int | None = 0 if start else None
    ended: str | None = None
    sections: dict[int, str] = {}
    trailing: dict[int, str] = {}
    headings: list[NotebookHeading] = []

    def switch(target: ProblemRef, new_level: int | None, strong: bool) -> str:
        """Start ``target``'s cells, unless the heading is a step inside the current problem;
        returns what the heading was read as."""
        nonlocal current, level, ended
        if current is not None and not strong:
            deeper = new_level is None or (level is not None and new_level > level)
            if deeper and not target.prefixed:
                return f"a step inside {current.module}"  # "## 1. 데이터" inside problem 2
        current, level, ended = target, new_level, None
        if target.module == "problem3":
            return "problem 3, no variation named (its cells are not used)"
        return f"starts {target.module}"

    def unnamed(new_level: int | None) -> str:
        """A heading that names no problem: at the problem's own level or above it ends its cells."""
        nonlocal current, level, ended
        if current is not None and new_level is not None and level is not None and new_level <= level:
            ended, current, level = current.module, None, None
            return f"names no problem: ends {ended}'s cells"
        return f"names no problem (inside {current.module})" if current is not None else "names no problem"

    for cell in cells:
        if cell.kind == "markdown":
            for text, lvl, kind in _candidates(cell):
                ref = _named(read_line(text) if kind == "plain" else read_heading(text))
                if kind == "plain" and ref is None:
                    continue  # a first line that is just text
                if ref is not None:  # a line that is nothing but "2" or "**3-(1)**" always switches
                    read_as = switch(ref, lvl, strong=kind != "atx" and read_line(text) is not None)
                elif kind == "atx":
                    read_as = unnamed(lvl)
                else:
                    read_as = "names no problem"
                started = ref.module if ref is not None and read_as.startswith(("starts", "problem 3")) else ""
                headings.append(NotebookHeading(name, cell.index, text[:200], started or "", read_as))
            continue
        first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
        if first.startswith("#") and not first.startswith("#!"):
            target = _comment_target(first)
            if target is not None:
                read_as = switch(target, level, strong=True)
                headings.append(NotebookHeading(name, cell.index, first[:200], target.module or "", read_as))
        if current is not None and current.module is not None:
            sections[cell.index] = current.module
        elif ended is not None:
            trailing[cell.index] = ended
    return sections, trailing, headings


# -- statements ---------------------------------------------------------------------------------
@dataclass
class _Stmt:
    """A top-level statement of a code cell that defines names."""

    cell: int
    pos: tuple[int, int]
    """(cell index, line): notebook order."""
    node: ast.stmt
    text: str
    binds: frozenset[str]
    uses_now: frozenset[str]
    """Global names used when the statement runs (values, class bodies, decorators, defaults)."""
    uses_later: frozenset[str]
    """Global names used only when its functions are called."""
    is_import: bool


@dataclass
class _ParsedCell:
    cell: _Cell
    section: str | None
    stmts: list[_Stmt] = field(default_factory=list)
    left_out: list[LeftOut] = field(default_factory=list)
    body: list[ast.stmt] = field(default_factory=list)
    """Every top-level statement of the cell, as parsed."""
    trailing: str | None = None
    """The module whose cells a heading naming no problem ended just before this cell (none since)."""
    error: str = ""
    unusable: str = ""
    """Why the cell could not be used at all, in the student's words ("" when it parsed)."""


def _is_magic(line: str) -> bool:
    """``!pip …``, ``%matplotlib …``, ``files = !ls``; not a continuation line ``% (a, b)`` or ``!= b``."""
    text = line.lstrip()
    eq = text.find("=")
    if eq > 0 and (text[0].isalnum() or text[0] == "_") and all(
            ch.isalnum() or ch in "_.," or ch.isspace() for ch in text[:eq]):
        rest = text[eq + 1:].lstrip()
        if rest.startswith("!") or rest.startswith("%"):
            text = rest
    if text.startswith("!"):
        return not text.startswith("!=")
    if text.startswith("%%"):
        text = text[1:]
    return len(text) > 1 and text[0] == "%" and text[1].isascii() and text[1].isalpha()


def _strip_magics(source: str) -> tuple[str, list[tuple[int, str]]]:
    """The cell with IPython-only lines turned into ``pass`` (keeping line numbers and blocks),
    and those lines. A cell magic other than timing/capture makes the whole cell non-Python."""
    lines = source.splitlines()
    stripped: list[tuple[int, str]] = []
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and lines[first].lstrip().startswith("%%"):
        if not lines[first].lstrip().startswith(_CELL_MAGIC_PYTHON):
            return "", [(first + 1, lines[first].strip())]
    out = []
    for i, line in enumerate(lines):
        if _is_magic(line):
            indent = line[: len(line) - len(line.lstrip())]
            out.append(indent + "pass")
            stripped.append((i + 1, line.strip()))
        else:
            out.append(line)
    return "\n".join(out) + "\n", stripped


def _names_of_target(target: ast.expr) -> set[str] | None:
    """The names an assignment target binds, or None when it changes an object (``a.b = …``)."""
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, ast.Starred):
        return _names_of_target(target.value)
    if isinstance(target, (ast.Tuple, ast.List)):
        return _names_of_targets(target.elts)
    return None


def _names_of_targets(targets: list[ast.expr]) -> set[str] | None:
    """The names all of ``targets`` bind, or None when one of them changes an object."""
    names: set[str] = set()
    for target in targets:
        sub = _names_of_target(target)
        if sub is None:
            return None
        names |= sub
    return names


def _import_binding(alias: ast.alias) -> str:
    return alias.asname or alias.name.split(".")[0]


def _is_main_guard(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
            and test.left.id == "__name__" and len(test.comparators) == 1
            and isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value == "__main__")


def _definitional(body: list[ast.stmt]) -> set[str] | None:
    """Names bound by a block made only of definitions (``try: import x … except: …``), else None."""
    names: set[str] = set()
    for node in body:
        bound = _binds(node)
        if bound is None:
            if isinstance(node, (ast.Pass, ast.Expr)) and (isinstance(node, ast.Pass) or (
                    isinstance(node.value, ast.Constant) and isinstance(node.value.value, str))):
                continue
            return None
        names |= bound
    return names


def _binds(node: ast.stmt) -> set[str] | None:
    """The names a definitional statement binds, or None when the statement is not one."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {_import_binding(a) for a in node.names}
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, ast.Assign):
        return _names_of_targets(node.targets)
    if isinstance(node, ast.AnnAssign) and node.value is not None and isinstance(node.target, ast.Name):
        return {node.target.id}
    if isinstance(node, ast.If) and not _is_main_guard(node):
        body, orelse = _definitional(node.body), _definitional(node.orelse)
        return body | orelse if body is not None and orelse is not None else None
    if isinstance(node, ast.Try):
        parts = [_definitional(node.body), _definitional(node.orelse), _definitional(node.finalbody),
                 *(_definitional(h.body) for h in node.handlers)]
        return set().union(*parts) if all(p is not None for p in parts) else None
    return None


def _why_not(node: ast.stmt) -> str:
    if isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
        return REASONS["loop"]
    if isinstance(node, ast.Expr):
        return REASONS["call"]
    if isinstance(node, ast.If) and _is_main_guard(node):
        return REASONS["main"]
    if isinstance(node, (ast.AugAssign, ast.Assign, ast.AnnAssign, ast.Delete)):
        return REASONS["mutation"]
    if isinstance(node, (ast.If, ast.With, ast.AsyncWith, ast.Try, ast.Match)):
        return REASONS["block"]
    return REASONS["other"]


_RUN_AT_ONCE = {"listcomp", "setcomp", "dictcomp", "genexpr"}


def _uses(node: ast.stmt, binds: set[str]) -> tuple[frozenset[str], frozenset[str]]:
    """Global names the statement needs when it runs, and those its functions need when called
    (`symtable`: a function's own locals and parameters are not needs)."""
    table = symtable.symtable(ast.unparse(node), "<cell>", "exec")
    now = {s.get_name() for s in table.get_symbols() if s.is_referenced()}
    later: set[str] = set()

    def nested(t: symtable.SymbolTable, deferred: bool) -> None:
        for child in t.get_children():
            runs_later = deferred or (child.get_type() == "function" and child.get_name() not in _RUN_AT_ONCE)
            names = {s.get_name() for s in child.get_symbols() if s.is_referenced() and s.is_global()}
            (later if runs_later else now).update(names)
            nested(child, runs_later)

    nested(table, False)
    skip = binds | BUILTINS
    return frozenset(now - skip), frozenset(later - now - skip)


def _segment(lines: list[str], node: ast.stmt, taken: set[int]) -> str:
    """The statement's own text with the comments just above it, or its unparsed form when it
    shares a line with another statement (``a = 1; b = 2``)."""
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    last = node.end_lineno or node.lineno
    if any(n in taken for n in (first, last)):
        return ast.unparse(node)
    start = first
    while start > 1 and lines[start - 2].lstrip().startswith("#") and (start - 1) not in taken \
            and not lines[start - 2].lstrip().startswith("# -*-"):
        start -= 1
    return "\n".join(lines[start - 1:last]).rstrip()


def _first_line(text: str, limit: int = 120) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _parse(name: str, cell: _Cell, section: str | None, *, magics: bool = True) -> _ParsedCell:
    """The cell's top-level statements; ``magics``: IPython lines are left out first (a notebook's
    cell, not a script)."""
    parsed = _ParsedCell(cell, section)
    code, magics_found = _strip_magics(cell.source) if magics else (cell.source, [])
    parsed.left_out += [LeftOut(name, cell.index, line, _first_line(text), REASONS["magic"])
                        for line, text in magics_found]
    try:
        tree = ast.parse(code, filename=f"{name} cell {cell.index + 1}")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        where = f", line {exc.lineno}" if isinstance(exc, SyntaxError) and exc.lineno else ""
        parsed.error = (f"{name}, cell {cell.index + 1}: does not parse as Python{where} "
                        f"({type(exc).__name__}: {getattr(exc, 'msg', exc)}); the cell was left out")
        parsed.left_out.append(LeftOut(name, cell.index, 0, _first_line(cell.source),
                                       f"the cell does not parse as Python: {getattr(exc, 'msg', exc)}"))
        parsed.unusable = (f"{name} cell {cell.index + 1} could not be used: it does not parse as Python{where} "
                           f"({getattr(exc, 'msg', exc)})")
        return parsed
    parsed.body = list(tree.body)
    lines = code.splitlines()
    counts: dict[int, int] = {}
    for node in tree.body:
        for n in range(node.lineno, (node.end_lineno or node.lineno) + 1):
            counts[n] = counts.get(n, 0) + 1
    shared = {n for n, c in counts.items() if c > 1}
    for node in tree.body:
        if isinstance(node, ast.Pass) or (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            continue  # a stripped magic line, a docstring
        bound = _binds(node)
        text = _segment(lines, node, shared)
        if bound is None:
            parsed.left_out.append(LeftOut(name, cell.index, node.lineno, _first_line(lines[node.lineno - 1]),
                                           _why_not(node)))
            continue
        try:
            now, later = _uses(node, bound)
        except (SyntaxError, RecursionError, MemoryError) as exc:
            parsed.left_out.append(LeftOut(name, cell.index, node.lineno, _first_line(lines[node.lineno - 1]),
                                           f"does not compile: {getattr(exc, 'msg', exc)}"))
            continue
        parsed.stmts.append(_Stmt(cell.index, (cell.index, node.lineno), node, text, frozenset(bound),
                                  now, later, isinstance(node, (ast.Import, ast.ImportFrom))))
    return parsed


# -- one notebook -------------------------------------------------------------------------------
@dataclass
class _Notebook:
    name: str
    cells: list[_ParsedCell]
    headings: list[NotebookHeading]
    errors: list[str]

    def section_cells(self, module: str) -> list[_ParsedCell]:
        return [c for c in self.cells if c.section == module and c.cell.kind == "code"]

    def trailing_cells(self, module: str) -> list[_ParsedCell]:
        """The cells after a heading that ended ``module``'s cells, before the next problem's."""
        return [c for c in self.cells if c.trailing == module]

    @property
    def stmts(self) -> list[_Stmt]:
        return [s for c in self.cells for s in c.stmts]


class _Index:
    """Statements by the names they bind, in notebook order, with what a run up to a point leaves
    bound (`bindings`): each answer costs a binary search, once per name and position."""

    def __init__(self, stmts: list[_Stmt]) -> None:
        self.by_name: dict[str, list[_Stmt]] = {}
        for s in stmts:
            for name in s.binds:
                self.by_name.setdefault(name, []).append(s)
        self._positions = {name: [s.pos for s in found] for name, found in self.by_name.items()}
        self._cache: dict[tuple[str, int], list[_Stmt]] = {}

    def get(self, name: str) -> list[_Stmt]:
        return self.by_name.get(name, [])

    def bindings(self, name: str, limit: tuple[int, int] | None = None, *, strict: bool = False) -> list[_Stmt]:
        """The statements binding ``name`` as a run up to ``limit`` (before it, when ``strict``)
        leaves it: the last definition; for an import, the last import of it and the other
        ``import name.sub`` lines just before it (each loads a submodule the code may use as
        ``name.sub``; at most `MAX_IMPORT_WALK` are looked back over)."""
        found = self.by_name.get(name)
        if not found:
            return []
        positions = self._positions[name]
        count = (len(found) if limit is None else
                 bisect.bisect_left(positions, limit) if strict else bisect.bisect_right(positions, limit))
        key = (name, count)
        if key not in self._cache:
            self._cache[key] = _last_binding(found, count, name)
        return self._cache[key]


def _last_binding(found: list[_Stmt], count: int, name: str) -> list[_Stmt]:
    if count == 0:
        return []
    last = found[count - 1]
    if not last.is_import:
        return [last]
    imports: list[_Stmt] = [last]
    loaded = {a.name for a in last.node.names} if isinstance(last.node, ast.Import) else set()
    for i in range(count - 2, max(-1, count - 2 - MAX_IMPORT_WALK), -1):
        s = found[i]
        if not s.is_import:
            break
        subs = {a.name for a in s.node.names if isinstance(s.node, ast.Import) and a.asname is None
                and a.name.startswith(name + ".")} - loaded
        if subs:
            imports.insert(0, s)
            loaded |= subs
    return imports


def _load(path: Path) -> _Notebook:
    name = no_lone_surrogates(path.name)  # a name that is not UTF-8 comes decoded with surrogates
    cells, errors = _read(path, name)
    sections, trailing, headings = _split(name, cells)
    parsed = [_parse(name, c, sections.get(c.index)) for c in cells if c.kind == "code"]
    for p in parsed:
        p.trailing = trailing.get(p.cell.index)
    errors += [p.error for p in parsed if p.error]
    return _Notebook(name, parsed, headings, errors)


@dataclass
class _Selection:
    """What a module made of a problem's cells keeps, and in which order."""

    order: list[_Stmt]
    kept: dict[int, _Stmt]
    aliases: dict[int, set[str]]
    from_problem2: list[str]
    unresolved: list[str]
    missing: list[str]
    left_out: list[LeftOut]
    late: list[str]
    """Contract names taken from cells after a heading that ended the problem's cells."""


def _is_future(s: _Stmt) -> bool:
    return isinstance(s.node, ast.ImportFrom) and s.node.module == "__future__"


def _select(nb: _Notebook, module: str, problem2_names: frozenset[str]) -> _Selection:
    """What to keep of ``nb`` for ``module`` (see the module docstring)."""
    spec = BY_MODULE[module]
    own = _Index([s for c in nb.section_cells(module) for s in c.stmts])
    after = _Index([s for c in nb.trailing_cells(module) for s in c.stmts])
    every = _Index(nb.stmts)
    sections = {c.cell.index: c.section for c in nb.cells}
    wanted = spec.own_names or spec.names
    late = [name for name in wanted if not own.get(name) and after.get(name)]
    """Contract names the problem's cells lack and cells after its end define ("# 2" then "# Train")."""
    end = (max(c.cell.index for c in nb.section_cells(module) + (nb.trailing_cells(module) if late else [])),
           10**9)
    kept: dict[int, _Stmt] = {}
    first_needs: dict[int, list[_Stmt]] = {}
    """For each kept statement, the kept statements it needs when it runs (they go before it)."""
    aliases: dict[int, set[str]] = {}
    from_problem2: set[str] = set()
    unresolved: set[str] = set()
    missing: list[str] = []
    star = [s for s in every.get("*") if s.pos <= end]

    def keep(stmts: list[_Stmt], name: str) -> None:
        for s in stmts:
            if s.is_import:
                aliases.setdefault(id(s), set()).add(name)
            if id(s) in kept:
                continue
            kept[id(s)] = s
            first_needs[id(s)] = [d for used in sorted(s.uses_now) for d in resolve(used, s.pos)]
            for used in sorted(s.uses_later):
                resolve(used, None)

    def resolve(name: str, at: tuple[int, int] | None) -> list[_Stmt]:
        """Keep what binds ``name`` for a use at ``at`` (None: when a function is called)."""
        found = ((at and every.bindings(name, at, strict=True)) or every.bindings(name, end)
                 or every.bindings(name))
        from_two = bool(found) and not found[0].is_import and all(sections.get(s.cell) == "problem2" for s in found)
        if spec.own_names and name in problem2_names and (from_two or not found):
            from_problem2.add(name)
            return []
        if found:
            keep(found, name)
            return found
        if star:
            keep(star, "*")
            return star
        unresolved.add(name)
        return []

    for s in nb.stmts:  # `from __future__ import …` changes how the rest compiles: always kept
        if _is_future(s):
            keep([s], "*")
    for name in wanted:
        found = own.bindings(name) or (after.bindings(name) if name in late else [])
        if found:
            keep(found, name)
        else:
            missing.append(name)

    order: list[_Stmt] = []
    placed: set[int] = set()

    def place(s: _Stmt) -> None:  # notebook order, each statement after what it needs at once
        if id(s) in placed:
            return
        placed.add(id(s))
        for dep in first_needs.get(id(s), []):
            place(dep)
        order.append(s)

    for s in sorted(kept.values(), key=lambda s: (not _is_future(s), s.pos)):
        place(s)
    left_out: list[LeftOut] = []
    for c in nb.section_cells(module):
        left_out += c.left_out
        for s in c.stmts:
            if id(s) in kept:
                continue
            names = ", ".join(sorted(s.binds))
            earlier = any(n in wanted for n in s.binds)
            reason = (f"an earlier definition of {names}: the last one in the problem's cells counts" if earlier
                      else f"defines {names}, which no contract name of {module}.py needs")
            left_out.append(LeftOut(nb.name, s.cell, s.pos[1], _first_line(ast.unparse(s.node)), reason))
    left_out.sort(key=lambda x: (x.index, x.line))
    return _Selection(order, kept, aliases, sorted(from_problem2), sorted(unresolved), missing, left_out, late)


def _generate(nb: _Notebook, module: str, problem2_names: frozenset[str]) -> NotebookModule:
    """The module for ``module`` from ``nb``'s cells of that problem (see the module docstring)."""
    chosen = _select(nb, module, problem2_names)
    body = _render(nb.name, module, chosen.order, chosen.aliases, chosen.from_problem2)
    used_cells = sorted({c.cell.index for c in nb.section_cells(module)} | {s.cell for s in chosen.kept.values()})
    by_index = {c.cell.index: c.cell for c in nb.cells}
    cells = [NotebookCell(nb.name, i, _bounded(by_index[i].source)) for i in used_cells]
    unusable = [c.unusable for c in nb.section_cells(module) if c.unusable]
    return NotebookModule(module=module, notebook=nb.name, source=body, cells=cells, left_out=chosen.left_out,
                          missing=chosen.missing, from_problem2=chosen.from_problem2,
                          unresolved=chosen.unresolved, unusable=unusable, after_end=chosen.late)


def _bounded(text: str) -> str:
    if len(text) <= MAX_SHOWN_CELL_CHARS:
        return text
    return text[:MAX_SHOWN_CELL_CHARS] + f"\n# … {len(text) - MAX_SHOWN_CELL_CHARS:,} more characters not shown"


def _render(notebook: str, module: str, stmts: list[_Stmt], aliases: dict[int, set[str]],
            from_problem2: list[str]) -> str:
    """The generated module's text: a header, problem 2's names, then the kept statements by cell
    (each import once, with only the names needed)."""
    cells = sorted({s.cell + 1 for s in stmts})
    notebook = "".join(ch if ch.isprintable() else "?" for ch in notebook)  # a file name is the student's
    lines = [f"# {module}.py — generated by the autograder from {notebook} "
             f"(cell{'s' if len(cells) != 1 else ''} {', '.join(map(str, cells)) or 'none'}) without running it.",
             "# Only imports and the definitions the contract's names need were kept; the report lists "
             "what was left out."]
    futures = [s for s in stmts if _is_future(s)]
    if futures:
        lines += ["", *dict.fromkeys(ast.unparse(s.node) for s in futures)]
        stmts = [s for s in stmts if not _is_future(s)]
    if from_problem2:
        lines += ["", f"from problem2 import {', '.join(from_problem2)}"]
    seen: set[str] = set()
    previous, last_was_import = None, False
    for s in stmts:
        if s.is_import and "*" not in s.binds:
            node = s.node
            keep = aliases.get(id(s), set())
            names = [a for a in node.names if _import_binding(a) in keep] or list(node.names)
            clone = (ast.Import(names=names) if isinstance(node, ast.Import)
                     else ast.ImportFrom(module=node.module, names=names, level=node.level))
            text = ast.unparse(clone)
        else:
            text = s.text
        if text in seen:
            continue
        seen.add(text)
        if s.cell != previous:
            lines += ["", "", f"# ── cell {s.cell + 1}"]
            previous = s.cell
        elif not (s.is_import and last_was_import):
            lines.append("")
        lines.append(text)
        last_was_import = s.is_import
    return "\n".join(lines).rstrip() + "\n"


# -- a folder -----------------------------------------------------------------------------------
def convert(folder: Path, layout: Layout | None = None) -> NotebookConversion | None:
    """What the folder's notebooks provide, or None when it holds none. Never runs their code.
    ``layout``: where the folder's code is and which modules it has as files (`layout.find`)."""
    layout = layout if layout is not None else find_layout(folder)
    paths = [folder / p for p in layout.notebooks]
    paths = [p for p in paths if p.is_file() and not p.is_symlink()]
    if not paths:
        return None
    conversion = NotebookConversion()
    if len(paths) > MAX_NOTEBOOKS:
        conversion.errors.append(f"{len(paths)} notebooks; only the first {MAX_NOTEBOOKS} (by name) were read: "
                                 + ", ".join(no_lone_surrogates(p.name) for p in paths[MAX_NOTEBOOKS:MAX_NOTEBOOKS + 5]))
        paths = paths[:MAX_NOTEBOOKS]
    notebooks = [_load(p) for p in paths]
    conversion.notebooks = [nb.name for nb in notebooks]
    for nb in notebooks:
        conversion.headings += nb.headings
        conversion.errors += nb.errors
    chosen = _choose(notebooks, conversion.errors)
    present = set(layout.modules)
    problem2_names: frozenset[str] = frozenset()
    for module in [m for m in NUMBERED if m in chosen and not BY_MODULE[m].own_names] + \
                  [m for m in NUMBERED if m in chosen and BY_MODULE[m].own_names]:
        try:
            generated = _generate(chosen[module], module, problem2_names)
        except RecursionError:
            conversion.errors.append(f"{chosen[module].name}: the definitions {module} needs depend on each "
                                     "other too deeply to follow; no module was made for it")
            continue
        generated.used = module not in present
        conversion.modules.append(generated)
        if module == "problem2" and generated.used:
            problem2_names = _defined_names(chosen[module], generated)
    order = {p.module: i for i, p in enumerate(PROBLEMS)}
    conversion.modules.sort(key=lambda m: order[m.module])
    for nb in notebooks:
        _report_unsplit(nb, conversion.errors)
    return conversion


# -- a script that runs when imported -----------------------------------------------------------
@dataclass(frozen=True)
class ScriptSplit:
    """A ``.py`` module without the top-level statements its contract names do not need."""

    source: str
    """The module's text with those statements blanked out, every line where it was."""
    left_out: list[LeftOut]
    """What was blanked out, and why."""


def split_script(name: str, source: str, module: str) -> ScriptSplit | None:
    """``source`` (the file ``name``, contract module ``module``) as a notebook's cell would be
    kept (`_select`), in the file's own order and lines; None when it does not parse, when it
    defines none of the contract's names, or when nothing would be left out (its top level is
    definitions only). A script over `MAX_CODE_CHARS` is not split (a notebook's code is bounded
    the same way)."""
    if len(source) > MAX_CODE_CHARS:
        return None
    cell = _Cell(0, "code", no_lone_surrogates(source))
    parsed = _parse(name, cell, module, magics=False)
    if parsed.error:
        return None
    nb = _Notebook(name, [parsed], [], [])
    try:
        chosen = _select(nb, module, frozenset())
    except RecursionError:
        return None
    spec = BY_MODULE[module]
    if set(chosen.missing) >= set(spec.own_names or spec.names):
        return None  # it defines none of the contract's names: nothing to grade without its top level
    lines = cell.source.split("\n")
    kept = {id(s.node) for s in chosen.kept.values()}
    blank: set[int] = set()
    rebuilt = False
    spans: dict[int, list[tuple[ast.stmt, bool]]] = {}
    for node in parsed.body:
        keep = (id(node) in kept or isinstance(node, ast.Pass)
                or (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)))
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        for n in range(first, (node.end_lineno or node.lineno) + 1):
            spans.setdefault(n, []).append((node, keep))
    for n, on_line in spans.items():
        if not any(keep for _, keep in on_line):
            blank.add(n)
        elif len(on_line) > 1 and not all(keep for _, keep in on_line):
            if all(node.lineno == node.end_lineno for node, _ in on_line):  # ``a = 1; train()``
                lines[n - 1] = "; ".join(ast.unparse(node) for node, keep in on_line if keep)
                rebuilt = True
    if not blank and not rebuilt:
        return None
    for n in blank:
        lines[n - 1] = ""
    text = "\n".join(lines)
    try:
        ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    left_out = [x for x in chosen.left_out if x.line == 0 or x.line in blank
                or any(not keep for _, keep in spans.get(x.line, []))]
    return ScriptSplit(text, left_out)


def _defined_names(nb: _Notebook, generated: NotebookModule) -> frozenset[str]:
    """The non-import names the generated problem2 defines (a variation imports those from it)."""
    try:
        tree = ast.parse(generated.source)
    except SyntaxError:
        return frozenset()
    names: set[str] = set()
    for node in tree.body:
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= _binds(node) or set()
    return frozenset(names)


def _choose(notebooks: list[_Notebook], errors: list[str]) -> dict[str, _Notebook]:
    """Which notebook supplies each module: the one named for that problem, else the first by name."""
    chosen: dict[str, _Notebook] = {}
    for module in NUMBERED:
        having = [nb for nb in notebooks if nb.section_cells(module)]
        if not having:
            continue
        named = [nb for nb in having if (t := problem_of_filename(Path(nb.name).stem)) and
                 (t.module == module or (t.module == "problem3" and module.startswith("problem3_")))]
        chosen[module] = (named or having)[0]
        if len(having) > 1:
            errors.append(f"{module}: cells in {', '.join(nb.name for nb in having)}; "
                          f"those of {chosen[module].name} were used")
    return chosen


def _report_unsplit(nb: _Notebook, errors: list[str]) -> None:
    """Say so when a notebook's code cannot be told apart by problem, naming the headings found."""
    code = [c for c in nb.cells if c.cell.source.strip()]
    if not code:
        return
    assigned = [c for c in code if c.section in NUMBERED]
    vague = sorted({c.cell.index + 1 for c in code if c.section == "problem3"})
    if vague:
        errors.append(f"{nb.name}: cells {_ranges(vague)} are under a heading '3' with no 3-(n) heading "
                      "naming the variation; they were not used")
    if assigned:
        return
    found = [h.text for h in nb.headings][:MAX_HEADINGS_LISTED]
    listed = "; ".join(f"'{t}'" for t in found) if found else "none"
    errors.append(f"{nb.name}: cannot be split by problem — no markdown heading or first-line comment names "
                  f"a problem (headings found: {listed}). Start each problem's cells with a heading such as "
                  "'## 1', '## 3-(1)' or '## 문제 4', or a first-line comment '# problem3_1'.")


def _ranges(numbers: list[int]) -> str:
    out: list[str] = []
    for n in numbers:
        if out and out[-1].split("–")[-1] == str(n - 1):
            out[-1] = out[-1].split("–")[0] + f"–{n}"
        else:
            out.append(str(n))
    return ", ".join(out)


def write_modules(conversion: NotebookConversion | None, dst: Path) -> list[str]:
    """Write the used generated modules into ``dst`` (a copy of the submission), never over a file;
    returns the modules written."""
    written = []
    for m in conversion.modules if conversion else []:
        target = dst / f"{m.module}.py"
        if m.used and not target.exists() and not target.is_symlink():
            target.write_text(m.source, encoding="utf-8")
            written.append(m.module)
    return written
