"""The red team: hostile submissions graded end to end, judge process and sandboxed worker included.

Each case is a small hostile ``problem4.py`` under ``hostile/<case>/``. At test time it is copied
into a fresh submission folder beside the reference modules of every other problem (so problem 5,
graded by the real ``autograder/judge/suites/test_problem5.py``, shows that the rest of the submission is
graded normally), with the paths it attacks baked into its source. Every case is graded by
`autograder.runner.grade` — a judge subprocess running the real graded suites — and the tests then
check that the grader finished, that the hostile problem earned nothing and says why, that
problem 5 earned full marks, and that nothing outside the worker's scratch folder changed.

The cases are graded once per module, two at a time (CI has two cores), in the `redteam` fixture.
Destructive attacks call ``redteam.guard()`` first: they refuse to run outside bubblewrap, so that
a broken sandbox fails these tests instead of damaging the machine.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import os
import select
import shutil
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest

from autograder.common import config as cfg
from autograder.orchestrator import runner
from autograder.common.results import Outcome, Status, SubmissionResult
from autograder.common.results import TestResult as CheckResult
from autograder.judge import memory_cgroup
from autograder.judge.sandbox import ETC_ENTRIES, bwrap_check

HERE = Path(__file__).resolve().parent
HOSTILE = HERE / "hostile"
PROJECT = HERE.parent.parent
REFERENCE = PROJECT / "autograder" / "judge" / "reference"
P4_SUITE = PROJECT / "autograder" / "judge" / "suites" / "test_problem4.py"
P5_SUITE = PROJECT / "autograder" / "judge" / "suites" / "test_problem5.py"
CASE_TIMEOUT = 420.0
"""Seconds one case may take before the test calls the grader hung (import loop: about 30 s)."""
PROTECTED = [REFERENCE, PROJECT / "autograder" / "judge" / "suites"]
"""Project folders whose files the hostile submissions try to change (new files anywhere in the
project are looked for by name)."""


@dataclass(frozen=True)
class Case:
    """One hostile (or benign) submission and how to grade it."""

    folder: str | None
    """Folder under hostile/ with the hostile modules; None: the reference only (benign)."""
    p4_tests: tuple[str, ...] = ()
    """The tests of test_problem4.py to run; () runs the whole file. A case whose every call
    kills the worker, or takes long, runs fewer: each restart costs a fresh sandbox (seconds)."""
    sandbox: str = "bubblewrap"
    alone: bool = False
    """Graded after the others when the workers share a uid (not root): a fork bomb."""
    full_marks: bool = False
    """The case's problem4.py is the reference's: its hostile files are elsewhere (helper modules)."""
    worker_memory: int | None = None
    """Each worker's memory share for this case (default: the machine's share for one submission)."""
    needs_cgroup: bool = False
    """Graded only where the judge can make memory cgroups (its attack is safe only inside one)."""


CASES: dict[str, Case] = {
    "import_loop": Case("import_loop"),
    "memory_bomb": Case("memory_bomb"),
    "fork_bomb": Case("fork_bomb", alone=True),
    "exit_probe": Case("exit_probe", ("test_example_values",)),
    "kill_parent": Case("kill_parent", ("test_example_values",)),
    "writes_outside": Case("writes_outside", ("test_example_values",)),
    "read_secrets": Case("read_secrets", ("test_example_values",)),
    "network": Case("network", ("test_example_values",)),
    "patch_compare": Case("patch_compare", ("test_example_values", "test_no_overflow_on_large_inputs")),
    "fake_values": Case("fake_values", ("test_example_values", "test_random_vectors_sum_to_one",
                                        "test_no_overflow_on_large_inputs")),
    "big_reply": Case("big_reply", ("test_example_values", "test_no_overflow_on_large_inputs")),
    "print_flood": Case("print_flood", ("test_example_values", "test_random_vectors_sum_to_one")),
    "forged_reply": Case("forged_reply", ("test_example_values", "test_random_vectors_sum_to_one",
                                          "test_no_overflow_on_large_inputs")),
    "benign": Case(None),
    "forged_numbers": Case("forged_numbers", ("test_example_values", "test_random_vectors_sum_to_one",
                                              "test_no_overflow_on_large_inputs")),
    "closed_pipe": Case("closed_pipe", ("test_example_values",)),
    "shadowing_helpers": Case("shadowing_helpers", full_marks=True),
    "scratch_flood": Case("scratch_flood", ("test_example_values",)),
    "memory_fork": Case("memory_fork", ("test_example_values",), worker_memory=6 * 2**30, needs_cgroup=True),
    "limits_only_benign": Case(None, sandbox="limits-only"),
    "limits_only_memory_bomb": Case("memory_bomb", ("test_example_values",), sandbox="limits-only"),
}


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """sha256 and mtime of every file under ``folder`` (an absent folder is empty)."""
    out = {}
    for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
        if path.is_file() and "__pycache__" not in path.parts:
            out[str(path.relative_to(folder))] = (hashlib.sha256(path.read_bytes()).hexdigest(),
                                                  path.stat().st_mtime_ns)
    return out


def protected_state() -> dict[str, tuple[str, int]]:
    """sha256 and mtime of every file in the folders the attacks target."""
    return {f"{folder.name}/{k}": v for folder in PROTECTED for k, v in snapshot(folder).items()}


@dataclass
class Run:
    """One graded case and the evidence gathered around it."""

    name: str
    case: Case
    submission: Path
    sibling: Path
    sentinel: str
    marker: str
    result: SubmissionResult | None = None
    error: str = ""
    before: dict[str, dict[str, tuple[str, int]]] = field(default_factory=dict)
    after: dict[str, dict[str, tuple[str, int]]] = field(default_factory=dict)

    @property
    def r(self) -> SubmissionResult:
        assert self.result is not None, f"{self.name}: the grader did not finish: {self.error}"
        return self.result

    def tests(self, problem: str) -> list[CheckResult]:
        """The graded (non-advisory) checks of ``problem``."""
        return [t for t in self.r.tests if t.problem == problem and t.max_points > 0]

    def p4(self) -> dict[str, str]:
        """Each graded problem-4 check's name → everything its verdict says, in one string."""
        return {t.id.rsplit("::", 1)[-1]: verdict_text(t) for t in self.tests("problem4")}

    def findings(self) -> dict[str, str]:
        """The hostile code's ``REDTEAM label: outcome`` lines from the captured output (the
        last outcome of each label)."""
        return {label: outcome for label, outcome in self.finding_lines()}

    def finding_lines(self) -> list[tuple[str, str]]:
        """Every ``REDTEAM label: outcome`` line, in order."""
        lines = []
        for line in self.r.output.splitlines():
            if line.startswith("REDTEAM ") and ": " in line:
                label, outcome = line[len("REDTEAM "):].split(": ", 1)
                lines.append((label, outcome))
        return lines


