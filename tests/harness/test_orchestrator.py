"""`autograde` as a user meets it: what is a student, data checked before grading, an incomplete
grade that is never quiet, regrading some problems without losing the rest, and signals that end
every judge and worker. Everything runs through the real command; the NumPy problems keep it fast."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.common import results_json
from autograder.common.results import Status

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "autograder" / "judge" / "reference"


def autograde(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None,
              timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "autograder.orchestrator.cli", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=cwd, env=env)


def student(folder: Path, *modules: str) -> Path:
    folder.mkdir(parents=True)
    for m in modules:
        shutil.copyfile(REFERENCE / f"{m}.py", folder / f"{m}.py")
    return folder


def test_folders_that_are_not_students_are_skipped_once(tmp_path: Path) -> None:
    """__MACOSX, hidden folders and the output folder inside the class are listed once as
    skipped, never graded as "ungradable" students; a student's folder without code is graded 0,
    saying what it holds (never skipped)."""
    course = tmp_path / "class"
    student(course / "20170001", "problem4", "problem5")
    (course / "__MACOSX" / "20170001").mkdir(parents=True)
    (course / "__MACOSX" / "20170001" / "._problem4.py").write_bytes(b"\0\5\26\7")
    (course / ".git").mkdir()
    (course / "20170002").mkdir()
    (course / "20170002" / "report.pdf").write_bytes(b"%PDF-1.4")
    (course / "20170002" / "hw3.zip").write_bytes(b"PK\3\4")
    (course / "20170003").mkdir()
    out = course / "reports"  # the default output folder, the command typed in the class folder
    out.mkdir()
    proc = autograde(".", "--problems", "4,5", "--seed", "1", cwd=course)
    assert proc.returncode == 5, proc.stdout + proc.stderr  # some folders could not be graded
    skipped = next(line for line in proc.stdout.splitlines() if line.startswith("not submissions, skipped"))
    for name, why in (("__MACOSX", "macOS"), (".git", "hidden"), ("reports", "output folder")):
        assert f"{name} (" in skipped and why in skipped, (name, skipped)
    assert "20170002" not in skipped and "20170003" not in skipped
    assert sorted(p.parent.name for p in out.glob("*/results.json")) == ["20170001", "20170002", "20170003"]
    assert "grading 3 submission(s)" in proc.stdout
    archive = results_json.read(out / "20170002" / "results.json")
    assert archive.status is Status.UNGRADABLE and archive.score == 0
    assert "it holds hw3.zip, report.pdf — unpack the archive with `autograde intake`" in archive.status_reason
    assert any("report.pdf" in r.text for r in archive.remarks)  # the student's page says it too
    empty = results_json.read(out / "20170003" / "results.json")
    assert empty.status is Status.UNGRADABLE and "the folder is empty" in empty.status_reason
    rows = (out / "grades.csv").read_text(encoding="utf-8")
    assert "20170002" in rows and "20170003" in rows


@pytest.mark.parametrize("args, message", [
    (["--problems", ""], "--problems '': empty"),
    (["--problems", "9"], "the problems are 1, 2, 3_1"),
    (["--data", "/nonexistent/cifar"], "CIFAR-10 not found (looked in /nonexistent/cifar"),
])
def test_usage_errors_are_found_before_any_grading(args: list[str], message: str, tmp_path: Path) -> None:
    sub = student(tmp_path / "s", "problem4")
    proc = autograde(str(sub), *args, "--out", str(tmp_path / "out"))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr, proc.stderr
    assert not (tmp_path / "out").exists()


def test_a_relative_data_path_is_the_users(tmp_path: Path) -> None:
    """--data is taken from the folder the command was typed in, not the install's."""
    sub = student(tmp_path / "s", "problem4")
    (tmp_path / "here").mkdir()
    proc = autograde(str(sub), "--data", "mine/cifar.tar.gz", "--problems", "2", "--out", str(tmp_path / "o"),
                     cwd=tmp_path / "here")
    assert proc.returncode == 2
    assert str(tmp_path / "here" / "mine" / "cifar.tar.gz") in proc.stderr, proc.stderr


def test_summary_of_a_folder_without_results_is_an_error(tmp_path: Path) -> None:
    """So that `autograde summary typo --fail-under 50` in CI does not pass."""
    proc = autograde("summary", str(tmp_path / "typo"), "--fail-under", "50")
    assert proc.returncode == 2 and "no */results.json" in proc.stderr


