"""The HTML reports, checked by their structure (parsed with html.parser, never matched by regex)."""

from __future__ import annotations

import base64
import hashlib
import math
import shutil
from pathlib import Path

import pytest

from autograder.orchestrator import cli
from autograder.common import results_json
from autograder.orchestrator.report import answers, charts, render, views
from autograder.common.contract import PROBLEMS
from autograder.common.results import SubmissionResult
from html_tree import Element, parse
from report_samples import PAYLOADS, XSS_MARKER, class_results, diverging_result, hostile_result, realistic_result

TEMPLATES = Path(render.__file__).parents[1] / "templates"


def page(path: Path) -> Element:
    raw = path.read_bytes()
    return parse(raw.decode("utf-8"))


def rendered(result: SubmissionResult, tmp_path: Path) -> Element:
    return page(render.render_submission(result, tmp_path / result.student / "report.html"))


def check(doc: Element, test_id: str) -> Element:
    return doc.find("article", data_test_id=test_id)


# -- files -----------------------------------------------------------------------------------------
def test_render_all_writes_every_page(tmp_path: Path) -> None:
    results = class_results()
    render.render_all(tmp_path, results)
    for r in results:
        assert (tmp_path / r.student / "report.html").is_file()
    assert (tmp_path / "index.html").is_file() and (tmp_path / "grades.csv").is_file()


def test_render_all_refuses_a_student_name_that_escapes_the_folder(tmp_path: Path) -> None:
    r = realistic_result()
    r.student = "../evil"
    with pytest.raises(ValueError, match="folder name"):
        render.render_all(tmp_path / "out", [r])
    assert not (tmp_path / "evil").exists()