def verdict_text(t: CheckResult) -> str:
    """A check's message and feedback joined, for assertions on wording."""
    fb = t.feedback
    parts = [t.message] + ([fb.where, fb.checked, fb.expected, fb.found, fb.details] if fb else [])
    return " | ".join(p for p in parts if p)


@dataclass
class RedTeam:
    """All runs, and the machine-wide evidence taken before and after them."""

    runs: dict[str, Run]
    protected_before: dict[str, tuple[str, int]]
    protected_after: dict[str, tuple[str, int]]
    listener_connections: int
    control_heard: bool
    """A connection from outside any sandbox reached the listener (so a worker's would have, too)."""
    judge_tmp: Path
    secret: str
    """A value in the judge's environment that no worker may see."""
    no_bwrap: str | None
    """Why bubblewrap cannot be used here (its cases were then not graded), or None."""

    def run(self, name: str) -> Run:
        """The graded case ``name``; without bubblewrap the test skips — or fails in CI (``CI=true``),
        where a missing sandbox must never pass for a tested one."""
        if name not in self.runs:
            if CASES[name].sandbox == "limits-only":
                pytest.skip("limits-only mode is refused as root (test_limits_only_mode checks that)")
            if CASES[name].needs_cgroup and self.no_bwrap is None and memory_cgroup.hierarchy() is None:
                pytest.skip("the judge cannot make memory cgroups here: each worker's processes are "
                            "bounded one by one (RLIMIT_AS), not together")
            if os.environ.get("CI") == "true":
                pytest.fail(f"CI must test the sandbox, but bubblewrap cannot run: {self.no_bwrap}")
            pytest.skip(f"needs a working bubblewrap: {self.no_bwrap}")
        return self.runs[name]


