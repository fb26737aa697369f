"""Code fingerprints for the similarity check: a submission's file → normalised tokens → k-gram hashes.

The method is MOSS's (S. Schleimer, D. S. Wilkerson, A. Aiken, "Winnowing: Local Algorithms for
Document Fingerprinting", SIGMOD 2003), on the abstract syntax tree instead of the text:

1. **Parse, never run.** The file is parsed with :func:`ast.parse`; nothing is imported or
   executed. Files over :data:`MAX_SOURCE_BYTES`, and files that do not parse, are skipped with a
   note (:class:`Unreadable`).
2. **Normalise.** The tree is walked in source order (iteratively: a hostile file cannot exhaust
   the stack) and each node becomes one token: its type, with operators folded in (``BinOp:Add``).
   Every name the file binds itself — variables, parameters, functions, classes, methods,
   ``self.x`` attributes — becomes the one token ``ID``, so renaming changes nothing. Names the file does not bind keep their spelling: library calls are resolved
   through the imports (``F.relu`` and ``torch.nn.functional.relu`` are both
   ``torch.nn.functional.relu``), builtins stay as they are. String contents become ``STR``;
   numbers are kept. Comments and formatting are gone by construction; docstrings, imports,
   annotations and the ``if __name__ == "__main__":`` demo block are dropped. Keyword arguments
   are sorted, so ``lr=…, momentum=…`` and ``momentum=…, lr=…`` agree.
3. **Units.** Each function and method is a unit of its own; a class's other statements are one
   unit, and the module's top-level statements another. k-grams never cross a unit's edge, so
   reordering functions, methods or classes leaves the fingerprints unchanged.
4. **k-grams and winnowing.** Every run of :data:`K` consecutive tokens of a unit is hashed
   (Karp–Rabin, so each hash costs O(1)); in each window of :data:`WINDOW` consecutive hashes the
   minimum is kept (the rightmost on ties), as the paper's winnowing does. Any shared run of at
   least ``K + WINDOW - 1`` tokens is then guaranteed to share a fingerprint, and no run shorter
   than ``K`` tokens can (the paper's guarantee and noise thresholds).

The values of :data:`K` and :data:`WINDOW` were measured on the project's own solutions:
see docs/similarity.md.
"""

from __future__ import annotations

import ast
import hashlib
import tokenize
from dataclasses import dataclass, field
from functools import lru_cache
from io import BytesIO

MAX_SOURCE_BYTES = 256 * 1024
"""A submission's file larger than this is not fingerprinted (hw3's files are a few kB)."""

K = 12
"""Tokens per k-gram: shorter shared runs never count (the paper's noise threshold)."""

WINDOW = 4
"""Hashes per winnowing window: runs of K + WINDOW - 1 tokens are always detected."""

_PRIME = (1 << 61) - 1
_BASE = 1_000_003


class Unreadable(Exception):
    """A file that cannot be fingerprinted (too large, not Python, not decodable); the message says why."""


@dataclass(frozen=True)
class Token:
    text: str
    """The normalised token, e.g. ``ID``, ``Call``, ``torch.nn.Conv2d``, ``BinOp:Mult``, ``5``."""
    line: int
    """Line of the source it comes from (1-based), for marking the shared parts."""


@dataclass
class Unit:
    """A function, a method, a class's own statements or the module's: k-grams stay inside one."""

    name: str
    tokens: list[Token] = field(default_factory=list)


@dataclass
class KGram:
    hash: int
    unit: int
    start: int
    """Index of the k-gram's first token in its unit."""


@dataclass
class Fingerprint:
    """Everything the comparison needs from one file."""

    units: list[Unit]
    kgrams: list[KGram]
    """Every k-gram, in unit and token order."""
    selected: list[KGram]
    """The winnowed subset: the file's fingerprints."""

    @property
    def token_count(self) -> int:
        return sum(len(u.tokens) for u in self.units)

    def lines(self, kgram: KGram, k: int = K) -> set[int]:
        """Source lines the tokens of ``kgram`` come from."""
        return {t.line for t in self.units[kgram.unit].tokens[kgram.start:kgram.start + k]}


