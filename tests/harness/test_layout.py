"""The package's shape is a promise: code is split by the process it runs in, and the import graph
shows it — no cycle anywhere, and nothing that runs beside student code (the worker) imports the
judge's or the orchestrator's code. Computed from the source with `ast`, nothing is imported."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "autograder"
SIDES = ("common", "worker", "judge", "orchestrator")
NOT_MODULES = ("judge/suites", "judge/reference")
"""The graded suites and the reference solutions are the judge's data, loaded by path."""


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if "__pycache__" in rel or rel.startswith(NOT_MODULES):
            continue
        out[module_name(path)] = path
    return out


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    """The package's modules that ``path`` imports, at any depth of its code (lazy imports count)."""
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and target != "autograder":
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imports_of(path, name, set(mods)) for name, path in mods.items()}


def side(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in SIDES else "top"


def test_every_module_lives_on_one_side() -> None:
    assert {side(m) for m in graph()} <= {"top", *SIDES}
    assert [m for m in graph() if side(m) == "top"] == ["autograder"]


def test_no_import_cycle() -> None:
    g = graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(g.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for node in sorted(g):
        if node not in state:
            visit(node, [node])
    assert not cycles, cycles


@pytest.mark.parametrize("low, forbidden", [
    ("common", ("worker", "judge", "orchestrator")),
    ("worker", ("judge", "orchestrator")),
    ("judge", ("orchestrator",)),
])
def test_imports_point_inward(low: str, forbidden: tuple[str, ...]) -> None:
    """common imports only common; the worker only common and itself; the judge not the orchestrator."""
    bad = {m: sorted(t for t in targets if side(t) in forbidden)
           for m, targets in graph().items() if side(m) == low}
    assert not {m: t for m, t in bad.items() if t}, bad


def test_the_worker_sees_exactly_what_it_imports() -> None:
    """The sandbox mounts the package's __init__, common/ and worker/: everything the worker's code
    imports of the package is in there."""
    from autograder.judge.sandbox import WORKER_PARTS

    g = graph()
    needed = {t for m, targets in g.items() if side(m) == "worker" for t in targets}
    assert {side(t) for t in needed} <= {"common", "worker"}
    assert set(WORKER_PARTS) == {"__init__.py", "common", "worker"}


def test_the_check_can_fail(tmp_path: Path) -> None:
    """The cycle and direction checks see lazy imports inside functions too."""
    path = tmp_path / "probe.py"
    path.write_text("def f():\n    from autograder.judge import session\n")
    found = imports_of(path, "autograder.worker.probe", {"autograder.judge.session", "autograder.judge"})
    assert "autograder.judge.session" in found
