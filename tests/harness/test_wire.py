"""Unit tests of the wire between judge and worker (`autograder.common.wire`).

What must hold: plain data and arrays round-trip exactly; a frame announcing more than the limits
is refused from its 16-byte prefix, before any of its body is read; only whitelisted dtypes and
exact plain types travel (no subclasses); and decoding is pure data handling — a pickle, a
``__reduce__``-shaped JSON object or a malformed header is an error or plain data, never code run.
Every refusal is a `WireError`, so the judge reports it as the submission's bad reply and never
as a fault of its own.
"""

from __future__ import annotations

import io
import json
import math
import os
import pickle
import struct
import threading
from collections import namedtuple
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from autograder.common import wire

JUDGE_LIMITS = wire.Limits(max_header=4 * 2**20, max_body=64 * 2**20)


def roundtrip(value: Any) -> Any:
    return wire.read_frame(io.BytesIO(wire.encode(value)), JUDGE_LIMITS)


def frame(header: bytes, body: bytes = b"", *, magic: bytes = wire.MAGIC) -> bytes:
    """A hand-made frame (what a hostile worker could write into the pipe)."""
    return struct.pack(">4sIQ", magic, len(header), len(body)) + header + body


def decode_frame(raw: bytes) -> Any:
    return wire.read_frame(io.BytesIO(raw), JUDGE_LIMITS)


# -- round trips --------------------------------------------------------------------------------


def test_nested_plain_data_round_trips_exactly() -> None:
    value = {
        "none": None, "bools": [True, False], "ints": [0, -1, 2**62, -(2**63) + 1],
        "floats": [0.0, -2.5, 1e-300, 1.7976931348623157e308], "text": "소프트맥스 ∑ \u0000 \"q\"",
        "nested": {"a": [[], {}, [[1, [2, [3]]]]], "empty": ""},
    }
    out = roundtrip(value)
    assert out == value
    assert type(out["ints"][2]) is int and type(out["floats"][1]) is float and type(out["bools"][0]) is bool


def test_non_finite_floats_and_tuples() -> None:
    out = roundtrip({"nan": float("nan"), "inf": float("inf"), "-inf": -math.inf, "t": (1, (2, 3))})
    assert math.isnan(out["nan"]) and out["inf"] == math.inf and out["-inf"] == -math.inf
    assert out["t"] == [1, [2, 3]]  # tuples travel as lists


@pytest.mark.parametrize("dtype", sorted(wire.ALLOWED_DTYPES))
def test_arrays_of_every_allowed_dtype_round_trip(dtype: str) -> None:
    rng = np.random.default_rng(0)
    a = (rng.normal(size=(3, 4, 2)) * 50).astype(dtype)
    out = roundtrip({"a": a, "scalar": a[0, 0, 0], "zero_d": np.array(a[1, 1, 1]), "empty": a[:0]})
    assert out["a"].dtype == a.dtype and out["a"].shape == a.shape and np.array_equal(out["a"], a)
    assert out["zero_d"].shape == () and out["zero_d"] == a[1, 1, 1]
    assert out["empty"].shape == (0, 4, 2)
    assert type(out["scalar"]) in (int, float, bool)  # a NumPy scalar travels as a plain number
    out["a"][0, 0, 0] = 1  # decoded arrays are writable copies, not views of the frame


def test_non_contiguous_arrays_and_tensors() -> None:
    a = np.arange(24.0).reshape(4, 6)[::2, ::3].T
    assert np.array_equal(roundtrip(a), a)
    torch = pytest.importorskip("torch")
    t = torch.arange(12, dtype=torch.float32).reshape(3, 4).t()
    out = roundtrip({"t": t, "grad": torch.ones(2, requires_grad=True) * 2})
    assert out["t"].dtype == np.float32 and np.array_equal(out["t"], t.numpy())
    assert np.array_equal(out["grad"], [2.0, 2.0])


