"""One transport for a child process that answers over a pair of pipes: the orchestrator's link to
each judge server and the judge's link to each worker are both this.

A parent spawns the child with `spawn`: two fresh pipes, their child ends handed over as they are
(``pass_fds``) and named in the child's environment (`REQUEST_FD_ENV`, `REPLY_FD_ENV`), the child
in a session and process group of its own. No ``preexec_fn`` runs: the judge and the orchestrator
start children from several threads at once, and Python's documentation says a ``preexec_fn`` is
not safe in a process with threads (two judges started together were seen to fail with
"Bad file descriptor"). What the child must do to itself before it runs anything else — its
resource limits, leaving with its parent — it does itself, first thing (`child_ends`); joining a
memory cgroup, which must also hold everything the child forks, is done by a small exec wrapper
(`cgroup_wrapper`) before the child's own program starts.

The parent's `Channel` writes requests without blocking and reads replies with ``select``, both
under one deadline (TimeoutError past it), ends the child's whole process group, and says how a
child ended in words (`describe_exit`).
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from pathlib import Path
from typing import IO, Any, BinaryIO, Callable

from autograder.common import wire

REQUEST_FD_ENV = "AUTOGRADE_REQUEST_FD"
"""The child reads its requests from the fd this variable names."""
REPLY_FD_ENV = "AUTOGRADE_REPLY_FD"
"""The child writes its replies to the fd this variable names."""


class Channel:
    """The parent's end of a child: its process, the request pipe (written without blocking) and the
    reply pipe (read with ``select``), both under `deadline`."""

    def __init__(self, proc: subprocess.Popen[bytes], request_fd: int, reply_fd: int) -> None:
        self.proc = proc
        self.request_fd, self.fd = request_fd, reply_fd
        os.set_blocking(request_fd, False)
        self.deadline = float("inf")
        self._closed = False

    @property
    def pid(self) -> int:
        return self.proc.pid

    # -- deadline I/O -----------------------------------------------------------------------
    def _wait(self, readable: bool) -> None:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        ready = select.select([self.fd] if readable else [], [] if readable else [self.request_fd], [], remaining)
        if not any(ready):
            raise TimeoutError

    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes of the reply pipe (b"" once the child closed it); TimeoutError past the deadline."""
        self._wait(readable=True)
        return os.read(self.fd, n)

    def write_all(self, data: bytes) -> None:
        """All of ``data`` into the request pipe; TimeoutError past the deadline, BrokenPipeError
        when the child closed its end."""
        view = memoryview(data)
        while view:
            self._wait(readable=False)
            try:
                sent = os.write(self.request_fd, view[: 1 << 16])
            except BlockingIOError:
                continue
            view = view[sent:]

    def send(self, value: Any, timeout: float | None = None) -> None:
        """One wire frame of ``value`` (the deadline: ``timeout`` seconds from now, or as set)."""
        if timeout is not None:
            self.deadline = time.monotonic() + timeout
        self.write_all(wire.encode(value))

    def receive(self, limits: wire.Limits, timeout: float | None = None) -> Any:
        """The next wire frame (WireError, ClosedError or TimeoutError when there is none)."""
        if timeout is not None:
            self.deadline = time.monotonic() + timeout
        return wire.read_frame(self, limits)

    def close_requests(self) -> None:
        """Tell the child no request follows (it ends once idle)."""
        if self.request_fd >= 0:
            try:
                os.close(self.request_fd)
            except OSError:
                pass
            self.request_fd = -1

    def close(self) -> None:
        """Close both pipes (the process is `end`'s or `kill`'s)."""
        if self._closed:
            return
        self._closed = True
        self.close_requests()
        try:
            os.close(self.fd)
        except OSError:
            pass

    # -- the process ------------------------------------------------------------------------
    def exit_code(self, wait: float) -> int | None:
        """The child's exit status within ``wait`` seconds, or None while it still runs."""
        try:
            return self.proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            return None

    def end(self, grace: float) -> None:
        """SIGTERM to the child's process group, SIGKILL after ``grace`` seconds; reaped."""
        end_group(self.proc, grace)

    def kill(self) -> None:
        """SIGKILL the child's whole process group at once and reap it."""
        end_group(self.proc, grace=None)


