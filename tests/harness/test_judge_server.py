"""A judge server grades the submissions of a class one after another: each gets the result a
judge of its own would give, a judge that crashes or hangs costs only the submission it was
grading, and nothing of one submission's run reaches the next.

Graded on problems 1, 4 and 5 (no training) through `runner.grade` with a `JudgeServer`, as
`autograde` grades a class.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from autograder.common import config as cfg
from autograder.common.results import Status, SubmissionResult
from autograder.judge import sandbox
from autograder.orchestrator import judge_server, runner

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
REFERENCE = ROOT / "autograder" / "judge" / "reference"
SUITES = [str(runner.GRADED_SUITES / f"test_problem{p}.py") for p in ("1", "4", "5")]
FAULTY = str(HERE / "judge_faults" / "faulty_check.py")

pytestmark = pytest.mark.skipif(sandbox.bwrap_check()[0] is None and os.environ.get("CI") != "true",
                                reason="needs a working bubblewrap")

LEAVER = '''\
import os, sys
from pathlib import Path
from typing import Iterator

TOKEN = (Path(__file__).parent / "token.txt").read_text().strip()
PLACES = ["/tmp", "/scratch", "/dev/shm", os.environ.get("HOME", "/scratch"), os.getcwd()]
found = sorted({str(p) for place in PLACES for p in Path(place).glob("left-by-*")})
print(f"STATE {TOKEN} found: {found}")
print(f"STATE {TOKEN} uid: {os.getuid()}")
print(f"STATE {TOKEN} environment: {os.environ.get('LEFT_BY', '')}")
print(f"STATE {TOKEN} module attribute: {getattr(sys, 'left_by', '')}")
for place in PLACES:
    try:
        (Path(place) / f"left-by-{TOKEN}").write_text(TOKEN)
    except OSError:
        pass
os.environ["LEFT_BY"] = TOKEN
sys.left_by = TOKEN


def softmax(x):
    import numpy as np
    x = np.asarray(x, dtype=float)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
'''


def config() -> cfg.GradingConfig:
    return cfg.resolve({"seed": 7, "budget": "quick", "device": "cpu"})


def reference_copy(folder: Path) -> Path:
    shutil.copytree(REFERENCE, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def verdicts(result: SubmissionResult) -> list[tuple[object, ...]]:
    """What a grade says, check by check, without timings."""
    return [(t.id, t.outcome, t.points, t.max_points, t.message, t.feedback, tuple(t.remarks))
            for t in result.tests]


def job(folder: Path, out: Path) -> runner.Job:
    return runner.Job(folder.resolve(), (out / folder.name).resolve())


@contextlib.contextmanager
def one_judge() -> Iterator[tuple[runner.JudgeServer, runner.Judges]]:
    """A judge server for a test's submissions, stopped however the test ends."""
    judges = runner.Judges()
    judge = runner.new_judge(config(), judges)
    try:
        yield judge, judges
    finally:
        judge.stop()


def grade_in(judge: runner.JudgeServer | None, folder: Path, out: Path, suites: list[str] = SUITES,
             judges: runner.Judges | None = None, ahead: Path | None = None) -> SubmissionResult:
    """Grade ``folder`` in ``judge``; ``ahead``: the folder it grades next (its worker starts now)."""
    hint = runner.ahead_of(job(ahead, out), config(), ["problem1", "problem4", "problem5"]) if ahead else None
    return runner.grade(job(folder, out), config(), suites, judge=judge, judges=judges, ahead=hint)


def test_a_judge_grading_in_turn_gives_each_the_same_result_as_a_judge_of_its_own(tmp_path: Path) -> None:
    folders = [ROOT / "submissions" / "20163140", reference_copy(tmp_path / "reference"),
               *sorted(p for p in (HERE / "variants").iterdir() if p.is_dir())]
    wrong = reference_copy(tmp_path / "wrong")
    text = (wrong / "problem1.py").read_text()
    (wrong / "problem1.py").write_text(text.replace("nn.Linear(120, 84)", "nn.Linear(120, 80)").replace(
        "nn.Linear(84, 10)", "nn.Linear(80, 10)"))
    exits = reference_copy(tmp_path / "exits")
    (exits / "problem4.py").write_text("import os\n\ndef softmax(x):\n    os._exit(3)\n")
    folders += [wrong, exits]
    # as a class is graded: each submission's worker starts while the one before is graded
    with one_judge() as (judge, judges):
        in_turn = [grade_in(judge, f, tmp_path / "in-turn", judges=judges, ahead=after)
                   for f, after in zip(folders, folders[1:] + [None])]
        assert judge.starts == 1 and judge.sessions == len(folders)  # one judge graded them all
    alone = [grade_in(None, f, tmp_path / "alone") for f in folders]
    for a, b, folder in zip(in_turn, alone, folders):
        assert a.status is b.status is Status.GRADED, (folder.name, a.status_reason, b.status_reason)
        assert verdicts(a) == verdicts(b), folder.name
        assert (a.score, a.max_score) == (b.score, b.max_score)
    scores = {f.name: r.score for f, r in zip(folders, in_turn)}
    assert scores["reference"] == 36 and scores["wrong"] < 36 and scores["exits"] < 36, scores


