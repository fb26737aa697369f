"""The `autograde` command line: help text, usage errors, exit status."""

from __future__ import annotations

import subprocess
import sys

import pytest

from autograder.orchestrator import cli


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "autograder.orchestrator.cli", *args], capture_output=True, text=True,
                          timeout=120)


def test_help_lists_every_option_with_its_meaning():
    proc = run("--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    for option, meaning in [
        ("--out DIR", "where results and reports are written"),
        ("--jobs N", "submissions graded at a time"),
        ("--device {auto,cpu,cuda}", "CUDA when a GPU is usable"),
        ("--data PATH", "CIFAR-10"),
        ("--budget {quick,standard,full,adaptive}", "training budget"),
        ("--seed N", "reproduced"),
        ("--train-workers N", "trainings of one submission run side by side"),
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


def test_training_workers_share_the_cores_among_the_submissions_graded_at_once(monkeypatch):
    monkeypatch.setattr(cli.cfg, "available_cores", lambda: 2)
    auto = cli.cfg.resolve({"device": "cpu"})
    assert not auto.train_workers_given
    assert [cli.cfg.with_concurrency(auto, n).train_workers for n in (1, 2, 8)] == [2, 1, 1]
    monkeypatch.setattr(cli.cfg, "available_cores", lambda: 32)
    assert [cli.cfg.with_concurrency(auto, n).train_workers for n in (1, 4, 8, 16, 32)] == [7, 7, 4, 2, 1]
    monkeypatch.setenv("AUTOGRADE_TRAIN_WORKERS", "3")
    given = cli.cfg.resolve({"device": "cpu"})
    assert cli.cfg.with_concurrency(given, 32).train_workers == 3  # a number given is kept
    monkeypatch.setenv("AUTOGRADE_TRAIN_WORKERS", "0")
    with pytest.raises(cli.cfg.ConfigError, match="AUTOGRADE_TRAIN_WORKERS='0': expected 1 to 7"):
        cli.cfg.resolve({})
    with pytest.raises(cli.cfg.ConfigError, match="--train-workers 'two'"):
        cli.cfg.resolve({"train_workers": "two"})


def test_auto_device_without_a_gpu_node_is_the_cpu_without_importing_torch():
    """Grading starts seconds sooner on a CPU machine: no /dev/nvidia* means torch could not see a GPU."""
    code = ("import sys; from autograder.common import config; "
            "print(config.gpu_device_nodes(), config.resolve({}).device, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stdout.split()
    if out[0] == "True":
        pytest.skip("this machine has a GPU device node")
    assert out == ["False", "cpu", "False"]
