"""The wire between judge and worker: length-prefixed frames of JSON plus raw array buffers.

Decoding never runs code: the header is JSON, arrays are rebuilt with `numpy.frombuffer` from a
whitelist of dtypes, and both lengths are checked against limits *before* anything is read, so a
worker that announces a 2 GB reply is refused without the judge allocating it.

Frame layout: ``MAGIC`` (4 bytes) · header length (uint32, big-endian) · body length (uint64) ·
header (UTF-8 JSON) · body (the arrays' bytes, concatenated). In the header, an array is the
object ``{"$array": i}`` naming the i-th entry of the header's ``"arrays"`` list, which gives its
dtype, shape, offset and length in the body.

Only ``None``, ``bool``, ``int``, ``float``, ``str``, ``list``, ``dict`` with ``str`` keys and
``numpy.ndarray`` travel. Torch tensors are turned into arrays by the encoder (worker side).
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

from autograder.common.text import no_lone_surrogates

MAGIC = b"AGW1"
_PREFIX = struct.Struct(">4sIQ")

MAX_DEPTH = 64
"""Lists and dicts nested deeper than this are refused (deeper ones break ``repr`` and friends)."""
MAX_ARRAYS = 100_000
"""Array descriptions one frame may hold."""
MAX_ELEMENTS = 2**40
"""Elements an array's shape may describe, counting an empty dimension as one: numpy refuses to
reshape even zero bytes into a shape such as (0, 2**40, 2**40)."""
ALLOWED_DTYPES = frozenset(
    {"bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"}
)


@dataclass(frozen=True)
class Limits:
    """Upper bounds on one frame; the judge's are strict, the worker's generous."""

    max_header: int = 4 * 2**20
    max_body: int = 512 * 2**20


class WireError(Exception):
    """A frame that is malformed, too large, or holds a value that may not travel."""


class ClosedError(WireError):
    """The other end closed the pipe (for the judge: the worker died)."""


def _tensor_to_array(value: Any) -> np.ndarray | None:
    """Turn a torch tensor (not a subclass) into an array; None for anything else.

    torch is looked up in ``sys.modules`` so the wire never imports it itself.
    """
    import sys

    torch = sys.modules.get("torch")
    if torch is None or type(value) is not torch.Tensor:
        return None
    return value.detach().to("cpu").numpy()  # made contiguous by `encode`, after its size check


def encode(value: Any, max_body: int | None = None) -> bytes:
    """Serialise ``value`` into one frame; raises WireError naming what cannot travel."""
    arrays: list[dict[str, Any]] = []
    chunks: list[bytes] = []
    offset = 0

    def walk(v: Any, path: str, depth: int = 0) -> Any:
        nonlocal offset
        if depth > MAX_DEPTH:
            raise WireError(f"{path[:60]}…: nested more than {MAX_DEPTH} levels deep")
        t = type(v)
        if v is None or t is bool or t is str:
            return v
        if t is int:
            if abs(v) >= 2**63:
                raise WireError(f"{path}: integer too large to send")
            return v
        if t is float:
            if math.isfinite(v):
                return v
            return {"$float": repr(v)}  # nan / inf / -inf, which JSON cannot hold
        if t is list or t is tuple:
            return [walk(x, f"{path}[{i}]", depth + 1) for i, x in enumerate(v)]
        if t is dict:
            out = {}
            for k, x in v.items():
                if type(k) is not str or k.startswith("$"):
                    raise WireError(f"{path}: dict key {k!r} is not a plain string")
                out[k] = walk(x, f"{path}.{k}", depth + 1)
            return out
        if isinstance(v, np.generic) and type(v).__module__ == "numpy":
            return walk(v.item(), path, depth)
        array = _tensor_to_array(v)
        if array is None and t is np.ndarray:
            array = v
        if array is None:
            raise WireError(f"{path}: a {t.__module__}.{t.__qualname__} cannot be sent")
        if array.dtype.name not in ALLOWED_DTYPES:
            raise WireError(f"{path}: arrays of dtype {array.dtype} cannot be sent")
        if array.ndim > 32:
            raise WireError(f"{path}: arrays of more than 32 dimensions cannot be sent")
        if max_body is not None and offset + array.nbytes > max_body:  # checked before copying
            raise WireError(f"{path}: an array of {array.nbytes:,} bytes makes the reply larger "
                            f"than the {max_body:,} bytes allowed")
        data = np.ascontiguousarray(array).tobytes()
        arrays.append(
            {"dtype": array.dtype.name, "shape": list(array.shape), "offset": offset, "nbytes": len(data)}
        )
        chunks.append(data)
        offset += len(data)
        return {"$array": len(arrays) - 1}

    payload = walk(value, "value")
    header = json.dumps({"value": payload, "arrays": arrays}, allow_nan=False).encode()
    return _PREFIX.pack(MAGIC, len(header), offset) + header + b"".join(chunks)


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    parts = []
    remaining = n
    while remaining:
        chunk = stream.read(min(remaining, 1 << 20))
        if not chunk:
            raise ClosedError("the pipe closed in the middle of a frame" if parts or n != remaining else "the pipe closed")
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


def read_prefix(stream: BinaryIO, limits: Limits) -> tuple[int, int]:
    """Read and check a frame's prefix; returns (header length, body length)."""
    prefix = _read_exact(stream, _PREFIX.size)
    magic, header_len, body_len = _PREFIX.unpack(prefix)
    if magic != MAGIC:
        raise WireError("not a frame (bad magic bytes)")
    if header_len > limits.max_header:
        raise WireError(f"reply header of {header_len:,} bytes exceeds the limit of {limits.max_header:,}")
    if body_len > limits.max_body:
        raise WireError(f"reply of {body_len:,} bytes exceeds the limit of {limits.max_body:,}")
    return header_len, body_len


