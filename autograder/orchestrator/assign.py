"""`autograde assign`: the handout an instructor gives the class, made from the contract.

What it writes (`build`):

* ``ASSIGNMENT.md`` — the problems and the submission contract (modules, names, the arguments the
  grader passes, what may be imported, that importing must not train), rendered from
  `autograder.common.contract`, so that it says what is graded;
* ``problem1.py`` … ``problem5.py`` — starters: the code the homework itself gives (the tutorial's
  networks, transform, classes, criterion and scripts) kept, every part the student writes a
  ``raise NotImplementedError``, with the contract's signatures (a test keeps them those of
  `contract.SIGNATURES`); and the same as one notebook, ``hw3.ipynb``, with the headings the
  grader's notebook reader splits;
* ``check.py`` — the self-check a student runs: only torch, torchvision and numpy, no network.
  The grader's rules for finding files and reading notebooks (``common/layout.py``,
  ``headings.py``, ``text.py``, ``contract.py``, ``notebook_model.py``, ``judge/notebooks.py``) are
  copied into it verbatim, imports renamed, so it reads a folder exactly as the grader does. It
  holds no reference code and no value the homework does not print.

The starters and the self-check's template live in ``templates/handout/``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import jinja2

from autograder.common import contract

TEMPLATES = Path(__file__).parent / "templates" / "handout"
EMBEDDED = {
    "contract": "autograder/common/contract.py",
    "text": "autograder/common/text.py",
    "headings": "autograder/common/headings.py",
    "layout": "autograder/common/layout.py",
    "notebook_model": "autograder/common/notebook_model.py",
    "notebooks": "autograder/judge/notebooks.py",
}
"""The grader's modules check.py carries, by the name it imports them under (``_hw3_grader.<name>``)."""
IMPORT_SECONDS = 20.0
"""The grader's limit for importing one module (the judge's ``WorkerSettings.import_timeout``; a
test keeps the two equal)."""
HEADINGS = {
    "problem1": "문제 1", "problem2": "문제 2", "problem4": "문제 4", "problem5": "문제 5",
    **{f"problem3_{n}": f"3-({n})" for n in range(1, 7)},
}
"""How the notebook names each problem in its headings (the homework's own spellings)."""


@dataclass(frozen=True)
class Handout:
    """What `build` wrote."""

    folder: Path
    files: list[str]


def package_root() -> Path:
    return Path(__file__).resolve().parents[2]


def embedded_source(name: str) -> str:
    """One of the grader's modules as check.py carries it: its imports of the package renamed."""
    text = (package_root() / EMBEDDED[name]).read_text(encoding="utf-8")
    for other, path in EMBEDDED.items():
        dotted = path.removesuffix(".py").replace("/", ".")
        text = text.replace(f"from {dotted} import", f"from _hw3_grader.{other} import")
    return text


def starter(module: str) -> str:
    return (TEMPLATES / f"{module}.py.in").read_text(encoding="utf-8")


def check_source() -> str:
    """check.py: its template with the grader's modules and limits filled in."""
    text = (TEMPLATES / "check.py.in").read_text(encoding="utf-8")
    sources = "{\n" + "".join(f"    {name!r}: {embedded_source(name)!r},\n" for name in EMBEDDED) + "}"
    return text.replace("@IMPORT_SECONDS@", repr(IMPORT_SECONDS)).replace("@GRADER_SOURCES@", sources)


def assignment_text() -> str:
    """ASSIGNMENT.md from the contract."""
    # Markdown from the contract, no student text: HTML escaping would garble the code it quotes
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=False,
                             keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    rows = []
    for spec in contract.PROBLEMS:
        todo, given = [], []
        unwritten = to_write(starter(spec.module))
        for name in spec.own_names or spec.names:
            params = contract.SIGNATURES.get(name)
            shown = f"`{name}({', '.join(params)})`" if params else f"`{name}`"
            (todo if name in unwritten else given).append(shown)
        title = spec.title if spec.own_names else f"{HEADINGS[spec.module]} — {spec.title}"
        rows.append({"spec": spec, "title": title, "todo": ", ".join(todo), "given": ", ".join(given)})
    return env.get_template("ASSIGNMENT.md.j2").render(
        rows=rows, contract=contract, import_seconds=IMPORT_SECONDS,
        stand_ins=list(contract.STAND_INS.values()))


def to_write(source: str) -> set[str]:
    """The top-level names of a starter the student writes: a function, or a class with a method,
    that raises NotImplementedError."""
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            raises = [n for n in ast.walk(node) if isinstance(n, ast.Raise) and n.exc is not None]
            if any("NotImplementedError" in ast.unparse(r.exc) for r in raises):
                names.add(node.name)
    return names


def _split_main(source: str) -> tuple[str, str]:
    """A starter as a notebook holds it: its definitions, and its script (the body of its
    ``if __name__ == "__main__":`` block, dedented), without the module docstring."""
    tree = ast.parse(source)
    lines = source.split("\n")
    body, script = tree.body, ""
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        lines[:body[0].end_lineno] = [""] * body[0].end_lineno
    last = body[-1]
    if isinstance(last, ast.If) and "__main__" in ast.unparse(last.test):
        block = lines[last.body[0].lineno - 1:last.end_lineno]
        script = "\n".join(line[4:] for line in block).strip() + "\n"
        lines = lines[:last.lineno - 1]
    code = "\n".join(line for line in lines if not line.startswith("# -*- coding")).strip() + "\n"
    return code, script


def notebook_text() -> str:
    """hw3.ipynb: one heading per problem (the homework's spellings), its starter's cells under it."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    cells = [nbformat.v4.new_markdown_cell(
        "# 인공지능 hw3\n\nWrite each problem's code in its cells; keep the headings, the grader splits "
        "the notebook by them. Run `python check.py hw3.ipynb` before you submit.")]
    for spec in contract.PROBLEMS:
        code, script = _split_main(starter(spec.module))
        cells.append(nbformat.v4.new_markdown_cell(f"## {HEADINGS[spec.module]} — {spec.title}"))
        cells.append(nbformat.v4.new_code_cell(code.rstrip("\n")))
        if script:
            cells.append(nbformat.v4.new_code_cell(script.rstrip("\n")))
    nb.cells = cells
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nbformat.writes(nb)


def build(out: Path) -> Handout:
    """Write the handout into ``out`` (created; files already there are replaced)."""
    out.mkdir(parents=True, exist_ok=True)
    written = {"ASSIGNMENT.md": assignment_text(), "check.py": check_source(), "hw3.ipynb": notebook_text()}
    for spec in contract.PROBLEMS:
        written[f"{spec.module}.py"] = starter(spec.module)
    for name, text in written.items():
        (out / name).write_text(text, encoding="utf-8")
    return Handout(out, sorted(written))
