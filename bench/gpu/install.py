"""The project made to run on a machine with no package registry: bubblewrap from the carried
Debian package, the carried wheels, the project installed outside /tmp.

Each step is recorded (`SetupStep`) whether it works or not, so that a machine where something
cannot be installed still yields a results file that says what and why. Nothing here imports the
project: it runs before the project is known to be importable.

* bubblewrap is unpacked from its ``.deb`` (``dpkg -x``, or Python's own ar and tar readers where
  dpkg is missing) into a folder of the check's own, put first on PATH — never into /usr/bin, so
  the grading shows that bwrap is launched by the absolute path its availability check found;
* the wheels go to ``<home>/site-packages`` with ``pip install --target`` and PYTHONPATH (the
  folder's name keeps the sandbox's rule of what of the judge's Python a worker sees);
* the project is copied to ``<home>/project`` (the sandbox mounts a tmpfs on /tmp, so a grader
  living there would vanish from the worker's view) and installed editable into the machine's
  Python; where that fails, it is put on PYTHONPATH and the judge's pytest plugin named in
  PYTEST_PLUGINS (what the entry point would otherwise do).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import bounded

PROJECT_PARTS = ("autograder", "submissions", "data", "tests", "bench", "docs", "pyproject.toml",
                 "README.md", "constraints.txt", "Makefile")
"""What of the checkout the copy outside /tmp needs: the package, the submissions, CIFAR-10, the
harness's variants; not the carried packages or any earlier outputs."""
SKIP = shutil.ignore_patterns("__pycache__", "*.egg-info", ".venv", "carry", "out", ".pytest_cache")


@dataclass
class SetupStep:
    """One step of making the machine ready, as the results file lists it."""

    name: str
    ok: bool
    detail: str


@dataclass
class Installed:
    """How the gradings run here."""

    env: dict[str, str]
    python: str
    project: Path
    """The project's copy outside /tmp, from which `autograde` runs."""
    bwrap: str | None
    """The bwrap that the PATH of the gradings finds first (absolute), or None."""
    how: str = ""
    """How the project was installed: ``editable`` or ``PYTHONPATH``."""
    steps: list[SetupStep] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return all(s.ok for s in self.steps if s.name in REQUIRED)


REQUIRED = ("home", "bwrap", "project", "imports")
"""Steps without which no grading can run (the wheels are required through ``imports``)."""


def check_home(home: Path) -> str:
    """Why ``home`` cannot hold the check's files, or "": it must not lie under /tmp."""
    resolved = home.resolve()
    if resolved == Path("/tmp") or resolved.is_relative_to("/tmp"):
        return f"{resolved} lies under /tmp, which every sandboxed worker sees as an empty tmpfs"
    return ""


def unpack_deb(deb: Path, dest: Path) -> str:
    """Unpack ``deb``'s files under ``dest``; returns how (``dpkg -x`` or ``python``)."""
    dest.mkdir(parents=True, exist_ok=True)
    dpkg = shutil.which("dpkg")
    if dpkg:
        subprocess.run([dpkg, "-x", str(deb), str(dest)], check=True, capture_output=True, timeout=60)
        return "dpkg -x"
    data = _ar_member(deb.read_bytes(), "data.tar")
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:  # the compression is detected
        tar.extractall(dest, filter="data")
    return "python (ar + tar)"


def _ar_member(archive: bytes, prefix: str) -> bytes:
    """The first member of the ar ``archive`` (a .deb) whose name starts with ``prefix``."""
    if not archive.startswith(b"!<arch>\n"):
        raise ValueError("not an ar archive")
    pos = 8
    while pos + 60 <= len(archive):
        header = archive[pos:pos + 60]
        name = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        body = archive[pos + 60:pos + 60 + size]
        if name.startswith(prefix):
            return body
        pos += 60 + size + (size % 2)
    raise ValueError(f"no {prefix}* member")


def bring_bwrap(carry: Path, home: Path, env: dict[str, str], log: TextIO) -> tuple[str | None, SetupStep]:
    """bubblewrap from the carried .deb on the front of ``env``'s PATH; runs the sandbox probe
    ``bwrap --ro-bind / / --unshare-pid --unshare-net true`` with it."""
    before = shutil.which("bwrap", path=env.get("PATH"))
    debs = sorted(carry.glob("bubblewrap_*.deb"))
    if not debs:
        return before, SetupStep("bwrap", False, f"no bubblewrap_*.deb in {carry}: run bench/gpu/prepare.sh "
                                 f"here first (bwrap on this machine's PATH before: {before or 'none'})")
    root = home / "bubblewrap"
    shutil.rmtree(root, ignore_errors=True)
    try:
        how = unpack_deb(debs[-1], root)
    except (OSError, ValueError, subprocess.SubprocessError, tarfile.TarError) as exc:
        return before, SetupStep("bwrap", False, f"unpacking {debs[-1].name} failed: {exc}")
    bindir = root / "usr" / "bin"
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    found = shutil.which("bwrap", path=env["PATH"])
    probe = [str(bindir / "bwrap"), "--ro-bind", "/", "/", "--unshare-pid", "--unshare-net", "true"]
    ran = bounded.run(probe, env=env, cwd=home, timeout=30, log=log, title="bwrap probe")
    detail = (f"{debs[-1].name} unpacked with {how} into {bindir} (not /usr/bin); bwrap on the PATH "
              f"before: {before or 'none'}; `{' '.join(['bwrap', *probe[1:]])}`: {ran.outcome()}")
    if not ran.ok:
        detail += f": {ran.output.strip()[-500:]}"
        if shutil.which("ldd"):  # a library the .deb needs that this machine lacks shows here
            ldd = bounded.run(["ldd", str(bindir / "bwrap")], env=env, cwd=home, timeout=30, log=log, title="ldd bwrap")
            detail += f"; ldd: {' '.join(ldd.output.split())[-500:]}"
    return found, SetupStep("bwrap", ran.ok, detail)


