"""Whether the worker's own code is still its own: student code runs in the worker's process and can
reach everything there (a module that, at import, swaps ``PROBES["describe_net"]`` for a function
reporting the homework's LeNet; one that rebinds a helper the probes call).

`Integrity` is taken after the worker has loaded everything it will use and before any student
module is imported: the probe table, and for every module of the grader's in the worker (its own
and `autograder.common`), which object each of its functions, classes and imported modules is, each
function's code, and the methods of its classes. `changed` compares, before each reply; any
difference makes the reply a `protocol.TAMPERED` error and the worker ends (`autograder.worker.main`): a
worker whose own code was changed answers nothing more. This is a line of defence in one process,
not a proof — the judge cross-checks what it can on its side too.
"""

from __future__ import annotations

import sys
import types
from typing import Any, Callable

PACKAGE = "autograder."


def _own(value: Any) -> bool:
    return isinstance(value, (types.FunctionType, types.BuiltinFunctionType, type, types.ModuleType))


def _fingerprint(value: Any) -> tuple[int, Any]:
    """An object's identity, with its code for a function (its ``__code__`` can be swapped in place)."""
    code = value.__code__ if isinstance(value, types.FunctionType) else None
    return id(value), code


class Integrity:
    """A snapshot of the worker's own code; see the module docstring."""

    def __init__(self, probes: dict[str, Callable[..., Any]]) -> None:
        self._probe_table = probes
        self.probes = dict(probes)
        """The probes as they were: the worker dispatches from this copy, never from the table."""
        self._probe_codes = {name: _fingerprint(fn) for name, fn in probes.items()}
        self._modules: dict[str, tuple[types.ModuleType, dict[str, tuple[int, Any]]]] = {}
        for name, module in list(sys.modules.items()):
            if name.startswith(PACKAGE) and isinstance(module, types.ModuleType):
                self._modules[name] = (module, self._entries(module))

    @staticmethod
    def _entries(module: types.ModuleType) -> dict[str, tuple[int, Any]]:
        entries: dict[str, tuple[int, Any]] = {}
        for key, value in list(vars(module).items()):
            if not _own(value):
                continue
            entries[key] = _fingerprint(value)
            if isinstance(value, type) and getattr(value, "__module__", "") == module.__name__:
                for attr, member in list(vars(value).items()):
                    if isinstance(member, (types.FunctionType, staticmethod, classmethod, property)):
                        entries[f"{key}.{attr}"] = _fingerprint(member)
        return entries

    def changed(self) -> list[str]:
        """What of the worker's own code differs from the snapshot (empty: nothing)."""
        found: list[str] = []
        if set(self._probe_table) != set(self.probes):
            found.append("the probe table's names")
        for name, fingerprint in self._probe_codes.items():
            current = self._probe_table.get(name)
            if current is None or _fingerprint(current) != fingerprint:
                found.append(f"PROBES[{name!r}]")
        for name, (module, entries) in self._modules.items():
            if sys.modules.get(name) is not module:
                found.append(f"the module {name}")
                continue
            now = self._entries(module)
            for key, fingerprint in entries.items():
                if now.get(key) != fingerprint:
                    found.append(f"{name}.{key}")
        return found
