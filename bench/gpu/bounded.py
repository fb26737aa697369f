"""Commands run under the device check's deadline, and what the machine did while they ran.

The device tool gives one command a fixed wall-clock limit and returns only what was written by
then, so every step here runs with a timeout carved out of one `Deadline`. A command runs in a
process group of its own; past its timeout it gets SIGTERM (on which `autograde` ends every judge
and worker it started), then SIGKILL for the whole group after a grace, so that a stalled grading
can never eat the time of the steps after it or leave leftovers competing with them.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

TERM_GRACE = 15.0
"""Seconds between SIGTERM and SIGKILL: `autograde` needs a few to end its judges and workers."""
OUTPUT_TAIL = 6000
"""Characters of a command's output kept in its record (the whole output goes to the log)."""


class Deadline:
    """The check's end, fixed at its start: every step's timeout is cut from what is left."""

    def __init__(self, seconds: float) -> None:
        self.started = time.monotonic()
        self.end = self.started + seconds

    def left(self) -> float:
        return max(0.0, self.end - time.monotonic())

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def timeout(self, cap: float, reserve: float) -> float:
        """At most ``cap`` seconds, leaving ``reserve`` for what must still happen after."""
        return max(0.0, min(cap, self.left() - reserve))


@dataclass
class Ran:
    """One command's run."""

    command: list[str]
    status: int | None
    """Exit status; None when it could not start (``error`` says why)."""
    seconds: float
    timed_out: bool = False
    output: str = ""
    """The tail of its stdout and stderr together."""
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 0 and not self.timed_out

    def outcome(self) -> str:
        """``exit 0``, ``exit 4``, ``stopped at its timeout (N s)`` or ``did not start: …``."""
        if self.status is None:
            return f"did not start: {self.error}"
        if self.timed_out:
            return f"stopped at its timeout ({self.seconds:.0f} s)"
        return f"exit {self.status}"


def run(command: list[str], *, env: dict[str, str], cwd: Path, timeout: float, log: TextIO,
        title: str = "", keep: int = OUTPUT_TAIL) -> Ran:
    """Run ``command`` for at most ``timeout`` seconds; its whole output is appended to ``log``, the
    last ``keep`` characters of it kept in the record."""
    log.write(f"\n===== {title or command[0]}: {' '.join(command)}\n")
    log.flush()
    if timeout <= 0:
        return Ran(command, None, 0.0, error="no time left")
    start = time.perf_counter()
    try:
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as exc:
        log.write(f"could not start: {exc}\n")
        return Ran(command, None, 0.0, error=str(exc))
    chunks: list[bytes] = []

    def drain() -> None:
        assert proc.stdout is not None
        for chunk in iter(lambda: proc.stdout.read1(65536), b""):  # type: ignore[union-attr]
            chunks.append(chunk)
            log.write(chunk.decode(errors="replace"))
            log.flush()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=TERM_GRACE)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    _signal_group(proc.pid, signal.SIGKILL)  # whatever of the group outlived its leader
    seconds = time.perf_counter() - start
    reader.join(timeout=5)
    text = b"".join(chunks).decode(errors="replace")
    log.write(f"----- {title or command[0]}: status {proc.returncode}, {seconds:.1f} s"
              f"{', stopped at its timeout' if timed_out else ''}\n")
    log.flush()
    return Ran(command, proc.returncode, seconds, timed_out, text[-keep:])


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


@dataclass
class Load:
    """What the machine did during a step, sampled about once a second."""

    gpu_memory_peak_mib: float | None = None
    gpu_utilisation_mean: float | None = None
    host_memory_peak_gib: float | None = None
    samples: int = 0


@dataclass
class Sampler:
    """Samples the GPU (``nvidia-smi``, when there is one) and the host's memory in use
    (MemTotal − MemAvailable) in a thread while a step runs: the figures that decide how many
    submissions and trainings may share one GPU."""

    interval: float = 1.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _gpu_mem: list[float] = field(default_factory=list)
    _gpu_util: list[float] = field(default_factory=list)
    _host: list[float] = field(default_factory=list)

    def __enter__(self) -> Sampler:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        smi = shutil.which("nvidia-smi")
        while not self._stop.is_set():
            if smi:
                try:
                    line = subprocess.run([smi, "--query-gpu=memory.used,utilization.gpu",
                                           "--format=csv,noheader,nounits", "--id=0"],
                                          capture_output=True, text=True, timeout=5).stdout.strip()
                    mem, util = (float(v) for v in line.split(",")[:2])
                    self._gpu_mem.append(mem)
                    self._gpu_util.append(util)
                except (OSError, ValueError, subprocess.TimeoutExpired):
                    smi = None  # no usable nvidia-smi: stop asking
            used = host_memory_used()
            if used is not None:
                self._host.append(used)
            self._stop.wait(self.interval)

    def load(self) -> Load:
        return Load(
            gpu_memory_peak_mib=max(self._gpu_mem) if self._gpu_mem else None,
            gpu_utilisation_mean=sum(self._gpu_util) / len(self._gpu_util) if self._gpu_util else None,
            host_memory_peak_gib=max(self._host) / 2**30 if self._host else None,
            samples=max(len(self._host), len(self._gpu_mem)),
        )


def host_memory_used() -> float | None:
    """Bytes of memory in use on the machine (MemTotal − MemAvailable), or None where unknown."""
    try:
        fields = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
        return (int(fields["MemTotal"].split()[0]) - int(fields["MemAvailable"].split()[0])) * 1024.0
    except (OSError, KeyError, ValueError):
        return None