def test_an_incomplete_grade_is_never_quiet(tmp_path: Path) -> None:
    """Checks that could not be graded: the console line says so and why, the counts line counts
    it, and the exit status is 4; a missing module is named."""
    sub = student(tmp_path / "20170002", "problem4")  # no problem5.py: missing, the student's loss
    env = {**os.environ, "AUTOGRADE_CACHE": str(tmp_path / "cache")}
    proc = autograde(str(sub), "--problems", "2,4,5", "--data", str(tmp_path / "empty.tar.gz"),
                     "--out", str(tmp_path / "o"), env=env)
    assert proc.returncode == 2  # training asked for, but no data: refused before grading
    proc = autograde(str(sub), "--problems", "4,5", "--seed", "3", "--out", str(tmp_path / "o"), env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("[1/1]"))
    assert "10 / 100" in line and "missing: problem5.py" in line, line
    assert "NOT FINAL: 76 points pending" in line, line  # problems 1-3 not in this run, the written answers
    assert "done: 1 graded, 0 incomplete, 0 ungradable, 0 grader faults; 0 of 1 grade(s) final" in proc.stdout


def test_cuda_without_a_usable_gpu_is_refused_before_grading(tmp_path: Path) -> None:
    """--device cuda (or AUTOGRADE_DEVICE=cuda) on a machine without a usable GPU: one clear line and
    exit status 2 before anything is graded — not a run of driver errors ending in "0 incomplete"."""
    if any(Path("/dev").glob("nvidia[0-9]*")):
        pytest.skip("this machine has a GPU")
    sub = student(tmp_path / "20170003", "problem1")
    for how in (["--device", "cuda"], []):
        env = {**os.environ, "AUTOGRADE_DEVICE": "cuda"} if not how else None
        proc = autograde(str(sub), "--problems", "1", *how, "--seed", "1", "--out", str(tmp_path / "o"), env=env)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        errors = [line for line in proc.stderr.splitlines() if line.strip()]
        assert len(errors) == 1 and "--device cuda: no usable GPU on this machine" in errors[0], proc.stderr
        assert "--device cpu" in errors[0] and not proc.stdout and not (tmp_path / "o").exists()


def test_regrading_some_problems_keeps_the_others(tmp_path: Path) -> None:
    """`--problems 4` on a student graded on 4 and 5 updates problem 4 and keeps problem 5, with the
    seed each was graded with."""
    sub = student(tmp_path / "20170001", "problem4", "problem5")
    out = tmp_path / "out"
    first = autograde(str(sub), "--problems", "4,5", "--seed", "1", "--out", str(out))
    assert first.returncode == 0, first.stderr
    (sub / "problem4.py").write_text("import numpy as np\n\ndef softmax(x):\n    return np.exp(x) / np.exp(x).sum()\n")
    second = autograde(str(sub), "--problems", "4", "--seed", "2", "--out", str(out))
    assert second.returncode == 0, second.stderr
    r = results_json.read(out / "20170001" / "results.json")
    by = {p.module: p.points for p in r.problems()}
    assert by == {"problem4": 7, "problem5": 14}, by  # no max shift: the overflow check (3) fails
    assert {m: run.seed for m, run in r.runs.items()} == {"problem4": 2, "problem5": 1}
    rows = (out / "grades.csv").read_text(encoding="utf-8-sig").splitlines()
    assert rows[1].startswith("20170001,21,100,graded,") and ",no,76," in rows[1]  # 76 of 100 pending
    page = (out / "20170001" / "report.html").read_text()
    assert "graded with seed 1" in page  # problem 5's own run, shown where it differs


