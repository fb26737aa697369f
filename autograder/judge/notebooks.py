"""Notebook submissions → the contract's modules, by static analysis only (nothing of them runs).

Students write hw3 in Colab/Jupyter, where a notebook trains for minutes at top level. The judge
reads a submission's ``.ipynb`` files with nbformat (bounded in size, treated as hostile), splits
their cells by problem and, with `ast` and `symtable`, keeps of each problem's cells only what
defines the contract's names: the imports, functions, classes and assignments of those names and
of every name they need (module constants, helpers), and the definitions a variation takes from
problem 2 as ``from problem2 import …``. Loops, calls, plots, prints, ``!shell`` and ``%magic``
lines are left out, each with its reason, so importing a generated module trains nothing.

**Splitting.** A markdown heading ("1", "2", "3-(1)", "문제 3-(1)", "problem 3_1", "Problem 3.1",
"Q4") or a code cell whose first line is a comment naming a problem (``# problem3_1``) starts that
problem's cells; a heading deeper than the problem's own that is a bare number ("## 1. 데이터")
is a step inside it, not a new problem (a word or a sub-number, "## 3-(1)", makes it one). A notebook named for one problem (``problem4.ipynb``,
``3-1.ipynb``) starts in that problem. A notebook whose cells cannot be told apart is reported
with the headings it has.

**Which definition counts.** For a contract name, the problem's own cells' last definition; for
a name that definition needs, the last definition in the notebook up to the end of the problem's
cells (as a run from the top would see it), else a later one. A ``.py`` file of the same module in
the folder wins over the notebook.
"""

from __future__ import annotations

import ast
import builtins
import re
import symtable
from dataclasses import dataclass, field
from pathlib import Path

from autograder.common.contract import BY_MODULE, PROBLEMS
from autograder.common.notebook_model import (LeftOut, NotebookCell, NotebookConversion,
                                              NotebookHeading, NotebookModule)

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

# "문제 3-(1)", "problem3_1", "Problem 3.1", "Q4", "3번", "1-(1)", "3"
_PREFIX = r"(?:문제|problem|prob\.?|question|q|p)"
_ID = (r"(?P<major>[1-5])(?!\d)(?:\s*번)?"
       r"(?:\s*(?:[-_.]\s*\(?|\()\s*(?P<minor>[1-9])(?!\d)\s*\)?)?")
_HEADING = re.compile(rf"(?P<prefix>{_PREFIX}\s*[-_.]?\s*)?{_ID}(?![0-9A-Za-z])", re.IGNORECASE)
_WHOLE = re.compile(rf"(?P<prefix>{_PREFIX}\s*[-_.]?\s*)?{_ID}\s*[.:)]?\s*(?:번)?\s*", re.IGNORECASE)
_FILE = re.compile(rf"(?:.*[^0-9A-Za-z])?(?P<prefix>{_PREFIX})\s*[-_ ]?\s*{_ID}", re.IGNORECASE)
_ATX = re.compile(r"^\s{0,3}(?:[-*+]\s+)?(?P<hashes>#{1,6})\s+(?P<text>.*?)\s*#*\s*$")
_BOLD = re.compile(r"^\s*(?:[-*+]\s+)?\*\*(?P<text>.+?)\*\*")
_MAGIC = re.compile(r"^\s*(?:\w[\w.,\s]*=\s*)?(?:!(?!=)|%%?[A-Za-z])")
"""``!pip …``, ``%matplotlib …``, ``files = !ls``; not a continuation line ``% (a, b)`` or ``!= b``."""
_CELL_MAGIC_PYTHON = ("%%time", "%%timeit", "%%capture", "%%prun")

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


def _read(path: Path) -> tuple[list[_Cell], list[str]]:
    """The notebook's cells, and the problems met reading it (a refused notebook has no cells)."""
    import nbformat  # only submissions with notebooks pay for it

    name = path.name
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
                    f"{str(exc)[:300]}); not read"]
    errors: list[str] = []
    if "ValidationError" in captured:
        message = str(getattr(captured["ValidationError"], "message", captured["ValidationError"]))
        errors.append(f"{name}: does not follow the notebook format ({message[:300]}); read anyway")
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
        cells.append(_Cell(index, kind, source))
    return cells, errors


# -- splitting ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Target:
    module: str
    """A contract module, or ``problem3`` when no variation is named."""
    major: int
    prefixed: bool
    """Named with a word ("문제", "problem", "Q"), or with a sub-number ("3-(1)", "1-(2)")."""


