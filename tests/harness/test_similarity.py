"""Code similarity across a class: disguised copies are flagged, independent work and given code are not.

The copies are made the way a student hides one (code_mutations.py: renamed, comments dropped,
reordered, padded); the independent solutions are the project's own (the reference, 20163140 and
the variants under variants/), written separately. The pages are checked by their structure.
"""

from __future__ import annotations

import base64
import hashlib
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import code_mutations as cm
from autograder.common.results import SubmissionResult
from autograder.orchestrator import fingerprints as fp
from autograder.orchestrator import similarity
from autograder.orchestrator.report import render
from html_tree import Element, parse
from report_samples import XSS_MARKER
from test_browser import CHROMIUM
from test_browser import load as browser_load

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "autograder" / "judge" / "reference"
S20163140 = ROOT / "submissions" / "20163140"
VARIANTS = ROOT / "tests" / "harness" / "variants"
PAYLOAD = f"</script><script>document.title='{XSS_MARKER}'</script></pre><img src=x onerror=alert(1)>"


def copy_with(source: Path, dest: Path, mutate) -> Path:
    """``dest``: every problem file of ``source`` through ``mutate(text, seed)``."""
    dest.mkdir(parents=True)
    for i, path in enumerate(sorted(source.glob("problem*.py"))):
        (dest / path.name).write_text(mutate(path.read_text(), i))
    return dest


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def flagged(report: similarity.SimilarityReport) -> dict[tuple[str, str], set[str]]:
    return {(p.a, p.b): {m.module for m in p.flagged} for p in report.pairs}


def tokens(source: str) -> list[list[str]]:
    return [u.texts for u in fp.units(fp.parse(source.encode()))]


# -- normalisation ------------------------------------------------------------------------------------
def test_names_comments_strings_and_formatting_do_not_change_the_tokens():
    a = ('import numpy as np\n\ndef softmax(x):\n    """Stable."""\n    # shift first\n'
         '    e_x = np.exp(x - np.max(x))\n    print("sum is", e_x.sum())\n    return e_x / e_x.sum()\n')
    b = ("import numpy\n\n\ndef softmax(values):\n    shifted=numpy.exp(values-numpy.max(values))  # ok\n"
         "    print('total:',shifted.sum())\n    return (shifted /\n            shifted.sum())\n")
    assert tokens(a) == tokens(b)
    assert "numpy.exp" in tokens(a)[0] and "STR" in tokens(a)[0] and "ID" in tokens(a)[0]
    c = a.replace("np.max(x)", "np.min(x)")  # the library call is kept: a different program
    assert tokens(a) != tokens(c)


def test_imports_are_resolved_and_keywords_sorted():
    a = ("import torch.nn.functional as F\nimport torch.optim as optim\n\n"
         "def f(net, x):\n    return F.relu(x), optim.SGD(net.parameters(), lr=0.1, momentum=0.9)\n")
    b = ("import torch\nfrom torch import optim\n\n"
         "def g(model, y):\n    return torch.nn.functional.relu(y), optim.SGD(model.parameters(), momentum=0.9, lr=0.1)\n")
    assert tokens(a) == tokens(b)
    assert "torch.nn.functional.relu" in tokens(a)[0] and "torch.optim.SGD" in tokens(a)[0]


def test_self_attributes_and_methods_are_names_too():
    a = ("class Net:\n    def __init__(self):\n        self.conv1 = 1\n"
         "    def forward(self, x):\n        return self.conv1(self.flat(x))\n    def flat(self, x):\n        return x\n")
    b = a.replace("conv1", "layer_a").replace("flat", "squash")
    assert tokens(a) == tokens(b)


def test_demo_block_docstrings_and_imports_are_left_out():
    body = "def softmax(x):\n    return x\n"
    with_extras = ('"""Module docstring."""\nimport os\n' + body +
                   'if __name__ == "__main__":\n    print(softmax([1, 2]))\n    os.system("ls")\n')
    assert tokens(with_extras) == tokens(body)


def test_each_function_is_a_unit_so_order_does_not_matter():
    f = "def a(x):\n    y = x + 1\n    return y * 2\n"
    g = "def b(x):\n    for i in range(3):\n        x = x - i\n    return x\n"
    one, two = fp.fingerprint(fp.parse((f + g).encode())), fp.fingerprint(fp.parse((g + f).encode()))
    assert one.every_hash() == two.every_hash() and one.selected == two.selected and one.selected


