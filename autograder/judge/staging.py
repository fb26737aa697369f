"""The worker's copy of one submission, made once per grading session and shared by its workers.

Every worker of a session — the submission's own and the training workers — mounts the same copy,
read-only. It is made (`Staging.make`) within the submission's own grading time (the session asks
for it on first use, never when it is created: a judge server makes the next submission's session
while it grades the one before), from the student's folder as `autograder.common.layout` reads it:

* the files of the folder the code is in (the student's folder, or the one subfolder holding it),
  regular files only, up to `MAX_SUBMISSION_BYTES`;
* each contract module under its contract name (``Problem4.py`` → ``problem4.py``; the original
  stays too, for the student's own imports of it);
* every source re-encoded as UTF-8 when it was saved otherwise (CP949, a byte-order mark, UTF-16);
* the modules made from the folder's notebooks (`autograder.judge.notebooks`), where no ``.py``
  of that name is.

**Modules that run when imported.** A student's ``.py`` that trains, plots, downloads or blocks at
top level (no ``if __name__ == "__main__":``) is imported once, by whichever worker needs it first
(`Staging.admit`; the others wait for the verdict). When that import times out or fails and the
module has top-level statements its contract names do not need, the copy's module is replaced by
its static split (`notebooks.split_script`: those statements blanked out, line numbers kept), the
worker restarts, and the split is imported: that is the module every worker gets from then on, with
a remark the TA and the student see (and `contract.RUNS_AT_IMPORT_DEDUCTION`, none by default). A
module whose definitions themselves fail still fails, with the error of its own import. So a grading
pays an import timeout at most once per module.

Everything the copy's making and these verdicts decide is said in `remarks`.
"""

from __future__ import annotations

import ast
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol

from autograder.common import layout as layouts
from autograder.common.contract import BY_MODULE, STAND_INS
from autograder.common.layout import Layout
from autograder.common.notebook_model import NotebookConversion
from autograder.common.results import Remark
from autograder.judge import notebooks


class Failure(Protocol):
    """A module's failure to import, as the worker client reports it (`worker_client.ProbeFailure`)."""

    kind: str
    """How it failed: ``raised``, ``missing``, ``timeout``, ``crashed`` or ``bad_reply``."""
    message: str
    where: str | None


class Importer(Protocol):
    """What deciding a module's verdict asks of a worker (`worker_client.Worker`)."""

    def try_import(self, module: str, *, baseline_problem2: bool = False) -> tuple[list[str], Failure | None]: ...

    def stop(self) -> None: ...


SPLIT_ON = ("raised", "timeout", "crashed")
"""Failures of an import that its top-level code may have caused (not a missing file or a bad reply)."""

MAX_SUBMISSION_BYTES = 50 * 2**20
"""A submission folder larger than this is not copied in full (files past it are left out)."""
MAX_SOURCE_BYTES = 2 * 2**20
"""A Python source larger than this is copied as it is, never decoded or split."""
MAX_LISTED = 6
"""Statements named in a remark about a script graded without its top-level code."""


@dataclass
class Verdict:
    """How a contract module imports, decided once for the submission."""

    failure: Failure | None = None
    """The failure every worker reports for it, or None: it imports."""
    split: notebooks.ScriptSplit | None = None
    """The static split the copy holds in its place (it ran code when imported), or None."""


