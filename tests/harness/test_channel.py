"""The one transport for child processes (`autograder.common.channel`): children started from
several threads at once all start, none with a ``preexec_fn``, whatever fd numbers their pipes
get; deadlines on reads; exits described in words."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Callable

import pytest

from autograder.common import channel, wire
from autograder.judge import sandbox
from autograder.judge.worker_client import Worker, WorkerSettings
from autograder.orchestrator import judge_server, runner
from autograder.common import config as cfg

ECHO = (
    "import sys\n"
    f"sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})\n"
    "from autograder.common import channel, wire\n"
    "requests, replies = channel.child_ends()\n"
    "import os\n"
    "left = [k for k in os.environ if k.startswith('AUTOGRADE_')]\n"
    "frame = wire.read_frame(requests, wire.Limits())\n"
    "wire.write_frame(replies, {'echo': frame, 'left': left})\n"
)

needs_bwrap = pytest.mark.skipif(sandbox.bwrap_check()[0] is None and os.environ.get("CI") != "true",
                                 reason="needs a working bubblewrap")


def all_at_once(threads: int, each: int, start: Callable[[int], None]) -> list[BaseException]:
    """Run ``start(i)`` ``each`` times on each of ``threads`` threads released together; what they raised."""
    errors: list[BaseException] = []
    gate = threading.Barrier(threads)

    def run(t: int) -> None:
        gate.wait()
        for k in range(each):
            try:
                start(t * each + k)
            except BaseException as exc:  # noqa: BLE001 — collected for the assertion
                errors.append(exc)

    pool = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(300)
    return errors


def test_children_started_from_many_threads_while_fds_churn_all_answer() -> None:
    """32 children from 8 threads at once, while another thread opens and closes fds all the time
    (the pipes' numbers are never 3 and 4): every one gets its own pipes and answers, and the fd
    numbers are gone from its environment before its own code runs on."""
    stop = threading.Event()

    def churn() -> None:
        while not stop.is_set():
            r, w = os.pipe()
            os.close(r)
            os.close(w)

    churner = threading.Thread(target=churn, daemon=True)
    churner.start()

    def start(i: int) -> None:
        link = channel.spawn([sys.executable, "-c", ECHO], env={"PATH": os.environ.get("PATH", "")},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            link.send({"n": i}, timeout=60)
            reply = link.receive(wire.Limits(), timeout=60)
            assert reply == {"echo": {"n": i}, "left": []}
            assert link.exit_code(wait=10) == 0
        finally:
            link.close()
            link.kill()

    try:
        errors = all_at_once(8, 4, start)
    finally:
        stop.set()
        churner.join()
    assert errors == []


def test_a_read_past_its_deadline_times_out_and_the_group_is_ended() -> None:
    link = channel.spawn([sys.executable, "-c", "import time; time.sleep(60)"], env={})
    try:
        with pytest.raises(TimeoutError):
            link.receive(wire.Limits(), timeout=0.3)
    finally:
        link.kill()
        link.close()
    assert link.proc.returncode is not None and link.proc.returncode < 0
    assert "SIGKILL" in channel.describe_exit(link.proc.returncode)


def test_a_child_started_without_its_pipes_says_so() -> None:
    proc = subprocess.run([sys.executable, "-c", ECHO], env={}, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "without its pipes" in proc.stderr


class _Recording(subprocess.Popen):  # type: ignore[type-arg]
    calls: list[dict[str, Any]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _Recording.calls.append(dict(kwargs))
        super().__init__(*args, **kwargs)


@needs_bwrap
def test_no_judge_and_no_worker_is_started_with_a_preexec_fn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Python's documentation: preexec_fn is not safe in a process with threads — and the judge and
    the orchestrator start their children from threads."""
    _Recording.calls = []
    monkeypatch.setattr(subprocess, "Popen", _Recording)
    (tmp_path / "problem4.py").write_text("def softmax(x):\n    return x\n")
    w = Worker(WorkerSettings(submission=tmp_path, mode=sandbox.SandboxMode.BWRAP, preload=()))
    try:
        w.start()
    finally:
        w.close()
    judge = runner.new_judge(cfg.resolve({"seed": 7, "budget": "quick", "device": "cpu"}), runner.Judges())
    try:
        judge.start()
    finally:
        judge.stop()
    started = [c for c in _Recording.calls if "pass_fds" in c]
    assert len(started) >= 2
    assert all(c.get("preexec_fn") is None for c in started), started


@needs_bwrap
def test_many_judges_and_workers_started_from_several_threads_at_once_all_start(tmp_path: Path) -> None:
    """Four judges and eight sandboxed workers at once, each from a thread of its own: every start
    succeeds (at `--jobs 2` a lane's first judge was seen to fail with "Bad file descriptor")."""
    (tmp_path / "problem4.py").write_text("def softmax(x):\n    return x\n")
    judges = runner.Judges()
    conf = cfg.resolve({"seed": 7, "budget": "quick", "device": "cpu"})
    servers: list[judge_server.JudgeServer] = []
    lock = threading.Lock()

    def start_judge(_: int) -> None:
        server = runner.new_judge(conf, judges)
        with lock:
            servers.append(server)
        server.start()
        assert server.pid is not None

    def start_worker(i: int) -> None:
        w = Worker(WorkerSettings(submission=tmp_path, mode=sandbox.SandboxMode.BWRAP, preload=(), slot=i % 8,
                                  generation=i // 8, startup_timeout=120.0))
        try:
            w.start()
            assert w.ready_info["ready"] is True
        finally:
            w.close()

    both: list[BaseException] = []
    judge_thread = threading.Thread(target=lambda: both.extend(all_at_once(4, 1, start_judge)))
    judge_thread.start()
    try:
        both.extend(all_at_once(4, 2, start_worker))
        judge_thread.join(600)
    finally:
        judge_server.stop_judges(servers)
    assert both == []