def test_winnowing_finds_every_shared_run_of_k_plus_window_minus_one_tokens():
    """The paper's guarantee: a run shared by two token sequences, at least K + WINDOW - 1 long,
    always shares a fingerprint; a run shorter than K never does."""
    rng = random.Random(3)
    vocab = [f"t{i}" for i in range(40)]
    for _ in range(200):
        run = [rng.choice(vocab) for _ in range(fp.K + fp.WINDOW - 1)]
        a = [rng.choice(vocab) for _ in range(rng.randrange(30))] + run + [rng.choice(vocab) for _ in range(rng.randrange(30))]
        b = [rng.choice(vocab) for _ in range(rng.randrange(30))] + run + [rng.choice(vocab) for _ in range(rng.randrange(30))]
        ha, hb = fp.kgram_hashes(a), fp.kgram_hashes(b)
        assert {ha[i] for i in fp.winnow(ha)} & {hb[i] for i in fp.winnow(hb)}
    assert fp.kgram_hashes(vocab[:fp.K - 1]) == []


@pytest.mark.parametrize("source", [
    b"def softmax(x:\n    return x\n",  # does not parse
    b"x = 1\0\n",  # a null byte
    b"x = " + b"(" * 300 + b"1" + b")" * 300 + b"\n",  # nested beyond the parser's limit
    b"\xff\xfe\x00garbage",  # not text
    b"x = 1\n" + b"#" * (fp.MAX_SOURCE_BYTES + 1),  # too large
])
def test_a_hostile_file_is_unreadable_not_a_crash(source):
    with pytest.raises(fp.Unreadable):
        fp.parse(source)


def test_a_deep_tree_is_walked_without_recursion():
    """A tree deeper than Python's recursion limit (which ast.parse still builds) is walked."""
    depth = 2 * sys.getrecursionlimit()
    source = "x = " + " + ".join(["a"] * depth) + "\n"
    try:
        tree = fp.parse(source.encode())
    except fp.Unreadable:
        pytest.skip("this Python's parser refuses the file already")
    assert fp.fingerprint(tree).token_count > depth
    with pytest.raises(fp.Unreadable):  # deeper still: the parser refuses, and that is a note
        fp.parse(("x = " + " + ".join(["a"] * 50 * depth) + "\n").encode())


# -- the check ----------------------------------------------------------------------------------------
def test_a_renamed_copy_without_comments_is_flagged(tmp_path):
    copy = copy_with(S20163140, tmp_path / "copy", cm.rename)
    text = (copy / "problem1.py").read_text()
    assert "#" not in text and "num_flat_features" not in text and "self.conv1" not in text
    report = similarity.check([("20163140", S20163140), ("copy", copy)])
    found = flagged(report)
    assert set(found) == {("20163140", "copy")}
    assert {"problem1", "problem2", "problem3_1", "problem5"} <= found["20163140", "copy"]
    assert all(m.score == 1.0 for m in report.pairs[0].flagged)


def test_a_copy_with_reordered_functions_is_flagged(tmp_path):
    copy = copy_with(S20163140, tmp_path / "copy", cm.reorder)
    original, reordered = ((f / "problem2.py").read_text() for f in (S20163140, copy))
    assert original.index("def train") < original.index("def evaluate")
    assert reordered.index("def train") > reordered.index("def evaluate") or \
        reordered.index("def make_optimizer") > reordered.index("def train")
    report = similarity.check([("20163140", S20163140), ("copy", copy)])
    problem2 = next(m for m in report.pairs[0].flagged if m.module == "problem2")
    assert problem2.score == 1.0 and problem2.shared >= 50


def test_an_edited_and_padded_copy_is_flagged(tmp_path):
    copy = copy_with(S20163140, tmp_path / "copy",
                     lambda s, i: cm.pad(cm.interleave(cm.disguise(s, i), i, every=3), i, functions=3))
    found = flagged(similarity.check([("20163140", S20163140), ("copy", copy)]))
    assert {"problem1", "problem2"} <= found["20163140", "copy"]


def test_independent_correct_solutions_are_not_flagged():
    solutions = [("reference", REFERENCE), ("20163140", S20163140),
                 *((v.name, v) for v in sorted(VARIANTS.iterdir()) if v.is_dir())]
    assert len(solutions) >= 5
    report = similarity.check(solutions)
    assert report.pairs == []
    assert report.files_compared >= 10 + 10 + 3 + 3 + 2