class Staging:
    """One submission's staged copy, its remarks and its modules' import verdicts."""

    def __init__(self, submission: Path, home: Path, layout: Layout) -> None:
        self.submission = submission
        self._home = home
        self.path = home / "submission"
        """The copy the workers mount (read-only to them)."""
        self.layout = layout
        self.notebook: NotebookConversion | None = None
        self.skipped_files: list[str] = []
        self.remarks: list[Remark] = []
        self._lock = threading.Lock()
        self._module_locks = {m: threading.Lock() for m in BY_MODULE}
        self._verdicts: dict[str, Verdict] = {}
        self._stand_ins: set[str] = set()
        self._sources: dict[str, bytes] = {}
        """The staged text of each contract module written from a student's ``.py`` file."""
        self._dependencies: dict[str, list[str]] = {}

    # -- making the copy -----------------------------------------------------------------------
    @classmethod
    def make(cls, submission: Path) -> Staging:
        """The copy of ``submission`` for its workers (see the module docstring)."""
        home = Path(tempfile.mkdtemp(prefix="autograde-staged-"))
        os.chmod(home, 0o711)
        layout = layouts.find(submission) if submission.is_dir() else Layout(root="")
        staging = cls(submission, home, layout)
        try:
            staging._copy()
        except BaseException:
            staging.close()
            raise
        return staging

    @property
    def present(self) -> frozenset[str]:
        """The contract modules the copy holds (from files, or made from notebooks)."""
        made = self.notebook.used_modules() if self.notebook is not None else []
        return frozenset(self.layout.modules) | frozenset(made)

    def _remark(self, module: str, text: str) -> None:
        with self._lock:
            if not any(r.problem == module and r.text == text for r in self.remarks):
                self.remarks.append(Remark(module, text))

    def _copy(self) -> None:
        layout = self.layout
        for note in layout.notes:
            self._remark(note.module, note.text)
        root = self.submission / layout.root if layout.root else self.submission
        self.path.mkdir()
        if root.is_dir():
            self.skipped_files = _copy_tree(root, self.path)
        by_file = {path: module for module, path in layout.modules.items()}
        for staged in sorted(self.path.rglob("*.py")):
            if staged.is_symlink() or not staged.is_file():
                continue
            rel = staged.relative_to(self.path).as_posix()
            original = f"{layout.root}/{rel}" if layout.root else rel
            module = by_file.get(original, "")
            data = staged.read_bytes()
            if len(data) <= MAX_SOURCE_BYTES:
                decoded = layouts.decode_source(layouts.shown(rel), data)
                if decoded.note:
                    self._remark(module, decoded.note)
                if decoded.data != data:
                    staged.write_bytes(decoded.data)
                data = decoded.data
            if module:
                self._sources[module] = data
                target = self.path / f"{module}.py"
                if target != staged:
                    target.write_bytes(data)  # under the contract's name (the original stays too)
        self.notebook = notebooks.convert(self.submission, layout)
        notebooks.write_modules(self.notebook, self.path)
        if self.notebook is not None:
            for m in (m for m in self.notebook.modules if m.used):
                for why in m.unusable:
                    self._remark(m.module, why)
                if m.after_end:
                    self._remark(m.module, f"{', '.join(m.after_end)}: not in {m.module}'s own cells of "
                                           f"{m.notebook}; taken from the cells after a heading that names no "
                                           "problem")
        _readable(self.path)

    def close(self) -> None:
        """Remove the copy."""
        shutil.rmtree(self._home, ignore_errors=True)

    # -- import verdicts -----------------------------------------------------------------------
    def dependencies(self, module: str) -> list[str]:
        """The contract modules importing ``module`` imports first: problem 2 for a variation, and
        those its source imports by name (read statically)."""
        with self._lock:
            if module in self._dependencies:
                return self._dependencies[module]
        found = ["problem2"] if BY_MODULE[module].own_names else []
        source = self._sources.get(module)
        try:
            tree = ast.parse(source) if source is not None else None
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            tree = None
        for node in ast.walk(tree) if tree is not None else ():
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            for name in names:
                top = name.partition(".")[0]
                if top in BY_MODULE and top != module and top not in found:
                    found.append(top)
        with self._lock:
            self._dependencies[module] = found
        return found

    def verdict(self, module: str) -> Verdict | None:
        """The module's verdict, if decided."""
        with self._lock:
            return self._verdicts.get(module)

    def admit(self, module: str, worker: Importer) -> None:
        """Import ``module`` in ``worker`` (the modules it imports decided first), deciding once
        for the submission how it imports; raises the module's `ProbeFailure` when it cannot."""
        self._settle_dependencies(module, worker, {module})
        verdict, imported = self._settle(module, worker)
        if verdict.failure is not None:
            raise verdict.failure  # type: ignore[misc]  # a ProbeFailure
        if not imported:
            stand_ins, failure = worker.try_import(module, baseline_problem2=self._baseline_for(module))
            if failure is not None:
                raise failure  # type: ignore[misc]
            self._imported(module, stand_ins)

    def _settle_dependencies(self, module: str, worker: Importer, seen: set[str]) -> None:
        """Decide the modules ``module`` imports, theirs first (a module that blocks at import must
        not make the ones importing it look as if they did)."""
        for dep in self.dependencies(module):
            if dep not in seen:
                seen.add(dep)
                self._settle_dependencies(dep, worker, seen)
                self._settle(dep, worker)

    def _baseline_for(self, module: str) -> bool:
        """Whether a variation is imported over the homework's baseline: its problem2 fails."""
        if not BY_MODULE[module].own_names:
            return False
        decided = self.verdict("problem2")
        return decided is not None and decided.failure is not None

    def _settle(self, module: str, worker: Importer) -> tuple[Verdict, bool]:
        """The module's verdict, deciding it now in ``worker`` if no worker has (the others wait);
        and whether the module was imported in ``worker`` doing so."""
        with self._module_locks[module]:
            decided = self.verdict(module)
            if decided is not None:
                return decided, False
            stand_ins, failure = worker.try_import(module, baseline_problem2=self._baseline_for(module))
            if failure is None:
                self._imported(module, stand_ins)
                verdict, imported = Verdict(), True
            else:
                verdict, imported = self._after_failure(module, worker, failure)
            with self._lock:
                self._verdicts[module] = verdict
            return verdict, imported

    def _after_failure(self, module: str, worker: Importer, failure: Failure) -> tuple[Verdict, bool]:
        """A module whose import failed: graded through its static split when the failure can be
        in code its contract names do not need (see the module docstring)."""
        source = self._sources.get(module)
        if source is None or failure.kind not in SPLIT_ON:
            return Verdict(failure=failure), False
        try:
            text = source.decode("utf-8")
        except UnicodeDecodeError:
            return Verdict(failure=failure), False
        split = notebooks.split_script(f"{module}.py", text, module)
        if split is None or _in_kept_code(failure, module, split):
            return Verdict(failure=failure), False
        target = self.path / f"{module}.py"
        _replace(target, split.source.encode("utf-8"))
        worker.stop()  # what the failed import left behind goes with the process
        try:
            stand_ins, again = worker.try_import(module, baseline_problem2=self._baseline_for(module))
        except BaseException:  # the worker could not start again, or the grading is stopping
            _replace(target, source)
            raise
        if again is not None:
            _replace(target, source)
            worker.stop()
            self._remark(module, f"{module}.py runs code when it is imported ({_how(module, failure)}); graded "
                                 f"without that code it fails too ({again.message}), so it is graded as it is")
            return Verdict(failure=failure), False
        self._imported(module, stand_ins)
        self._remark(module, _split_remark(module, failure, split))
        return Verdict(split=split), True

    def _imported(self, module: str, stand_ins: list[str]) -> None:
        """Say, once per package, which stand-ins the student's code was given."""
        for name in stand_ins:
            with self._lock:
                if name in self._stand_ins:
                    continue
                self._stand_ins.add(name)
            what = STAND_INS.get(name, name)
            self._remark(module, f"{module}.py imports {what}, which grading does not need: it got an inert "
                                 "stand-in (every call does nothing, nothing is logged or shown)")

    def split_modules(self) -> list[str]:
        """The modules graded without their top-level code."""
        with self._lock:
            return [m for m, v in self._verdicts.items() if v.split is not None]


