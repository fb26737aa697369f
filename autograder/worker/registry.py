"""The probes the worker answers, by name: each registers itself with `probe`."""

from __future__ import annotations

from typing import Any, Callable

PROBES: dict[str, Callable[..., Any]] = {}


def probe(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Register ``fn`` under its own name."""
    PROBES[fn.__name__] = fn
    return fn
