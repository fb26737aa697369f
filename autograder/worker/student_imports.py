"""The student's own modules, imported by the student's code as on the student's machine.

``python problem4.py`` puts the script's folder first on ``sys.path``: a helper the student named
like a module of the standard library (``random.py``, ``test.py``, ``code.py``, ``copy.py``) is the
one their ``import random`` gets. In the worker the grader's own imports — and torch's and numpy's
— must keep the real modules (the submission's folder is last on ``sys.path``, and the real
``random`` is loaded long before any student code runs). So the two are told apart by who imports:

* an ``import`` made *from a file of the submission* of a top-level name that the submission
  provides (a ``.py`` file or a package folder at its top) and that the standard library or an
  installed package also provides gets the student's module: while it is imported,
  ``sys.modules`` holds the student's entries for that name (and its submodules) in place of the
  real ones, and a finder first on ``sys.meta_path`` finds it in the submission's folder; after
  it, the real entries are put back and the student's are kept aside for their next import;
* every other import — the worker's, torch's, numpy's, a library's called by the student — is
  Python's own, untouched.

As on the student's machine, a module built into the interpreter, frozen into it or loaded before
any script runs (``sys``, ``os``, ``codecs``, ``encodings``, …) is never shadowed. What is not
covered: ``importlib.import_module("random")`` called by student code (it bypasses ``import``) gets
the real module, and a library first imported while a student's module of that name is being
imported sees the student's (as it would on their machine).
"""

from __future__ import annotations

import builtins
import importlib.machinery
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

LOADED_BEFORE_SCRIPTS = frozenset({"encodings"})
"""Modules Python has loaded before a script's first line (besides the built-in and frozen ones):
a student's file of that name never stands in for them on their machine either."""


class StudentImports:
    """Installs the import scoping described in the module docstring for one submission folder."""

    def __init__(self, submission: Path) -> None:
        self.root = str(submission)
        self.prefix = self.root.rstrip("/") + "/"
        self._names = _top_level_names(submission)
        """The top-level modules the submission provides (its ``.py`` files and package folders)."""
        self._shadowing: dict[str, bool] = {}
        self._kept: dict[str, dict[str, ModuleType]] = {}
        """The student's entries of ``sys.modules`` for each shadowed name, kept aside between imports."""
        self._redirect: list[str] = []
        """The names being imported from the submission now (innermost last)."""
        self._original: Callable[..., Any] = builtins.__import__

    def install(self) -> None:
        """Route ``import`` statements through `_import` and put the finder first (once)."""
        if builtins.__import__ is not self._import:
            self._original = builtins.__import__
            builtins.__import__ = self._import
            sys.meta_path.insert(0, _SubmissionFinder(self))

    def _from_submission(self, globals_: Any) -> bool:
        if type(globals_) is not dict:
            return False
        file = globals_.get("__file__")
        return isinstance(file, str) and file.startswith(self.prefix)

    def shadows(self, name: str) -> bool:
        """Whether the student's top-level module ``name`` has a namesake outside the submission
        that a plain import would give instead."""
        if name not in self._names:
            return False
        if name not in self._shadowing:
            self._shadowing[name] = _has_namesake(name, self.root)
        return self._shadowing[name]

    def _import(self, name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0) -> Any:
        if level == 0 and name and self._from_submission(globals):
            top = name.partition(".")[0]
            if self.shadows(top):
                return self._import_own(top, name, globals, locals, fromlist)
        return self._original(name, globals, locals, fromlist, level)

    def _import_own(self, top: str, name: str, globals_: Any, locals_: Any, fromlist: Any) -> Any:
        modules = sys.modules
        real = {k: v for k, v in list(modules.items()) if k == top or k.startswith(top + ".")}
        for key in real:
            del modules[key]
        modules.update(self._kept.get(top, {}))
        self._redirect.append(top)
        try:
            return self._original(name, globals_, locals_, fromlist, 0)
        finally:
            self._redirect.pop()
            own = {k: v for k, v in list(modules.items()) if k == top or k.startswith(top + ".")}
            for key in own:
                del modules[key]
            self._kept[top] = own
            modules.update(real)

    def redirected(self, fullname: str) -> bool:
        return bool(self._redirect) and fullname in self._redirect


class _SubmissionFinder:
    """While a student's module of a shadowed name is imported, finds it in the submission's folder
    (before the built-in, frozen and path finders); finds nothing otherwise."""

    def __init__(self, imports: StudentImports) -> None:
        self._imports = imports

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if path is None and self._imports.redirected(fullname):
            return importlib.machinery.PathFinder.find_spec(fullname, [self._imports.root])
        return None

    def invalidate_caches(self) -> None:
        pass


def _top_level_names(folder: Path) -> frozenset[str]:
    """The names a plain ``import`` finds at the top of ``folder`` before any other path entry:
    ``.py`` files and package folders (a folder without ``__init__.py`` is only a namespace
    portion, which a module of that name anywhere on the path wins over)."""
    names: set[str] = set()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return frozenset()
    for entry in entries:
        if entry.name.endswith(".py") and entry.name[:-3].isidentifier():
            names.add(entry.name[:-3])
        elif (entry.is_dir(follow_symlinks=False) and entry.name.isidentifier()
              and os.path.isfile(os.path.join(entry.path, "__init__.py"))):
            names.add(entry.name)
    return frozenset(names)


def _has_namesake(name: str, root: str) -> bool:
    """Whether ``name`` is found outside the submission, and not among what cannot be shadowed."""
    if name in sys.builtin_module_names or name in LOADED_BEFORE_SCRIPTS:
        return False
    if importlib.machinery.FrozenImporter.find_spec(name) is not None:
        return False
    existing = sys.modules.get(name)
    if existing is not None:
        return not str(getattr(existing, "__file__", "") or "").startswith(root.rstrip("/") + "/")
    if name in sys.stdlib_module_names:
        return True
    elsewhere = [p for p in sys.path if p and os.path.abspath(p) != os.path.abspath(root)]
    return importlib.machinery.PathFinder.find_spec(name, elsewhere) is not None