def test_submissions_that_share_only_the_given_code_are_not_flagged(variant, monkeypatch):
    """Two students who both kept the tutorial's Net, transform and loops, each with a bug of their
    own; without the exclusion the same pair is flagged, so the exclusion is what keeps it clean."""
    a = variant("student_a", {"problem1.py": [("return self.fc3(x)", "return self.fc3(x).squeeze()")],
                              "problem2.py": [("lr=0.001", "lr=0.01")]})
    b = variant("student_b", {"problem1.py": [("x = F.relu(self.fc2(x))", "x = self.fc2(x)")],
                              "problem4.py": [("axis=-1", "axis=0")]})
    assert similarity.check([("a", a), ("b", b)]).pairs == []
    monkeypatch.setattr(similarity, "GIVEN_CODE", ())
    assert {"problem1", "problem2"} <= flagged(similarity.check([("a", a), ("b", b)]))["a", "b"]


def test_starter_code_named_by_the_instructor_is_excluded(tmp_path):
    helper = cm.noise_function(random.Random(7), statements=30)
    starter = write(tmp_path / "handout", {"helpers.py": helper})
    a = write(tmp_path / "a", {"problem4.py": helper + "\n\n" + cm.noise_function(random.Random(1), 6)})
    b = write(tmp_path / "b", {"problem4.py": cm.noise_function(random.Random(2), 6) + "\n\n" + helper})
    assert flagged(similarity.check([("a", a), ("b", b)])) == {("a", "b"): {"problem4"}}
    report = similarity.check([("a", a), ("b", b)], starters=[starter])
    assert report.pairs == [] and report.starter_files == [str(starter / "helpers.py")]
    with pytest.raises(FileNotFoundError):
        similarity.check([("a", a), ("b", b)], starters=[tmp_path / "missing"])


def test_short_code_written_the_same_way_does_not_flag(tmp_path):
    """Two students who both hand in the textbook's softmax and losses, to the letter: a score of
    1, but fewer shared fingerprints than MIN_SHARED, so nobody is flagged."""
    a = write(tmp_path / "a", {m: (VARIANTS / "textbook" / m).read_text() for m in ("problem4.py", "problem5.py")})
    b = copy_with(VARIANTS / "textbook", tmp_path / "b", cm.rename)
    assert similarity.check([("a", a), ("b", b)]).pairs == []
    loose = similarity.check([("a", a), ("b", b)], settings=similarity.Settings(min_shared=1))
    problems = {m.module: m for m in loose.pairs[0].problems}
    assert problems["problem4"].score == 1.0 and problems["problem4"].shared < similarity.MIN_SHARED
    assert problems["problem5"].score == 1.0 and problems["problem5"].shared < similarity.MIN_SHARED


def test_code_most_of_a_class_shares_is_not_evidence(tmp_path):
    """MOSS's -m: a helper found in more than common_limit(n) submissions flags no pair; the same
    helper in two submissions does."""
    shared = cm.noise_function(random.Random(5), statements=30)
    folders = []
    for i in range(12):
        own = cm.noise_function(random.Random(100 + i), statements=6)
        folders.append((f"s{i:02d}", write(tmp_path / f"s{i:02d}", {"problem5.py": own + "\n\n" + shared})))
    assert similarity.common_limit(len(folders)) < 12
    assert similarity.check(folders).pairs == []
    assert flagged(similarity.check(folders[:2])) == {("s00", "s01"): {"problem5"}}


def test_unreadable_files_become_notes(tmp_path):
    a = write(tmp_path / "a", {"problem4.py": "def softmax(x:\n", "problem5.py": "x = 1\n"})
    b = write(tmp_path / "b", {"problem5.py": "y = 2\n"})
    (b / "problem4.py").symlink_to(S20163140 / "problem4.py")
    report = similarity.check([("a", a), ("b", b)])
    notes = {(n.student, n.file): n.message for n in report.notes}
    assert "does not parse" in notes["a", "problem4.py"]
    assert notes["b", "problem4.py"] == "not a regular file"
    assert report.files_compared == 2


# -- the page -----------------------------------------------------------------------------------------
def page(path: Path) -> Element:
    return parse(path.read_text(encoding="utf-8"))