def _processes_mentioning(marker: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in text and "pytest" not in text.split()[0:3]:
            found.append(f"{cmdline.parent.name}: {text[:120]}")
    return found


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_ends_every_judge_and_worker(sig: signal.Signals, tmp_path: Path) -> None:
    """CI cancelling a job or Slurm's time limit (SIGTERM), Ctrl-C (SIGINT), a closed terminal
    (SIGHUP): autograde ends every judge it started, and so every worker, within seconds."""
    course = tmp_path / "class"
    for i in range(2):
        folder = student(course / f"s{i}", "problem5")
        (folder / "problem4.py").write_text("import time\n\ndef softmax(x):\n    time.sleep(600)\n    return x\n")
    marker = str(tmp_path)
    scratch = tmp_path / "tmp"  # the judges' copies of the submissions (bubblewrap binds name them)
    scratch.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "autograder.orchestrator.cli", str(course), "--problems", "4",
                             "--jobs", "2", "--out", str(tmp_path / "out")], cwd=ROOT,
                            env={**os.environ, "TMPDIR": str(scratch)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list((tmp_path / "out").glob("*/progress"))) < 2:
        time.sleep(0.5)
    time.sleep(3)  # the workers are in softmax's sleep by now
    assert len(_processes_mentioning(marker)) >= 2, "the judges should be running"
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, (proc.returncode, out, err)
    assert f"stopped by {sig.name}" in err, err
    for _ in range(50):
        left = _processes_mentioning(marker)
        if not left:
            break
        time.sleep(0.2)
    assert not left, left
    assert "Run the same command to continue" in err, err
    out_dir = tmp_path / "out"
    folders = sorted(d for d in out_dir.iterdir() if d.is_dir())
    assert folders and all((d / "results.json").is_file() for d in folders), folders  # no empty folder
    for folder in folders:  # each submission being graded: interrupted, not a grader fault
        r = results_json.read(folder / "results.json")
        assert r.status is Status.INTERRUPTED and not r.final and r.pending_points == 100, r.status
        report = (folder / "report.html").read_text(encoding="utf-8")  # the pages were rendered
        assert "Not graded yet: the grading was interrupted" in report and "GRADER FAULT" not in report
        feedback = (folder / "feedback.html").read_text(encoding="utf-8")
        assert "interrupted" in feedback and "grader failed" not in feedback
    assert (out_dir / "index.html").is_file() and "interrupted" in (out_dir / "grades.csv").read_text("utf-8-sig")
    assert not list(scratch.iterdir()), list(scratch.iterdir())  # every worker's files removed


def test_cache_key_says_why_a_result_was_regraded(tmp_path: Path) -> None:
    """A rerun without --seed after a seeded run regrades, and says so."""
    sub = student(tmp_path / "20170001", "problem4")
    out = tmp_path / "out"
    assert autograde(str(sub), "--problems", "4", "--seed", "5", "--out", str(out)).returncode == 0
    again = autograde(str(sub), "--problems", "4", "--out", str(out))
    assert again.returncode == 0
    assert "regraded: the earlier results were graded with seed 5; this run draws a fresh seed" in again.stdout
    key = json.loads((out / "20170001" / "cache-key").read_text())
    assert key["seed"] == "any seed" and key["problems"] == "problem4"


def test_a_judge_that_collects_no_check_is_a_grader_fault(tmp_path: Path) -> None:
    """Suites missing from an install (or a typo in a suite path): the judge runs nothing, and that is
    never reported as a complete grade of 0 / 0."""
    from autograder.common import config as cfg
    from autograder.orchestrator import runner

    sub = student(tmp_path / "20170004", "problem4")
    empty = tmp_path / "suites"
    empty.mkdir()
    config = cfg.resolve({"seed": 1, "budget": "quick", "device": "cpu"})
    result = runner.grade(runner.Job(sub, tmp_path / "out" / sub.name), config, [str(empty)])
    assert result.status is Status.GRADER_FAULT, (result.status, result.status_reason)
    assert "the judge ran no check" in result.status_reason, result.status_reason


def test_a_judge_past_its_wall_clock_bound_is_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever a worker does, the runner bounds the judge's whole run: it is ended, the submission
    gets a grader-fault result saying so, and nothing of it is left running."""
    from autograder.common import budgets
    from autograder.common import config as cfg
    from autograder.orchestrator import runner

    sub = student(tmp_path / "20170005", "problem5")
    (sub / "problem4.py").write_text("import time\n\ndef softmax(x):\n    time.sleep(600)\n    return x\n")
    monkeypatch.setattr(budgets.Budget, "judge_timeout", property(lambda self: 8.0))
    config = cfg.resolve({"seed": 1, "budget": "quick", "device": "cpu"})
    started = time.monotonic()
    result = runner.grade(runner.Job(sub, tmp_path / "out" / sub.name), config, [str(runner.GRADED_SUITES / "test_problem4.py")])
    assert time.monotonic() - started < 60
    assert result.status is Status.GRADER_FAULT and "ran longer than its 8 s" in result.status_reason
    assert not _processes_mentioning(str(sub))