# -- reading ----------------------------------------------------------------------------------------
def decode(data: bytes) -> str:
    """Source text for display: the file's declared encoding (PEP 263), undecodable bytes replaced."""
    try:
        encoding, _ = tokenize.detect_encoding(BytesIO(data).readline)
    except SyntaxError:
        encoding = "utf-8"
    try:
        return data.decode(encoding, errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


def parse(data: bytes) -> ast.Module:
    """The file's syntax tree, or :class:`Unreadable` saying why not (nothing is executed)."""
    if len(data) > MAX_SOURCE_BYTES:
        raise Unreadable(f"larger than {MAX_SOURCE_BYTES // 1024} kB ({len(data)} bytes): not compared")
    try:
        return ast.parse(data)
    except SyntaxError as exc:
        raise Unreadable(f"does not parse as Python (line {exc.lineno}: {exc.msg})") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise Unreadable(f"does not parse as Python ({type(exc).__name__})") from None


# -- normalising ------------------------------------------------------------------------------------
_SKIPPED = (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop, ast.Import, ast.ImportFrom)


class _Names:
    """What the file binds itself (normalised to ``ID``) and what its imports name."""

    def __init__(self, tree: ast.Module) -> None:
        self.bound: set[str] = set()
        self.bound_attrs: set[str] = set()
        self.modules: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                self.bound.add(node.id)
            elif isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Load):
                self.bound_attrs.add(node.attr)
            elif isinstance(node, ast.arg):
                self.bound.add(node.arg)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.bound.add(node.name)
                if isinstance(node, ast.ClassDef):  # methods are called as self.name(...)
                    self.bound_attrs.update(s.name for s in node.body
                                            if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)))
            elif isinstance(node, ast.ExceptHandler) and node.name:
                self.bound.add(node.name)
            elif isinstance(node, (ast.Global, ast.Nonlocal)):
                self.bound.update(node.names)
            elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
                self.bound.add(node.name)
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        self.modules[a.asname] = a.name
                    else:
                        top = a.name.split(".")[0]
                        self.modules[top] = top
            elif isinstance(node, ast.ImportFrom):
                base = "." * node.level + (node.module or "")
                for a in node.names:
                    if a.name != "*":
                        self.modules[a.asname or a.name] = f"{base}.{a.name}" if base else a.name
        self.modules = {k: v for k, v in self.modules.items() if k not in self.bound}

    def name(self, identifier: str) -> str:
        if identifier in self.bound:
            return "ID"
        return self.modules.get(identifier, identifier)

    def dotted(self, node: ast.Attribute) -> str | None:
        """``torch.nn.functional.relu`` for an attribute chain on an imported module, else None."""
        parts: list[str] = []
        current: ast.expr = node
        while isinstance(current, ast.Attribute):
            if current.attr in self.bound_attrs:
                return None
            parts.append(current.attr)
            current = current.value
        if isinstance(current, ast.Name) and current.id in self.modules:
            return ".".join([self.modules[current.id], *reversed(parts)])
        return None


def _is_docstring(node: ast.AST) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str))


def _is_main_block(node: ast.AST) -> bool:
    """``if __name__ == "__main__":`` (either way round): the homework's demo code, not graded."""
    if not (isinstance(node, ast.If) and isinstance(node.test, ast.Compare) and len(node.test.comparators) == 1):
        return False
    sides = [node.test.left, node.test.comparators[0]]
    return (any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides)
            and any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides))


def _token_text(node: ast.AST, names: _Names) -> str:
    if isinstance(node, ast.Name):
        return names.name(node.id)
    if isinstance(node, ast.Attribute):
        return "." + ("ID" if node.attr in names.bound_attrs else node.attr)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, (str, bytes)):
            return "STR"
        return repr(node.value)
    if isinstance(node, (ast.BinOp, ast.AugAssign)):
        return f"{type(node).__name__}:{type(node.op).__name__}"
    if isinstance(node, ast.UnaryOp):
        return f"UnaryOp:{type(node.op).__name__}"
    if isinstance(node, ast.BoolOp):
        return f"BoolOp:{type(node.op).__name__}"
    if isinstance(node, ast.Compare):
        return "Compare:" + ",".join(type(op).__name__ for op in node.ops)
    if isinstance(node, ast.keyword):
        return "kw:" + ("**" if node.arg is None else node.arg)
    return type(node).__name__


def _children(node: ast.AST, names: _Names) -> list[ast.AST]:
    """The children that carry meaning, in a canonical order (keywords sorted; annotations,
    docstrings and imports left out)."""
    if isinstance(node, ast.Attribute) and names.dotted(node) is not None:
        return []
    if isinstance(node, ast.arg):
        return []
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return [node.args, *node.decorator_list, *(s for s in node.body if not _is_docstring(s))]
    if isinstance(node, ast.ClassDef):
        return [*node.bases, *node.keywords, *node.decorator_list]
    if isinstance(node, ast.AnnAssign):
        return [node.target] + ([node.value] if node.value is not None else [])
    if isinstance(node, ast.Call):
        keywords = sorted(node.keywords, key=lambda k: (k.arg is None, k.arg or ""))
        return [node.func, *node.args, *keywords]
    children = [c for c in ast.iter_child_nodes(node) if not isinstance(c, _SKIPPED)]
    return [c for c in children if not _is_docstring(c)]