def test_round_trip_over_a_pipe() -> None:
    r, w = os.pipe()
    value = {"x": np.linspace(0, 1, 100_000), "ok": True}  # larger than a pipe's buffer
    writer = threading.Thread(target=lambda: wire.write_frame(os.fdopen(w, "wb"), value))
    writer.start()
    with os.fdopen(r, "rb") as stream:
        out = wire.read_frame(stream, JUDGE_LIMITS)
    writer.join(10)
    assert out["ok"] is True and np.array_equal(out["x"], value["x"])


# -- size limits --------------------------------------------------------------------------------


class CountingStream(io.BytesIO):
    """A stream that counts the bytes asked of it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.requested = 0

    def read(self, n: int | None = -1) -> bytes:
        self.requested += n if n is not None and n > 0 else 0
        return super().read(n)


def test_oversized_body_is_refused_from_the_prefix() -> None:
    announced = struct.pack(">4sIQ", wire.MAGIC, 2, 2 * 2**30) + b"{}" + b"x" * 1000
    stream = CountingStream(announced)
    with pytest.raises(wire.WireError, match="exceeds"):
        wire.read_frame(stream, JUDGE_LIMITS)
    assert stream.requested == 16  # the prefix only: neither header nor body was read


def test_oversized_header_is_refused_from_the_prefix() -> None:
    stream = CountingStream(struct.pack(">4sIQ", wire.MAGIC, 3 * 2**30, 0))
    with pytest.raises(wire.WireError, match="exceeds"):
        wire.read_frame(stream, JUDGE_LIMITS)
    assert stream.requested == 16


@pytest.mark.timeout(30)
def test_oversized_frame_over_a_pipe_is_refused_without_waiting_for_it() -> None:
    """Only the prefix is ever written: reading the announced 2 GB would block forever."""
    r, w = os.pipe()
    os.write(w, struct.pack(">4sIQ", wire.MAGIC, 10, 2 * 10**9))
    try:
        with os.fdopen(r, "rb", buffering=0) as stream, pytest.raises(wire.WireError, match="exceeds"):
            wire.read_frame(stream, JUDGE_LIMITS)
    finally:
        os.close(w)


def test_encoder_refuses_before_copying_an_array_past_its_limit() -> None:
    huge = np.broadcast_to(np.zeros(1), (2**40,))  # 8 TiB announced, 8 bytes held
    with pytest.raises(wire.WireError, match=r"8,796,093,022,208 bytes .*larger than"):
        wire.encode({"value": huge}, max_body=256 * 2**20)


def test_truncated_frame_is_a_closed_pipe() -> None:
    raw = wire.encode({"a": np.zeros(10)})
    with pytest.raises(wire.ClosedError):
        decode_frame(raw[:-3])
    with pytest.raises(wire.ClosedError):
        decode_frame(b"")


def test_bad_magic() -> None:
    with pytest.raises(wire.WireError, match="bad magic"):
        decode_frame(frame(b'{"value": 1, "arrays": []}', magic=b"\x80\x04\x95\x00"))


# -- what may travel ----------------------------------------------------------------------------


class ListSub(list):
    pass


class DictSub(dict):
    pass


class FloatSub(float):
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = float.__hash__


class IntSub(int):
    pass


class StrSub(str):
    pass


class ArraySub(np.ndarray):
    pass


class Float64Sub(np.float64):
    pass


class AlwaysEqual:
    def __eq__(self, other: object) -> bool:
        return True


Point = namedtuple("Point", "x y")


@pytest.mark.parametrize("value", [
    ListSub([1]), DictSub(a=1), FloatSub(0.5), IntSub(3), StrSub("s"), np.zeros(3).view(ArraySub),
    Float64Sub(1.0), AlwaysEqual(), Point(1, 2), {1, 2}, b"bytes", 1 + 2j, object(),
], ids=lambda v: type(v).__name__)
def test_subclasses_and_other_types_are_refused(value: Any) -> None:
    with pytest.raises(wire.WireError, match="cannot be sent"):
        wire.encode({"value": [value]})


def test_tensor_subclass_is_refused() -> None:
    torch = pytest.importorskip("torch")

    class Sneaky(torch.Tensor):
        pass

    with pytest.raises(wire.WireError, match="Sneaky cannot be sent"):
        wire.encode(torch.zeros(3).as_subclass(Sneaky))
    with pytest.raises(wire.WireError, match="torch.nn.modules.linear.Linear cannot be sent"):
        wire.encode(torch.nn.Linear(2, 2))


@pytest.mark.parametrize("array", [
    np.array([object(), 1], dtype=object), np.array(["a", "bc"]), np.zeros(2, dtype=np.complex128),
    np.zeros(2, dtype="datetime64[s]"), np.zeros(2, dtype=[("a", "f8"), ("b", "i4")]),
    np.zeros(2, dtype=np.uint64), np.zeros(2, dtype=np.longdouble),
], ids=lambda a: str(a.dtype))
def test_non_whitelisted_dtypes_are_refused(array: np.ndarray) -> None:
    with pytest.raises(wire.WireError, match="cannot be sent"):
        wire.encode({"a": array})


@pytest.mark.parametrize("key", [1, ("t",), "$array", "$float"], ids=repr)
def test_only_plain_string_keys(key: Any) -> None:
    with pytest.raises(wire.WireError, match="not a plain string"):
        wire.encode({key: 1})


def test_values_nested_too_deeply_are_refused_both_ways() -> None:
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(wire.WireError, match="nested more than"):
        wire.encode(cycle)
    deep = "[" * 500 + "]" * 500
    with pytest.raises(wire.WireError, match="nested more than"):
        decode_frame(frame(f'{{"value": {deep}, "arrays": []}}'.encode()))
    with pytest.raises(wire.WireError, match="not JSON"):  # deeper than the JSON parser goes
        decode_frame(frame(f'{{"value": {"[" * 200_000 + "]" * 200_000}, "arrays": []}}'.encode()))


@pytest.mark.parametrize("spec", [
    {"dtype": "object", "shape": [1], "offset": 0, "nbytes": 8},
    {"dtype": "O", "shape": [1], "offset": 0, "nbytes": 8},
    {"dtype": "<U2", "shape": [1], "offset": 0, "nbytes": 8},
    {"dtype": [["a", "<f8"]], "shape": [1], "offset": 0, "nbytes": 8},
    {"dtype": "float64", "shape": [-1], "offset": 0, "nbytes": 8},
    {"dtype": "float64", "shape": [2], "offset": 0, "nbytes": 8},
    {"dtype": "float64", "shape": [1], "offset": 8, "nbytes": 8},
    {"dtype": "float64", "shape": [1], "offset": -8, "nbytes": 8},
    {"dtype": "float64", "shape": [1] * 40, "offset": 0, "nbytes": 8},
    {"dtype": "float64", "shape": ["Infinity"], "offset": 0, "nbytes": 8},
    {"dtype": "no such dtype", "shape": [1], "offset": 0, "nbytes": 8},
    {"shape": [1]},
    "float64",
], ids=lambda s: json.dumps(s)[:40])
def test_forged_array_descriptions_are_refused(spec: Any) -> None:
    header = json.dumps({"value": {"$array": 0}, "arrays": [spec]}).replace('"Infinity"', "Infinity")
    with pytest.raises(wire.WireError):
        decode_frame(frame(header.encode(), b"\0" * 8))


@pytest.mark.parametrize("header", [
    b"", b"not json", b"\xff\xfe", b"[]", b'{"value": 1}', b'{"arrays": []}',
    b'{"value": {"$array": 3}, "arrays": []}', b'{"value": {"$float": "1e999"}, "arrays": []}',
    b'{"value": 1' + b"0" * 5000 + b', "arrays": []}',
], ids=lambda h: h[:30].decode(errors="replace"))
def test_malformed_headers_are_wire_errors(header: bytes) -> None:
    with pytest.raises(wire.WireError):
        decode_frame(frame(header))


# -- decoding never runs code -------------------------------------------------------------------


class Payload:
    """Unpickling this would create the file named in ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.path,))


