"""The `autograde` command line: help text, usage errors, exit status."""

from __future__ import annotations

import subprocess
import sys

import pytest

from autograder import cli


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "autograder.cli", *args], capture_output=True, text=True,
                          timeout=120)


def test_help_lists_every_option_with_its_meaning():
    proc = run("--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    for option, meaning in [
        ("--out DIR", "where results and reports are written"),
        ("--jobs N", "submissions graded at a time"),
        ("--device {auto,cpu,cuda}", "CUDA when present"),
        ("--data PATH", "CIFAR-10"),
        ("--budget {quick,standard,full}", "training budget"),
        ("--seed N", "reproduced"),
        ("SUBMISSION_DIR", "a student's folder"),
    ]:
        assert option in text and meaning in text, option


@pytest.mark.parametrize("args", [["--budget", "fast", "x"], ["--jobs", "0", "."], ["does-not-exist"]])
def test_usage_errors_exit_2(args):
    proc = run(*args)
    assert proc.returncode == 2
    assert "error" in proc.stderr


def test_environment_value_errors_name_their_source(monkeypatch):
    monkeypatch.setenv("AUTOGRADE_BUDGET", "fast")
    with pytest.raises(cli.cfg.ConfigError, match="AUTOGRADE_BUDGET='fast'"):
        cli.cfg.resolve({})
    assert cli.cfg.resolve({"budget": "quick"}).budget == "quick"  # the command line wins