def test_the_page_shows_both_files_with_the_shared_parts_marked(tmp_path):
    copy = copy_with(S20163140, tmp_path / "copy", cm.disguise)
    report = similarity.check([("20163140", S20163140), ("copy", copy)])
    doc = page(render.render_similarity(report, tmp_path / "out" / "similarity.html"))
    assert doc.by_id("similarity-summary").find(data_count="flagged_pairs").text == "1"
    match = doc.by_id("pair-1-problem2")
    left, right = match.find_all("pre", class_="code")
    original = (S20163140 / "problem2.py").read_text().splitlines()
    assert [line.find(class_="ln").text for line in left.find_all(class_="code-line")] == \
        [str(n) for n in range(1, len(original) + 1)]
    marks = {line.attrs["data-line"]: line.classes for line in left.find_all(class_="code-line")}
    evaluate = str(next(i for i, text in enumerate(original, 1) if text.startswith("def evaluate")))
    transform = str(next(i for i, text in enumerate(original, 1) if text.startswith("transform =")))
    assert "shared" in marks[evaluate]  # the student's own evaluate(), copied
    assert "given" in marks[transform] and "shared" not in marks[transform]  # the tutorial's transform
    assert any("shared" in line.classes for line in right.find_all(class_="code-line"))
    row = doc.by_id("pairs-table").find("tr", data_pair="20163140 copy")
    assert row.find("a").attrs["href"] == "#pair-1"