def test_a_pickle_on_the_wire_is_never_unpickled(tmp_path: Path) -> None:
    control, target = tmp_path / "control", tmp_path / "unpickled"
    pickle.loads(pickle.dumps(Payload(control)))  # the payload does its work when unpickled…
    assert control.exists()
    payload = pickle.dumps(Payload(target))
    with pytest.raises(wire.WireError, match="not JSON"):  # as the header
        decode_frame(frame(payload))
    with pytest.raises(wire.WireError, match="bad magic"):  # as the whole frame
        decode_frame(payload + b"\0" * 16)
    spec = {"dtype": "uint8", "shape": [len(payload)], "offset": 0, "nbytes": len(payload)}
    as_body = decode_frame(frame(json.dumps({"value": {"$array": 0}, "arrays": [spec]}).encode(), payload))
    assert type(as_body) is np.ndarray and as_body.tobytes() == payload  # as an array's bytes: bytes
    assert not target.exists()  # …and never on the wire


def test_reduce_shaped_json_is_just_data(tmp_path: Path) -> None:
    target = tmp_path / "ran"
    value = {"__reduce__": ["os.system", f"touch {target}"], "py/object": "os.system",
             "__class__": "Payload", "$array_like": {"$array": 0, "extra": 1}}
    header = json.dumps({"value": value, "arrays": []}).encode()
    out = decode_frame(frame(header))
    assert out == value and type(out) is dict
    assert all(type(v) in (list, str, dict) for v in out.values())
    assert not target.exists()


