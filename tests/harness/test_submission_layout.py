"""How a student's files become the modules the worker imports: the layout rules
(`autograder.common.layout`), source decoding, the staged copy (`autograder.judge.staging`) and
which folders are students (`autograder.orchestrator.discovery`). Nothing here runs student code."""

from __future__ import annotations

import codecs
import os
from pathlib import Path

import pytest

from autograder.common import layout
from autograder.common.headings import read_file_stem
from autograder.judge.staging import Staging
from autograder.orchestrator import discovery


def _plan(*files: str) -> layout.Layout:
    return layout.plan(files)


def _notes(found: layout.Layout) -> str:
    return "\n".join(n.text for n in found.notes)


@pytest.mark.parametrize("stem, module, upload", [
    ("problem4", "problem4", 0), ("Problem4", "problem4", 0), ("problem 4", "problem4", 0), ("PROBLEM4", "problem4", 0),
    ("p4", "problem4", 0), ("problem_4", "problem4", 0), ("q4", "problem4", 0), ("문제4", "problem4", 0),
    ("4번", "problem4", 0), ("4", "problem4", 0), ("3-1", "problem3_1", 0), ("problem3-1", "problem3_1", 0),
    ("problem3_1", "problem3_1", 0), ("problem3.1", "problem3_1", 0), ("problem 3-(1)", "problem3_1", 0),
    ("hw3_problem3-1", "problem3_1", 0), ("20163140_problem4", "problem4", 0),
    ("problem5 (1)", "problem5", 1), ("problem5-1", "problem5", 1), ("problem5 (2)", "problem5", 2),
    ("problem3_1-2", "problem3_1", 2), ("problem3-1 (1)", "problem3_1", 1),
])
def test_file_stems_that_name_a_problem(stem, module, upload):
    found = read_file_stem(stem)
    assert found is not None and found.named and (found.ref.module, found.upload) == (module, upload)


@pytest.mark.parametrize("stem", ["hw3", "utils", "test1", "mlp4", "cp949", "problem10", "p4x", "step4", "lenet5"])
def test_file_stems_that_name_nothing(stem):
    found = read_file_stem(stem)
    assert found is None or not found.named or found.ref.module is None


def test_the_exact_name_wins_and_the_choice_is_said():
    found = _plan("problem5.py", "problem5 (1).py", "Problem5.py")
    assert found.modules == {"problem5": "problem5.py"}
    assert "problem5.py was used (the contract's name); also found and not used: problem5 (1).py, Problem5.py" \
        in _notes(found)


def test_the_latest_upload_wins_among_reuploads():
    found = _plan("problem5 (1).py", "problem5 (2).py", "problem5-1.py")
    assert found.modules == {"problem5": "problem5 (2).py"}
    assert "(the latest upload)" in _notes(found)


def test_ambiguity_is_resolved_the_same_whatever_the_listing_order():
    files = ["p4.py", "problem_4.py", "Problem4.py", "problem 4.py"]
    chosen = {_plan(*order).modules["problem4"] for order in (files, files[::-1], sorted(files))}
    assert chosen == {"p4.py"}  # the shortest name, then the first by name: said, and always the same


def test_modules_in_one_subfolder():
    found = _plan("report.md", "hw3/problem1.py", "hw3/problem4.py", "hw3/utils/helpers.py")
    assert found.root == "hw3" and found.modules == {"problem1": "hw3/problem1.py", "problem4": "hw3/problem4.py"}
    assert "the code is in the subfolder hw3/" in _notes(found)


def test_of_several_subfolders_the_one_with_the_contract_names():
    found = _plan("old/p4.py", "final/problem4.py", "final/problem5.py", "__MACOSX/x/problem1.py")
    assert found.root == "final" and "also holding code, not used: old/" in _notes(found)


def test_near_misses_are_said_not_used():
    found = _plan("problem4_final.py", "problem3.py", "problem5.py")
    assert found.modules == {"problem5": "problem5.py"}
    notes = _notes(found)
    assert "problem4_final.py looks like problem4.py but has more in its name" in notes
    assert "problem3.py: problem 3 is six modules" in notes


@pytest.mark.parametrize("files, reason", [
    ((), "the folder is empty"),
    (("report.pdf", "hw3.hwp"), "it holds hw3.hwp, report.pdf"),
    (("report.pdf", "hw3.zip"), "it holds hw3.zip, report.pdf — unpack the archive with `autograde intake`"),
])
def test_a_folder_without_code_says_what_it_holds(files, reason):
    found = _plan(*files)
    assert not found.has_code and reason in found.no_code_reason()


# -- sources -----------------------------------------------------------------------------------
KOREAN = "# 소프트맥스 함수 (한국어 주석)\nimport numpy as np\n\ndef softmax(x):\n    return np.exp(x) / np.exp(x).sum()\n"