# -- self-contained, safe pages --------------------------------------------------------------------
@pytest.mark.parametrize("which", ["report", "index"])
def test_pages_are_self_contained_and_their_script_is_allowed(which: str, tmp_path: Path) -> None:
    results = class_results()
    render.render_all(tmp_path, results)
    doc = page(tmp_path / ("20163140/report.html" if which == "report" else "index.html"))
    assert doc.attrs["doctype"].lower() == "doctype html"
    assert doc.find("meta", charset="utf-8")
    for el in doc.iter():
        for name in ("src", "href", "action", "poster", "data"):
            value = el.attrs.get(name, "")
            assert not value.startswith(("http:", "https:", "//", "javascript:")), (el.tag, value)
        assert el.tag not in {"link", "img", "iframe", "object", "embed"}, el.tag
    scripts = doc.find_all("script")
    assert len(scripts) == 1 and "src" not in scripts[0].attrs
    csp = doc.find("meta", http_equiv="Content-Security-Policy").attrs["content"]
    digest = base64.b64encode(hashlib.sha256(scripts[0].text.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp, "the CSP hash does not match the page's script"
    assert "default-src 'none'" in csp
    style = doc.find("style").text
    assert "@media print" in style


def test_no_template_marks_anything_safe() -> None:
    """Autoescape is the only defence that does not depend on care: nothing may switch it off."""
    for template in (t for t in TEMPLATES.rglob("*") if t.is_file()):
        text = template.read_text(encoding="utf-8")
        for forbidden in ("|safe", "| safe", "autoescape false", "Markup("):
            assert forbidden not in text, f"{template.name} uses {forbidden!r}"
    env = render.environment()
    assert env.autoescape("anything.html") and env.autoescape("macros.html") and env.autoescape(None)


def test_hostile_text_is_escaped_everywhere(tmp_path: Path) -> None:
    result = hostile_result()
    doc = rendered(result, tmp_path)
    assert len(doc.find_all("script")) == 1
    assert not doc.find_all("img") and not doc.find_all("iframe")
    for el in doc.iter():
        handlers = [a for a in el.attrs if a.startswith("on")]
        assert not handlers, (el.tag, handlers)
    assert all(XSS_MARKER not in s.text for s in doc.find_all("script"))
    output = doc.find("pre", class_="output").text
    for payload in PAYLOADS:
        assert payload in output, "the payload should show as text"
    assert "\x1b[" not in output and "red & \"quotes\"" in output
    softmax = next(t for t in result.tests if t.problem == "problem4")
    check_el = check(doc, softmax.id)
    assert check_el.attrs["data-outcome"] == "failed"
    assert PAYLOADS[2] in check_el.find(class_="name").text
    feedback = check_el.find("dl", class_="feedback").text
    assert PAYLOADS[0] in feedback and PAYLOADS[1] in feedback
    assert PAYLOADS[0] in doc.by_id("problem3_1").find("aside").text  # report.md heading and body
    assert PAYLOADS[1] in doc.by_id("status-banner").text
    index = page(render.render_class([result], tmp_path / "index.html"))
    assert len(index.find_all("script")) == 1 and not index.find_all("img")
    assert PAYLOADS[1] in index.by_id("attention").text


# -- the student's page ----------------------------------------------------------------------------
def test_total_and_problems_at_a_glance(tmp_path: Path) -> None:
    result = realistic_result()
    doc = rendered(result, tmp_path)
    total = doc.by_id("total")
    assert total.find(None, data_score=None).text == "58"
    assert "/ 100" in total.text and "not final" in total.text  # out of the assignment's 100, always
    rows = doc.by_id("problem-scores").find("tbody").find_all("tr")
    assert [r.attrs["data-problem"] for r in rows] == [p.module for p in PROBLEMS]
    p31 = next(r for r in rows if r.attrs["data-problem"] == "problem3_1")
    assert "4 / 6" in p31.text
    sections = [s.attrs["id"] for s in doc.find_all("section", class_="problem")]
    assert sections == [p.module for p in PROBLEMS]
    assert doc.find("title").text == "hw3 — 20163140: 58 / 100 (not final)"


def test_every_check_with_points_outcome_and_feedback(tmp_path: Path) -> None:
    result = realistic_result()
    doc = rendered(result, tmp_path)
    articles = doc.find_all("article", class_="check")
    assert [a.attrs["data-test-id"] for a in articles] == [t.id for t in result.tests]
    for t, a in zip(result.tests, articles):
        assert a.attrs["data-outcome"] == t.outcome.value
        assert f"{t.points:g} / {t.max_points:g}" in a.find(class_="points").text
        assert a.find(class_="name").text == t.name
        section = next(x for x in a.ancestors() if x.tag == "section")
        assert section.attrs["id"] == t.problem
    failed = check(doc, result.tests[6].id)
    assert failed.find(class_="badge").text.strip() == "✗ FAILED"
    terms = [dt.text for dt in failed.find_all("dt")]
    assert terms == ["checked", "expected", "found", "where", "details"]
    values = [dd.text for dd in failed.find_all("dd")]
    assert values[3] == "problem3_1.py:Net" and "18,154 weights" in values[2]
    assert "(conv2): Conv2d(32, 32" in failed.find("pre").text
    remark = check(doc, result.tests[-1].id).find("ul", class_="remarks")
    assert "log base 2" in remark.text


def test_not_graded_never_looks_like_a_zero(tmp_path: Path) -> None:
    result = diverging_result()
    doc = rendered(result, tmp_path)
    pending = result.not_graded[0]
    article = check(doc, pending.id)
    assert "not_graded" in article.classes
    assert article.find(class_="badge").text.strip() == "NOT GRADED"
    points = " ".join(article.find(class_="points").text.split())
    assert points.startswith("— / 2") and "0 / 2" not in points
    assert "CIFAR-10 not found" in article.find("p", class_="message").text
    banner = doc.by_id("not-graded-banner").text
    assert "1 check (2 points) not graded" in " ".join(banner.split())
    assert "no points were lost" in banner
    not_run = doc.by_id("pending-banner").find("li", data_pending_kind="not_graded")
    assert "2 points" in not_run.text and "problem2" in not_run.text
    p2 = next(r for r in doc.by_id("problem-scores").find_all("tr") if r.attrs.get("data-problem") == "problem2")
    assert "not graded" in p2.text
    # a passed or failed check never says "not graded"
    assert all("NOT GRADED" not in a.text for a in doc.find_all("article") if a.attrs["data-test-id"] != pending.id)


def test_grader_fault_and_ungradable_are_announced(tmp_path: Path) -> None:
    _, _, _, ungradable, fault = class_results()
    for result, words in ((ungradable, "could not be graded"), (fault, "grader failed")):
        doc = rendered(result, tmp_path)
        banner = doc.by_id("status-banner")
        assert words in banner.text and result.status_reason in banner.text


def test_training_curves_accuracy_and_pieces(tmp_path: Path) -> None:
    result = diverging_result()
    doc = rendered(result, tmp_path)
    runs = doc.find_all("div", class_="training")
    assert [r.attrs["data-training"] for r in runs] == [r.problem for r in result.training]
    healthy = runs[0]
    svg = healthy.find("figure", class_="loss").find("svg")
    lines = svg.find_all("polyline", class_="curve")
    assert len(lines) == 1
    drawn = lines[0].attrs["points"].split()
    assert len(drawn) == charts.MAX_CURVE_POINTS < len(result.training[0].losses)
    xs = [float(p.split(",")[0]) for p in drawn]
    assert xs == sorted(xs)
    assert not svg.find_all("rect", class_="gap")
    assert svg.find_all("polyline", class_="trend")
    acc = healthy.find("figure", class_="accuracy")
    assert acc.find_all("line", class_="floor") and acc.find_all("rect", class_="met")
    assert "at or above the floor of 30.0 %" in acc.find("figcaption").text
    assert len(acc.find_all("rect", class_="class")) == 10
    pieces = {tr.find_all("td")[0].text: tr.find_all("td")[1].text for tr in healthy.find("table", class_="pieces").find_all("tr")}
    assert pieces["Net"] == "the student's"

    nll = next(r for r in runs if r.attrs["data-training"] == "problem3_5")
    assert "Stopped early: loss became nan at step 261" in nll.text
    svg = nll.find("figure", class_="loss").find("svg")
    gaps = svg.find_all("rect", class_="gap")
    assert len(gaps) == 1 and float(gaps[0].attrs["width"]) > 0
    assert svg.find_all("line", class_="stop")  # it stopped before its budget of 1200 steps
    caption = " ".join(nll.find("figure", class_="loss").find("figcaption").text.split())
    assert "2 loss value(s) were nan or infinite, first at step 261" in caption
    acc = nll.find("figure", class_="accuracy")
    assert acc.find_all("rect", class_="missed") and "below the floor" in acc.find("figcaption").text
    pieces = {tr.find_all("td")[0].text: tr.find_all("td")[1].text for tr in nll.find("table", class_="pieces").find_all("tr")}
    assert pieces == {"Net": "the baseline's", "criterion": "the student's", "make_optimizer": "the baseline's",
                      "train_transform": "the baseline's"}


def test_report_md_answers_sit_with_their_problems(tmp_path: Path) -> None:
    result = realistic_result()
    doc = rendered(result, tmp_path)
    p31 = doc.by_id("problem3_1").find("aside", class_="answers")
    assert [h.text for h in p31.find_all("h4")][0] == "3-(1)"
    p1 = doc.by_id("problem1").find("aside", class_="answers")
    assert [h.text for h in p1.find_all("h4")][:3] == ["1-(1)", "1-(2)", "1-(3)"]
    assert "컨볼루션" in p1.text  # Korean survives, as UTF-8
    assert "Conv2d(1, 6, kernel_size=(5, 5)" in p1.find("pre").text
    assert doc.by_id("problem4").find("aside", class_="answers")
    assert doc.by_id("problem5").find("aside", class_="answers")
    assert "인공지능 hw3" not in doc.by_id("problem1").text  # the title is not a problem's answer


def test_report_md_sections_map_to_problems() -> None:
    cases = {"3-(1)": "problem3_1", "3 - (6)": "problem3_6", "Problem 3-(4)": "problem3_4", "1-(7)": "problem1",
             "2-(3)": "problem2", "4": "problem4", "문제 5": "problem5", "problem3_2": "problem3_2", "3.5": "problem3_5",
             "3": None, "기타": None, "hw3 notes": None, "2019 소감": None, "3-(9)": None,
             "문제 3 (2)": "problem3_2", "Part 2: problem 4": "problem4", "Compare with problem 2": None}
    assert {h: answers.problem_of_heading(h) for h in cases} == cases


def test_report_md_split_ignores_headings_in_code() -> None:
    md = "# title\n\nintro\n\n## 4\n\n```\n## not a heading\nprint(1)\n```\n\n### sub\ntext\nmore\n\n## 기타\n끝"
    sections = answers.answer_sections(md)
    assert [(s.heading, s.problem) for s in sections] == [("", None), ("4", "problem4"), ("기타", None)]
    assert [(b.kind, b.text) for b in sections[1].blocks] == [
        ("code", "## not a heading\nprint(1)"), ("heading", "sub"), ("text", "text\nmore")]
    assert [b.kind for b in sections[0].blocks] == ["heading", "text"]


def test_general_answers_and_captured_output(tmp_path: Path) -> None:
    result = realistic_result()
    result.report_md += "\n## 소감\n\n재미있었다 <b>정말</b>\n"
    result.output = "x" * (views.MAX_OUTPUT_CHARS + 5000) + "THE END"
    result.output_bytes = len(result.output)
    doc = rendered(result, tmp_path)
    general = doc.by_id("answers")
    assert "재미있었다 <b>정말</b>" in general.text
    out = doc.by_id("output")
    shown = out.find("pre", class_="output").text
    assert len(shown) == views.MAX_OUTPUT_CHARS and shown.endswith("THE END")
    assert f"only the last {views.MAX_OUTPUT_CHARS} characters" in out.text


def test_how_it_was_graded(tmp_path: Path) -> None:
    result = realistic_result()
    result.sandbox, result.sandbox_note = "limits-only", "bubblewrap not used (no user namespaces)"
    (tmp_path / result.student).mkdir()
    results_json.write(result, tmp_path / result.student / "results.json")
    doc = rendered(result, tmp_path)
    facts = doc.by_id("grading").find("dl", class_="facts")
    pairs = dict(zip((dt.text for dt in facts.find_all("dt")), (dd for dd in facts.find_all("dd"))))
    assert pairs["seed"].text == "852732472" and pairs["budget"].text == "quick" and pairs["device"].text == "cpu"
    assert "limits-only" in pairs["sandbox"].text and "no user namespaces" in pairs["sandbox"].text
    assert pairs["torch"].text == "2.14.1" and pairs["started"].text == result.started_at
    assert pairs["duration"].text == "62 s"
    assert [a.attrs["href"] for a in pairs["files"].find_all("a")] == ["results.json"]
    timings = doc.by_id("grading").find("table", class_="timings").find("tbody").find_all("tr")
    assert [r.find_all("td")[0].text for r in timings] == list(result.timings)


# -- the class page --------------------------------------------------------------------------------
def test_class_index(tmp_path: Path) -> None:
    results = class_results()
    render.render_all(tmp_path, results)
    doc = page(tmp_path / "index.html")
    table = doc.by_id("students-table")
    rows = table.find("tbody").find_all("tr")
    assert [r.attrs["data-student"] for r in rows] == sorted(r.student for r in results)
    for row in rows:
        href = row.find("a").attrs["href"]
        assert (tmp_path / href).is_file()
    keys = {th.attrs["data-key"]: th.attrs["data-type"] for th in table.find("thead").find_all("th")}
    assert keys["total"] == keys["percent"] == keys["problem3_1"] == "number" and keys["student"] == "text"
    header = [th.attrs["data-key"] for th in table.find("thead").find_all("th")]
    first = dict(zip(header, rows[0].find_all("td")))
    assert first["total"].attrs["data-value"] == "60"
    ungradable = dict(zip(header, rows[1].find_all("td")))
    assert ungradable["pending"].attrs["data-value"] == "100" and "UNGRADABLE" in ungradable["status"].text
    counts = {el.attrs["data-count"]: int(el.text) for el in doc.by_id("counts").find_all(None, data_count=None)}
    assert counts == {"final": 0, "not_final": 5, "not_graded_checks": 1, "incomplete": 1, "grader_faults": 1,
                      "ungradable": 1, "missing_modules": 0}
    attention = doc.by_id("attention").text
    assert "CIFAR-10 not found" in attention and "the judge exited with status 3" in attention


def test_class_histogram_counts_every_gradable_submission(tmp_path: Path) -> None:
    results = class_results()
    doc = page(render.render_class(results, tmp_path / "index.html"))
    bars = doc.by_id("histogram").find_all("rect")
    counted = sum(int(b.find("title").text.split(": ")[1].split()[0]) for b in bars)
    assert counted == len(results)  # every grade, out of the assignment's 100
    incomplete = [b for b in bars if "incomplete" in b.classes]
    assert sum(int(b.find("title").text.split(": ")[1].split()[0]) for b in incomplete) == len(results)
    for b in bars:
        assert float(b.attrs["height"]) > 0 and float(b.attrs["y"]) >= 0


def test_class_pass_rates_hardest_first(tmp_path: Path) -> None:
    results = class_results()
    doc = page(render.render_class(results, tmp_path / "index.html"))
    rows = doc.by_id("checks-table").find("tbody").find_all("tr")
    all_ids = {t.id for r in results for t in r.tests}
    assert {r.attrs["data-test-id"] for r in rows} == all_ids
    rates = [float(r.find_all("td")[3].attrs["data-value"]) for r in rows]
    assert rates == sorted(rates) and rates[0] == pytest.approx(1 / 3, abs=1e-4)
    hardest = rows[0]
    assert hardest.attrs["data-test-id"] == results[0].tests[6].id  # 3-(1)'s architecture
    cells = [td.text.strip() for td in hardest.find_all("td")[4:]]
    assert cells == ["1", "2", "0"]
    p2 = next(r for r in rows if r.attrs["data-test-id"] == results[1].not_graded[0].id)
    assert [td.text.strip() for td in p2.find_all("td")[4:]] == ["2", "0", "1"]


# -- views -----------------------------------------------------------------------------------------
def test_loss_plot_downsamples_and_marks_gaps() -> None:
    losses = [2.0 - i / 5000 for i in range(5000)]
    losses[2500] = math.nan
    plot = charts.loss_plot(losses)
    assert plot.drawn == charts.MAX_CURVE_POINTS and plot.total == 5000 and plot.downsampled
    assert plot.nonfinite == 1 and plot.first_nonfinite == 2501 and len(plot.gaps) == 1
    assert len(plot.segments) == 1  # a bucket with one nan among finite values still has a mean
    short = charts.loss_plot([1.0, math.nan, 0.5, 0.4, math.inf, 0.3])
    assert short.drawn == 6 and len(short.gaps) == 2 and short.segments == [short.segments[0]]
    assert len(short.dots) == 2  # 1.0 alone before a gap, 0.3 alone after one
    assert charts.loss_plot([]).total == 0
    flat = charts.loss_plot([0.7] * 10)
    assert len({t.label for t in flat.y_ticks}) == 5
    dead = charts.loss_plot([math.nan] * 50)
    assert not dead.segments and not dead.dots and len(dead.gaps) == 1


def test_rerendering_from_results_json_gives_the_same_pages(tmp_path: Path) -> None:
    """`autograde report DIR` re-renders without regrading, from results.json alone."""
    results = class_results()
    first, second = tmp_path / "first", tmp_path / "second"
    for r in results:
        results_json.write(r, first / r.student / "results.json")
    render.render_all(first, results)
    for r in results:
        (second / r.student).mkdir(parents=True)
        shutil.copy(first / r.student / "results.json", second / r.student / "results.json")
    assert cli.main(["report", str(second)]) == 0
    for name in ["index.html", "grades.csv", *(f"{r.student}/report.html" for r in results)]:
        assert (second / name).read_bytes() == (first / name).read_bytes(), name


def test_a_problem_without_checks_is_not_shown_as_zero(tmp_path: Path) -> None:
    """Answers for a problem whose suite did not run: shown, but never as "0 / 0"."""
    result = realistic_result()
    result.tests = [t for t in result.tests if t.problem == "problem4"]
    result.training = []
    doc = rendered(result, tmp_path)
    row = next(r for r in doc.by_id("problem-scores").find_all("tr") if r.attrs.get("data-problem") == "problem1")
    assert "not graded in this run" in row.text and "— / 15" in row.text and "0 / 0" not in row.text
    assert "not graded in this run" in doc.by_id("problem1").find(class_="score").text
    assert doc.by_id("problem1").find("aside", class_="answers")


def test_report_md_lists_tables_emphasis_and_links_are_plain_data() -> None:
    """markdown-it's tokens become spans and rows; a link stays text with its address beside it."""
    md = ("## 5\n\n**굵게** 와 `코드`, [여기](https://example.org/a) [저기](javascript:alert(1))\n\n- 하나\n- 둘\n\n"
          "| a | b |\n|---|---|\n| 1 | <b>2</b> |\n\n> 인용\n")
    (section,) = answers.answer_sections(md)
    kinds = [b.kind for b in section.blocks]
    assert kinds == ["text", "list", "table", "quote"], kinds
    para = section.blocks[0]
    assert [(s.kind, s.text) for s in para.spans] == [
        ("strong", "굵게"), ("text", " 와 "), ("code", "코드"),
        ("text", ", 여기 (https://example.org/a) [저기](javascript:alert(1))")]
    assert [item[0][0].text for item in section.blocks[1].rows] == ["하나", "둘"]
    assert [[answers._plain(c) for c in row] for row in section.blocks[2].rows] == [["a", "b"], ["1", "<b>2</b>"]]


def test_missing_modules_and_limits_only_show_on_every_page(tmp_path: Path) -> None:
    """A submission without problem5.py is not a clean GRADED row, and a run in limits-only mode
    says so on the class page, the TA's page and the student's."""
    result = realistic_result()
    result.missing = ["problem5"]
    result.sandbox = "limits only"
    render.render_all(tmp_path, [result])
    index = page(tmp_path / "index.html")
    assert index.by_id("limits-only-banner") is not None
    counts = {el.attrs["data-count"]: int(el.text) for el in index.by_id("counts").find_all(None, data_count=None)}
    assert counts["missing_modules"] == 1
    row = index.by_id("students-table").find("tbody").find("tr")
    assert "MISSING 1" in row.text and "problem5.py" in index.by_id("attention").text
    for name in ("report.html", "feedback.html"):
        assert page(tmp_path / result.student / name).by_id("limits-only-banner") is not None, name
