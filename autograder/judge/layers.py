"""A net's convolution and linear layers as the structure checks read them, from `describe_net`.

A layer is what is there, however it was written: torch's ``nn.Conv2d`` and ``nn.Linear``, a class
of the student's own of the same name (an int or list ``kernel_size`` reads as torch's tuple), or
any other leaf module that holds a ``weight`` of a convolution's (4-D) or a linear layer's (2-D)
shape. A size the layer does not keep as an attribute is read from that weight's shape; one that
can be read neither way is None, shown as "?" and compared as found.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from autograder.common.protocol import Layer, NetDescription
from autograder.judge.checks import pair


@dataclass(frozen=True)
class Conv:
    name: str
    in_channels: Any
    out_channels: Any
    kernel_size: Any


@dataclass(frozen=True)
class Linear:
    name: str
    in_features: Any
    out_features: Any


def _weight(d: NetDescription, layer: Layer) -> list[int] | None:
    return next((p.shape for p in d.parameters if p.name == f"{layer.name}.weight"), None)


def _int(value: Any) -> Any:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def convolutions(d: NetDescription) -> list[Conv]:
    """The convolutions of ``d``, in module order."""
    out = []
    for layer in d.layers:
        w = _weight(d, layer)
        if layer.type != "Conv2d" and not (layer.type != "Linear" and w is not None and len(w) == 4):
            continue
        w4 = w if w is not None and len(w) == 4 else None
        kernel = pair(layer.kernel_size)
        if not (isinstance(kernel, tuple) and all(_int(k) is not None for k in kernel)):
            kernel = tuple(w4[2:]) if w4 is not None else kernel
        out.append(Conv(layer.name,
                        _int(layer.in_channels) if _int(layer.in_channels) is not None else (w4[1] if w4 else None),
                        _int(layer.out_channels) if _int(layer.out_channels) is not None else (w4[0] if w4 else None),
                        kernel))
    return out


def linears(d: NetDescription) -> list[Linear]:
    """The linear layers of ``d``, in module order."""
    out = []
    for layer in d.layers:
        w = _weight(d, layer)
        w2 = w if w is not None and len(w) == 2 else None
        if layer.type != "Linear" and not (layer.type != "Conv2d" and w2 is not None
                                           and layer.type not in ("Embedding", "EmbeddingBag", "Bilinear")):
            continue
        out.append(Linear(layer.name,
                          _int(layer.in_features) if _int(layer.in_features) is not None else (w2[1] if w2 else None),
                          _int(layer.out_features) if _int(layer.out_features) is not None else (w2[0] if w2 else None)))
    return out