def build_submission(case: Case, dest: Path, tokens: dict[str, str]) -> None:
    """The reference modules, overlaid with the case's hostile modules and ``redteam.py``.

    In the hostile sources ``@@KEY@@`` is replaced by ``tokens[KEY]``: PROJECT (this project's
    absolute path), SIBLING (another submission's folder), SUBMISSION (this submission's original
    folder), SENTINEL (a unique file name), PORT (the judge-side listener) and MARKER (a process
    name for the fork bomb's children).
    """
    dest.mkdir(parents=True)
    for ref in sorted(REFERENCE.glob("problem*.py")):
        shutil.copyfile(ref, dest / ref.name)
    if case.folder is None:
        return
    shutil.copyfile(HOSTILE / "_common" / "redteam.py", dest / "redteam.py")
    for src in sorted((HOSTILE / case.folder).glob("*.py")):
        text = src.read_text()
        for key, value in tokens.items():
            text = text.replace(f"@@{key}@@", value)
        (dest / src.name).write_text(text)


def suites_for(case: Case) -> list[str]:
    p4 = [str(P4_SUITE)] if not case.p4_tests else [f"{P4_SUITE}::{t}" for t in case.p4_tests]
    return p4 + [str(P5_SUITE)]


def marker_processes(markers: list[str]) -> list[str]:
    """Processes on this machine whose name is one of the fork-bomb markers."""
    alive = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            name = comm.read_text().strip()
        except OSError:
            continue
        if name in markers:
            alive.append(f"{comm.parent.name}:{name}")
    return alive


@pytest.fixture(scope="module")
def redteam(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedTeam]:
    """Grade every case once (two at a time) and gather the evidence.

    Without a working bubblewrap only the limits-only cases are graded; the others skip.
    """
    no_bwrap = bwrap_check()[1] or None
    base = tmp_path_factory.mktemp("redteam")
    judge_tmp = base / "judge-tmp"
    judge_tmp.mkdir()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    runs: dict[str, Run] = {}
    for name, case in CASES.items():
        if no_bwrap is not None and case.sandbox == "bubblewrap":
            continue
        if case.sandbox == "limits-only" and os.getuid() == 0:
            continue
        if case.needs_cgroup and memory_cgroup.hierarchy() is None:
            continue
        folder = base / name
        sibling = folder / "sibling"
        build_submission(Case(None), sibling, {})
        marker = "rt" + uuid.uuid4().hex[:10]
        run = Run(name=name, case=case, submission=folder / "submission", sibling=sibling,
                  sentinel=f"redteam-{name}-{uuid.uuid4().hex[:8]}", marker=marker)
        build_submission(case, run.submission, {
            "PROJECT": str(PROJECT), "SIBLING": str(sibling), "SUBMISSION": str(run.submission),
            "SENTINEL": run.sentinel, "PORT": str(port), "MARKER": marker,
        })
        runs[name] = run

    def grade(run: Run) -> None:
        run.before = {"sibling": snapshot(run.sibling), "submission": snapshot(run.submission)}
        config = cfg.resolve({"seed": 1, "budget": "quick", "sandbox": run.case.sandbox, "device": "cpu"})
        if run.case.worker_memory is not None:
            config = dataclasses.replace(config, worker_memory=run.case.worker_memory)
        try:
            run.result = runner.grade(runner.Job(run.submission, run.submission.parent / "out"),
                                      config, suites=suites_for(run.case))
        finally:
            run.after = {"sibling": snapshot(run.sibling), "submission": snapshot(run.submission)}

    def grade_all(pool: ThreadPoolExecutor, batch: list[Run]) -> None:
        futures = {r.name: pool.submit(grade, r) for r in batch}
        deadline = time.monotonic() + CASE_TIMEOUT * max(1, len(batch)) / 2
        for name, future in futures.items():
            try:
                future.result(timeout=max(1.0, deadline - time.monotonic()))
            except Exception as exc:  # noqa: BLE001 - recorded, asserted per case
                runs[name].error = f"{type(exc).__name__}: {exc}"

    # Without root every worker shares the judge's uid, so one case's process limit is the
    # others' too: the fork bomb then runs after the rest, on its own.
    alone = [r for r in runs.values() if r.case.alone and os.getuid() != 0]
    together = sorted((r for r in runs.values() if r not in alone),
                      key=lambda r: r.name != "import_loop")  # slowest first: lanes end together
    protected_before = protected_state()
    secret = "judge-secret-" + uuid.uuid4().hex
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TMPDIR", str(judge_tmp))  # the workers' copies and scratch folders go here
        mp.setenv("REDTEAM_JUDGE_SECRET", secret)
        pool = ThreadPoolExecutor(max_workers=2)
        grade_all(pool, together)
        grade_all(pool, alone)
        pool.shutdown(wait=False, cancel_futures=True)
    readable, _, _ = select.select([listener], [], [], 0)
    connections = 0
    if readable:
        listener.setblocking(False)
        while True:
            try:
                conn, _ = listener.accept()
            except BlockingIOError:
                break
            conn.close()
            connections += 1
    listener.setblocking(True)
    listener.settimeout(5)
    with socket.create_connection(("127.0.0.1", port), timeout=5):  # the control: reachable from here
        try:
            listener.accept()[0].close()
            control_heard = True
        except OSError:
            control_heard = False
    listener.close()
    yield RedTeam(runs=runs, protected_before=protected_before, protected_after=protected_state(),
                  listener_connections=connections, control_heard=control_heard, judge_tmp=judge_tmp,
                  secret=secret,
                  no_bwrap=no_bwrap)