def _target(match: re.Match[str]) -> _Target | None:
    major, minor = int(match["major"]), match["minor"]
    if major == 3:
        if minor is None:
            module = "problem3"
        elif int(minor) <= 6:
            module = f"problem3_{minor}"
        else:
            return None
    else:
        module = f"problem{major}"
    return _Target(module, major, bool(match["prefix"]) or minor is not None)


def parse_heading(text: str, *, whole: bool = False) -> _Target | None:
    """The problem a heading names ("3-(1) INPUT - CONV…" → problem3_1), or None.
    ``whole``: the text must be nothing but the problem's number (for plain lines and comments)."""
    text = text.strip().strip("*_`").strip()
    match = (_WHOLE.fullmatch if whole else _HEADING.match)(text)
    return _target(match) if match else None


def problem_of_filename(stem: str) -> _Target | None:
    """``problem4`` → problem4, ``hw3_problem3-1`` → problem3_1, ``4`` → problem4; ``hw3`` → None."""
    match = _FILE.fullmatch(stem.strip()) or _WHOLE.fullmatch(stem.strip())
    return _target(match) if match else None


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
        if m := _ATX.match(line):
            out.append((m["text"], len(m["hashes"]), "atx"))
        elif m := _BOLD.match(line):
            out.append((m["text"], None, "bold"))
        elif i == first and len(line.strip()) <= 60:
            out.append((line.strip(), None, "plain"))
    return out


def _split(name: str, cells: list[_Cell]) -> tuple[dict[int, str], list[NotebookHeading]]:
    """Each code cell's section (a contract module or ``problem3``; absent: before any problem)."""
    start = problem_of_filename(Path(name).stem)
    current: _Target | None = start
    level: int | None = 0 if start else None
    sections: dict[int, str] = {}
    headings: list[NotebookHeading] = []

    def switch(target: _Target, new_level: int | None, strong: bool) -> None:
        nonlocal current, level
        if current is not None and not strong:
            deeper = new_level is None or (level is not None and new_level > level)
            if deeper and not target.prefixed:
                return  # "## 1. 데이터" inside problem 2 is a step, not problem 1
        current, level = target, new_level

    for cell in cells:
        if cell.kind == "markdown":
            for text, lvl, kind in _candidates(cell):
                target = parse_heading(text, whole=kind == "plain")
                if kind != "plain" or target:
                    headings.append(NotebookHeading(name, cell.index, text[:200], target.module if target else ""))
                if target is not None:  # a line that is nothing but "2" or "**3-(1)**" always switches
                    switch(target, lvl, strong=kind != "atx" and bool(parse_heading(text, whole=True)))
            continue
        first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
        if first.startswith("#") and not first.startswith("#!"):
            comment = first.lstrip("#").strip()
            target = parse_heading(comment, whole=True) or (
                t if (t := parse_heading(comment)) and t.prefixed else None)
            if target is not None:
                headings.append(NotebookHeading(name, cell.index, first[:200], target.module))
                switch(target, level, strong=True)
        if current is not None:
            sections[cell.index] = current.module
    return sections, headings


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
    error: str = ""


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
        if _MAGIC.match(line):
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


def _parse(name: str, cell: _Cell, section: str | None) -> _ParsedCell:
    parsed = _ParsedCell(cell, section)
    code, magics = _strip_magics(cell.source)
    parsed.left_out += [LeftOut(name, cell.index, line, _first_line(text), REASONS["magic"])
                        for line, text in magics]
    try:
        tree = ast.parse(code, filename=f"{name} cell {cell.index + 1}")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        where = f", line {exc.lineno}" if isinstance(exc, SyntaxError) and exc.lineno else ""
        parsed.error = (f"{name}, cell {cell.index + 1}: does not parse as Python{where} "
                        f"({type(exc).__name__}: {getattr(exc, 'msg', exc)}); the cell was left out")
        parsed.left_out.append(LeftOut(name, cell.index, 0, _first_line(cell.source),
                                       f"the cell does not parse as Python: {getattr(exc, 'msg', exc)}"))
        return parsed
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

    @property
    def stmts(self) -> list[_Stmt]:
        return [s for c in self.cells for s in c.stmts]


def _index(stmts: list[_Stmt]) -> dict[str, list[_Stmt]]:
    """Statements by the names they bind, in notebook order (lookups stay cheap in big notebooks)."""
    by_name: dict[str, list[_Stmt]] = {}
    for s in stmts:
        for name in s.binds:
            by_name.setdefault(name, []).append(s)
    return by_name


