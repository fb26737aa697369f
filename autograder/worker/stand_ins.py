"""Inert stand-ins for the display and logging packages a script imports and grading never needs.

A student's script may log to TensorBoard (``from torch.utils.tensorboard import SummaryWriter``)
or Weights & Biases (``import wandb``), mount their Google Drive in Colab (``from google.colab
import drive``) or show things with IPython (``from IPython.display import display,
clear_output``). None of it matters to a grade, and none of it is installed in the grading
environment. Where the real package is missing, `StandInFinder` gives the student's code a module
whose every attribute is `Inert` — callable, usable as a context manager, iterable (empty), false —
so the script runs on and nothing is logged, shown or mounted. The worker reports which stand-ins
were used (`used`), and the grade says so in a remark (`contract.STAND_INS`).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from types import ModuleType
from typing import Any

from autograder.common.contract import STAND_INS

PARENTS = {"google": "google.colab"}
"""Packages that only hold a stand-in (``google`` for ``google.colab``): given as empty namespaces
when absent, never reported themselves."""
NEEDS = {"torch.utils.tensorboard": "tensorboard"}
"""Stand-ins for a module that exists but fails without another package (torch's tensorboard
module raises an ImportError without the ``tensorboard`` package): given only when that package
is missing."""


class Inert:
    """Whatever is asked of it, it does nothing: calls, attributes, items, ``with``, ``for``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __call__(self, *args: Any, **kwargs: Any) -> Inert:
        return Inert()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return Inert()

    def __getitem__(self, key: Any) -> Inert:
        return Inert()

    def __setitem__(self, key: Any, value: Any) -> None:
        pass

    def __enter__(self) -> Inert:
        return self

    def __exit__(self, *exc: Any) -> bool:
        return False

    def __iter__(self) -> Any:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "<inert stand-in of the grader>"


class _Config(dict):  # type: ignore[type-arg]
    """wandb's ``config``: what ``wandb.init(config=…)`` was given, read back as attributes."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        super().update(*args, **kwargs)


class StandInModule(ModuleType):
    """A stand-in package: every attribute it does not hold is an `Inert` (``SummaryWriter``,
    ``drive``, ``display``: each called, used in ``with`` or asked for attributes, does nothing)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return Inert()


def _no_ipython() -> None:
    """``IPython.get_ipython()`` outside IPython: None, as in any script."""
    return None


def _wandb_init(*args: Any, config: Any = None, **kwargs: Any) -> Inert:
    module = sys.modules.get("wandb")
    if isinstance(module, StandInModule) and isinstance(config, dict):
        module.config.update(config)
    return Inert()


class StandInFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds the stand-ins of `contract.STAND_INS` where the real packages are missing; first on
    ``sys.meta_path`` (torch's own tensorboard module must not be reached), it finds nothing else."""

    def __init__(self) -> None:
        self.used: list[str] = []
        """The stand-ins created so far (their `contract.STAND_INS` names), in order."""
        self._real: dict[str, bool] = {}

    def _root(self, fullname: str) -> str | None:
        for root in (*STAND_INS, *PARENTS):
            if fullname == root or fullname.startswith(root + "."):
                return root
        return None

    def _really_there(self, fullname: str, path: Any) -> bool:
        """Whether the real module can be found (asked once per name)."""
        if fullname not in self._real:
            needed = NEEDS.get(fullname)
            if needed is not None:
                found = importlib.machinery.PathFinder.find_spec(needed) is not None
            else:
                found = importlib.machinery.PathFinder.find_spec(fullname, path) is not None
            self._real[fullname] = found
        return self._real[fullname]

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        root = self._root(fullname)
        if root is None or (root in PARENTS and fullname != root):
            return None  # ``google.protobuf`` is no stand-in's
        parent = sys.modules.get(fullname.rpartition(".")[0]) if "." in fullname else None
        if fullname == root and not isinstance(parent, StandInModule) and self._really_there(fullname, path):
            return None
        if fullname != root and not isinstance(parent, StandInModule):
            return None  # a submodule of a real package
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = StandInModule(spec.name, "an inert stand-in given by the grader (the package is not installed)")
        module.__path__ = []  # a package: its submodules are stand-ins too
        module.__version__ = "0+stand-in"  # type: ignore[attr-defined]  # libraries that look (matplotlib
        module.version_info = (0, 0, 0)  # type: ignore[attr-defined]  # checks IPython's) see no version
        module.get_ipython = _no_ipython  # type: ignore[attr-defined]  # a script: not in IPython
        if spec.name == "wandb":
            module.config = _Config()  # type: ignore[attr-defined]
            module.init = _wandb_init  # type: ignore[attr-defined]
        root = self._root(spec.name)
        if root in STAND_INS and root not in self.used:
            self.used.append(root)
        return module

    def exec_module(self, module: ModuleType) -> None:
        pass
