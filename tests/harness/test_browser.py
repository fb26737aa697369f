"""The pages in a real browser: headless Chromium loads them from disk, runs their script, and we read
back the DOM it ended with (``--dump-dom``) and the console lines it logged (``--enable-logging``).

Each page's own script records any error, failed load or security-policy violation into
``#page-errors`` and marks ``<html data-script="ran">``, so a clean page is one whose script ran and
recorded nothing. Screenshots go to ``$AUTOGRADE_ARTIFACTS`` (default: the test's tmp folder) for
CI to keep.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from autograder.orchestrator.report import render
from autograder.common.results import SubmissionResult
from html_tree import Element, parse
from report_samples import PAYLOADS, XSS_MARKER, class_results, hostile_result

CHROMIUM = os.environ.get("CHROMIUM") or next(
    (found for name in ("chromium", "chromium-browser", "google-chrome") if (found := shutil.which(name))), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed "
                                                         "(Debian: apt-get install chromium)")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-extensions", "--hide-scrollbars",
         "--enable-logging=stderr", "--v=0")


@dataclass
class Loaded:
    dom: Element
    console: list[str]
    """Console messages Chromium logged for the page (errors, violations, anything printed)."""

    @property
    def html(self) -> Element:
        return self.dom.find("html")

    @property
    def page_errors(self) -> list[str]:
        return [li.text for li in self.dom.by_id("page-errors").find_all("li")]

    def assert_clean(self) -> None:
        __tracebackhide__ = True
        assert self.html.attrs.get("data-script") == "ran", "the page's own script did not run"
        assert self.page_errors == [], f"the page recorded errors: {self.page_errors}"
        assert "data-page-errors" not in self.html.attrs
        assert self.console == [], f"console messages: {self.console}"


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"chromium-profile-{len(list(tmp_path.glob('chromium-profile-*')))}"
    cmd = [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180)


def load(path: Path, tmp_path: Path, fragment: str = "") -> Loaded:
    proc = chromium(tmp_path, "--dump-dom", path.as_uri() + fragment)
    assert proc.returncode == 0 and "<html" in proc.stdout, proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    return Loaded(parse(proc.stdout), console)


def screenshot(path: Path, tmp_path: Path, name: str, fragment: str = "") -> Path:
    folder = Path(os.environ.get("AUTOGRADE_ARTIFACTS") or tmp_path / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    shot = folder / name
    shot.unlink(missing_ok=True)
    proc = chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", path.as_uri() + fragment)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return shot


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    render.render_all(out, class_results())
    return out


def test_report_of_20163140_loads_cleanly(site: Path, tmp_path: Path) -> None:
    page = site / "20163140" / "report.html"
    loaded = load(page, tmp_path)
    loaded.assert_clean()
    assert loaded.dom.find("title").text == "hw3 — 20163140: 58 / 100 (not final)"
    assert "컨볼루션" in loaded.dom.by_id("problem1").text
    assert len(loaded.dom.find_all("svg")) == 14  # a loss curve and an accuracy chart per training run
    screenshot(page, tmp_path, "report-20163140.png")


def test_class_index_loads_cleanly(site: Path, tmp_path: Path) -> None:
    loaded = load(site / "index.html", tmp_path)
    loaded.assert_clean()
    assert "data-sorted-by" not in loaded.dom.by_id("students-table").attrs
    screenshot(site / "index.html", tmp_path, "index.png", "#sort=-total")


def _column(loaded: Loaded, key: str) -> tuple[list[str], list[str]]:
    table = loaded.dom.by_id("students-table")
    header = [th.attrs["data-key"] for th in table.find("thead").find_all("th")]
    rows = table.find("tbody").find_all("tr")
    return [r.attrs["data-student"] for r in rows], [r.find_all("td")[header.index(key)].attrs["data-value"] for r in rows]


@pytest.mark.parametrize("fragment, key, expected", [
    ("#sort=-total", "total", ["20160001", "20163140", "20169999", "20160002", "20160003"]),
    # numeric, not text: "100.0000" comes first although "9…" sorts before "1…" as text
    ("#sort=-percent", "percent", ["20160001", "20163140", "20169999", "20160002", "20160003"]),
    ("#sort=percent", "percent", ["20160002", "20160003", "20169999", "20163140", "20160001"]),  # out of 100: 0 first
    ("#sort=-student", "student", ["20169999", "20163140", "20160003", "20160002", "20160001"]),
])
def test_class_table_sorts(site: Path, tmp_path: Path, fragment: str, key: str, expected: list[str]) -> None:
    loaded = load(site / "index.html", tmp_path, fragment)
    loaded.assert_clean()
    students, values = _column(loaded, key)
    assert students == expected, values
    descending = fragment.startswith("#sort=-")
    table = loaded.dom.by_id("students-table")
    assert table.attrs["data-sorted-by"] == f"{key}:{'desc' if descending else 'asc'}"
    th = table.find("th", data_key=key)
    assert th.attrs["aria-sort"] == ("descending" if descending else "ascending")
    assert all("aria-sort" not in other.attrs for other in table.find_all("th") if other is not th)


def test_page_errors_are_recorded(site: Path, tmp_path: Path) -> None:
    """The error channel the other tests rely on works: a bad sort key is reported in the DOM."""
    loaded = load(site / "index.html", tmp_path, "#sort=no-such-column")
    assert loaded.page_errors == ["no column to sort by: no-such-column"]
    assert loaded.html.attrs["data-page-errors"] == "1"


def _assert_no_payload_ran(loaded: Loaded) -> None:
    __tracebackhide__ = True
    loaded.assert_clean()
    assert XSS_MARKER not in loaded.dom.find("title").text
    assert f"data-{XSS_MARKER}" not in loaded.html.attrs
    assert not loaded.dom.find_all("img") and not loaded.dom.find_all("iframe")
    assert len(loaded.dom.find_all("script")) == 1


def test_hostile_submission_runs_no_script_and_shows_its_text(tmp_path: Path) -> None:
    result = hostile_result()
    out = tmp_path / "out"
    render.render_all(out, [result, *class_results()[:1]])
    loaded = load(out / result.student / "report.html", tmp_path)
    _assert_no_payload_ran(loaded)
    shown = loaded.dom.find("pre", class_="output").text
    for payload in PAYLOADS:
        assert payload in shown
    status = loaded.dom.by_id("status-banner").text
    assert PAYLOADS[1] in status
    screenshot(out / result.student / "report.html", tmp_path, "report-hostile.png")
    index = load(out / "index.html", tmp_path)
    _assert_no_payload_ran(index)
    assert PAYLOADS[1] in index.dom.by_id("attention").text


def test_the_xss_check_would_catch_an_unescaped_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above can fail: with autoescape switched off, the same page is caught."""
    safe_environment = render.environment

    def unescaped():
        env = safe_environment()
        env.autoescape = False
        return env

    monkeypatch.setattr(render, "environment", unescaped)
    result: SubmissionResult = hostile_result()
    page = render.render_submission(result, tmp_path / "bad" / "report.html")
    loaded = load(page, tmp_path)
    with pytest.raises(AssertionError):
        _assert_no_payload_ran(loaded)
    assert loaded.page_errors, "the page's security policy should have blocked and recorded the payloads"