def install_wheels(carry: Path, home: Path, env: dict[str, str], log: TextIO) -> SetupStep:
    """The carried wheels into ``home/site-packages``, which goes on PYTHONPATH."""
    wheels = sorted((carry / "wheels").glob("*.whl"))
    target = home / "site-packages"
    if not wheels:
        return SetupStep("wheels", False, f"no wheels in {carry / 'wheels'}: run bench/gpu/prepare.sh here first")
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile",
           "--no-cache-dir", "--upgrade", "--target", str(target), *map(str, wheels)]
    ran = bounded.run(cmd, env=env, cwd=home, timeout=180, log=log, title="pip install --target")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(target), env.get("PYTHONPATH", "")) if p)
    names = ", ".join(w.name.split("-")[0] for w in wheels)
    return SetupStep("wheels", ran.ok, f"{len(wheels)} wheels ({names}) → {target}: {ran.outcome()}"
                     + ("" if ran.ok else f": {ran.output.strip()[-500:]}"))


def copy_project(root: Path, project: Path) -> SetupStep:
    """The parts of the checkout the gradings need, copied to ``project`` (outside /tmp)."""
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True)
    for part in PROJECT_PARTS:
        src = root / part
        if src.is_dir():
            shutil.copytree(src, project / part, ignore=SKIP, symlinks=True)
        elif src.is_file():
            shutil.copy2(src, project / part)
    size = sum(f.stat().st_size for f in project.rglob("*") if f.is_file())
    return SetupStep("copy", True, f"{root} → {project} ({size / 2**20:.1f} MiB)")


def install_project(project: Path, env: dict[str, str], log: TextIO, *, editable: bool = True) -> tuple[str, SetupStep]:
    """Editable install into the machine's Python; else (or when not ``editable``) PYTHONPATH and
    PYTEST_PLUGINS."""
    why = "asked for"
    if editable:
        cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-build-isolation",
               "-e", str(project)]
        ran = bounded.run(cmd, env=env, cwd=project, timeout=180, log=log, title="pip install -e")
        if ran.ok:
            return "editable", SetupStep("project", True, f"`pip install --no-index --no-deps "
                                         f"--no-build-isolation -e {project}`: {ran.outcome()}")
        why = f"the editable install failed ({ran.outcome()}: {ran.output.strip()[-300:]})"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH", ""), str(project)) if p)
    env["PYTEST_PLUGINS"] = "autograder.judge.plugin"
    return "PYTHONPATH", SetupStep("project", True, f"{why}: {project} put on PYTHONPATH and "
                                   "PYTEST_PLUGINS=autograder.judge.plugin (the entry point's work) instead")


VERIFY = """
import json, nbformat, jinja2, markdown_it, numpy, torch, torchvision, autograder
nb = nbformat.reads(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}), as_version=4)
print(json.dumps({"autograder": autograder.__file__, "nbformat": nbformat.__version__,
                  "torch": torch.__version__, "torchvision": torchvision.__version__,
                  "numpy": numpy.__version__}))
"""


def verify(project: Path, home: Path, env: dict[str, str], log: TextIO) -> SetupStep:
    """Everything the orchestrator and the judge import, imported from outside the project (as
    the judge runs); and pytest knows the judge's ``--submission`` (the plugin is loaded)."""
    ran = bounded.run([sys.executable, "-c", VERIFY], env=env, cwd=home, timeout=120, log=log, title="imports")
    if not ran.ok:
        return SetupStep("imports", False, f"{ran.outcome()}: {ran.output.strip()[-800:]}")
    found = json.loads(ran.output.strip().splitlines()[-1])
    plugin = bounded.run([sys.executable, "-m", "pytest", "--help"], env=env, cwd=home, timeout=120, log=log,
                         title="pytest --help", keep=1_000_000)
    loaded = plugin.ok and "--submission" in plugin.output
    from_copy = Path(found["autograder"]).resolve().is_relative_to(project.resolve())
    versions = ", ".join(f"{k} {v}" for k, v in found.items() if k != "autograder")
    return SetupStep("imports", loaded and from_copy,
                     f"{versions}; the judge's plugin {'loads' if loaded else 'does NOT load'} in pytest; "
                     f"autograder imported from {found['autograder']}"
                     + ("" if from_copy else f", NOT from the copy {project}"))


def install(root: Path, carry: Path, home: Path, log: TextIO, *, editable: bool = True) -> Installed:
    """Make the machine ready to grade; every step recorded, the first required failure ends it."""
    env = dict(os.environ)
    env["AUTOGRADE_CACHE"] = str(home / "cache")
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("AUTOGRADE_DATA", None)  # the project's own copy of CIFAR-10, as on a fresh clone
    installed = Installed(env=env, python=sys.executable, project=home / "project", bwrap=None)
    why = check_home(home)
    installed.steps.append(SetupStep("home", not why, why or f"{home.resolve()} (outside /tmp)"))
    if why:
        return installed
    home.mkdir(parents=True, exist_ok=True)
    installed.bwrap, step = bring_bwrap(carry, home, env, log)
    installed.steps.append(step)
    installed.steps.append(install_wheels(carry, home, env, log))
    installed.steps.append(copy_project(root, installed.project))
    installed.how, step = install_project(installed.project, env, log, editable=editable)
    installed.steps.append(step)
    installed.steps.append(verify(installed.project, home, env, log))
    return installed
