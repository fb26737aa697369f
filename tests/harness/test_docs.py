"""The docs say what is there: every repository path and every command-line option that README.md
and docs/*.md name exists, `--help` lists every command, the README's exit statuses are the code's,
and the pages name fonts that show Korean on every system."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.orchestrator import cli, exit_status

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FOREIGN_OPTIONS = {
    "chromium (the screenshot)": {"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                  "--disable-background-networking", "--hide-scrollbars", "--window-size",
                                  "--screenshot"},
    "sbatch (Slurm)": {"--array", "--cpus-per-task", "--time", "--parsable", "--dependency", "--wrap"},
    "pip": {"--index-url"},
    "bubblewrap": {"--die-with-parent"},
    "pytest (the old spelling of its --junit-xml)": {"--junitxml"},
}
"""Options of other programs that the docs show in their commands."""


def _tracked() -> list[str]:
    return subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()


def _output_folders() -> list[str]:
    """Folders .gitignore names as outputs (``/bench/out/``): the docs may name what a run writes there."""
    lines = (ROOT / ".gitignore").read_text().splitlines()
    return [line.strip("/") + "/" for line in lines if line.startswith("/") and line.endswith("/")]


CODE = re.compile(r"```[^\n]*\n(?P<fenced>.*?)```"                      # fenced blocks
                  r"|(?:(?<=\n\n)|^)(?P<indented>(?:(?: {4}|\t)[^\n]*(?:\n|$))+)"  # indented blocks
                  r"|(?<!`)`(?P<inline>[^`\n]+)`(?!`)", re.S)
"""Markdown's code: fenced and indented blocks, inline code."""


def _code_spans(text: str) -> list[str]:
    return [m["fenced"] or m["indented"] or m["inline"] or "" for m in CODE.finditer(text)]


def _prose(text: str) -> str:
    return CODE.sub(" ", text)


def named_paths(doc: Path, tops: set[str]) -> set[str]:
    """Paths of the repository a doc names: in code or prose, starting with a top-level entry of
    the checkout (``autograder/…``, ``docs/…``, ``bench/…``), without placeholders; and its links."""
    text = doc.read_text(encoding="utf-8")
    found = set()
    for token in re.findall(r"[\w.\-]+(?:/[\w.\-*<>…]*)+", text):
        token = token.rstrip(".,;:")
        if token.split("/")[0] in tops and not any(c in token for c in "<>*…"):
            found.add(token)
    for link in re.findall(r"\]\(([^)#\s]+)", text):
        if not re.match(r"[a-z]+:", link):
            found.add(str((doc.parent / link).resolve().relative_to(ROOT)))
    return found


def test_every_repository_path_the_docs_name_exists() -> None:
    tracked = _tracked()
    tops = {path.split("/")[0] for path in tracked} - {"README.md"}
    outputs = _output_folders()
    missing = {}
    for doc in DOCS:
        for path in sorted(named_paths(doc, tops)):
            if not (ROOT / path.rstrip("/")).exists() and not any(path.startswith(o) for o in outputs):
                missing.setdefault(doc.name, []).append(path)
    assert missing == {}


def _options_in(source: Path) -> set[str]:
    """The ``--options`` a Python file declares (argparse's add_argument, pytest's addoption)."""
    try:
        tree = ast.parse(source.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError):
        return set()
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("add_argument", "addoption"):
            found |= {a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
                      and a.value.startswith("--")}
    return found


def _autograde_options() -> dict[str, set[str]]:
    """Each autograde command's options, from its parser."""
    parsers = {"grade": cli._grade_parser(), "report": cli._report_parser(), "merge": cli._merge_parser(),
               "summary": cli._summary_parser(), "intake": cli._intake_parser(),
               "similarity": cli._similarity_parser(), "assign": cli._assign_parser()}
    assert set(parsers) == set(cli.SUBCOMMANDS)
    return {name: {o for a in p._actions for o in a.option_strings} for name, p in parsers.items()}


def _commands(text: str) -> list[str]:
    """The command lines a doc shows: each line of its code blocks and inline code, continuation
    lines (a trailing backslash) joined."""
    lines = []
    for span in _code_spans(text):
        lines += re.sub(r"\\\n\s*", " ", span).splitlines()
    return [line.strip() for line in lines if line.strip()]


OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*[a-z0-9]")


def test_every_command_line_option_the_docs_name_exists() -> None:
    """An option in a command the docs show is one of that program's — an autograde command's (read
    from its parser), a script's of the repository (its add_argument calls), pytest's with the
    judge's plugin, or a named other program's; an option named anywhere else is autograde's."""
    commands = _autograde_options()
    everything = set().union(*commands.values())
    pytest_help = subprocess.run([sys.executable, "-m", "pytest", "--help"], capture_output=True, text=True,
                                 timeout=120).stdout
    pytest_options = set(OPTION.findall(pytest_help)) | _options_in(ROOT / "autograder" / "judge" / "plugin.py")
    foreign = set().union(*FOREIGN_OPTIONS.values())
    unknown: dict[str, list[str]] = {}

    anywhere = everything | foreign | pytest_options

    def allowed(line: str) -> set[str]:
        words = line.lstrip("$# ").split()
        program = Path(words[0]).name if words else ""
        script = words[1] if program.startswith("python") and len(words) > 1 else words[0] if words else ""
        if program == "autograde":
            return commands[words[1] if len(words) > 1 and words[1] in commands else "grade"]
        if script.endswith(".py") and (ROOT / script).is_file():
            return _options_in(ROOT / script)
        if program == "pytest" or (program.startswith("python") and words[1:3] == ["-m", "pytest"]):
            return pytest_options
        return anywhere  # prose in code (the folder map), another program's command

    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for line in _commands(text):
            found = set(OPTION.findall(line))
            unknown.setdefault(doc.name, []).extend(sorted(found - allowed(line) - {"--help"}))
        prose = set(OPTION.findall(_prose(text)))
        unknown.setdefault(doc.name, []).extend(sorted(prose - anywhere))
    assert {doc: options for doc, options in unknown.items() if options} == {}


def test_help_lists_every_command() -> None:
    proc = subprocess.run([sys.executable, "-m", "autograder.orchestrator.cli", "--help"], capture_output=True,
                          text=True, timeout=120)
    text = " ".join(proc.stdout.split())
    assert proc.returncode == 0
    assert set(cli.SUBCOMMANDS) == {"grade", "report", "merge", "summary", "intake", "similarity", "assign"}
    for name in cli.SUBCOMMANDS:
        assert f"`autograde {name}`" in text, name
        sub = subprocess.run([sys.executable, "-m", "autograder.orchestrator.cli", name, "--help"],
                             capture_output=True, text=True, timeout=120)
        assert sub.returncode == 0 and "usage: autograde" in sub.stdout, name


def test_the_readmes_exit_statuses_are_the_codes() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert exit_status.readme_table() in readme
    assert exit_status.precedence_text() in readme
    assert {int(code) for code in exit_status.MEANINGS if code.isdigit()} == {int(s) for s in exit_status.Exit}
    help_text = subprocess.run([sys.executable, "-m", "autograder.orchestrator.cli", "--help"], capture_output=True,
                               text=True, timeout=120).stdout
    assert " ".join(exit_status.help_text().split()) in " ".join(help_text.split())


def test_fail_under_says_what_it_compares() -> None:
    for parser in (cli._grade_parser(), cli._summary_parser()):
        action = next(a for a in parser._actions if "--fail-under" in a.option_strings)
        assert action.metavar == "POINTS" and "out of the assignment's 100" in action.help


@pytest.mark.parametrize("font", ["Malgun Gothic", "Apple SD Gothic Neo", "Noto Sans KR", "NanumGothic"])
def test_the_pages_name_a_korean_font_of_every_system(font: str) -> None:
    """Windows (Malgun Gothic), macOS (Apple SD Gothic Neo), Linux (Noto Sans KR, NanumGothic)."""
    css = (ROOT / "autograder" / "orchestrator" / "templates" / "style.css").read_text(encoding="utf-8")
    body = re.search(r"body \{[^}]*font:([^;]+);", css)
    assert body and f'"{font}"' in body.group(1)


def test_the_readme_names_the_font_package_and_the_screenshot_script() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    fresh = next(p for p in readme.split("\n\n") if p.startswith("**On a fresh machine.**"))
    assert "fonts-nanum" in fresh
    assert "`docs/report_png.py`" in readme and (ROOT / "docs" / "report_png.py").is_file()
