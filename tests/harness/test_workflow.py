"""The GitHub Actions workflow: it passes actionlint, and its commands are the tested CLI's."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.orchestrator import cli

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "grade.yml"


def actionlint() -> str | None:
    local = Path(sys.executable).parent / "actionlint"
    return str(local) if local.exists() else shutil.which("actionlint")


def test_workflow_passes_actionlint():
    exe = actionlint()
    if exe is None:
        pytest.skip("actionlint is not installed (pip install -e '.[dev]' installs it)")
    proc = subprocess.run([exe, "-no-color", str(WORKFLOW)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def autograde_commands() -> list[list[str]]:
    """Each `autograde …` command of the workflow's run steps, as argv (shell syntax removed)."""
    commands = []
    for line in WORKFLOW.read_text().splitlines():
        text = line.strip().removeprefix("run:").strip()
        if not text.startswith("autograde "):
            continue
        text = text.split(">>")[0].replace("${FAIL_UNDER:+--fail-under \"$FAIL_UNDER\"}", "--fail-under 50")
        argv = shlex.split(text)[1:]
        commands.append([a.replace("$SHARD/$SHARDS", "1/4").replace("$BUDGET", "quick") for a in argv])
    return commands


def test_workflow_commands_are_the_tested_ones():
    commands = autograde_commands()
    used = {argv[0] if argv[0] in cli.SUBCOMMANDS else "grade" for argv in commands}
    assert used == {"grade", "merge", "summary"}
    options = {a for argv in commands for a in argv if a.startswith("--")}
    assert {"--changed-since", "--shard", "--budget", "--out", "--fail-under"} <= options
    grading = [argv for argv in commands if argv[0] not in cli.SUBCOMMANDS]
    assert grading and all("--sandbox" in argv and argv[argv.index("--sandbox") + 1] == "bubblewrap"
                           for argv in grading)  # asked for by name: never a silent downgrade
    tested = (ROOT / "tests" / "harness" / "test_class_grading.py").read_text()
    for option in options | {"merge", "summary"}:
        assert option.strip("-") in tested.replace("_", "-").replace('"', ""), option


@pytest.mark.parametrize("argv", autograde_commands(), ids=lambda a: " ".join(a[:2]))
def test_workflow_commands_parse(argv, tmp_path):
    """Every command line of the workflow is accepted by the CLI's own parser."""
    if argv[0] == "merge":
        parsed = cli._merge_parser().parse_args(argv[1:])
    elif argv[0] == "summary":
        parsed = cli._summary_parser().parse_args(argv[1:])
    else:
        parsed = cli._grade_parser().parse_args(argv)
    assert parsed is not None