def end_group(proc: subprocess.Popen[bytes], grace: float | None) -> None:
    """SIGTERM to ``proc``'s process group and SIGKILL after ``grace`` seconds (None: SIGKILL at
    once); reaped, never waiting more than 10 s after the SIGKILL."""
    steps = [(signal.SIGKILL, 10.0)] if grace is None else [(signal.SIGTERM, grace), (signal.SIGKILL, 10.0)]
    for sig, wait in steps:
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            break
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
    try:
        proc.wait(timeout=0.5 if grace is None else 2.0)
    except subprocess.TimeoutExpired:
        pass


def spawn(argv: list[str], *, env: dict[str, str], cwd: Path | str | None = None,
          stdout: int | IO[bytes] | None = None, stderr: int | IO[bytes] | None = None,
          popen: Callable[..., subprocess.Popen[bytes]] | None = None) -> Channel:
    """Start ``argv`` in a session of its own with a request and a reply pipe, the child's ends
    passed under their own numbers and named in its environment; no ``preexec_fn``.

    ``popen``: what starts the process (`subprocess.Popen`; a registry of running children passes
    its own); OSError and SubprocessError from it are raised with every pipe closed.
    """
    popen = subprocess.Popen if popen is None else popen
    req_r, req_w = os.pipe()
    rep_r, rep_w = os.pipe()
    child_env = {**env, REQUEST_FD_ENV: str(req_r), REPLY_FD_ENV: str(rep_w)}
    try:
        proc = popen(argv, env=child_env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                     pass_fds=(req_r, rep_w), start_new_session=True)
    except BaseException:
        for fd in (req_w, rep_r):
            os.close(fd)
        raise
    finally:
        os.close(req_r)
        os.close(rep_w)
    return Channel(proc, req_w, rep_r)


def cgroup_wrapper(procs_file: Path) -> list[str]:
    """An exec wrapper that moves itself into the cgroup whose ``cgroup.procs`` is ``procs_file``
    and then becomes the program that follows it on the command line: the program, and everything
    it forks, is in the group from its first instruction. (Writing 0 moves the writer.)"""
    return ["/bin/sh", "-c", 'echo 0 > "$0" && exec "$@"', str(procs_file)]


def child_ends(environ: dict[str, str] | os._Environ[str] | None = None) -> tuple[BinaryIO, BinaryIO]:
    """In the child: its request pipe (unbuffered, for reading) and reply pipe (for writing), from
    the fds its environment names; the two variables are removed (code the child runs later has no
    use for them)."""
    env = os.environ if environ is None else environ
    try:
        request_fd, reply_fd = int(env.pop(REQUEST_FD_ENV)), int(env.pop(REPLY_FD_ENV))
    except (KeyError, ValueError):
        raise SystemExit("started without its pipes: run by the grader only") from None
    return os.fdopen(request_fd, "rb", buffering=0), os.fdopen(reply_fd, "wb")


def die_with_parent(parent: int) -> None:
    """PR_SET_PDEATHSIG: the kernel SIGKILLs this process when the thread that started it ends;
    exit at once if ``parent`` is already gone (it ended before the signal was asked for)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(1)


def describe_exit(code: int | None, oom_killed: bool = False) -> str:
    """How a child ended, in words: a signal with what it most often means, or its exit status."""
    if oom_killed:
        return "killed for using more memory than its share of the machine"
    if code is None:
        return "it stopped answering"
    if code < 0 or code > 128:  # killed by a signal (bubblewrap and sh report a child's as 128 + N)
        sig = -code if code < 0 else code - 128
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        hints = {
            "SIGKILL": "killed — most often for using too much memory",
            "SIGXCPU": "killed for using more CPU time than allowed",
            "SIGXFSZ": "killed for writing a file larger than allowed",
            "SIGSEGV": "crashed with a segmentation fault",
        }
        return f"{name}: {hints.get(name, 'killed by a signal')}"
    return f"it exited with status {code}"


def status_text(code: int | None) -> str:
    """An exit status as a number, with its signal's name when it was killed by one."""
    if code is not None and code < 0:
        return f"{code} ({signal.Signals(-code).name})" if -code in signal.Signals._value2member_map_ else str(code)
    return str(code)