# -- properties every case must have -----------------------------------------------------------


@pytest.mark.parametrize("name", list(CASES))
def test_grader_finishes_and_grades_the_rest_normally(redteam: RedTeam, name: str) -> None:
    """The judge finishes, nothing is 'not graded', problem 5 earns full marks, problem 4 nothing."""
    run = redteam.run(name)
    r = run.r
    log = (run.submission.parent / "out" / "judge.log")
    assert r.status is Status.GRADED, f"{r.status}: {r.status_reason}\n{log.read_text()[-3000:]}"
    assert r.sandbox == ("limits only" if run.case.sandbox == "limits-only" else "bubblewrap")
    assert not r.not_graded, [(t.id, t.message) for t in r.not_graded]
    benign = redteam.run("benign")  # the whole of both suites, on the reference
    p5 = run.tests("problem5")
    assert len(p5) == len(benign.tests("problem5")) > 0, [t.id for t in p5]
    assert all(t.outcome is Outcome.PASSED and t.points == t.max_points for t in p5), \
        [(t.id, verdict_text(t)) for t in p5 if t.outcome is not Outcome.PASSED]
    p4 = run.tests("problem4")
    assert len(p4) == (len(run.case.p4_tests) or len(benign.tests("problem4"))) > 0, [t.id for t in p4]
    if run.case.folder is None or run.case.full_marks:  # nothing hostile in problem4.py itself
        assert all(t.outcome is Outcome.PASSED and t.points == t.max_points for t in p4), \
            [(t.id, verdict_text(t)) for t in p4 if t.outcome is not Outcome.PASSED]
        return
    passed = [t.id for t in p4 if t.outcome is not Outcome.FAILED or t.points]
    assert not passed, f"hostile problem 4 earned points: {passed}"


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.folder is not None])
def test_submission_and_sibling_untouched(redteam: RedTeam, name: str) -> None:
    """The original submission folder and a sibling submission are exactly as they were."""
    run = redteam.run(name)
    assert run.after["sibling"] == run.before["sibling"]
    assert run.after["submission"] == run.before["submission"]
    assert not (run.sibling / run.sentinel).exists()


def test_project_tmp_and_network_untouched(redteam: RedTeam) -> None:
    """No project file changed, no sentinel file appeared anywhere, no connection reached the judge."""
    assert redteam.protected_after == redteam.protected_before
    sentinels = {run.sentinel for run in redteam.runs.values()}
    for root, dirs, files in os.walk(PROJECT):
        dirs[:] = [d for d in dirs if d != ".git"]
        hits = [f for f in files if any(s in f for s in sentinels)]
        assert not hits, f"{root}: {hits}"
    for s in sentinels:
        assert not (Path("/tmp") / s).exists(), f"/tmp/{s} was created"
    assert redteam.listener_connections == 0, "a worker connected to the judge's machine"


def test_scratch_folders_removed_and_no_process_left(redteam: RedTeam) -> None:
    """Every worker's copy and scratch folder is gone, and no forked process outlived grading."""
    leftovers = sorted(p.name for p in redteam.judge_tmp.iterdir())
    assert not leftovers, leftovers
    markers = [run.marker for run in redteam.runs.values()]
    for _ in range(50):  # the kernel tears a PID namespace down asynchronously
        alive = marker_processes(markers)
        if not alive:
            break
        time.sleep(0.2)
    assert not alive, f"processes outlived grading: {alive}"


