"""Plain data (JSON, wire frames) to typed dataclasses and back, checked field by field.

`parse` checks a value against a type annotation — dataclasses, lists, tuples, dicts, unions,
literals, enums, numbers, strings, arrays — with the constraints ``Annotated`` adds (`Between`,
`MaxLen`, `ArrayOf`), and builds the typed value; a mismatch raises `TypeMismatch` naming the
path of the bad field. `to_plain` goes the other way. The judge–worker messages
(`autograder.common.protocol`) and the results model (`autograder.common.results`) both use it, so
neither end has a hand-written reader.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Union

import numpy as np



@dataclass(frozen=True)
class Between:
    """A number in [low, high]."""

    low: float
    high: float


@dataclass(frozen=True)
class MaxLen:
    """A string or list of at most ``n`` items."""

    n: int


@dataclass(frozen=True)
class ArrayOf:
    """An array of these dtype kinds (numpy's ``dtype.kind`` letters) and, if given, this many dimensions."""

    kinds: str = "biuf"
    ndim: int | None = None


class UnsupportedType(TypeError):
    """A type annotation `parse` does not handle: the grader's own mistake, never a reply's."""


class TypeMismatch(ValueError):
    """A value that does not fit its declared type; ``path`` names the bad field."""

    def __init__(self, path: str, expected: str, found: Any) -> None:
        self.path, self.expected = path, expected
        self.found = _describe(found)
        super().__init__(f"{path}: expected {expected}, found {self.found}")


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {tuple(value.shape)} and dtype {value.dtype}"
    text = repr(value)
    return f"{type(value).__name__} {text[:80]}{'…' if len(text) > 80 else ''}"


# -- parse / to_plain ------------------------------------------------------------------------------
_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls, include_extras=True)
    return _HINTS[cls]


def parse(tp: Any, value: Any, path: str = "value") -> Any:
    """``value`` (plain data off the wire) checked against the type ``tp`` and built into it.

    A value that does not fit raises TypeMismatch and nothing else, whatever it holds (an array
    where a literal is due compares ambiguously; a dataclass's own check may raise): a reply is
    either of its type or refused. UnsupportedType is the one exception: the type itself is wrong.
    """
    try:
        return _parse(tp, value, path)
    except (TypeMismatch, UnsupportedType):
        raise
    except (ValueError, TypeError, KeyError, IndexError, ArithmeticError, RecursionError) as exc:
        raise TypeMismatch(path, "a value that can be checked", f"one that raised {type(exc).__name__}: "
                           f"{str(exc)[:120]}") from None


def _parse(tp: Any, value: Any, path: str = "value") -> Any:
    constraints: tuple[Any, ...] = ()
    if typing.get_origin(tp) is Annotated:
        tp, *extra = typing.get_args(tp)
        constraints = tuple(extra)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return value
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            if type(value) not in (str, int, float, bool):
                raise ValueError
            return tp(value)
        except ValueError:
            raise TypeMismatch(path, "one of " + ", ".join(repr(m.value) for m in tp), value) from None
    if origin is typing.Literal:
        if not any(type(value) is type(a) and value == a for a in args):  # the type first: no array ==
            raise TypeMismatch(path, "one of " + ", ".join(map(repr, args)), value)
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        errors = []
        for option in options:
            try:
                return _parse(option, value, path)
            except TypeMismatch as exc:
                errors.append(exc.expected)
        raise TypeMismatch(path, " or ".join(errors), value)
    if dataclasses.is_dataclass(tp):
        if type(value) is not dict:
            raise TypeMismatch(path, f"a {tp.__name__} (a dict)", value)
        hints = _hints(tp)
        unknown = set(value) - set(hints)
        if unknown:
            raise TypeMismatch(path, f"only the fields of {tp.__name__}", f"extra key(s) {sorted(unknown)[:5]}")
        kwargs = {}
        for f in dataclasses.fields(tp):
            if f.name in value:
                kwargs[f.name] = _parse(hints[f.name], value[f.name], f"{path}.{f.name}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise TypeMismatch(path, f"a {tp.__name__} with '{f.name}'", f"no key '{f.name}'")
        return tp(**kwargs)
    if origin in (list, tuple):
        if type(value) is not list:
            raise TypeMismatch(path, "a list", value)
        _check_length(value, constraints, path)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise TypeMismatch(path, f"a list of {len(args)} items", value)
            return tuple(_parse(a, v, f"{path}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
        item = args[0] if args else Any
        out = [_parse(item, v, f"{path}[{i}]") for i, v in enumerate(value)]
        return tuple(out) if origin is tuple else out
    if origin is dict:
        if type(value) is not dict:
            raise TypeMismatch(path, "a dict", value)
        _check_length(value, constraints, path)
        if args and args[0] is str and any(type(k) is not str for k in value):
            raise TypeMismatch(path, "a dict with string keys", value)
        return {k: _parse(args[1], v, f"{path}.{k}") for k, v in value.items()}
    if tp is np.ndarray:
        if type(value) is not np.ndarray:
            raise TypeMismatch(path, "an array", value)
        for c in constraints:
            if isinstance(c, ArrayOf) and (value.dtype.kind not in c.kinds or (c.ndim is not None and value.ndim != c.ndim)):
                raise TypeMismatch(path, f"an array of kind {c.kinds!r}" + (f" with {c.ndim} dimension(s)" if c.ndim is not None else ""), value)
        return value
    if tp is float:
        if type(value) not in (int, float):
            raise TypeMismatch(path, "a number", value)
        value = float(value)
    elif tp is int:
        if type(value) is not int:
            raise TypeMismatch(path, "a whole number", value)
    elif tp in (str, bool):
        if type(value) is not tp:
            raise TypeMismatch(path, "a string" if tp is str else "true or false", value)
    elif tp is type(None):
        if value is not None:
            raise TypeMismatch(path, "null", value)
        return None
    else:
        raise UnsupportedType(f"protocol type {tp!r} at {path} is not supported")
    for c in constraints:
        if isinstance(c, Between) and not (c.low <= value <= c.high and not (isinstance(value, float) and math.isnan(value))):
            raise TypeMismatch(path, f"a number from {c.low:g} to {c.high:g}", value)
    _check_length(value, constraints, path)
    return value


def _check_length(value: Any, constraints: tuple[Any, ...], path: str) -> None:
    for c in constraints:
        if isinstance(c, MaxLen) and len(value) > c.n:
            raise TypeMismatch(path, f"at most {c.n:,} items" if not isinstance(value, str) else
                                f"at most {c.n:,} characters", f"{len(value):,}")


def to_plain(value: Any) -> Any:
    """Dataclasses as dicts, tuples as lists, enums as their values, all the way down; arrays (and
    tensors) are left as they are, for the wire to carry."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if type(value) is dict:
        return {k: to_plain(v) for k, v in value.items()}
    return value