def _tokens(root: ast.AST, names: _Names, fallback_line: int) -> list[Token]:
    """Pre-order tokens of ``root``'s subtree, iteratively (no recursion on hostile depth)."""
    out: list[Token] = []
    stack: list[tuple[ast.AST, int]] = [(root, fallback_line)]
    while stack:
        node, parent_line = stack.pop()
        line = getattr(node, "lineno", parent_line) or parent_line
        if isinstance(node, ast.Attribute) and (dotted := names.dotted(node)) is not None:
            out.append(Token(dotted, line))
            continue
        out.append(Token(_token_text(node, names), line))
        for child in reversed(_children(node, names)):
            stack.append((child, line))
    return out


def units(tree: ast.Module) -> list[Unit]:
    """The file's units: the module's own statements, then each class's and each function's."""
    names = _Names(tree)
    module = Unit("<module>")
    found: list[Unit] = [module]
    pending: list[tuple[str, list[ast.stmt], Unit]] = [("", tree.body, module)]
    while pending:
        prefix, body, own = pending.pop()
        for stmt in body:
            if isinstance(stmt, (ast.Import, ast.ImportFrom)) or _is_docstring(stmt):
                continue
            if not prefix and _is_main_block(stmt):
                continue
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found.append(Unit(prefix + stmt.name, _tokens(stmt, names, stmt.lineno)))
            elif isinstance(stmt, ast.ClassDef):
                cls = Unit(prefix + stmt.name, _tokens(stmt, names, stmt.lineno))
                found.append(cls)
                pending.append((f"{prefix}{stmt.name}.", stmt.body, cls))
            else:
                own.tokens.extend(_tokens(stmt, names, stmt.lineno))
    return [u for u in found if u.tokens]


# -- hashing ----------------------------------------------------------------------------------------
@lru_cache(maxsize=65536)
def _token_id(text: str) -> int:
    """A stable number per token text (independent of PYTHONHASHSEED, so runs agree)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")


def kgram_hashes(tokens: list[Token], k: int = K) -> list[int]:
    """Karp–Rabin hashes of every run of ``k`` tokens (none when there are fewer than ``k``)."""
    if len(tokens) < k:
        return []
    ids = [_token_id(t.text) % _PRIME for t in tokens]
    top = pow(_BASE, k - 1, _PRIME)
    h = 0
    for value in ids[:k]:
        h = (h * _BASE + value) % _PRIME
    out = [h]
    for i in range(k, len(ids)):
        h = ((h - ids[i - k] * top) * _BASE + ids[i]) % _PRIME
        out.append(h)
    return out


def winnow(hashes: list[int], window: int = WINDOW) -> list[int]:
    """Indices of the hashes winnowing selects: the minimum of each window, rightmost on ties,
    each position once (Schleimer et al., Fig. 5). A sequence shorter than a window is one window."""
    if not hashes:
        return []
    if window <= 1:
        return list(range(len(hashes)))
    chosen: list[int] = []
    last = -1
    for end in range(min(window, len(hashes)) - 1, len(hashes)):
        start = max(0, end - window + 1)
        best = start
        for i in range(start + 1, end + 1):
            if hashes[i] <= hashes[best]:
                best = i
        if best != last:
            chosen.append(best)
            last = best
    return chosen


def fingerprint(tree: ast.Module, k: int = K, window: int = WINDOW) -> Fingerprint:
    """All k-grams of the file's units and the winnowed fingerprints among them."""
    found = units(tree)
    every: list[KGram] = []
    selected: list[KGram] = []
    for index, unit in enumerate(found):
        hashes = kgram_hashes(unit.tokens, k)
        grams = [KGram(h, index, start) for start, h in enumerate(hashes)]
        every.extend(grams)
        selected.extend(grams[i] for i in winnow(hashes, window))
    return Fingerprint(found, every, selected)


def fingerprint_source(data: bytes, k: int = K, window: int = WINDOW) -> Fingerprint:
    """:func:`parse` then :func:`fingerprint`; raises :class:`Unreadable`."""
    return fingerprint(parse(data), k, window)