# -- each case's own verdict --------------------------------------------------------------------


def test_endless_loop_at_import(redteam: RedTeam) -> None:
    """The import timeout stops it — once: softmax needs the looping definition, so there is no
    top-level code to grade without — and every problem-4 check says so, with the fix to make."""
    run = redteam.run("import_loop")
    for test, text in run.p4().items():
        assert "problem4.py: importing took longer than 20 s" in text, (test, text)
        assert 'if __name__ == "__main__":' in text, (test, text)
    assert [r for r in run.r.remarks if r.problem == "problem4"] == []


def test_memory_bomb(redteam: RedTeam) -> None:
    """The address-space limit turns a 64 GiB allocation into a MemoryError in softmax."""
    for test, text in redteam.run("memory_bomb").p4().items():
        assert "MemoryError" in text and "problem4.py:" in text and "softmax" in text, (test, text)


def test_fork_bomb(redteam: RedTeam) -> None:
    """The process limit stops the fork bomb; softmax fails with the error fork raised."""
    run = redteam.run("fork_bomb")
    bombs = [outcome for label, outcome in run.finding_lines() if label == "fork bomb"]
    assert bombs, run.r.output[-2000:]
    first = int(bombs[0].split()[1])  # "forked N before fork failed", by the worker itself
    assert 1 <= first < 256, bombs  # stopped by the limit of 256 processes, children included
    assert all(b.startswith("forked 0 ") for b in bombs[1:]), bombs  # the slots stay taken
    for test, text in run.p4().items():
        assert "BlockingIOError" in text and "problem4.py:" in text, (test, text)


def test_exit_from_a_probe(redteam: RedTeam) -> None:
    """os._exit in softmax: the worker died, with its exit status; the next check gets a new one."""
    for test, text in redteam.run("exit_probe").p4().items():
        assert "problem4.py" in text and "worker process died while calling softmax" in text, (test, text)
        assert "exited with status 3" in text, (test, text)


def test_kill_parent_and_judge(redteam: RedTeam) -> None:
    """SIGKILL of the parent and of every visible process reaches neither the judge nor bwrap."""
    run = redteam.run("kill_parent")
    found = run.findings()
    assert found.get("judge visible") == "no", found
    visible = [p.strip() for p in found["visible pids"].strip("[]").split(",")]
    assert len(visible) <= 3, visible  # bwrap's init, the worker (and perhaps a thread's leader)
    assert "kill parent" in found, found
    if os.getuid() == 0:  # the worker runs as a uid of its own, which may signal nothing here
        assert found["kill parent"].startswith("PermissionError"), found
    for test, text in run.p4().items():  # the worker survived its own attack and answered wrongly
        assert "softmax([0.4, 2.0, 0.001, 0.32])" in text and "[0, 0, 0, 0]" in text.replace(".", ""), \
            (test, text)


def test_writes_outside_the_scratch(redteam: RedTeam) -> None:
    """Writes to siblings, the project and the venv fail; /tmp is the worker's own; big files stop."""
    run = redteam.run("writes_outside")
    found = run.findings()
    outside = ["write sibling problem4.py", "write sibling new file", "write original submission",
               "write own copy", "write project reference", "write project tests",
               "write grader package", "write site-packages"]
    for label in outside:
        assert label in found and not found[label].startswith("ok"), (label, found.get(label))
    # "write project new file" may succeed without root: bwrap's own (throwaway) copy of the
    # project's parent folders is then the user's; `test_project_tmp_and_network_untouched`
    # checks that no such file reached the real project.
    assert "write project new file" in found, found
    assert found["write /tmp"].startswith("ok"), found["write /tmp"]  # its private /tmp
    assert "File too large" in found["write past the file-size limit"], found
    for test, text in run.p4().items():
        assert "softmax([0.4, 2.0, 0.001, 0.32])" in text, (test, text)