HOSTILE_PROBLEM4 = '''\
"""A submission that prints markup and raises exceptions with HTML in their messages."""
PAYLOADS = {payloads!r}

for p in PAYLOADS:
    print(p, flush=True)


def softmax(x):
    raise ValueError("<b>not bold</b> " + " ".join(PAYLOADS))
'''


def test_real_grading_of_a_hostile_submission(tmp_path: Path) -> None:
    """End to end: judge, sandboxed worker, results.json, then the report in the browser."""
    from autograder.common import config
    from autograder.common import results_json
    from autograder.orchestrator import runner

    submission = tmp_path / "submissions" / "20990002"
    submission.mkdir(parents=True)
    (submission / "problem4.py").write_text(HOSTILE_PROBLEM4.format(payloads=list(PAYLOADS)), encoding="utf-8")
    (submission / "report.md").write_text(f"## 4\n\n{PAYLOADS[0]}\n\n소프트맥스 {PAYLOADS[1]}\n", encoding="utf-8")
    out = tmp_path / "out"
    job = runner.Job(submission, out / submission.name)
    suite = str(runner.GRADED_SUITES / "test_problem4.py")
    result = runner.grade(job, config.resolve({"budget": "quick"}), suites=[suite])
    assert result.status.value == "graded", result.status_reason
    assert [t.outcome.value for t in result.tests if t.max_points] == ["failed"] * 3
    render.render_all(out, [results_json.read(job.results_path)])
    loaded = load(out / submission.name / "report.html", tmp_path)
    _assert_no_payload_ran(loaded)
    output = loaded.dom.find("pre", class_="output").text
    assert all(p in output for p in PAYLOADS), output
    first = loaded.dom.find("article", data_outcome="failed")
    assert "ValueError: <b>not bold</b> " + PAYLOADS[0] in first.find("dl", class_="feedback").text
    assert PAYLOADS[1] in loaded.dom.by_id("problem4").find("aside").text
    screenshot(out / submission.name / "report.html", tmp_path, "report-hostile-graded.png")
