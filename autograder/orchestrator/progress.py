"""Progress of a class being graded: a live status line on a terminal, plain lines elsewhere.

The judges report which problem they are on through a small file each (``--progress FILE``,
written by the plugin); this display only reads those files, so it never slows grading down.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import TextIO

from autograder.common.results import SubmissionResult


class Progress:
    """Counts submissions done, shows what each running judge is doing, estimates the time left."""

    def __init__(self, total: int, jobs: int, stream: TextIO | None = None, interval: float = 0.5) -> None:
        self.total = total
        self.jobs = max(1, jobs)
        self.stream = stream or sys.stderr
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self.done = 0
        self.started = time.monotonic()
        self._running: dict[str, Path] = {}
        self._durations: list[float] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if self.live:
            self._thread = threading.Thread(target=self._loop, args=(interval,), daemon=True)
            self._thread.start()

    def start(self, student: str, progress_file: Path) -> None:
        with self._lock:
            self._running[student] = progress_file

    def finish(self, result: SubmissionResult, *, cached: bool = False, note: str = "",
               regraded_because: str = "") -> None:
        """One line for a finished submission: its score, how long it took (or that it was cached),
        ``note`` (what makes its grade incomplete) and why an earlier result was not reused."""
        with self._lock:
            self._running.pop(result.student, None)
            self.done += 1
            if not cached:
                self._durations.append(result.duration)
            how = "cached" if cached else f"{result.duration:.0f} s"
            why = f"  (regraded: {regraded_because})" if regraded_because else ""
            line = (f"[{self.done}/{self.total}] {result.student}: {result.score:g} / {result.out_of:g} "
                    f"({how}){note}{why}")
            self._write_line(line)

    def eta_seconds(self) -> float | None:
        """Mean time per graded submission × remaining ÷ parallel judges (None before the first)."""
        if not self._durations:
            return None
        remaining = self.total - self.done
        return sum(self._durations) / len(self._durations) * remaining / self.jobs

    def status_line(self) -> str:
        with self._lock:
            running = []
            for student, path in sorted(self._running.items()):
                try:
                    current = path.read_text().strip()[:40]
                except OSError:
                    current = ""
                running.append(f"{student} ({current or 'starting'})")
        eta = self.eta_seconds()
        left = f" · about {eta / 60:.0f} min left" if eta is not None and eta >= 60 else (
            f" · about {eta:.0f} s left" if eta is not None else "")
        return f"{self.done}/{self.total} done · running: {', '.join(running) or '-'}{left}"

    def _write_line(self, line: str) -> None:
        if self.live:
            self.stream.write("\r\033[K" + line + "\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def _loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            line = self.status_line()
            with self._lock:
                self.stream.write("\r\033[K" + line[:200])
                self.stream.flush()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self.stream.write("\r\033[K")
            self.stream.flush()
