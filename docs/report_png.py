"""Regenerate docs/report.png from the current grader and pages.

Grades submissions/20163140 (budget quick, a fixed seed) into a temporary folder with this
checkout's `autograde`, then photographs its report.html with headless Chromium. Run it from the
checkout after a change that shows on the page:

    .venv/bin/python docs/report_png.py

Needs Chromium (``chromium``, ``chromium-browser`` or ``google-chrome``, or the path in
``$CHROMIUM``) and a font with Korean glyphs (Debian: ``apt-get install fonts-nanum``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUBMISSION = ROOT / "submissions" / "20163140"
PNG = ROOT / "docs" / "report.png"
SEED = "2026"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--hide-scrollbars", "--window-size=1280,1600")


def chromium() -> str:
    found = os.environ.get("CHROMIUM") or next(
        (path for name in ("chromium", "chromium-browser", "google-chrome") if (path := shutil.which(name))), None)
    if found is None:
        sys.exit("report_png: headless Chromium is needed (Debian: apt-get install chromium)")
    return found


def main() -> int:
    browser = chromium()
    with tempfile.TemporaryDirectory(prefix="report-png-") as tmp:
        out = Path(tmp) / "reports"
        graded = subprocess.run([sys.executable, "-m", "autograder.orchestrator.cli", str(SUBMISSION),
                                 "--budget", "quick", "--seed", SEED, "--out", str(out)], cwd=ROOT)
        page = out / SUBMISSION.name / "report.html"
        if not page.is_file():
            print(f"report_png: grading wrote no page (exit status {graded.returncode})", file=sys.stderr)
            return 1
        shot = subprocess.run([browser, *FLAGS, f"--user-data-dir={Path(tmp) / 'profile'}",
                               f"--screenshot={PNG}", page.as_uri()],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180)
        if shot.returncode != 0 or not PNG.is_file():
            print(f"report_png: Chromium failed: {shot.stderr[-2000:]}", file=sys.stderr)
            return 1
    print(f"{PNG.relative_to(ROOT)}: the report of {SUBMISSION.name} (budget quick, seed {SEED})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