def test_decoded_values_are_plain_types_only() -> None:
    def types(v: Any) -> set[type]:
        if isinstance(v, list):
            return {list}.union(*map(types, v)) if v else {list}
        if isinstance(v, dict):
            return {dict}.union(*map(types, v.values())) if v else {dict}
        return {type(v)}

    out = roundtrip({"a": [1, 2.0, "s", None, True, {"b": np.ones(2)}], "c": float("nan")})
    assert types(out) <= {list, dict, int, float, str, type(None), bool, np.ndarray}


def _arrays_header(value: Any, specs: list[dict[str, Any]]) -> bytes:
    return json.dumps({"value": value, "arrays": specs}).encode()


def test_an_array_referenced_twice_is_refused() -> None:
    """Each array is decoded once: 100 references to one 4 MiB array once added 400 MiB to the
    judge (a small frame decoding into a huge value)."""
    body = np.zeros(2**19).tobytes()  # 4 MiB
    spec = {"dtype": "float64", "shape": [2**19], "offset": 0, "nbytes": len(body)}
    header = _arrays_header([{"$array": 0}] * 100, [spec])
    with pytest.raises(wire.WireError, match="referenced more than once"):
        wire.decode(header, body)


def test_overlapping_array_descriptions_are_refused() -> None:
    """Descriptions may not share bytes of the body, so what is decoded never exceeds the frame."""
    body = np.zeros(1024).tobytes()
    spec = {"dtype": "float64", "shape": [1024], "offset": 0, "nbytes": len(body)}
    header = _arrays_header([{"$array": 0}, {"$array": 1}], [spec, dict(spec)])
    with pytest.raises(wire.WireError, match="overlap"):
        wire.decode(header, body)
    half = {"dtype": "float64", "shape": [512], "offset": 0, "nbytes": 4096}
    other = {"dtype": "float64", "shape": [512], "offset": 4096, "nbytes": 4096}
    left, right = wire.decode(_arrays_header([{"$array": 0}, {"$array": 1}], [half, other]), body)
    assert left.shape == right.shape == (512,)


@pytest.mark.parametrize("number", ["9" * 401, "-" + "9" * 30, str(2**63)])
def test_integers_beyond_64_bits_are_refused(number: str) -> None:
    """A 401-digit integer in a reply once raised OverflowError in the judge's checks."""
    with pytest.raises(wire.WireError, match="out of range"):
        wire.decode(('{"value": [%s], "arrays": []}' % number).encode(), b"")
    assert wire.decode(b'{"value": [9223372036854775807], "arrays": []}', b"") == [2**63 - 1]


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_bare_non_finite_tokens_are_refused(token: str) -> None:
    with pytest.raises(wire.WireError, match="not allowed"):
        wire.decode(('{"value": [%s], "arrays": []}' % token).encode(), b"")
