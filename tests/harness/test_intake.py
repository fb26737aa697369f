"""LMS intake: Canvas- and Moodle-style bulk downloads laid out as submission folders, hostile
members refused one by one, nothing written outside --out; then the class graded with a roster."""

from __future__ import annotations

import csv
import io
import os
import stat
import zipfile
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.orchestrator import cli, intake
from autograder.orchestrator.roster import load
from conftest import REFERENCE
from html_tree import parse

SOFTMAX = (REFERENCE / "problem4.py").read_text()
LOSSES = (REFERENCE / "problem5.py").read_text()
LIMITS = intake.Limits(member_bytes=1_000_000, total_bytes=20_000_000, members=200, ratio=100,
                       ratio_floor=64 * 1024)


def add(zf: zipfile.ZipFile, name: str, data: bytes | str, *, mode: int | None = None) -> None:
    info = zipfile.ZipInfo(name, date_time=(2026, 10, 1, 12, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    if mode is not None:
        info.create_system = 3
        info.external_attr = mode << 16
    zf.writestr(info, data)


def zip_bytes(members: dict[str, bytes | str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            add(zf, name, data)
    return buf.getvalue()


def notebook_text() -> str:
    import nbformat

    nb = new_notebook(cells=[new_markdown_cell("## 문제 4"), new_code_cell(SOFTMAX),
                             new_markdown_cell("## 문제 5"), new_code_cell(LOSSES)])
    return nbformat.writes(nb)


def canvas_zip(path: Path, hostile: bool = False) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        add(zf, "kimminsu_1001_5001_problem4.py", SOFTMAX)
        add(zf, "kimminsu_1001_5002_problem5.py", LOSSES)
        add(zf, "leesujin_LATE_1002_5003_hw3.zip", zip_bytes({
            "hw3/problem4.py": SOFTMAX, "hw3/problem5.py": LOSSES, "__MACOSX/hw3/._problem4.py": b"\0\5\26\7",
            **({"../../escape_inner.py": "print('out')", "/abs_inner.py": "x"} if hostile else {})}))
        add(zf, "parkjihoon_1004_5005_problem4.py", SOFTMAX)
        add(zf, "parkjihoon_1004_5006_problem5-1.py", LOSSES)  # Canvas's name for a re-upload
        if hostile:
            add(zf, str(path.parent / "abs_evil.py"), "absolute")
            add(zf, "kimminsu_1001_5007_../../escape.py", "dotdot")
            add(zf, "../escape2.py", "dotdot")
            add(zf, "kimminsu_1001_5012_..", "dotdot as the student's file name")
            add(zf, "kimminsu_1001_5008_link.py", str(path.parent / "secret.txt"), mode=stat.S_IFLNK | 0o777)
            add(zf, "kimminsu_1001_5009_dev.py", "", mode=stat.S_IFCHR | 0o644)
            add(zf, "kimminsu_1001_5010_big.bin", os.urandom(1_500_000))
            add(zf, "kimminsu_1001_5011_bomb.txt", b"\0" * 900_000)
            add(zf, "notes.txt", "not an LMS file name")
    return path


def moodle_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        add(zf, "최유나_2001_assignsubmission_file_/hw3.ipynb", notebook_text())
        add(zf, "정하늘_2002_assignsubmission_file_problem4.py", SOFTMAX)
        add(zf, "정하늘_2002_assignsubmission_file_problem5.py", LOSSES)
        add(zf, "정하늘_2002_assignsubmission_onlinetext_onlinetext.html", "<p>제출합니다</p>")
    return path


ROSTER = """\ufeff학번,이름,lms_id
20190001,김민수,1001
20190002,Sujin Lee,
20190004,최유나,2001
20190005,정하늘,
20190009,한결,
"""


@pytest.fixture
def roster_csv(tmp_path: Path) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER, encoding="utf-8")
    return path


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_canvas_and_moodle_downloads_are_laid_out_per_student(tmp_path, roster_csv):
    out = tmp_path / "submissions"
    roster = load(roster_csv)
    canvas = intake.intake(canvas_zip(tmp_path / "canvas.zip"), out, roster, LIMITS)
    moodle = intake.intake(moodle_zip(tmp_path / "moodle.zip"), out, roster, LIMITS)
    assert canvas.refused == [] and moodle.refused == []
    assert tree(out) == {
        "20190001", "20190001/problem4.py", "20190001/problem5.py",
        "20190002", "20190002/problem4.py", "20190002/problem5.py",       # unpacked hw3.zip, flattened
        "canvas-1004", "canvas-1004/problem4.py", "canvas-1004/problem5.py",  # not on the roster
        "20190004", "20190004/hw3.ipynb",
        "20190005", "20190005/problem4.py", "20190005/problem5.py", "20190005/onlinetext.html",
    }
    assert (out / "20190002" / "problem4.py").read_text() == SOFTMAX
    students = canvas.students
    assert students["20190002"].late and not students["20190001"].late
    assert not students["canvas-1004"].on_roster
    assert any("problem5-1.py renamed problem5.py" in n for n in students["canvas-1004"].notes)
    assert any("unpacked hw3.zip" in n for n in students["20190002"].notes)
    assert any("__MACOSX" in s for s in canvas.skipped)


def test_hostile_members_are_refused_and_nothing_is_written_outside_out(tmp_path):
    (tmp_path / "secret.txt").write_text("secret")
    archive = canvas_zip(tmp_path / "canvas.zip", hostile=True)
    before = tree(tmp_path)
    out = tmp_path / "submissions"
    report = intake.intake(archive, out, None, LIMITS)
    reasons = {r.member: r.reason for r in report.refused}
    assert reasons[str(tmp_path / "abs_evil.py")] == "absolute path"
    assert "'..'" in reasons["kimminsu_1001_5007_../../escape.py"]
    assert "'..'" in reasons["../escape2.py"] and "'..'" in reasons["kimminsu_1001_5012_.."]
    assert reasons["kimminsu_1001_5008_link.py"] == "a symbolic link"
    assert reasons["kimminsu_1001_5009_dev.py"] == "a character device"
    assert "over the bound of 1,000,000" in reasons["kimminsu_1001_5010_big.bin"]
    assert "compression ratio" in reasons["kimminsu_1001_5011_bomb.txt"]
    assert "not named like a Canvas or Moodle" in reasons["notes.txt"]
    assert "'..'" in reasons["leesujin_LATE_1002_5003_hw3.zip!../../escape_inner.py"]
    assert reasons["leesujin_LATE_1002_5003_hw3.zip!/abs_inner.py"] == "absolute path"
    assert len(report.refused) == 11
    assert tree(tmp_path) - before == {str(p) for p in ["submissions", *(
        f"submissions/{f}" for f in tree(out))]}  # every new path is under --out
    assert tree(out) == {"canvas-1001", "canvas-1001/problem4.py", "canvas-1001/problem5.py",
                         "canvas-1002", "canvas-1002/problem4.py", "canvas-1002/problem5.py",
                         "canvas-1004", "canvas-1004/problem4.py", "canvas-1004/problem5.py"}
    assert (tmp_path / "secret.txt").read_text() == "secret"


def test_archives_over_the_bounds_are_refused_whole(tmp_path):
    archive = canvas_zip(tmp_path / "canvas.zip")
    with pytest.raises(intake.IntakeError, match="members, over the bound of 3"):
        intake.intake(archive, tmp_path / "a", None, intake.Limits(members=3))
    with pytest.raises(intake.IntakeError, match="bytes uncompressed, over"):
        intake.intake(archive, tmp_path / "b", None, intake.Limits(total_bytes=1000))
    (tmp_path / "not.zip").write_text("plain text")
    with pytest.raises(intake.IntakeError, match="not a zip archive"):
        intake.intake(tmp_path / "not.zip", tmp_path / "c")
    assert not any((tmp_path / d).exists() and any((tmp_path / d).iterdir()) for d in "abc")


def test_an_inner_zip_bomb_is_refused(tmp_path):
    with zipfile.ZipFile(tmp_path / "canvas.zip", "w") as zf:
        add(zf, "kimminsu_1001_5001_hw3.zip", zip_bytes({"problem4.py": SOFTMAX, "zeros.bin": b"\0" * 900_000}))
    report = intake.intake(tmp_path / "canvas.zip", tmp_path / "out", None, LIMITS)
    assert [(r.member, "compression ratio" in r.reason) for r in report.refused] == [
        ("kimminsu_1001_5001_hw3.zip!zeros.bin", True)]
    assert tree(tmp_path / "out") == {"canvas-1001", "canvas-1001/problem4.py"}


def test_a_later_download_replaces_a_students_earlier_upload_whole(tmp_path):
    """A student re-uploads hw3.zip (the new code under hw3/) after an intake of their loose files:
    the next intake sets the earlier files aside, named, under --out/.replaced — never mixing the two
    uploads, never overwriting — and grading takes the new code."""
    out = tmp_path / "submissions"
    with zipfile.ZipFile(tmp_path / "first.zip", "w") as zf:
        add(zf, "kimminsu_1001_5001_problem4.py", "def softmax(x):\n    return x  # the first try\n")
        add(zf, "kimminsu_1001_5002_problem5.py", LOSSES)
        add(zf, "leesujin_1002_5003_problem4.py", SOFTMAX)
    intake.intake(tmp_path / "first.zip", out, None, LIMITS)
    with zipfile.ZipFile(tmp_path / "second.zip", "w") as zf:
        add(zf, "kimminsu_1001_6001_hw3.zip", zip_bytes({"hw3/problem4.py": SOFTMAX, "hw3/notes.txt": "v2"}))
    report = intake.intake(tmp_path / "second.zip", out, None, LIMITS)
    assert report.refused == []
    assert {p for p in tree(out / "canvas-1001")} == {"problem4.py", "notes.txt"}  # the newest upload alone
    assert (out / "canvas-1001" / "problem4.py").read_text() == SOFTMAX
    kept = [p for p in (out / intake.REPLACED / "canvas-1001").iterdir()]
    assert len(kept) == 1 and tree(kept[0]) == {"problem4.py", "problem5.py"}
    assert "the first try" in (kept[0] / "problem4.py").read_text()
    note = next(n for n in report.students["canvas-1001"].notes if n.startswith("replaced the earlier upload"))
    assert str(kept[0].relative_to(out)) in note
    assert tree(out / "canvas-1002") == {"problem4.py"}  # a student not in the later download: untouched
    from autograder.orchestrator.discovery import find_submissions

    found, skipped = find_submissions([out])
    assert [f.name for f in found] == ["canvas-1001", "canvas-1002"]  # the kept uploads are never graded
    assert [(s.folder.name, s.why) for s in skipped] == [(intake.REPLACED, "a hidden folder")]


def test_intake_command(tmp_path, roster_csv, capsys):
    code = cli.main(["intake", str(canvas_zip(tmp_path / "canvas.zip", hostile=True)),
                     "--out", str(tmp_path / "out"), "--roster", str(roster_csv)])
    captured = capsys.readouterr()
    assert code == intake.EXIT_REFUSED  # some members were refused
    assert "canvas-1004: 2 file(s) from canvas (parkjihoon, id 1004) NOT ON ROSTER" in captured.out
    assert "20190002: 2 file(s) from canvas (leesujin, id 1002) LATE" in captured.out
    assert "refused: 'kimminsu_1001_5008_link.py': a symbolic link" in captured.err
    assert cli.main(["intake", str(tmp_path / "missing.zip"), "--out", str(tmp_path / "o2")]) == cli.EXIT_USAGE


# -- the class, graded with the roster ------------------------------------------------------------
def test_class_from_canvas_and_moodle_zips_graded_with_a_roster(tmp_path, roster_csv, capsys):
    submissions, reports = tmp_path / "submissions", tmp_path / "reports"
    for archive in (canvas_zip(tmp_path / "canvas.zip"), moodle_zip(tmp_path / "moodle.zip")):
        assert cli.main(["intake", str(archive), "--out", str(submissions), "--roster", str(roster_csv)]) == 0
    code = cli.main([str(submissions), "--problems", "4,5", "--roster", str(roster_csv), "--out", str(reports),
                     "--jobs", "2", "--seed", "5", "--sandbox", "bubblewrap"])
    captured = capsys.readouterr()
    assert code == cli.EXIT_OK, captured.out + captured.err
    assert "submission folder 'canvas-1004' is not on the roster" in captured.err
    with (reports / "grades.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert set(rows) == {"20190001", "20190002", "20190004", "20190005", "20190009", "canvas-1004"}
    absent = rows["20190009"]
    assert (absent["status"], absent["total"], absent["max"]) == ("not_submitted", "0", "100")
    for student in ("20190001", "20190002", "20190004", "20190005", "canvas-1004"):
        row = rows[student]
        assert (row["status"], row["total"], row["max"], row["final"], row["pending"]) == (
            "graded", "24", "100", "no", "76"), student  # problems 1-3 were not in this run
    doc = parse((reports / "index.html").read_text(encoding="utf-8"))
    row = doc.find("tr", data_student="20190009")
    assert "NOT SUBMITTED" in row.find("span", class_="status-not_submitted").text
    assert doc.find("strong", data_count="not_submitted").text == "1"
    assert doc.find("strong", data_count="not_on_roster").text == "1"
    assert doc.find("tr", data_student="canvas-1004").find("span", data_flag="not-on-roster")
    assert "not on the class roster" in doc.by_id("attention").text
    page = parse((reports / "20190009" / "report.html").read_text(encoding="utf-8"))
    assert "Nothing was submitted" in page.by_id("status-banner").text and "한결" in page.by_id("status-banner").text


def test_one_students_upload_never_refuses_another_students_files(tmp_path):
    """A small hw3.zip of many files under the ratio rule's floor, together just under the archive's
    bound: it used the whole archive's budget, and every later student's files were refused
    ("not submitted" with a roster). Now it counts against its own student's bounds alone."""
    limits = intake.Limits(member_bytes=1_000_000, total_bytes=20_000_000, members=5_000, ratio=100,
                           ratio_floor=64 * 1024, student_bytes=5_000_000, student_files=100)
    flood = {f"zeros/{i:04d}.bin": b"\0" * 60_000 for i in range(333)}  # 19.98 MB, each under the floor
    many = {f"tiny/{i:04d}.txt": b"x" for i in range(150)}
    data = os.urandom(200_000)
    with zipfile.ZipFile(tmp_path / "canvas.zip", "w") as zf:
        add(zf, "aaflood_1001_5001_hw3.zip", zip_bytes({"problem4.py": SOFTMAX, **flood}))
        add(zf, "abmany_1003_5003_hw3.zip", zip_bytes({"problem4.py": SOFTMAX, **many}))
        for n in range(101):
            add(zf, f"acflat_1005_{6000 + n}_f{n}.txt", "x")
        for n in range(6):
            add(zf, f"adbig_1007_{7000 + n}_b{n}.bin", os.urandom(900_000))
        add(zf, "kimminsu_1002_5011_problem4.py", SOFTMAX)
        add(zf, "kimminsu_1002_5012_problem5.py", LOSSES)
        add(zf, "kimminsu_1002_5013_data.bin", data)
    report = intake.intake(tmp_path / "canvas.zip", tmp_path / "out", None, limits)
    out = tmp_path / "out"
    assert sorted(report.students["canvas-1002"].files) == ["data.bin", "problem4.py", "problem5.py"]
    assert (out / "canvas-1002" / "data.bin").read_bytes() == data
    refused = {r.member: r.reason for r in report.refused}
    assert "over the bound of 100" in refused["aaflood_1001_5001_hw3.zip"]
    assert "the student's files together would exceed 5,000,000 bytes" in refused["adbig_1007_7005_b5.bin"]
    assert len(report.students["canvas-1007"].files) == 5
    assert "members, over the bound of 100" in refused["abmany_1003_5003_hw3.zip"]
    assert "more than 100 files" in refused["acflat_1005_6100_f100.txt"]
    assert len(report.students["canvas-1005"].files) == 100
    for student in report.students.values():
        assert student.bytes_written <= limits.student_bytes and len(student.files) <= limits.student_files


@pytest.mark.parametrize("name", ["report\u202efdp.exe", "a\u2066b.py", "bell\x07.py", "c1\x85.txt", "tab\there.py"])
def test_names_with_control_or_bidirectional_characters_are_refused_and_shown_escaped(tmp_path, name, capsys):
    with zipfile.ZipFile(tmp_path / "canvas.zip", "w") as zf:
        add(zf, "kimminsu_1001_5001_problem4.py", SOFTMAX)
        add(zf, f"kimminsu_1001_5002_{name}", "x")
    report = intake.intake(tmp_path / "canvas.zip", tmp_path / "out", None, LIMITS)
    assert report.students["canvas-1001"].files == ["problem4.py"]
    [refused] = report.refused
    assert "control or bidirectional character" in refused.reason
    assert refused.member.isprintable() and "\\" in refused.member
