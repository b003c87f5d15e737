"""slice, int8 (a box of the input, stride 1: TFLite SLICE and unit-stride STRIDED_SLICE, as for a
ViT's class token; up to six axes where the box reduces to four, common.reduced_box): the numpy
reference and the call of its C twin runtime_c/src/slice_s8.c.
Formula: docs/numerics.md#data-movement.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..blob import IN, OUT, Arena, Call, i32, unary
from ..graph import MAX_RANK, Graph, Op, short
from . import Lowering, OpDef
from .common import data_movement, expect, int_tuples, reduced_box


@dataclass(frozen=True)
class SliceAttrs:
    """The box [begin, begin + size) of the input, unit stride; the output holds its elements (axes of
    size 1 may be dropped, as STRIDED_SLICE's shrink mask does)."""

    begin: tuple[int, ...] = ()
    size: tuple[int, ...] = ()

    def __post_init__(self):
        int_tuples(self, "begin", "size")


def slice_s8(x: np.ndarray, begin: tuple[int, ...], size: tuple[int, ...]) -> np.ndarray:
    """out[i] = x[begin + i] for i < size, axis by axis."""
    return np.ascontiguousarray(x[tuple(slice(b, b + s) for b, s in zip(begin, size))])


def slice_call(x_shape, begin: tuple[int, ...], size: tuple[int, ...], *, x: Arena = IN, y: Arena = OUT) -> Call:
    """The box's elements in the box's own shape (the kernel's output dims are `size`); x of at most
    four axes."""
    return unary("slice", i32([0] * (4 - len(x_shape)) + list(begin)), x_shape, x, size, y)


def _validate(graph: Graph, op: Op, where: str) -> None:
    x, y = data_movement(graph, op, where, most=MAX_RANK)
    begin, size = op.attrs.begin, op.attrs.size
    expect(len(begin) == len(size) == len(x.shape) and
           all(b >= 0 and s >= 1 and b + s <= d for b, s, d in zip(begin, size, x.shape)), where,
           f"the box at {short(begin)} of size {short(size)} does not lie inside {x.shape}")
    kept = tuple(s for s in size if s != 1)
    expect(tuple(d for d in y.shape if d != 1) == kept, where, f"a box of size {size} cannot give {y.shape}")
    reduced, _, _ = reduced_box(x.shape, begin, size)
    expect(len(reduced) <= 4, where, f"the box {size} of {x.shape} spans {len(reduced)} axes; the kernel takes 4")


def _run(graph: Graph, op: Op, _params, values: dict) -> None:
    x = values[op.inputs[0]]
    size = (x.shape[0] // graph.tensors[op.inputs[0]].shape[0] * op.attrs.size[0], *op.attrs.size[1:])
    values[op.outputs[0]] = slice_s8(x, op.attrs.begin, size).reshape(-1, *graph.tensors[op.outputs[0]].shape[1:])


def _lower(lowering: Lowering) -> tuple[Call, ...]:
    x, a = lowering.tensor(0), lowering.op.attrs
    return (slice_call(*reduced_box(x.shape, a.begin, a.size), x=lowering.operand(x.name),
                       y=Arena(lowering.op.outputs[0])),)


def _batch_safe(graph: Graph, op: Op) -> bool:
    return op.attrs.begin[0] == 0 and op.attrs.size[0] == graph.tensors[op.inputs[0]].shape[0]


OPS = (OpDef("slice", SliceAttrs, _validate, _run, lower=_lower, kernels=("slice",), batch_safe=_batch_safe),)
