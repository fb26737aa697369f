"""Malformed frames and replies, generated (Hypothesis): whatever a worker sends, the wire decodes it
or refuses it with a `WireError`, and the typed parser builds a message or refuses it with a
`TypeMismatch` — never another exception, which the judge would take for its own fault (checks
"not graded") instead of the student's unusable reply."""

from __future__ import annotations

import json
import typing
from typing import Any, Literal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograder.common import protocol, typed, wire

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_ints = st.one_of(st.integers(-3, 3), st.integers(-(2**70), 2**70), st.sampled_from([0, 2**31, 2**40, 2**63]))
_dtypes = st.one_of(st.sampled_from(sorted(wire.ALLOWED_DTYPES)), st.sampled_from(["object", "V8", "<U3", "O", "complex128"]),
                    st.text(max_size=6), st.integers(), st.none(), st.lists(st.integers(), max_size=2))
_spec = st.fixed_dictionaries({}, optional={
    "dtype": _dtypes, "shape": st.one_of(st.lists(_ints, max_size=6), _ints, st.text(max_size=3), st.none()),
    "offset": st.one_of(_ints, st.floats(allow_nan=True), st.text(max_size=3)),
    "nbytes": st.one_of(_ints, st.floats(allow_nan=True), st.none())})
_json = st.recursive(
    st.one_of(st.none(), st.booleans(), _ints, st.floats(), st.text(max_size=8),
              st.sampled_from(["\udcff", "\ud800x", "\u202e", "\x1b[2J"]),
              st.builds(lambda i: {"$array": i}, st.one_of(_ints, st.text(max_size=2))),
              st.builds(lambda f: {"$float": f}, st.one_of(st.text(max_size=4), st.sampled_from(["nan", "inf"])))),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=4), inner, max_size=4)),
    max_leaves=20)


def _decodes_or_is_refused(header: bytes, body: bytes) -> None:
    try:
        value = wire.decode(header, body)
    except wire.WireError:
        return
    json.dumps(_no_arrays(value))  # what decodes is plain data that JSON (and so results.json) can hold


def _no_arrays(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.shape
    if isinstance(value, dict):
        return {k: _no_arrays(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_arrays(v) for v in value]
    if isinstance(value, str):
        value.encode("utf-8")  # no lone surrogate comes out of a frame
    return value


@FUZZ
@given(st.binary(max_size=200), st.binary(max_size=64))
def test_any_bytes_decode_or_are_refused(header: bytes, body: bytes) -> None:
    _decodes_or_is_refused(header, body)


@FUZZ
@given(_json, st.lists(st.one_of(_spec, _json), max_size=4), st.binary(max_size=64))
def test_any_header_of_json_decodes_or_is_refused(value: Any, arrays: list[Any], body: bytes) -> None:
    header = json.dumps({"value": value, "arrays": arrays}).encode("utf-8", "surrogatepass")
    _decodes_or_is_refused(header, body)


@FUZZ
@given(st.data())
def test_a_valid_frame_with_bytes_changed_decodes_or_is_refused(data: st.DataObject) -> None:
    frame = bytearray(wire.encode({"id": 3, "ok": True, "value": [np.arange(6.0).reshape(2, 3), "x", {"k": 1.5}]}))
    for _ in range(data.draw(st.integers(1, 6))):
        frame[data.draw(st.integers(0, len(frame) - 1))] = data.draw(st.integers(0, 255))
    import io
    try:
        wire.read_frame(io.BytesIO(bytes(frame)), wire.Limits(1 << 16, 1 << 16))
    except wire.WireError:
        pass


def test_an_empty_array_of_an_impossible_shape_is_refused() -> None:
    """0 bytes of float64 in shape (0, 2**40, 2**40): sizes agree (0 == 0), numpy's reshape does not."""
    header = json.dumps({"value": {"$array": 0}, "arrays": [
        {"dtype": "float64", "shape": [0, 2**40, 2**40], "offset": 0, "nbytes": 0}]}).encode()
    with pytest.raises(wire.WireError):
        wire.decode(header, b"")


def test_a_lone_surrogate_in_a_reply_comes_out_replaced() -> None:
    header = b'{"value": {"m\\udcff": "a\\udcffb"}, "arrays": []}'
    assert wire.decode(header, b"") == {"m\ufffd": "a\ufffdb"}


# -- the typed parser ----------------------------------------------------------------------------------
_values = st.recursive(
    st.one_of(st.none(), st.booleans(), _ints, st.floats(), st.text(max_size=6),
              st.sampled_from(["raised", "ok", "cpu", "cuda", "\udcff"]),
              st.builds(np.zeros, st.lists(st.integers(0, 3), max_size=3)),
              st.builds(lambda n: np.array(["a"] * n), st.integers(0, 2)),
              st.builds(lambda n: np.ones(n, dtype=bool), st.integers(0, 3))),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=5)),
    max_leaves=25)

MESSAGES = sorted({*protocol.REPLIES.values(), protocol.ProbeReply, protocol.Ready, protocol.ProbeError,
                   protocol.WorkerStart, protocol.GradeDone, protocol.JudgeReady}, key=repr)


def _fields_of(tp: Any) -> st.SearchStrategy[Any]:
    """Dicts with (some of) ``tp``'s field names, each holding anything."""
    import dataclasses

    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    if not dataclasses.is_dataclass(tp):
        return _values
    names = [f.name for f in dataclasses.fields(tp)]
    return st.dictionaries(st.sampled_from(names), _values, max_size=len(names))


@FUZZ
@pytest.mark.parametrize("message", MESSAGES, ids=repr)
@given(data=st.data())
def test_any_value_parses_or_is_a_type_mismatch(message: Any, data: st.DataObject) -> None:
    value = data.draw(st.one_of(_values, _fields_of(message)))
    try:
        typed.parse(message, value, "reply")
    except typed.TypeMismatch:
        pass


@pytest.mark.parametrize("value", [np.zeros(2), np.array(["a", "b"]), np.zeros(0), [1], {"a": 1}, 1.0])
def test_a_literal_given_an_array_or_another_kind_is_a_type_mismatch(value: Any) -> None:
    with pytest.raises(typed.TypeMismatch):
        typed.parse(Literal["a", "b"], value)


@pytest.mark.parametrize("value", [np.zeros(2), [1], {"raised": 1}, None])
def test_an_enum_given_an_array_or_a_container_is_a_type_mismatch(value: Any) -> None:
    from autograder.common.results import Outcome

    with pytest.raises(typed.TypeMismatch):
        typed.parse(Outcome, value)
