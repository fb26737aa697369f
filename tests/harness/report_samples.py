"""Results built from the dataclasses for the export and report tests (no grading needed).

`realistic_result` looks like a grading of submission 20163140 (its report.md, every problem, a
training run per CIFAR-10 problem, one of them diverging to nan); `hostile_result` is full of
HTML and script payloads; `class_results` is a small class with every kind of outcome.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

from autograder.common.contract import PROBLEMS
from autograder.common.results import Feedback, Outcome, Status, SubmissionResult, TestResult, TrainingRecord

ROOT = Path(__file__).resolve().parents[2]
REPORT_MD_20163140 = ROOT / "submissions" / "20163140" / "report.md"

XSS_MARKER = "xss-ran"
"""What a payload writes if it ever runs (document.title and a data attribute)."""
PAYLOADS = (
    f"<script>document.title='{XSS_MARKER}';document.documentElement.setAttribute('data-{XSS_MARKER}','1')</script>",
    f"<img src=x onerror=\"document.title='{XSS_MARKER}';document.documentElement.setAttribute('data-{XSS_MARKER}','1')\">",
    f"<svg onload=\"document.title='{XSS_MARKER}'\"></svg>",
    f"</pre><iframe src=\"javascript:parent.document.title='{XSS_MARKER}'\"></iframe>",
)


def _curve(steps: int, start: float, end: float, seed: int, nan_from: int | None = None) -> list[float]:
    rnd = random.Random(seed)
    out = []
    for i in range(steps):
        if nan_from is not None and i >= nan_from:
            out.append(math.nan)
            continue
        mean = end + (start - end) * math.exp(-4 * i / steps)
        out.append(max(0.01, mean + rnd.gauss(0, 0.35)))
    return out


def _passed(problem: str, name: str, points: float, n: int) -> TestResult:
    return TestResult(id=f"autograder/judge/suites/test_{problem}.py::test_{n}", name=name, problem=problem,
                      max_points=points, points=points, outcome=Outcome.PASSED, duration=0.01)


def realistic_result() -> SubmissionResult:
    """A full grading of 20163140 as the suites would report it (3-(1)'s architecture fails)."""
    tests: list[TestResult] = []
    for spec in PROBLEMS:
        for n in range(3):
            tests.append(_passed(spec.module, f"{spec.title}: check {n + 1}", 2.0, n))
    arch = next(t for t in tests if t.problem == "problem3_1")
    arch.outcome, arch.points = Outcome.FAILED, 0.0
    arch.name = "four distinct 3×3 Conv2d layers of 32 channels"
    arch.feedback = Feedback(
        checked="the convolution layers of Net", expected="4 distinct Conv2d(…, 32, 3) layers",
        found="2 distinct Conv2d layers (conv1 3→32, conv2 32→32), each applied twice; 18,154 weights",
        where="problem3_1.py:Net", details="Net(\n  (conv1): Conv2d(3, 32, kernel_size=(3, 3))\n"
                                          "  (conv2): Conv2d(32, 32, kernel_size=(3, 3))\n  (fc): Linear(800, 10)\n)")
    tests[-1].remarks.append("loglikelihood uses log base 2; the natural log is also accepted")
    training = []
    accuracies = {"problem2": 0.41, "problem3_1": 0.47, "problem3_2": 0.45, "problem3_3": 0.40,
                  "problem3_4": 0.44, "problem3_5": 0.43, "problem3_6": 0.41}
    for i, (module, acc) in enumerate(accuracies.items()):
        own = "student" if module == "problem2" else "baseline"
        pieces = {"Net": own, "criterion": own, "make_optimizer": own, "train_transform": own}
        if module != "problem2":
            spec = next(p for p in PROBLEMS if p.module == module)
            pieces.update({name: "student" for name in spec.own_names})
        training.append(TrainingRecord(
            problem=module, pieces=pieces, steps=1200, steps_run=1200,
            losses=_curve(1200, 2.31, 1.55, seed=i), accuracy=acc, floor=0.3,
            per_class=[min(1.0, max(0.0, acc + 0.15 * math.sin(k + i))) for k in range(10)], seconds=4.2))
    report_md = REPORT_MD_20163140.read_text(encoding="utf-8") if REPORT_MD_20163140.is_file() else (
        "# 인공지능 hw3 — 20163140\n\n## 3-(1)\n\n⇒ 컨볼루션 층을 4개로 늘렸다.\n\n## 기타\n\n수고하셨습니다.\n")
    return SubmissionResult(
        student="20163140", submission="submissions/20163140", tests=tests, training=training,
        output="[1,  1000] loss: 2.298\n[1,  2000] loss: 2.105\nAccuracy of the network on the 10000 test images: 54 %\n",
        output_bytes=120, seed=852732472, budget="quick", device="cpu", sandbox="bubblewrap",
        versions={"python": "3.11.7", "torch": "2.14.1", "torchvision": "0.29.1", "numpy": "2.4.6"},
        timings={"sandbox start": 2.5, "problem1 checks": 0.4, "problem2 checks": 14.0, "worker busy": 40.1},
        started_at="2026-11-27T23:07:17+00:00", duration=61.5, report_md=report_md)


def diverging_result() -> SubmissionResult:
    """A submission whose 3-(5) loss becomes nan (NLLLoss on raw outputs), and one check not graded."""
    r = realistic_result()
    r.student = "20169999"
    rec = next(t for t in r.training if t.problem == "problem3_5")
    rec.losses = _curve(400, 2.3, -40.0, seed=7, nan_from=260)[:260] + [math.nan, math.inf]
    rec.steps_run = 262
    rec.accuracy = 0.1
    rec.stopped_early = "loss became nan at step 261: NLLLoss expects log-probabilities"
    floor = next(t for t in r.tests if t.problem == "problem3_5")
    floor.outcome, floor.points = Outcome.FAILED, 0.0
    floor.feedback = Feedback(checked="test accuracy after training", expected="≥ 30 %", found="10.0 %",
                              where="problem3_5.py:criterion")
    pending = next(t for t in r.tests if t.problem == "problem2")
    pending.outcome, pending.points = Outcome.NOT_GRADED, 0.0
    pending.message = "not graded: CIFAR-10 not found (looked in ./data)"
    r.report_md = ""
    return r


def hostile_result() -> SubmissionResult:
    """Payloads everywhere a submission's text can reach the page."""
    payload = "\n".join(PAYLOADS)
    r = realistic_result()
    r.student = "20990001"
    r.output = f"hello\n{payload}\n\x1b[31mred\x1b[0m & \"quotes\" 'single'\n"
    r.output_bytes = len(r.output)
    r.report_md = f"## 3-(1) {PAYLOADS[0]}\n\n{payload}\n\n```\n{payload}\n```\n\n## notes\n{PAYLOADS[1]}\n"
    failed = next(t for t in r.tests if t.problem == "problem4")
    failed.outcome, failed.points = Outcome.FAILED, 0.0
    failed.name = f"softmax {PAYLOADS[2]}"
    failed.feedback = Feedback(
        checked=f"calling softmax {PAYLOADS[0]}", expected="<b>an array</b>",
        found=f"ValueError: {PAYLOADS[1]}", where="problem4.py:<module>",
        details=f"Traceback (most recent call last):\n  File \"problem4.py\"\nValueError: {payload}")
    failed.remarks.append(PAYLOADS[3])
    pending = next(t for t in r.tests if t.problem == "problem5")
    pending.outcome, pending.points = Outcome.NOT_GRADED, 0.0
    pending.message = f"not graded: grader error — RuntimeError: {PAYLOADS[0]}"
    r.status, r.status_reason = Status.GRADER_FAULT, f"grader error: {PAYLOADS[1]}"
    r.sandbox_note = PAYLOADS[2]
    r.versions["torch"] = PAYLOADS[3]
    r.timings[PAYLOADS[0]] = 1.0
    r.training[0].pieces[PAYLOADS[1]] = "student"
    return r


def class_results() -> list[SubmissionResult]:
    """A small class: full marks, a partial, an incomplete one, an ungradable one, a grader fault."""
    full = realistic_result()
    full.student = "20160001"
    for t in full.tests:
        t.outcome, t.points, t.feedback = Outcome.PASSED, t.max_points, None
    ungradable = SubmissionResult(student="20160002", submission="submissions/20160002",
                                  status=Status.UNGRADABLE, status_reason="no module of the contract")
    fault = SubmissionResult(student="20160003", submission="submissions/20160003",
                             status=Status.GRADER_FAULT, status_reason="the judge exited with status 3")
    return [realistic_result(), diverging_result(), full, ungradable, fault]


# -- results shaped like the real rubric -----------------------------------------------------------
SUITES = ROOT / "autograder" / "judge" / "suites"


def suite_checks() -> list[tuple[str, str, str, float]]:
    """(problem, test name, title, points) of every check of the graded suites, read from their
    source: the ``pytestmark = pytest.mark.problem(…)`` line and each ``@pytest.mark.points(n)``."""
    import ast

    out = []
    for path in sorted(SUITES.glob("test_problem*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        problem = next(node.value.args[0].value for node in tree.body if isinstance(node, ast.Assign)
                       and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets))
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test_"):
                continue
            for deco in node.decorator_list:
                if isinstance(deco, ast.Call) and ast.unparse(deco.func) == "pytest.mark.points":
                    title = (ast.get_docstring(node) or node.name).splitlines()[0]
                    out.append((problem, node.name, title, float(deco.args[0].value)))
    return out


def rubric_result(student: str, failed: tuple[str, ...] = ()) -> SubmissionResult:
    """A complete grading with the real suites' checks and points; the tests named in ``failed``
    lose their points (with feedback), the others pass. Training curves as `realistic_result`'s."""
    tests = []
    for problem, name, title, points in suite_checks():
        test = TestResult(id=f"autograder/judge/suites/test_{problem}.py::{name}", name=title, problem=problem,
                          max_points=points, points=points, outcome=Outcome.PASSED, duration=0.01)
        if name in failed:
            test.outcome, test.points = Outcome.FAILED, 0.0
            test.feedback = Feedback(checked=title, expected="the reference's behaviour", found="something else",
                                     where=f"{problem}.py")
        tests.append(test)
    r = realistic_result()
    r.student, r.submission, r.tests = student, f"submissions/{student}", tests
    return r
