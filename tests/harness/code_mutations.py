"""What a student who copies does to hide it, as code: rename, drop comments, reorder, pad.

Used by the similarity tests and by bench/similarity.py to build copies (which must be flagged)
and synthetic classes. Every function takes and returns source text; the result still parses and
keeps the names the submission contract asks for, as a real copy would.
"""

from __future__ import annotations

import ast
import builtins
import random

from autograder.common.contract import PROBLEMS

KEEP = {name for p in PROBLEMS for name in p.names} | {"self", "forward", "__init__", "LogLikelihoodLoss"}
"""Names a copier keeps: the contract's (the grader looks them up) and PyTorch's hooks."""


def _bound(tree: ast.Module) -> tuple[set[str], set[str]]:
    """Names and ``self.x`` attributes the file binds itself, minus the ones a copier keeps."""
    imported = {(a.asname or a.name).split(".")[0] for n in ast.walk(tree)
                if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    names: set[str] = set()
    attrs: set[str] = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            names.add(n.id)
        elif isinstance(n, ast.arg):
            names.add(n.arg)
        elif isinstance(n, (ast.FunctionDef, ast.ClassDef)):
            names.add(n.name)
        elif isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store):
            attrs.add(n.attr)
    drop = KEEP | imported | set(dir(builtins))
    return names - drop, attrs - drop


class _Renamer(ast.NodeTransformer):
    def __init__(self, names: dict[str, str], attrs: dict[str, str]) -> None:
        self.names, self.attrs = names, attrs

    def visit_Name(self, node: ast.Name) -> ast.Name:
        node.id = self.names.get(node.id, node.id)
        return node

    def visit_arg(self, node: ast.arg) -> ast.arg:
        node.arg = self.names.get(node.arg, node.arg)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        node.name = self.names.get(node.name, node.name)
        self.generic_visit(node)
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.ClassDef:
        node.name = self.names.get(node.name, node.name)
        self.generic_visit(node)
        return node

    def visit_Attribute(self, node: ast.Attribute) -> ast.Attribute:
        node.attr = self.attrs.get(node.attr, node.attr)
        self.generic_visit(node)
        return node


def _strip_docstrings(tree: ast.Module) -> None:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            body[:] = body[1:] or [ast.Pass()]


def rename(source: str, seed: int = 0) -> str:
    """Every variable, parameter, helper and ``self.x`` renamed; comments and docstrings gone;
    formatting redone (``ast.unparse``)."""
    tree = ast.parse(source)
    rng = random.Random(seed)
    names, attrs = _bound(tree)
    words = ["val", "tmp", "res", "acc", "item", "buf", "out", "arr", "z", "q", "layer", "blk"]
    fresh = {n: f"{rng.choice(words)}_{i}{rng.randrange(100)}" for i, n in enumerate(sorted(names))}
    fresh_attrs = {a: f"m_{rng.choice(words)}{i}" for i, a in enumerate(sorted(attrs))}
    methods = {f.name for c in ast.walk(tree) if isinstance(c, ast.ClassDef)
               for f in c.body if isinstance(f, ast.FunctionDef)}
    fresh_attrs.update({m: fresh[m] for m in methods if m in fresh})  # called as self.method(...)
    tree = _Renamer(fresh, fresh_attrs).visit(tree)
    _strip_docstrings(tree)
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def reorder(source: str, seed: int = 0) -> str:
    """Top-level functions and classes, and the methods of each class, in another order."""
    tree = ast.parse(source)
    rng = random.Random(seed)

    def shuffle_defs(body: list[ast.stmt]) -> None:
        slots = [i for i, s in enumerate(body) if isinstance(s, (ast.FunctionDef, ast.ClassDef))]
        defs = [body[i] for i in slots]
        if len(defs) > 1:
            order = defs[:]
            while order == defs:
                rng.shuffle(order)
            for i, d in zip(slots, order):
                body[i] = d

    shuffle_defs(tree.body)
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            shuffle_defs(node.body)
    return ast.unparse(tree) + "\n"


_FUNCS = ["np.exp", "np.sqrt", "np.abs", "np.log1p", "np.tanh", "abs", "float", "round", "len", "max", "min"]
_OPS = ["+", "-", "*", "/", "//", "%", "**"]


def _expr(rng: random.Random, names: list[str], depth: int = 0) -> str:
    pick = rng.random()
    if depth > 2 or pick < 0.3:
        return rng.choice(names) if rng.random() < 0.6 else str(rng.choice([rng.randrange(1, 100), round(rng.random() * 10, 2)]))
    if pick < 0.55:
        return f"{rng.choice(_FUNCS)}({_expr(rng, names, depth + 1)})"
    if pick < 0.7:
        return f"{rng.choice(names)}[{rng.randrange(4)}]"
    return f"({_expr(rng, names, depth + 1)} {rng.choice(_OPS)} {_expr(rng, names, depth + 1)})"


def _statement(rng: random.Random, names: list[str], indent: str) -> list[str]:
    target = f"v{rng.randrange(1000)}"
    kind = rng.random()
    if kind < 0.5:
        lines = [f"{indent}{target} = {_expr(rng, names)}"]
    elif kind < 0.7:
        lines = [f"{indent}for i in range({rng.randrange(2, 20)}):",
                 f"{indent}    {target} = {_expr(rng, names + ['i'])}"]
    elif kind < 0.9:
        lines = [f"{indent}if {_expr(rng, names)} {rng.choice(['<', '>', '==', '!='])} {rng.randrange(10)}:",
                 f"{indent}    {target} = {_expr(rng, names)}",
                 f"{indent}else:",
                 f"{indent}    {target} = {_expr(rng, names)}"]
    else:
        lines = [f"{indent}{target} = [{_expr(rng, names + ['e'])} for e in range({rng.randrange(2, 9)})]"]
    names.append(target)
    return lines


def noise_function(rng: random.Random, statements: int = 8) -> str:
    """A helper of random arithmetic: code no other student has (and that is never called)."""
    names = ["a", "b", "c"]
    lines = [f"def helper_{rng.randrange(10**6)}(a, b, c):"]
    for _ in range(statements):
        lines += _statement(rng, names, "    ")
    lines.append(f"    return {names[-1]}")
    return "\n".join(lines) + "\n"


def pad(source: str, seed: int = 0, functions: int = 1, statements: int = 8) -> str:
    """``functions`` random helpers appended (code of the student's own, unlike anyone's)."""
    rng = random.Random(seed)
    helpers = "\n\n".join(noise_function(rng, statements) for _ in range(functions))
    return source.rstrip("\n") + "\n\n\nimport numpy as np\n\n\n" + helpers


def disguise(source: str, seed: int = 0) -> str:
    """A copy as a student would hand it in: renamed, reordered, comments and docstrings gone."""
    return reorder(rename(source, seed), seed)


def interleave(source: str, seed: int = 0, every: int = 3, chance: float = 0.0) -> str:
    """Statements of the student's own inside each function: one after every ``every`` statements,
    or (``chance`` > 0) after each statement with that probability. An edited copy, or a student
    who started from the same code and wrote their own around it."""
    tree = ast.parse(source)
    rng = random.Random(seed)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            body: list[ast.stmt] = []
            for i, stmt in enumerate(node.body, start=1):
                body.append(stmt)
                if (rng.random() < chance) if chance else (i % every == 0):
                    body.extend(ast.parse("\n".join(_statement(rng, ["a", "b"], ""))).body)
            node.body = body
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"