@pytest.mark.parametrize("data, encoding, note", [
    (KOREAN.encode("utf-8"), "utf-8", ""),
    (KOREAN.encode("cp949"), "cp949", "read as CP949"),
    (KOREAN.encode("euc-kr"), "cp949", "read as CP949"),
    (("# -*- coding: utf-8 -*-\n" + KOREAN).encode("cp949"), "cp949", "read as CP949"),
    (("# -*- coding: euc-kr -*-\n" + KOREAN).encode("cp949"), "euc-kr", ""),
    (codecs.BOM_UTF8 + KOREAN.encode("utf-8"), "utf-8-sig", "byte-order mark"),
    (KOREAN.encode("utf-16"), "utf-16", "UTF-16"),
])
def test_sources_are_read_as_python_or_a_korean_windows_editor_wrote_them(data, encoding, note):
    decoded = layout.decode_source("problem4.py", data)
    assert decoded.encoding == encoding and note in decoded.note
    compile(decoded.data, "problem4.py", "exec")  # Python reads what the worker gets
    text = decoded.data.decode(encoding if encoding in ("euc-kr", "utf-8") else "utf-8")
    assert "소프트맥스" in text and text.count("\n") == data.decode(encoding).count("\n")  # lines kept


def test_a_source_that_is_no_text_is_said_so():
    decoded = layout.decode_source("problem4.py", b"\x81\xff\xfe\x00\x80")
    assert decoded.encoding == "" and "neither UTF-8 nor CP949" in decoded.note and decoded.data == b"\x81\xff\xfe\x00\x80"


# -- the staged copy ---------------------------------------------------------------------------
def test_the_staged_copy(tmp_path):
    student = tmp_path / "student"
    (student / "hw3" / "__MACOSX").mkdir(parents=True)
    (student / "hw3" / ".git").mkdir()
    (student / "hw3" / "Problem4.py").write_bytes(KOREAN.encode("cp949"))
    (student / "hw3" / "helpers.py").write_bytes("# 도우미\nX = 1\n".encode("cp949"))
    (student / "hw3" / "__MACOSX" / "._Problem4.py").write_bytes(b"\0\5")
    (student / "hw3" / ".git" / "config").write_text("[core]")
    (student / "hw3" / "link.py").symlink_to("/etc/passwd")
    before = {p: p.read_bytes() for p in student.rglob("*") if p.is_file() and not p.is_symlink()}
    staging = Staging.make(student)
    try:
        copy = staging.path
        assert sorted(p.relative_to(copy).as_posix() for p in copy.rglob("*")) == [
            "Problem4.py", "helpers.py", "problem4.py"]
        assert (copy / "problem4.py").read_text(encoding="utf-8") == KOREAN
        assert (copy / "helpers.py").read_text(encoding="utf-8") == "# 도우미\nX = 1\n"
        assert staging.present == {"problem4"} and "link.py" in staging.skipped_files
        remarks = {(r.problem, r.text) for r in staging.remarks}
        assert ("", "the code is in the subfolder hw3/, not at the top of the folder: it was graded from there") in remarks
        assert ("problem4", "Problem4.py was read as problem4.py (the contract's name for it is problem4.py)") in remarks
        assert any(p == "problem4" and "Problem4.py is not UTF-8: it was read as CP949" in t for p, t in remarks)
        assert any(p == "" and "helpers.py is not UTF-8" in t for p, t in remarks)
        assert all(os.stat(p).st_mode & 0o777 in (0o644, 0o755) for p in [copy, *copy.rglob("*")])
    finally:
        staging.close()
    assert not staging.path.exists()
    assert {p: p.read_bytes() for p in student.rglob("*") if p.is_file() and not p.is_symlink()} == before


def test_a_file_name_that_is_not_utf8_is_shown_safely(tmp_path):
    student = tmp_path / "student"
    student.mkdir()
    (student / os.fsdecode(b"problem4 \xc7\xd1.py")).write_text("def softmax(x):\n    return x\n")
    staging = Staging.make(student)
    try:
        for remark in staging.remarks:
            remark.text.encode("utf-8")  # no lone surrogate can reach the results
    finally:
        staging.close()


# -- which folders are students ------------------------------------------------------------------
def test_students_with_their_code_in_a_subfolder_and_without_code(tmp_path):
    course = tmp_path / "class"
    (course / "20160001" / "hw3").mkdir(parents=True)
    (course / "20160001" / "hw3" / "problem4.py").write_text("def softmax(x):\n    return x\n")
    (course / "20160002").mkdir()
    (course / "20160002" / "report.pdf").write_bytes(b"%PDF")
    (course / "20160003").mkdir()
    (course / "__MACOSX").mkdir()
    (course / ".hidden").mkdir()
    found, skipped = discovery.find_submissions([course])
    assert [f.name for f in found] == ["20160001", "20160002", "20160003"]
    assert sorted(s.folder.name for s in skipped) == [".hidden", "__MACOSX"]
    assert discovery.find_submissions([course / "20160001"])[0] == [course / "20160001"]
    assert discovery.find_submissions([course / "20160002"])[0] == [course / "20160002"]
