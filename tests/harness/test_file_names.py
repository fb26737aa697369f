"""File names as the bytes they are: a name that is not UTF-8 (CP949 bytes, what a zip made on
Korean Windows leaves after a plain unzip) or one holding a bidirectional override costs at most
its own submission — hashing, copying, grading and the pages all take it — and shows escaped."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from autograder.common import results_json
from autograder.common.results import Status
from autograder.orchestrator import runner

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "autograder" / "judge" / "reference"
CP949 = "과제 메모.txt".encode("cp949")  # not UTF-8: decodes with lone surrogates


def _student(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for module in ("problem4.py", "problem5.py"):
        shutil.copy(REFERENCE / module, folder / module)
    return folder


def test_a_folder_with_a_cp949_name_hashes(tmp_path: Path) -> None:
    folder = _student(tmp_path / "s1")
    with open(os.path.join(os.fsencode(folder), CP949), "wb") as f:
        f.write(b"notes")
    first = runner.submission_digest(folder)
    (folder / "problem4.py").write_text((folder / "problem4.py").read_text() + "\n")
    assert runner.submission_digest(folder) != first


def test_one_bad_name_costs_nothing_of_the_class(tmp_path: Path) -> None:
    """Through the real command: the student with the CP949 name and the one with U+202E in a name
    are graded like the others, the names shown with the unreadable part replaced and the override
    escaped; before, `_hash_tree` raised outside the per-submission try and nobody was graded."""
    klass = tmp_path / "class"
    plain = _student(klass / "s1")
    cp949 = _student(klass / "s2")
    with open(os.path.join(os.fsencode(cp949), CP949), "wb") as f:
        f.write(b"notes")
    os.mkdir(os.path.join(os.fsencode(cp949), "폴더".encode("cp949")))
    with open(os.path.join(os.fsencode(cp949), "폴더".encode("cp949"), b"x.py"), "wb") as f:
        f.write(b"print(1)\n")
    bidi = _student(klass / "s3")
    (bidi / "report\u202efdp.exe").write_text("x")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "autograder.orchestrator.cli", str(klass), "--problems", "4,5",
                           "--seed", "3", "--device", "cpu", "--jobs", "2", "--out", str(out)],
                          capture_output=True, text=True, timeout=1200, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = {r.student: r for r in (results_json.read(p) for p in out.glob("*/results.json"))}
    assert set(results) == {plain.name, cp949.name, bidi.name}
    for r in results.values():
        assert r.status is Status.GRADED, (r.student, r.status_reason)
        assert {p.module: p.points for p in r.problems()} == {"problem4": 10, "problem5": 14}, r.student
    assert any(name.endswith(".txt") and "\ufffd" in name for name in results[cp949.name].unused_files)
    assert results[bidi.name].unused_files == ["report\\u202efdp.exe"]
    for page in out.rglob("*.html"):
        assert "\u202e" not in page.read_text(encoding="utf-8")
