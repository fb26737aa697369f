"""Tests of the device check's parts that run without a GPU: ``pytest bench/gpu``.

The check itself runs end to end on a CPU as a dry run (bench/gpu/README.md); these pin the pieces
a dry run cannot show failing: the .deb read without dpkg, the deadline that stops a stalled
command, the class the check builds from the harness's variants, and the targets' arithmetic.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

import bounded
import classroom
import grading
import install
import report

ROOT = Path(__file__).resolve().parents[2]


def fake_deb(path: Path, script: str = "echo fake bwrap") -> Path:
    """A .deb as dpkg-deb lays it out (ar: debian-binary, control, data.tar.xz) holding
    usr/bin/bwrap, a shell script."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:xz") as tar:
        body = f"#!/bin/sh\n{script}\n".encode()
        info = tarfile.TarInfo("./usr/bin/bwrap")
        info.size, info.mode = len(body), 0o755
        tar.addfile(info, io.BytesIO(body))
    members = [("debian-binary", b"2.0\n"), ("control.tar.xz", b"x" * 3), ("data.tar.xz", data.getvalue())]
    out = b"!<arch>\n"
    for name, body in members:
        out += f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(body):<10}`\n".encode() + body
        out += b"\n" if len(body) % 2 else b""
    path.write_bytes(out)
    return path


@pytest.mark.parametrize("dpkg", [True, False], ids=["dpkg", "python"])
def test_a_deb_is_unpacked_with_or_without_dpkg(dpkg, tmp_path, monkeypatch):
    if dpkg and shutil.which("dpkg") is None:
        pytest.skip("no dpkg here")
    if not dpkg:
        monkeypatch.setattr(install.shutil, "which", lambda name, **_: None)
    how = install.unpack_deb(fake_deb(tmp_path / "bubblewrap_0_amd64.deb"), tmp_path / "root")
    assert how == ("dpkg -x" if dpkg else "python (ar + tar)")
    bwrap = tmp_path / "root" / "usr" / "bin" / "bwrap"
    assert subprocess.run([str(bwrap)], capture_output=True, text=True).stdout == "fake bwrap\n"


def test_a_file_that_is_not_a_deb_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(install.shutil, "which", lambda name, **_: None)
    (tmp_path / "x.deb").write_bytes(b"PK\x03\x04 not ar")
    with pytest.raises(ValueError, match="not an ar archive"):
        install.unpack_deb(tmp_path / "x.deb", tmp_path / "root")


@pytest.mark.parametrize("works", [True, False])
def test_bwrap_from_the_deb_goes_first_on_path_and_is_probed(works, tmp_path):
    carry = tmp_path / "carry"
    carry.mkdir()
    fake_deb(carry / "bubblewrap_0_amd64.deb", 'echo "$@"' if works else "echo no namespaces >&2; exit 1")
    env = {"PATH": "/usr/bin:/bin"}
    with (tmp_path / "log").open("w") as log:
        found, step = install.bring_bwrap(carry, tmp_path / "home", env, log)
    bindir = tmp_path / "home" / "bubblewrap" / "usr" / "bin"
    assert found == str(bindir / "bwrap") and env["PATH"] == f"{bindir}:/usr/bin:/bin"
    assert step.ok is works and "(not /usr/bin)" in step.detail
    assert "--ro-bind / / --unshare-pid --unshare-net true" in (tmp_path / "log").read_text()
    if not works:
        assert "exit 1" in step.detail and "no namespaces" in step.detail


def test_without_the_deb_the_setup_says_how_to_get_it(tmp_path):
    with (tmp_path / "log").open("w") as log:
        _, step = install.bring_bwrap(tmp_path, tmp_path / "home", {"PATH": "/nowhere"}, log)
    assert not step.ok and "prepare.sh" in step.detail


def test_the_home_must_not_be_under_tmp():
    """The rule is the check's home's, whatever folder the checkout is in (a clone under /tmp, as CI
    makes one, passes too): paths of the home are judged, never where this file happens to be."""
    assert "under /tmp" in install.check_home(Path("/tmp/x"))
    assert "under /tmp" in install.check_home(Path("/tmp"))
    assert "under /tmp" in install.check_home(Path("/var/../tmp/hw3-gpu-check"))
    assert install.check_home(Path("/var/lib/hw3-gpu-check")) == ""
    assert install.check_home(Path("/tmp/../var/lib/hw3-gpu-check")) == ""
    assert install.check_home(Path("/tmpfiles/hw3-gpu-check")) == ""  # a name that begins like /tmp


def test_a_stalled_command_is_stopped_with_its_children(tmp_path):
    marker = tmp_path / "child-alive"
    script = f"(sleep 30; touch {marker}) & sleep 30"
    with (tmp_path / "log").open("w") as log:
        start = time.monotonic()
        ran = bounded.run(["sh", "-c", script], env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path, timeout=1, log=log)
    assert ran.timed_out and not ran.ok and time.monotonic() - start < 1 + bounded.TERM_GRACE
    assert "stopped at its timeout" in ran.outcome()
    time.sleep(0.5)
    assert subprocess.run(["pgrep", "-f", f"touch {marker}"], capture_output=True).returncode == 1


def test_output_goes_to_the_log_and_the_record(tmp_path):
    with (tmp_path / "log").open("w") as log:
        ran = bounded.run([sys.executable, "-c", "print('hello'); raise SystemExit(3)"], env={}, cwd=tmp_path,
                          timeout=30, log=log, title="greeting")
    assert (ran.status, ran.output.strip(), ran.outcome()) == (3, "hello", "exit 3")
    assert "===== greeting" in (tmp_path / "log").read_text() and "hello" in (tmp_path / "log").read_text()


def test_a_command_that_cannot_start_or_has_no_time(tmp_path):
    with (tmp_path / "log").open("w") as log:
        missing = bounded.run([str(tmp_path / "nothing")], env={}, cwd=tmp_path, timeout=5, log=log)
        late = bounded.run(["true"], env={}, cwd=tmp_path, timeout=0, log=log)
    assert missing.status is None and missing.outcome().startswith("did not start")
    assert late.outcome() == "did not start: no time left"


def test_the_deadline_leaves_the_reserve():
    d = bounded.Deadline(100)
    assert 79 < d.timeout(cap=500, reserve=20) <= 80
    assert d.timeout(cap=30, reserve=20) == 30
    assert bounded.Deadline(5).timeout(cap=30, reserve=20) == 0


@pytest.mark.parametrize("size", [3, 8, 32])
def test_the_class_mixes_variants_and_copies(size, tmp_path):
    members, notes = classroom.build(ROOT, tmp_path / "class", size)
    assert notes == []  # every harness patch still applies to the reference
    assert len(members) == size == len({m.name for m in members})
    copies = [m for m in members if m.kind == f"{classroom.STUDENT} copy"]
    assert len(copies) >= size // 2
    for m in members:
        folder = tmp_path / "class" / m.name
        assert (folder / "problem1.py").is_file() and (folder / "problem3_6.py").is_file()
    if size == 32:
        kinds = {m.kind for m in members}
        assert kinds == {"reference", "style variant", "patched variant", f"{classroom.STUDENT} copy"}
        bad_b = (tmp_path / "class" / "bad_b" / "problem1.py").read_text()
        assert "p += learning_rate * p.grad" in bad_b
        style = tmp_path / "class" / "style_sequential" / "problem1.py"
        assert style.read_text() == (ROOT / "tests" / "harness" / "variants" / "sequential" / "problem1.py").read_text()


def test_a_patch_that_no_longer_applies_leaves_the_variant_out(tmp_path):
    why = classroom.patched(ROOT / "autograder" / "judge" / "reference", tmp_path / "v",
                            {"problem1.py": [("no such text", "x")]})
    assert "not found" in why and not (tmp_path / "v").exists()


def test_the_hogs_import_into_a_hog(tmp_path):
    members = classroom.hogs(ROOT, tmp_path, host_gib=3, gpu=True)
    assert [m.name for m in members] == ["hog_host", "hog_gpu", f"{classroom.STUDENT}_neighbour"]
    assert "range(3)" in (tmp_path / "hog_host" / "problem1.py").read_text()
    assert "device=\"cuda\"" in (tmp_path / "hog_gpu" / "problem1.py").read_text()


def graded(**kw) -> grading.Graded:
    base = dict(student="s", status="graded", score=95, max_score=97, device="cuda", budget="standard",
                sandbox="bubblewrap", duration=9.0, problems=["problem1", "problem2", "problem3_1", "problem4"])
    return grading.Graded(**{**base, **kw})


def test_points_are_compared_with_the_cpus():
    assert grading.same_points_as_cpu(graded(lost=dict(grading.CPU_LOST)))[0]
    assert not grading.same_points_as_cpu(graded(lost={}))[0]  # 3-(1)'s architecture must still be charged
    assert not grading.same_points_as_cpu(graded(lost={**grading.CPU_LOST, "problem2::test_accuracy_floor": 4}))[0]
    assert grading.same_points_as_cpu(graded(problems=["problem1"], lost={}))[0]  # 3-(1) not graded
    nothing_lost_but_not_graded = graded(lost=dict(grading.CPU_LOST), not_graded=["problem2::x: CUDA could not start"])
    assert not grading.same_points_as_cpu(nothing_lost_but_not_graded)[0]


def test_checks_not_graded_are_grouped_by_reason():
    g = graded(not_graded=[f"problem1::c{i}: not graded: CUDA could not start in the sandbox: X" for i in range(5)]
               + ["problem2::t: the data could not be read"])
    assert grading.not_graded_summary(g) == [
        "5 check(s) not graded (problem1::c0, problem1::c1, problem1::c2, …): CUDA could not start in the sandbox: X",
        "1 check(s) not graded (problem2::t): the data could not be read"]


def test_accuracies_within_four_points_of_the_report():
    def run(problem: str, accuracy: float | None) -> grading.Training:
        return grading.Training(problem, accuracy, 30.0, 25_000, 25_000)

    ok, rows = grading.reference_accuracy(graded(trainings=[run("problem2", 0.575), run("problem3_1", 0.62)]))
    assert ok and [r[-1] for r in rows] == ["pass", "pass"] and rows[0][3] == "+3.5"
    ok, rows = grading.reference_accuracy(graded(trainings=[run("problem2", 0.50), run("problem3_1", 0.621)]))
    assert not ok and rows[1][-1] == "**FAIL**"
    assert grading.reference_accuracy(graded(trainings=[run("problem2", None)]))[0] is False
    assert grading.reference_accuracy(graded())[0] is None


def test_the_document_marks_each_target_and_escapes_cells():
    doc = report.Document("t", "python3 bench/gpu/check.py", "now",
                          verdicts=[report.Verdict("a | b", "1 s", True), report.Verdict("c", "—", None),
                                    report.Verdict("d", "2 s", False)],
                          sections=[report.Section("s", "autograde x", "exit 0", ["line"],
                                                   [report.Table(["k", "v"], [["x|y", "1\n2"]])])])
    text = report.render(doc)
    assert "| a \\| b | 1 s | pass |" in text and "| c | — | not measured |" in text
    assert "| d | 2 s | **FAIL** |" in text and "| x\\|y | 1 2 |" in text


def test_the_bundle_keeps_the_single_gradings_first_and_stays_small(tmp_path, monkeypatch, capsys):
    import argparse
    import os

    import check

    work, out = tmp_path / "work", tmp_path / "out"
    out.mkdir()
    names = ["class-out/a", "class-out/b", "20163140-at-full/20163140", "p1-sandbox/20163140", "sweep-8x2/a"]
    for name in names:
        (work / name).mkdir(parents=True)
        (work / name / "results.json").write_bytes(os.urandom(300_000))  # incompressible
    monkeypatch.setattr(check, "BUNDLE_LIMIT", 500_000)
    doc = report.Document("t", "python3 bench/gpu/check.py", "now")
    with (tmp_path / "log").open("w") as log:
        c = check.Check(argparse.Namespace(home=tmp_path), None, bounded.Deadline(10), log, doc, out, work)
        assert check.finish(c, 0) == 0
    with tarfile.open(out / "results.tar.gz") as tar:
        kept = tar.getnames()
    assert kept == ["20163140-at-full/20163140/results.json", "p1-sandbox/20163140/results.json"]
    assert doc.notes == ["results.tar.gz: 3 results.json left out to keep it under 0 MiB"]
    assert (out / "RESULTS-gpu.md").read_text().startswith("# t\n") and "written:" in capsys.readouterr().out
