"""Code fingerprints for the similarity check: a submission's file → normalised tokens → k-gram hashes.

The method is MOSS's (S. Schleimer, D. S. Wilkerson, A. Aiken, "Winnowing: Local Algorithms for
Document Fingerprinting", SIGMOD 2003), on the abstract syntax tree instead of the text:

1. **Parse, never run.** The file is parsed with :func:`ast.parse`; nothing is imported or
   executed. Files over :data:`MAX_SOURCE_BYTES`, and files that do not parse, are skipped with a
   note (:class:`Unreadable`).
2. **Normalise.** The tree is walked in source order (iteratively: a hostile file cannot exhaust
   the stack) and each node becomes one token: its type, with operators folded in (``BinOp:Add``).
   Every name the file binds itself — variables, parameters, functions, classes, methods,
   ``self.x`` attributes — becomes the one token ``ID``, so renaming changes nothing. Names the
   file does not bind keep their spelling: library calls are resolved through the imports
   (``F.relu`` and ``torch.nn.functional.relu`` are both ``torch.nn.functional.relu``), builtins
   stay as they are. String contents become ``STR``; numbers are kept. Comments and formatting
   are gone by construction; docstrings, imports, annotations and the ``if __name__ ==
   "__main__":`` demo block are dropped. Keyword arguments are sorted, so ``lr=…, momentum=…``
   and ``momentum=…, lr=…`` agree.
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


@dataclass
class Unit:
    """A function, a method, a class's own statements or the module's: k-grams stay inside one."""

    name: str
    texts: list[str] = field(default_factory=list)
    """Its normalised tokens, e.g. ``ID``, ``Call``, ``torch.nn.Conv2d``, ``BinOp:Mult``, ``5``."""
    lines: list[int] = field(default_factory=list)
    """The source line (1-based) of each token, for marking the shared parts."""


@dataclass
class Fingerprint:
    """Everything the comparison needs from one file."""

    units: list[Unit]
    hashes: list[list[int]]
    """Per unit, the hash of every k-gram, by the index of its first token."""
    selected: set[int]
    """The winnowed hashes: the file's fingerprints."""
    k: int

    @property
    def token_count(self) -> int:
        return sum(len(u.texts) for u in self.units)

    def every_hash(self) -> set[int]:
        return {h for unit in self.hashes for h in unit}

    def lines_where(self, wanted: set[int]) -> set[int]:
        """Source lines of the tokens of every k-gram whose hash is in ``wanted``."""
        found: set[int] = set()
        for unit, hashes in zip(self.units, self.hashes):
            for start, h in enumerate(hashes):
                if h in wanted:
                    found.update(unit.lines[start:start + self.k])
        return found


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
        raise Unreadable(f"larger than {MAX_SOURCE_BYTES // 1024} kB: not compared")
    try:
        return ast.parse(data)
    except SyntaxError as exc:
        raise Unreadable(f"does not parse as Python (line {exc.lineno}: {exc.msg})") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise Unreadable(f"does not parse as Python ({type(exc).__name__})") from None


# -- normalising ------------------------------------------------------------------------------------
_SKIPPED = frozenset({ast.Import, ast.ImportFrom}.union(
    *(base.__subclasses__() for base in (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop))))
"""Node types that are no token of their own: contexts and operators (folded into their parent), imports."""


def _child_nodes(node: ast.AST) -> list[ast.AST]:
    """The node's children in field order (ast.iter_child_nodes, without its generator layers)."""
    out: list[ast.AST] = []
    for name in node._fields:
        value = getattr(node, name, None)
        if isinstance(value, list):
            out.extend(v for v in value if isinstance(v, ast.AST))
        elif isinstance(value, ast.AST):
            out.append(value)
    return out


class _Names:
    """What the file binds itself (normalised to ``ID``) and what its imports name."""

    def __init__(self, tree: ast.Module) -> None:
        self.bound: set[str] = set()
        self.bound_attrs: set[str] = set()
        self.modules: dict[str, str] = {}
        stack: list[ast.AST] = [tree]
        while stack:
            node = stack.pop()
            kind = type(node)
            if kind is ast.Name:
                if type(node.ctx) is not ast.Load:
                    self.bound.add(node.id)
                continue
            if kind is ast.Attribute:
                if type(node.ctx) is not ast.Load:
                    self.bound_attrs.add(node.attr)
            elif kind is ast.arg:
                self.bound.add(node.arg)
            elif kind in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef):
                self.bound.add(node.name)
                if kind is ast.ClassDef:  # methods are called as self.name(...)
                    self.bound_attrs.update(s.name for s in node.body
                                            if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)))
            elif kind is ast.ExceptHandler and node.name:
                self.bound.add(node.name)
            elif kind in (ast.Global, ast.Nonlocal):
                self.bound.update(node.names)
            elif kind in (ast.MatchAs, ast.MatchStar) and node.name:
                self.bound.add(node.name)
            elif kind is ast.Import:
                for a in node.names:
                    if a.asname:
                        self.modules[a.asname] = a.name
                    else:
                        top = a.name.split(".")[0]
                        self.modules[top] = top
            elif kind is ast.ImportFrom:
                base = "." * node.level + (node.module or "")
                for a in node.names:
                    if a.name != "*":
                        self.modules[a.asname or a.name] = f"{base}.{a.name}" if base else a.name
            stack.extend(_child_nodes(node))
        self.modules = {k: v for k, v in self.modules.items() if k not in self.bound}

    def name(self, identifier: str) -> str:
        if identifier in self.bound:
            return "ID"
        return self.modules.get(identifier, identifier)

    def dotted(self, node: ast.Attribute) -> str | None:
        """``torch.nn.functional.relu`` for an attribute chain on an imported module, else None."""
        parts: list[str] = []
        current: ast.expr = node
        while type(current) is ast.Attribute:
            if current.attr in self.bound_attrs:
                return None
            parts.append(current.attr)
            current = current.value
        if type(current) is ast.Name and current.id in self.modules:
            return ".".join([self.modules[current.id], *reversed(parts)])
        return None