def test_a_judge_that_crashes_costs_only_the_submission_it_was_grading(tmp_path: Path) -> None:
    before, crash, after = (reference_copy(tmp_path / n) for n in ("before", "crash", "after"))
    (crash / "JUDGE_FAULT").write_text("crash")
    suites = SUITES[1:] + [FAULTY]
    with one_judge() as (judge, judges):
        results = [grade_in(judge, f, tmp_path / "out", suites, judges) for f in (before, crash, after)]
    first, crashed, last = results
    assert first.status is Status.GRADED and last.status is Status.GRADED
    assert verdicts(first) == verdicts(last)
    assert crashed.status is Status.GRADER_FAULT, crashed.status
    assert "the judge exited with status 3 while grading" in crashed.status_reason, crashed.status_reason
    assert (tmp_path / "out" / "crash" / "results.json").is_file()  # recorded, not dropped
    assert judge.starts == 2  # a fresh judge for the submission after the crash


def test_a_judge_that_hangs_is_stopped_at_its_bound_and_the_next_submission_graded(tmp_path: Path) -> None:
    hang, after = reference_copy(tmp_path / "hang"), reference_copy(tmp_path / "after")
    (hang / "JUDGE_FAULT").write_text("hang")
    suites = SUITES[1:] + [FAULTY]
    with one_judge() as (judge, judges):
        judge.start()  # its imports are not the hang's to time
        job = runner.Job(hang.resolve(), (tmp_path / "out" / "hang").resolve())
        job.out_dir.mkdir(parents=True)
        with pytest.raises(runner.JudgeFailed, match="ran longer than its 20 s"):
            judge.grade(runner.judge_args(job, config(), suites), job.log_path, timeout=20)
        result = grade_in(judge, after, tmp_path / "out", suites, judges)
    assert result.status is Status.GRADED, result.status_reason
    assert result.score == result.max_score > 0
    assert judge.starts == 2


def test_nothing_of_one_submission_reaches_the_next(tmp_path: Path) -> None:
    """Files left in /tmp, the scratch folder, /dev/shm and HOME, an environment variable and a
    module attribute set by one student's code: the next student's code, graded by the same judge,
    finds none of them, and runs under another uid (as root)."""
    tokens = {}
    folders = []
    for name in ("first", "second", "third"):
        folder = reference_copy(tmp_path / name)
        (folder / "problem4.py").write_text(LEAVER)
        tokens[name] = f"{name}-{uuid.uuid4().hex[:8]}"
        (folder / "token.txt").write_text(tokens[name])
        folders.append(folder)
    suites = [SUITES[1]]
    with one_judge() as (judge, judges):
        results = [grade_in(judge, f, tmp_path / "out", suites, judges) for f in folders]
    assert judge.starts == 1
    uids = []
    for name, r in zip(tokens, results):
        assert r.status is Status.GRADED and r.score == r.max_score, (name, r.status_reason)
        lines = [line for line in r.output.splitlines() if line.startswith("STATE ")]
        mine = [line for line in lines if line.startswith(f"STATE {tokens[name]} ")]
        assert mine and len(mine) == len(lines), lines  # only its own code's lines
        assert f"STATE {tokens[name]} found: []" in mine, mine
        assert f"STATE {tokens[name]} environment: " in mine and f"STATE {tokens[name]} module attribute: " in mine, mine
        others = [t for n, t in tokens.items() if n != name]
        assert not any(t in r.output for t in others), name
        uids += [line.rsplit(" ", 1)[1] for line in mine if " uid: " in line]
    if os.getuid() == 0:
        assert len(set(uids)) == len(uids), uids  # a uid of its own for each submission


def test_a_worker_started_ahead_for_a_submission_not_graded_next_leaves_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A head start for a submission that does not come next (or never comes) is closed: no
    process and no copy of it is left, and the submissions graded are graded normally."""
    first, other, never = (reference_copy(tmp_path / n) for n in ("first", "other", "never"))
    judge_tmp = tmp_path / "judge-tmp"
    judge_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(judge_tmp))  # the workers' copies and scratch folders go here
    suites = [SUITES[1]]
    with one_judge() as (judge, judges):
        a = grade_in(judge, first, tmp_path / "out", suites, judges, ahead=never)
        b = grade_in(judge, other, tmp_path / "out", suites, judges, ahead=never)
    assert a.status is b.status is Status.GRADED and a.score == b.score == a.max_score > 0
    assert verdicts(a) == verdicts(b)
    assert sorted(p.name for p in judge_tmp.iterdir()) == []


def test_a_judge_is_replaced_after_its_share_of_submissions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After `MAX_SESSIONS` submissions a fresh judge takes over (what a long class may accumulate
    in one judge is bounded); the grades do not change."""
    monkeypatch.setattr(judge_server, "MAX_SESSIONS", 2)
    folders = [reference_copy(tmp_path / f"s{i}") for i in range(3)]
    suites = [SUITES[1]]
    with one_judge() as (judge, judges):
        results = [grade_in(judge, f, tmp_path / "out", suites, judges) for f in folders]
    assert judge.starts == 2
    assert all(r.status is Status.GRADED for r in results)
    assert verdicts(results[0]) == verdicts(results[1]) == verdicts(results[2])