def test_reading_reference_and_tests(redteam: RedTeam) -> None:
    """Neither the reference, the graded tests nor the judge's secrets are visible to the worker."""
    run = redteam.run("read_secrets")
    found = run.findings()
    for rel in ("autograder/judge/reference/problem4.py", "autograder/judge/suites/test_problem4.py", "autograder/judge/reference/problem5.py"):
        assert found[f"read {rel}"].startswith(("FileNotFoundError", "PermissionError")), found
    assert found["walk /"] == "ok []", found["walk /"]
    for name in ("pip.conf", "npmrc", "gitconfig", "environment", "hostname", "machine-id", "shadow"):
        assert not found[f"read /etc/{name}"].startswith("ok"), (name, found[f"read /etc/{name}"])
    assert "REDTEAM_JUDGE_SECRET" not in found["environment"], found["environment"]
    assert "OMP_NUM_THREADS" in found["environment"], found["environment"]  # the judge-built one
    assert set(ast.literal_eval(found["etc"])) <= set(ETC_ENTRIES), found["etc"]
    output = "\n".join(r.r.output for r in redteam.runs.values())
    assert redteam.secret not in output
    secret_lines = [line.strip() for path in (REFERENCE / "problem4.py", P4_SUITE)
                    for line in path.read_text().splitlines() if len(line.strip()) > 25]
    leaked = [line for line in secret_lines if line in run.r.output]
    assert not leaked, leaked
    for test, text in run.p4().items():
        assert "softmax([0.4, 2.0, 0.001, 0.32])" in text and "0.125" in text, (test, text)


def test_network(redteam: RedTeam) -> None:
    """No connection leaves the sandbox: the judge-side listener on the loopback address, which the
    worker would reach without a network namespace of its own, hears nothing; no name resolves."""
    found = redteam.run("network").findings()
    for label in ("connect 127.0.0.1 judge-side listener", "connect 127.0.0.2 judge-side listener",
                  "resolve autograder-redteam.invalid"):
        assert label in found and not found[label].startswith("ok"), (label, found.get(label))
    assert redteam.listener_connections == 0


def test_the_listener_would_hear_a_worker_without_a_network_namespace(redteam: RedTeam) -> None:
    """The network check above can fail: a connection from this (unsandboxed) process, made after
    the grading, reached the same listener."""
    assert redteam.control_heard


def test_patched_comparisons(redteam: RedTeam) -> None:
    """Patching allclose & co. in the worker changes nothing: the judge compares plain values."""
    run = redteam.run("patch_compare")
    found = run.findings()
    assert "numpy.allclose" in found["patch numpy"], found
    patched = found["patch torch, math, builtins, grader"]
    assert "torch.allclose" in patched and "builtins.all" in patched, patched
    p4 = run.p4()
    assert "[0.25, 0.25, 0.25, 0.25]" in p4["test_example_values"], p4
    assert "[0.13250053" in p4["test_example_values"], p4  # the expected values, from the judge
    assert "[0.25, 0.25]" in p4["test_no_overflow_on_large_inputs"], p4


def test_values_that_claim_equality(redteam: RedTeam) -> None:
    """An always-equal object, a tensor subclass and an array subclass cannot be sent or checked."""
    p4 = redteam.run("fake_values").p4()
    cases = {"test_example_values": "problem4.AlwaysEqual",
             "test_random_vectors_sum_to_one": "problem4._sneaky_tensor.<locals>.SneakyTensor",
             "test_no_overflow_on_large_inputs": "problem4.SneakyArray"}
    for test, kind in cases.items():
        assert "cannot be checked" in p4[test] and "cannot be sent" in p4[test], (test, p4[test])
        assert kind in p4[test], (test, p4[test])


def test_huge_replies(redteam: RedTeam) -> None:
    """A 2 GiB tensor is refused by the worker, a 100 MB array by the judge (before reading it)."""
    p4 = redteam.run("big_reply").p4()
    assert "cannot be checked" in p4["test_example_values"], p4
    assert "the returned value: an array of 2,147,483,648 bytes" in p4["test_example_values"], p4
    assert "larger than" in p4["test_example_values"], p4
    over = p4["test_no_overflow_on_large_inputs"]
    assert "unusable reply" in over and "exceeds the limit" in over, over


def test_printing_100_mb(redteam: RedTeam) -> None:
    """The output is drained and only its tail kept, with a note of how much was dropped."""
    run = redteam.run("print_flood")
    r = run.r
    assert r.output_bytes >= 100_000_000, r.output_bytes
    assert len(r.output.encode()) <= 2**20 + 200, len(r.output)
    assert "earlier bytes of output not kept" in r.output
    assert "REDTEAM flood: done" in r.output
    p4 = run.p4()
    assert "[0, 0, 0, 0]" in p4["test_example_values"].replace(".", ""), p4
    assert "sum of softmax(x)" in p4["test_random_vectors_sum_to_one"], p4