def _is_docstring(node: ast.AST) -> bool:
    return (type(node) is ast.Expr and type(node.value) is ast.Constant
            and isinstance(node.value.value, str))


def _is_main_block(node: ast.AST) -> bool:
    """``if __name__ == "__main__":`` (either way round): the homework's demo code, not graded."""
    if not (isinstance(node, ast.If) and isinstance(node.test, ast.Compare) and len(node.test.comparators) == 1):
        return False
    sides = [node.test.left, node.test.comparators[0]]
    return (any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides)
            and any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides))


def _constant(node: ast.Constant) -> str:
    return "STR" if isinstance(node.value, (str, bytes)) else repr(node.value)


_TEXT = {
    ast.Constant: _constant,
    ast.BinOp: lambda n: f"BinOp:{type(n.op).__name__}",
    ast.AugAssign: lambda n: f"AugAssign:{type(n.op).__name__}",
    ast.UnaryOp: lambda n: f"UnaryOp:{type(n.op).__name__}",
    ast.BoolOp: lambda n: f"BoolOp:{type(n.op).__name__}",
    ast.Compare: lambda n: "Compare:" + ",".join(type(op).__name__ for op in n.ops),
    ast.keyword: lambda n: "kw:" + ("**" if n.arg is None else n.arg),
}
"""Tokens that say more than the node's type (names and attributes need the file's names)."""


def _children(node: ast.AST, kind: type) -> list[ast.AST]:
    """The children that carry meaning, in a canonical order (keywords sorted; annotations,
    docstrings and imports left out)."""
    if kind is ast.arg:
        return []
    if kind is ast.Call:
        keywords = sorted(node.keywords, key=lambda k: (k.arg is None, k.arg or ""))
        return [node.func, *node.args, *keywords]
    if kind in (ast.FunctionDef, ast.AsyncFunctionDef):
        return [node.args, *node.decorator_list, *(s for s in node.body if not _is_docstring(s))]
    if kind is ast.ClassDef:
        return [*node.bases, *node.keywords, *node.decorator_list]
    if kind is ast.AnnAssign:
        return [node.target] + ([node.value] if node.value is not None else [])
    return [c for c in _child_nodes(node) if type(c) not in _SKIPPED and not _is_docstring(c)]


def _tokens(root: ast.AST, names: _Names, unit: Unit) -> None:
    """Append the pre-order tokens of ``root``'s subtree to ``unit``, iteratively (a hostile file's
    depth cannot exhaust the stack)."""
    texts, lines = unit.texts, unit.lines
    stack: list[tuple[ast.AST, int]] = [(root, getattr(root, "lineno", 1))]
    while stack:
        node, parent_line = stack.pop()
        kind = type(node)
        line = getattr(node, "lineno", None) or parent_line
        lines.append(line)
        if kind is ast.Name:
            texts.append(names.name(node.id))
            continue
        if kind is ast.Attribute:
            dotted = names.dotted(node)
            if dotted is not None:
                texts.append(dotted)
                continue
            texts.append("." + ("ID" if node.attr in names.bound_attrs else node.attr))
        else:
            text = _TEXT.get(kind)
            texts.append(text(node) if text else kind.__name__)
        children = _children(node, kind)
        stack.extend((child, line) for child in reversed(children))


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
                unit = Unit(prefix + stmt.name)
                _tokens(stmt, names, unit)
                found.append(unit)
            elif isinstance(stmt, ast.ClassDef):
                unit = Unit(prefix + stmt.name)
                _tokens(stmt, names, unit)
                found.append(unit)
                pending.append((f"{prefix}{stmt.name}.", stmt.body, unit))
            else:
                _tokens(stmt, names, own)
    return [u for u in found if u.texts]


# -- hashing ----------------------------------------------------------------------------------------
@lru_cache(maxsize=65536)
def _token_id(text: str) -> int:
    """A stable number per token text (independent of PYTHONHASHSEED, so runs agree)."""
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % _PRIME


def kgram_hashes(texts: list[str], k: int = K) -> list[int]:
    """Karp–Rabin hashes of every run of ``k`` tokens (none when there are fewer than ``k``)."""
    if len(texts) < k:
        return []
    ids = [_token_id(t) for t in texts]
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
    """The hashes of every k-gram of the file's units and the winnowed fingerprints among them."""
    found = units(tree)
    every = [kgram_hashes(unit.texts, k) for unit in found]
    selected = {hashes[i] for hashes in every for i in winnow(hashes, window)}
    return Fingerprint(found, every, selected, k)