def test_the_page_escapes_student_content_and_stays_self_contained(tmp_path):
    body = (S20163140 / "problem1.py").read_text()
    hostile = body.replace("# 커널 정의", "# " + PAYLOAD).replace(
        "print(\"(1)\")", "print(" + repr(PAYLOAD) + ")")
    a = write(tmp_path / "a<b>", {"problem1.py": hostile})
    b = write(tmp_path / "b", {"problem1.py": cm.rename(hostile)})
    report = similarity.check([("a<b>", a), ("b", b)])
    assert flagged(report) == {("a<b>", "b"): {"problem1"}}
    path = render.render_similarity(report, tmp_path / "out" / "similarity.html")
    raw = path.read_text(encoding="utf-8")
    assert PAYLOAD not in raw and "</script><script>" not in raw and "a<b>" not in raw
    doc = page(path)
    scripts = doc.find_all("script")
    assert len(scripts) == 1 and XSS_MARKER not in scripts[0].text and not doc.find_all("img")
    csp = doc.find("meta", http_equiv="Content-Security-Policy").attrs["content"]
    digest = base64.b64encode(hashlib.sha256(scripts[0].text.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp and "default-src 'none'" in csp
    for el in doc.iter():
        assert not [a for a in el.attrs if a.startswith("on")], el.tag
        for name in ("src", "href"):
            assert not el.attrs.get(name, "").startswith(("http:", "https:", "//", "javascript:"))
    left = doc.by_id("pair-1-problem1").find("pre", class_="code").text
    assert PAYLOAD in left  # shown as text
    assert "a<b>" in doc.by_id("pair-1").find("h2").text


def test_the_class_page_lists_the_flagged_pairs(tmp_path):
    copy = copy_with(S20163140, tmp_path / "copy", cm.disguise)
    results = [SubmissionResult(student="20163140", submission=str(S20163140)),
               SubmissionResult(student="copy", submission=str(copy)),
               SubmissionResult(student="sequential", submission=str(VARIANTS / "sequential")),
               SubmissionResult(student="gone", submission=str(tmp_path / "deleted"))]
    render.render_all(tmp_path / "out", results)
    section = page(tmp_path / "out" / "index.html").by_id("similarity")
    assert section.find(data_count="similar_pairs").text == "1"
    links = section.by_id("similar-pairs").find_all("a")
    assert [(a.text, a.attrs["href"]) for a in links] == [("20163140 · copy", "similarity.html#pair-1")]
    assert (tmp_path / "out" / "similarity.html").is_file()


def test_no_section_when_the_folders_are_gone(tmp_path):
    results = [SubmissionResult(student=n, submission=str(tmp_path / n)) for n in ("a", "b")]
    render.render_all(tmp_path / "out", results)
    assert not page(tmp_path / "out" / "index.html").find_all(id="similarity")
    assert not (tmp_path / "out" / "similarity.html").exists()


# -- the command --------------------------------------------------------------------------------------
def autograde(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "autograder.orchestrator.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_must_show_the_variants_and_a_renamed_copy_of_20163140(tmp_path, variant):
    """`autograde similarity` over the harness's variants (those under variants/ and ones built from
    the reference), 20163140 and a renamed copy of it flags that copy and nothing else."""
    copy = copy_with(S20163140, tmp_path / "class" / "renamed_copy", cm.rename)
    built = [variant("bad_c", {"problem1.py": [("return self.fc3(x)", "return self.fc3(x).squeeze()")]}),
             variant("bad_d", {"problem1.py": [("x = F.relu(self.fc2(x))", "x = self.fc2(x)")]})]
    out = tmp_path / "out"
    proc = autograde("similarity", str(VARIANTS), str(S20163140), str(copy), *map(str, built),
                     "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "compared 7 submissions" in proc.stdout
    assert "1 pair(s) flagged" in proc.stdout
    pair_lines = [line for line in proc.stdout.splitlines() if " ~ " in line]
    assert len(pair_lines) == 1 and pair_lines[0].split()[:3] == ["20163140", "~", "renamed_copy"]
    doc = page(out / "similarity.html")
    rows = doc.by_id("pairs-table").find("tbody").find_all("tr")
    assert [r.attrs["data-pair"] for r in rows] == ["20163140 renamed_copy"]


def test_must_show_the_class_page_after_grading_shows_the_pair(tmp_path):
    """Graded as a class (problems 4 and 5 only, to stay quick), the class page lists the pair."""
    shutil.copytree(S20163140, tmp_path / "class" / "20163140")
    copy_with(S20163140, tmp_path / "class" / "renamed_copy", cm.rename)
    shutil.copytree(VARIANTS / "textbook", tmp_path / "class" / "textbook")
    proc = autograde(str(tmp_path / "class"), "--problems", "4,5", "--out", str(tmp_path / "out"),
                     "--budget", "quick", "--device", "cpu")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    section = page(tmp_path / "out" / "index.html").by_id("similarity")
    assert [a.text for a in section.by_id("similar-pairs").find_all("a")] == ["20163140 · renamed_copy"]


@pytest.mark.parametrize("args, message", [
    (["--threshold", "0"], "--threshold 0"),
    (["--threshold", "1.5"], "--threshold 1.5"),
    (["--min-shared", "0"], "--min-shared 0"),
    (["--starter", "no/such/handout"], "no such file or folder"),
])
def test_usage_errors_exit_2(args, message):
    proc = autograde("similarity", str(VARIANTS), *args)
    assert proc.returncode == 2 and message in proc.stderr


def test_one_submission_is_a_usage_error():
    proc = autograde("similarity", str(S20163140))
    assert proc.returncode == 2 and "at least two" in proc.stderr


def test_out_may_name_the_page(tmp_path):
    proc = autograde("similarity", str(VARIANTS), "--out", str(tmp_path / "sim.html"))
    assert proc.returncode == 0 and "0 pair(s) flagged" in proc.stdout
    assert (tmp_path / "sim.html").is_file() and not (tmp_path / "similarity.html").exists()
    assert os.path.getsize(tmp_path / "sim.html") > 0


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed")
def test_the_page_loads_cleanly_in_a_browser_and_no_payload_runs(tmp_path):
    """Headless Chromium: the page's script runs, nothing is blocked or logged, the student's
    payload stays text, and the pairs table sorts."""
    hostile = (S20163140 / "problem2.py").read_text().replace("# 데이터 입력", "# " + PAYLOAD)
    a = write(tmp_path / "a", {"problem2.py": hostile})
    b = write(tmp_path / "b", {"problem2.py": cm.disguise(hostile)})
    c = copy_with(S20163140, tmp_path / "c", cm.disguise)
    report = similarity.check([("a", a), ("b", b), ("c", c), ("20163140", S20163140)])
    assert len(report.pairs) == 6  # everyone has 20163140's problem2
    path = render.render_similarity(report, tmp_path / "out" / "similarity.html")
    loaded = browser_load(path, tmp_path, "#sort=-score")
    loaded.assert_clean()
    assert XSS_MARKER not in loaded.dom.find("title").text and not loaded.dom.find_all("img")
    table = loaded.dom.by_id("pairs-table")
    assert table.attrs["data-sorted-by"] == "score:desc"
    anchor = table.find("tr", data_pair="a b").find("a").attrs["href"]
    left = loaded.dom.by_id(anchor[1:] + "-problem2").find("pre", class_="code")
    assert PAYLOAD in left.text
