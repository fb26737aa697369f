"""A check that breaks the judge itself (not a worker), for tests/harness/test_judge_server.py.

A submission folder holding ``JUDGE_FAULT`` with ``crash`` makes the judge process exit in the
middle of grading it; with ``hang``, the judge stops answering. Without the file the check passes.
This stands for a bug in the grader or a fault of the machine: no student code runs in the judge.
"""

from __future__ import annotations

import os
import time

import pytest


@pytest.mark.problem("problem4")
@pytest.mark.points(0)
def test_the_judge_survives(grading):
    """The judge keeps running"""
    marker = grading.submission / "JUDGE_FAULT"
    what = marker.read_text().strip() if marker.is_file() else ""
    if what == "crash":
        os._exit(3)
    if what == "hang":
        while True:
            time.sleep(60)