def test_forged_replies(redteam: RedTeam) -> None:
    """Frames forged into the reply pipe are data, never code: refused, or judged as a wrong value;
    the worker's real reply left behind in the pipe does not shift the replies of problem 5."""
    run = redteam.run("forged_reply")
    p4 = run.p4()
    assert "unusable reply" in p4["test_example_values"], p4
    assert "not JSON" in p4["test_example_values"], p4
    deep = p4["test_random_vectors_sum_to_one"]
    assert "unusable reply" in deep and "nested more than 64 levels deep" in deep, deep
    forged = p4["test_no_overflow_on_large_inputs"]
    assert "an array of numbers" in forged and "__reduce__" in forged, forged
    assert not (Path("/tmp") / run.sentinel).exists()


def test_forged_numbers_and_fields(redteam: RedTeam) -> None:
    """Forged replies — a 401-digit integer, a missing field, an id of the wrong type — are the
    student's failure with a clear message, never "not graded"."""
    p4 = redteam.run("forged_numbers").p4()
    assert "unusable reply" in p4["test_example_values"] and "out of range" in p4["test_example_values"], p4
    assert "unusable reply" in p4["test_random_vectors_sum_to_one"], p4
    assert "'ok'" in p4["test_random_vectors_sum_to_one"], p4
    assert "unusable reply" in p4["test_no_overflow_on_large_inputs"], p4


def test_closed_reply_pipe(redteam: RedTeam) -> None:
    """A worker that closes its reply pipe and sleeps is the student's failure, found at once."""
    run = redteam.run("closed_pipe")
    text = run.p4()["test_example_values"]
    assert "worker process died while calling softmax (it closed its reply pipe)" in text, text
    assert run.r.duration < 60, run.r.duration  # not the 60 s the sleep would take


def test_helpers_named_like_the_standard_library(redteam: RedTeam) -> None:
    """random.py, csv.py, email.py, zipfile.py, socket.py and tempfile.py beside the student's
    modules break nothing: the worker imports its own first, and the folder comes last on sys.path."""
    run = redteam.run("shadowing_helpers")
    assert run.r.score == run.r.max_score > 0, [(t.id, verdict_text(t)) for t in run.r.tests]
    assert "imported in place of the standard library" not in run.r.output


def test_scratch_and_tmp_are_bounded(redteam: RedTeam) -> None:
    """The scratch folder, /tmp and /dev/shm are size-bounded memory (tmpfs): filling them stops
    with "no space left" long before 600 MiB, and nothing lands on the host's disk."""
    found = redteam.run("scratch_flood").findings()
    for label in ("fill /scratch", "fill /tmp", "fill /dev/shm"):
        assert "No space left on device" in found[label], (label, found[label])


def test_a_forking_memory_hog_is_killed_in_its_own_group(redteam: RedTeam) -> None:
    """Processes each under their own limit, together over the worker's share: the kernel kills in
    the worker's own memory cgroup, and the feedback says it was for memory."""
    run = redteam.run("memory_fork")
    text = run.p4()["test_example_values"]
    assert "killed for using more memory than its share" in text, text
    assert "memory cgroup" in run.r.memory_bound, run.r.memory_bound


def test_limits_only_mode(redteam: RedTeam, tmp_path: Path) -> None:
    """limits-only mode is refused as root; as an ordinary user, a benign submission is graded and
    every result says how it was (not) confined."""
    if os.getuid() == 0:
        proc = subprocess.run([sys.executable, "-m", "autograder.orchestrator.cli", str(REFERENCE),
                               "--sandbox", "limits-only", "--problems", "4", "--out", str(tmp_path / "o")],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "refused as root" in proc.stderr, proc.stderr
        assert not (tmp_path / "o").exists()
        return
    for name in ("limits_only_benign", "limits_only_memory_bomb"):
        r = redteam.run(name).r
        assert r.sandbox == "limits only"
        assert "no filesystem, network or uid isolation" in r.sandbox_note, r.sandbox_note
    benign = redteam.run("limits_only_benign").r
    assert benign.score == benign.max_score > 0, [(t.id, verdict_text(t)) for t in benign.tests]
    bomb = redteam.run("limits_only_memory_bomb").p4()
    assert "MemoryError" in bomb["test_example_values"], bomb
