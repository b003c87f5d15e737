"""gather, int8 data with constant indices (TFLite GATHER, batch_dims 0): the numpy reference and the
call of its C twin runtime_c/src/gather_s8.c. Formula: docs/numerics.md#data-movement.
"""
from __future__ import annotations

import math
import operator
from dataclasses import dataclass

import numpy as np

from ..blob import IN, OUT, Arena, Call, i32, unary
from ..graph import Graph, Op, short
from . import Lowering, OpDef
from .common import expect, int_tuples, io


@dataclass(frozen=True)
class GatherAttrs:
    """The input's slices at `indices` along `axis` (negative: counted from the last axis). indices: the
    constant int32 indices tensor's values, row-major, each in [0, input dim along axis) as TFLM
    requires; indices_shape: its shape (() for one scalar index, which drops the axis)."""

    axis: int = 0
    indices: tuple[int, ...] = ()
    indices_shape: tuple[int, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "axis", operator.index(self.axis))
        int_tuples(self, "indices", "indices_shape")


def gather_s8(x: np.ndarray, indices: np.ndarray, axis: int) -> np.ndarray:
    """out[a, i, b] = x[a, indices[i], b]: a over the axes before `axis`, i over the indices' shape, b
    over the axes after; out has shape x.shape[:axis] + indices.shape + x.shape[axis + 1:]."""
    return np.take(x, indices, axis=axis)


def gather_call(x_shape, indices: np.ndarray, axis: int, *, x: Arena = IN, y: Arena = OUT) -> Call:
    """The kernel's view: x as [outer, x_shape[axis], inner] rows of `inner` bytes, the output as
    [outer, indices.size, inner]; the params are the index count, then the indices."""
    k = axis % len(x_shape)
    outer, inner = math.prod(x_shape[:k]), math.prod(x_shape[k + 1:])
    flat = np.asarray(indices, np.int32).reshape(-1)
    return unary("gather", i32([flat.size, *flat]), (1, outer, x_shape[k], inner), x, (1, outer, flat.size, inner), y)


def _validate(graph: Graph, op: Op, where: str) -> None:
    x, y = io(graph, op, where, (1,))
    a = op.attrs
    expect(x.quant == y.quant, where, "input and output must share one scale and zero point (no requantization, "
           "as TFLM)")
    expect(-len(x.shape) <= a.axis < len(x.shape), where, f"axis {a.axis} outside a rank-{len(x.shape)} input")
    expect(len(a.indices) == math.prod(a.indices_shape) >= 1, where,
           f"{len(a.indices)} indices for an indices tensor of shape {list(a.indices_shape)} (at least one index)")
    size, k = x.shape[a.axis], a.axis % len(x.shape)
    expect(all(0 <= i < size for i in a.indices), where,
           f"indices {short(list(a.indices))} outside [0, {size}), the input's axis {k}")
    expect(y.shape == (*x.shape[:k], *a.indices_shape, *x.shape[k + 1:]), where,
           f"gathering {list(a.indices_shape)} indices along axis {k} of {list(x.shape)} cannot give {list(y.shape)}")


def _prepare(graph: Graph, op: Op) -> np.ndarray:
    """The indices as an int32 array of their shape."""
    return np.array(op.attrs.indices, np.int32).reshape(op.attrs.indices_shape)


def _run(graph: Graph, op: Op, indices: np.ndarray, values: dict) -> None:
    values[op.outputs[0]] = gather_s8(values[op.inputs[0]], indices, op.attrs.axis)


def _lower(lowering: Lowering) -> tuple[Call, ...]:
    x = lowering.tensor(0)
    return (gather_call(x.shape, lowering.params, lowering.op.attrs.axis, x=lowering.operand(x.name),
                        y=Arena(lowering.op.outputs[0])),)


def _batch_safe(graph: Graph, op: Op) -> bool:
    """Axis 0 is kept where the gather runs along another axis."""
    return op.attrs.axis % len(graph.tensors[op.inputs[0]].shape) != 0


OPS = (OpDef("gather", GatherAttrs, _validate, _run, _prepare, _lower, ("gather",), _batch_safe),)
