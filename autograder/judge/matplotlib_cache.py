"""matplotlib's font list, built once per machine and mounted read-only into every worker.

Importing ``matplotlib.pyplot`` the first time in a fresh configuration folder scans the system's
fonts and writes ``fontlist-v<N>.json`` there — about a second, and a worker's scratch folder is
always fresh. So the judge builds the list once, in a child process that sees the fonts a worker
sees (the system's and matplotlib's own, no home folder), keeps it in the grader's cache folder
(``AUTOGRADE_CACHE``, keyed by matplotlib's version) and hands it to each worker
(`sandbox.bwrap_args`, `sandbox.prepare_scratch`). Without it — matplotlib not installed, the build
failing — a worker builds its own, as matplotlib always does.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from autograder.judge import sandbox

BUILD_TIMEOUT = 120.0
BUILD = ("import sys\n"
         "sys.path[:] = {paths!r}\n"
         "import matplotlib\n"
         "matplotlib.use('Agg')\n"
         "import matplotlib.font_manager\n")


@functools.lru_cache(maxsize=4)
def fontlist(cache: Path) -> Path | None:
    """The font list in ``cache`` (built now when missing), or None when it cannot be had."""
    try:
        version = importlib.metadata.version("matplotlib")
    except importlib.metadata.PackageNotFoundError:
        return None
    folder = cache / f"matplotlib-{version}"
    found = sorted(folder.glob("fontlist-v*.json")) if folder.is_dir() else []
    if found:
        return found[-1]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="autograde-mpl-") as home:
            build = Path(home) / "config"
            env = {"PATH": "/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8", "MPLBACKEND": "Agg",
                   "MPLCONFIGDIR": str(build), "XDG_CACHE_HOME": home}
            paths = sandbox.stdlib_paths() + sandbox.site_paths()
            subprocess.run([sys.executable, "-I", "-S", "-c", BUILD.format(paths=paths)], env=env, cwd=home,
                           capture_output=True, timeout=BUILD_TIMEOUT, check=True)
            built = sorted(build.glob("fontlist-v*.json"))
            if not built:
                return None
            target = folder / built[-1].name
            fresh = folder / f".{target.name}.{os.getpid()}"
            fresh.write_bytes(built[-1].read_bytes())
            fresh.chmod(0o644)
            os.replace(fresh, target)  # two judges building at once: either file, whole
    except (OSError, subprocess.SubprocessError):
        return None
    return target