def read_frame(stream: BinaryIO, limits: Limits) -> Any:
    """Read one frame from ``stream`` and decode it without running any code."""
    header_len, body_len = read_prefix(stream, limits)
    return decode(_read_exact(stream, header_len), _read_exact(stream, body_len))


def _bounded_int(text: str) -> int:
    value = int(text)
    if not -(2**63) <= value < 2**63:
        raise WireError(f"an integer of {len(text)} digits is out of range")
    return value


def _no_constant(name: str) -> Any:
    raise WireError(f"{name} is not allowed in a header (non-finite floats travel as $float)")


def _array_specs(specs: Any, body_len: int) -> list[tuple[np.dtype, tuple[int, ...], int, int]]:
    """The header's array descriptions, checked together: known dtypes and shapes, sizes that
    match, each inside the body and none overlapping another — so the arrays decoded can never add
    up to more than the body itself."""
    if type(specs) is not list or len(specs) > MAX_ARRAYS:
        raise WireError(f"header's 'arrays' is not a list of at most {MAX_ARRAYS:,} descriptions")
    out = []
    for i, spec in enumerate(specs):
        try:
            dtype = np.dtype(spec["dtype"])
            shape = tuple(int(s) for s in spec["shape"])
            offset, nbytes = int(spec["offset"]), int(spec["nbytes"])
        except (KeyError, TypeError, ValueError, OverflowError):  # OverflowError: int(Infinity)
            raise WireError(f"bad array description {str(spec)[:200]}") from None
        if dtype.name not in ALLOWED_DTYPES or any(s < 0 for s in shape) or len(shape) > 32:
            raise WireError(f"array {i}: dtype {dtype} or shape {str(shape)[:200]} not allowed")
        if math.prod(max(s, 1) for s in shape) > MAX_ELEMENTS:
            raise WireError(f"array {i}: shape {str(shape)[:200]} describes more than {MAX_ELEMENTS:,} elements")
        if nbytes != math.prod(shape) * dtype.itemsize or offset < 0 or offset + nbytes > body_len:
            raise WireError(f"array {i}: size does not match its description")
        out.append((dtype, shape, offset, nbytes))
    spans = sorted((offset, offset + nbytes) for _, _, offset, nbytes in out if nbytes)
    if any(a_end > b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:])):
        raise WireError("array descriptions overlap in the body")
    return out


def decode(header_bytes: bytes, body: bytes) -> Any:
    """Rebuild the value of a frame from its header and body.

    Each array is decoded once, from its own bytes of the body: a header that names an array twice
    or describes overlapping arrays is refused, so a small frame cannot decode into a large value.
    Integers beyond 64 bits are refused as well. Strings come with no lone surrogate (JSON may
    spell one: ``"\udcff"``). Whatever else goes wrong decoding a frame is a WireError too: a
    frame either decodes or is refused, never raises anything else.
    """
    try:
        return _decode(header_bytes, body)
    except WireError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, ArithmeticError, MemoryError, RecursionError) as exc:
        raise WireError(f"frame could not be decoded: {type(exc).__name__}: {str(exc)[:200]}") from None


def _decode(header_bytes: bytes, body: bytes) -> Any:
    try:
        header = json.loads(header_bytes.decode("utf-8"), parse_int=_bounded_int, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:  # ValueError: bad UTF-8, bad JSON, 5000-digit ints
        raise WireError(f"header is not JSON: {str(exc)[:200]}") from None
    if type(header) is not dict or "value" not in header or "arrays" not in header:
        raise WireError("header lacks 'value' or 'arrays'")
    specs = _array_specs(header["arrays"], len(body))
    taken: set[int] = set()

    def array(i: Any) -> np.ndarray:
        if type(i) is not int or not 0 <= i < len(specs):
            raise WireError(f"bad array reference {i!r}")
        if i in taken:
            raise WireError(f"array {i} is referenced more than once")
        taken.add(i)
        dtype, shape, offset, _ = specs[i]
        return np.frombuffer(body, dtype=dtype, count=math.prod(shape), offset=offset).reshape(shape).copy()

    def walk(v: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise WireError(f"value nested more than {MAX_DEPTH} levels deep")
        if type(v) is list:
            return [walk(x, depth + 1) for x in v]
        if type(v) is dict:
            if set(v) == {"$array"}:
                return array(v["$array"])
            if set(v) == {"$float"}:
                if v["$float"] not in ("nan", "inf", "-inf"):
                    raise WireError(f"bad float {v['$float']!r}")
                return float(v["$float"])
            return {no_lone_surrogates(k): walk(x, depth + 1) for k, x in v.items()}
        if type(v) is str:
            return no_lone_surrogates(v)
        return v

    return walk(header["value"], 0)


def write_frame(stream: BinaryIO, value: Any, max_body: int | None = None) -> None:
    """Encode ``value`` and write it as one frame."""
    stream.write(encode(value, max_body))
    stream.flush()
