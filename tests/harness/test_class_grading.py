"""Grading a class: many submissions in parallel, caching, shards and merge, the CI summary.

The class here is generated: correct, buggy and hostile submissions of the NumPy problems 4 and
5, graded with ``--problems 4,5`` so that forty judges fit in CI's time (the training problems
are covered by their own tests). Everything runs through the real `autograde` command.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.orchestrator import class_run, cli, discovery
from autograder.common import results_json
from autograder.common.results import Status

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "autograder" / "judge" / "reference"

BUGGY = {
    "no_shift": ("problem4.py", "np.exp(x - np.max(x, axis=-1, keepdims=True))", "np.exp(x)"),
    "mse_no_half": ("problem5.py", "0.5 * np.sum((y - t) ** 2)", "np.sum((y - t) ** 2)"),
    "ll_sign": ("problem5.py", "return -np.log(y[np.argmax(t)])", "return np.log(y[np.argmax(t)])"),
}
HOSTILE = {
    # problem4.py is replaced; problem5.py stays correct and must keep its 14 points
    "exit": "import os\n\ndef softmax(x):\n    os._exit(3)\n",
    "memory": "blob = bytearray(64 * 2**30)\n\ndef softmax(x):\n    return x\n",
    "flood": "import sys\nsys.stdout.write('spam\\n' * 2_000_000)\n\ndef softmax(x):\n    raise RuntimeError('no')\n",
    "forkbomb": ("import os\n\ndef softmax(x):\n    for _ in range(10_000):\n        try:\n            os.fork()\n"
                 "        except OSError:\n            break\n    return [0.25] * 4\n"),
}


def make_class(root: Path, n: int) -> dict[str, str]:
    """``n`` submissions cycling through correct, buggy and hostile kinds; returns name → kind."""
    kinds = ["correct"] * 3 + [f"buggy:{k}" for k in BUGGY] + [f"hostile:{k}" for k in HOSTILE]
    made = {}
    for i in range(n):
        kind = kinds[i % len(kinds)]
        folder = root / f"s{i:03d}"
        folder.mkdir(parents=True)
        for module in ("problem4.py", "problem5.py"):
            shutil.copy(REFERENCE / module, folder / module)
        if kind.startswith("buggy:"):
            module, old, new = BUGGY[kind.split(":")[1]]
            text = (folder / module).read_text()
            assert old in text
            (folder / module).write_text(text.replace(old, new))
        elif kind.startswith("hostile:"):
            (folder / "problem4.py").write_text(HOSTILE[kind.split(":")[1]])
        made[folder.name] = kind
    return made


def autograde(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "autograder.orchestrator.cli", *args], capture_output=True,
                          text=True, timeout=1800, cwd=ROOT)


def grades(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def test_forty_submissions_in_parallel_then_nothing_regraded(tmp_path):
    kinds = make_class(tmp_path / "class", 40)
    out = tmp_path / "out"
    args = [str(tmp_path / "class"), "--jobs", "2", "--budget", "quick", "--problems", "4,5",
            "--seed", "11", "--device", "cpu", "--sandbox", "bubblewrap", "--out", str(out)]
    first = autograde(*args)
    assert first.returncode == 0, first.stderr[-2000:]
    results = {r.student: r for r in (results_json.read(p) for p in out.glob("*/results.json"))}
    assert set(results) == set(kinds)
    for name, kind in kinds.items():
        r = results[name]
        assert r.status is Status.GRADED, (name, r.status_reason)
        by = {p.module: p.points for p in r.problems()}
        if kind == "correct":
            assert by == {"problem4": 10, "problem5": 14}, name
        elif kind.startswith("hostile:"):
            assert by["problem5"] == 14, name        # the hostile problem4 disturbs nothing else
            assert by["problem4"] < 10, name
        elif kind == "buggy:no_shift":
            assert by == {"problem4": 7, "problem5": 14}, name  # the overflow check (3) fails
        else:
            assert by == {"problem4": 10, "problem5": 10}, name
    assert (out / "index.html").is_file() and (out / "grades.csv").is_file()
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("*/results.json")}

    second = autograde(*args)
    assert second.returncode == 0, second.stderr[-2000:]
    assert second.stdout.count("(cached)") == 40
    assert {p: p.stat().st_mtime_ns for p in out.glob("*/results.json")} == stamps


def test_three_shards_and_a_merge_equal_one_run(tmp_path):
    make_class(tmp_path / "class", 9)
    common = ["--jobs", "2", "--problems", "4,5", "--seed", "5", "--device", "cpu"]
    whole = autograde(str(tmp_path / "class"), *common, "--out", str(tmp_path / "whole"))
    assert whole.returncode == 0, whole.stderr[-2000:]
    shard_dirs = []
    for k in (1, 2, 3):
        d = tmp_path / f"shard{k}"
        proc = autograde(str(tmp_path / "class"), *common, "--shard", f"{k}/3", "--out", str(d))
        assert proc.returncode == 0, proc.stderr[-2000:]
        shard_dirs.append(d)
    sizes = [len(list(d.glob("*/results.json"))) for d in shard_dirs]
    assert sum(sizes) == 9
    merged = autograde("merge", *map(str, shard_dirs), "--out", str(tmp_path / "merged"))
    assert merged.returncode == 0, merged.stderr[-2000:]
    assert grades(tmp_path / "merged" / "grades.csv") == grades(tmp_path / "whole" / "grades.csv")
    assert len(grades(tmp_path / "whole" / "grades.csv")) == 10  # header + 9 students


def test_fail_under_and_summary(tmp_path):
    kinds = make_class(tmp_path / "class", 4)  # 3 correct, 1 buggy
    out = tmp_path / "out"
    proc = autograde(str(tmp_path / "class"), "--problems", "4,5", "--seed", "2", "--device", "cpu",
                     "--out", str(out), "--fail-under", "24")
    assert proc.returncode == 3
    buggy = [n for n, k in kinds.items() if k.startswith("buggy")]
    assert buggy and all(n in proc.stderr for n in buggy)
    summary = autograde("summary", str(out))
    assert summary.returncode == 0
    assert "| s000 | 24/100 |" in summary.stdout and "0 of 4 grade(s) final" in summary.stdout


def test_changed_since_picks_the_changed_folders(tmp_path):
    make_class(tmp_path / "class", 3)
    git = ["git", "-c", "user.email=t@example.org", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "-A"], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "class"], cwd=tmp_path, check=True)
    (tmp_path / "class" / "s001" / "problem4.py").write_text("def softmax(x):\n    return x\n")
    folders, _ = discovery.find_submissions([tmp_path / "class"])
    assert [f.name for f in discovery.changed_since(folders, "HEAD")] == ["s001"]
    assert len(discovery.changed_since(folders, "0" * 40)) == 3


@pytest.mark.parametrize("text", ["0/3", "4/3", "x"])
def test_bad_shard_is_a_usage_error(text):
    assert cli.main(["--shard", text, str(ROOT / "submissions")]) == class_run.EXIT_USAGE