def _how(module: str, failure: Failure) -> str:
    if failure.kind == "timeout":
        return "importing it did not end in time"
    message = failure.message.removeprefix(f"{module}.py: importing failed — ")
    return f"importing it failed: {message[:400]}"


def _split_remark(module: str, failure: Failure, split: notebooks.ScriptSplit) -> str:
    statements = [x for x in split.left_out if not x.reason.startswith("defines ") or "import" not in x.code]
    shown = "; ".join(f"line {x.line}: {x.code}" for x in statements[:MAX_LISTED])
    more = len(split.left_out) - min(len(statements), MAX_LISTED)
    tail = f" and {more} more" if more > 0 else ""
    return (f"{module}.py runs code when it is imported ({_how(module, failure)}): it was graded without its "
            "top-level code — the imports and definitions its contract names need were kept, the rest left "
            f"out ({shown}{tail}). Put such code under `if __name__ == \"__main__\":`.")


def _in_kept_code(failure: Failure, module: str, split: notebooks.ScriptSplit) -> bool:
    """Whether the failure was raised at top level by a statement the split keeps (the module's
    definitions themselves fail: a split cannot help)."""
    where = failure.where or ""
    file, _, rest = where.partition(":")
    line, _, function = rest.partition(" in ")
    if file != f"{module}.py" or function != "<module>" or not line.isdigit():
        return False
    kept_lines = split.source.split("\n")
    n = int(line)
    return 0 < n <= len(kept_lines) and kept_lines[n - 1].strip() != ""


def _replace(target: Path, data: bytes) -> None:
    """Write ``target`` anew (a rename: a worker reading it sees the old or the new file whole)."""
    fresh = target.with_name(f".{target.name}.new")
    fresh.write_bytes(data)
    fresh.chmod(0o644)
    os.replace(fresh, target)


def _copy_tree(src: Path, dst: Path) -> list[str]:
    """Copy regular files only (never following links, never into skipped or hidden folders), up
    to `MAX_SUBMISSION_BYTES`; returns what was left out."""
    skipped: list[str] = []
    total = 0
    for root, dirs, files in os.walk(src, followlinks=False):
        rel = Path(root).relative_to(src)
        dirs[:] = [d for d in sorted(dirs) if d not in layouts.SKIPPED_FOLDERS
                   and not d.startswith(".") and not (Path(root) / d).is_symlink()]
        (dst / rel).mkdir(parents=True, exist_ok=True)
        for name in sorted(files):
            path = Path(root) / name
            shown = layouts.shown(str(PurePosixPath(rel.as_posix()) / name))
            if path.is_symlink() or not path.is_file():
                skipped.append(shown)
                continue
            size = path.stat().st_size
            if total + size > MAX_SUBMISSION_BYTES:
                skipped.append(shown)
                continue
            total += size
            shutil.copyfile(path, dst / rel / name)
    return skipped


def _readable(root: Path) -> None:
    """Every worker uid may read the copy; none may write it."""
    for p in [root, *root.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)