def _load(path: Path) -> _Notebook:
    cells, errors = _read(path)
    sections, headings = _split(path.name, cells)
    parsed = [_parse(path.name, c, sections.get(c.index)) for c in cells if c.kind == "code"]
    errors += [p.error for p in parsed if p.error]
    return _Notebook(path.name, parsed, headings, errors)


def _bindings(index: dict[str, list[_Stmt]], name: str, limit: tuple[int, int] | None = None, *,
              strict: bool = False) -> list[_Stmt]:
    """The statements binding ``name`` as a run up to ``limit`` (before it, when ``strict``) leaves
    it: the last definition; for an import, the last import of it and the other ``import name.sub``
    lines before it (each loads a submodule the code may use as ``name.sub``)."""
    found = [s for s in index.get(name, [])
             if limit is None or (s.pos < limit if strict else s.pos <= limit)]
    if not found:
        return []
    last = found[-1]
    if not last.is_import:
        return [last]
    imports: list[_Stmt] = [last]
    loaded = {a.name for a in last.node.names} if isinstance(last.node, ast.Import) else set()
    for s in reversed(found[:-1]):
        if not s.is_import:
            break
        subs = {a.name for a in s.node.names if isinstance(s.node, ast.Import) and a.asname is None
                and a.name.startswith(name + ".")} - loaded
        if subs:
            imports.insert(0, s)
            loaded |= subs
    return imports


def _generate(nb: _Notebook, module: str, problem2_names: frozenset[str]) -> NotebookModule:
    """The module for ``module`` from ``nb``'s cells of that problem (see the module docstring)."""
    spec = BY_MODULE[module]
    own = _index([s for c in nb.section_cells(module) for s in c.stmts])
    every = _index(nb.stmts)
    sections = {c.cell.index: c.section for c in nb.cells}
    end = (max(c.cell.index for c in nb.section_cells(module)), 10**9)
    wanted = spec.own_names or spec.names
    kept: dict[int, _Stmt] = {}
    first_needs: dict[int, list[_Stmt]] = {}
    """For each kept statement, the kept statements it needs when it runs (they go before it)."""
    aliases: dict[int, set[str]] = {}
    from_problem2: set[str] = set()
    unresolved: set[str] = set()
    missing: list[str] = []
    star = [s for s in every.get("*", []) if s.pos <= end]

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
        found = ((at and _bindings(every, name, at, strict=True)) or _bindings(every, name, end)
                 or _bindings(every, name))
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

    for name in wanted:
        found = _bindings(own, name)
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

    for s in sorted(kept.values(), key=lambda s: s.pos):
        place(s)
    body = _render(nb.name, module, order, aliases, sorted(from_problem2))
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
    used_cells = sorted({c.cell.index for c in nb.section_cells(module)} | {s.cell for s in kept.values()})
    by_index = {c.cell.index: c.cell for c in nb.cells}
    cells = [NotebookCell(nb.name, i, _bounded(by_index[i].source)) for i in used_cells]
    return NotebookModule(module=module, notebook=nb.name, source=body, cells=cells, left_out=left_out,
                          missing=missing, from_problem2=sorted(from_problem2), unresolved=sorted(unresolved))


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
def notebook_files(folder: Path) -> list[Path]:
    """The folder's own notebooks (regular files, not links), by name."""
    return sorted(p for p in folder.glob("*.ipynb") if p.is_file() and not p.is_symlink())


def convert(folder: Path) -> NotebookConversion | None:
    """What the folder's notebooks provide, or None when it holds none. Never runs their code."""
    paths = notebook_files(folder)
    if not paths:
        return None
    conversion = NotebookConversion()
    if len(paths) > MAX_NOTEBOOKS:
        conversion.errors.append(f"{len(paths)} notebooks; only the first {MAX_NOTEBOOKS} (by name) were read: "
                                 + ", ".join(p.name for p in paths[MAX_NOTEBOOKS:MAX_NOTEBOOKS + 5]))
        paths = paths[:MAX_NOTEBOOKS]
    notebooks = [_load(p) for p in paths]
    conversion.notebooks = [nb.name for nb in notebooks]
    for nb in notebooks:
        conversion.headings += nb.headings
        conversion.errors += nb.errors
    chosen = _choose(notebooks, conversion.errors)
    present = {p.module for p in PROBLEMS if (folder / f"{p.module}.py").is_file()}
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
