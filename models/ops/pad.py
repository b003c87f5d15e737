"""pad, int8 (constant padding before and after each axis): the numpy reference and the call of its
C twin runtime_c/src/pad_s8.c. Formula: docs/numerics.md#data-movement.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass

import numpy as np

from ..blob import IN, OUT, Arena, Call, i32, unary
from ..graph import Graph, Op, short
from . import Lowering, OpDef
from .common import data_movement, expect


@dataclass(frozen=True)
class PadAttrs:
    """pads[k] = (before, after) for axis k; value: the int8 fill (TFLite PAD: the zero point)."""

    pads: tuple[tuple[int, int], ...] = ()
    value: int = 0

    def __post_init__(self):
        object.__setattr__(self, "pads", tuple((operator.index(b), operator.index(a)) for b, a in self.pads))


def pad_s8(x: np.ndarray, pads: tuple[tuple[int, int], ...], value: int) -> np.ndarray:
    """pads[k] = (before, after) for axis k; value is the int8 fill (TFLite PAD: the zero point)."""
    return np.pad(x, pads, constant_values=value)


def pad_call(x_shape, pads: tuple[tuple[int, int], ...], value: int, *, x: Arena = IN, y: Arena = OUT) -> Call:
    before = [0] * (4 - len(x_shape)) + [b for b, _ in pads]
    out_shape = tuple(d + b + a for d, (b, a) in zip(x_shape, pads))
    return unary("pad", i32([*before, value]), x_shape, x, out_shape, y)


def _validate(graph: Graph, op: Op, where: str) -> None:
    x, y = data_movement(graph, op, where)
    pads = op.attrs.pads
    expect(len(pads) == len(x.shape) and all(b >= 0 and a >= 0 for b, a in pads), where,
           f"pads {short(pads)} must give (before, after) >= 0 for each of {len(x.shape)} axes")
    expect(-128 <= op.attrs.value <= 127, where, f"pad value {op.attrs.value} is not int8")
    expect(y.shape == tuple(d + b + a for d, (b, a) in zip(x.shape, pads)), where,
           f"{x.shape} padded by {pads} is not {y.shape}")


def _run(graph: Graph, op: Op, _params, values: dict) -> None:
    values[op.outputs[0]] = pad_s8(values[op.inputs[0]], op.attrs.pads, op.attrs.value)


def _lower(lowering: Lowering) -> tuple[Call, ...]:
    x, a = lowering.tensor(0), lowering.op.attrs
    return (pad_call(x.shape, a.pads, a.value, x=lowering.operand(x.name), y=Arena(lowering.op.outputs[0])),)


OPS = (OpDef("pad", PadAttrs, _validate, _run, lower=_lower, kernels=("pad",),
             batch_safe=lambda graph, op: op.attrs.pads[0] == (0, 0)),)
