"""How a student's files become the modules the worker imports: the layout rules
(`autograder.common.layout`), source decoding, the staged copy (`autograder.judge.staging`) and
which folders are students (`autograder.orchestrator.discovery`). Nothing here runs student code."""

from __future__ import annotations

import codecs

import pytest

from autograder.common import layout
from autograder.common.headings import read_file_stem


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
