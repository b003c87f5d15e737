"""concatenation along one axis, int8, inputs and output sharing one scale and zero point (as TFLM):
the numpy reference and the calls of its C twin runtime_c/src/concatenation_s8.c, which copies one
input into its slab of the output, so that k inputs are k calls and no array of pointers is needed.
Formula: docs/numerics.md#data-movement.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..blob import OUT, Arena, Call, i32, unary
from ..graph import Graph, Op
from . import Lowering, OpDef
from .common import data_movement, expect


@dataclass(frozen=True)
class ConcatenationAttrs:
    axis: int = -1


def concatenation_s8(xs: list[np.ndarray], axis: int) -> np.ndarray:
    return np.concatenate(xs, axis=axis)


def concatenation_calls(shapes: list[tuple[int, ...]], axis: int, *, xs: list | None = None,
                        y: Arena = OUT) -> tuple[Call, ...]:
    """One call per input (xs: their arguments; the harness's input0, input1, ... by default), each
    at its offset along the axis of the output."""
    out_shape = np.concatenate([np.zeros(s, np.int8) for s in shapes], axis=axis).shape
    rank = len(out_shape)
    calls, offset = [], 0
    for k, shape in enumerate(shapes):
        x = Arena(f"input{k}") if xs is None else xs[k]
        calls.append(unary("concatenation", i32([axis % rank + 4 - rank, offset]), shape, x, out_shape, y))
        offset += shape[axis]
    return tuple(calls)


def _validate(graph: Graph, op: Op, where: str) -> None:
    *xs, y = data_movement(graph, op, where, tuple(range(1, len(op.inputs) + 1)))
    rank = len(y.shape)
    expect(-rank <= op.attrs.axis < rank, where, f"axis {op.attrs.axis} outside rank {rank}")
    axis = op.attrs.axis % rank
    others = [d for k, d in enumerate(y.shape) if k != axis]
    expect(all(len(x.shape) == rank and [d for k, d in enumerate(x.shape) if k != axis] == others for x in xs) and
           sum(x.shape[axis] for x in xs) == y.shape[axis], where,
           f"{len(xs)} inputs do not concatenate along axis {op.attrs.axis} to {y.shape}")


def _run(graph: Graph, op: Op, _params, values: dict) -> None:
    values[op.outputs[0]] = concatenation_s8([values[n] for n in op.inputs], op.attrs.axis)


def _lower(lowering: Lowering) -> tuple[Call, ...]:
    op, tensors = lowering.op, lowering.graph.tensors
    return concatenation_calls([tensors[n].shape for n in op.inputs], op.attrs.axis,
                               xs=[lowering.operand(n) for n in op.inputs], y=Arena(op.outputs[0]))


def _batch_safe(graph: Graph, op: Op) -> bool:
    """Not along axis 0, and no constant input (it would need copies)."""
    rank = len(graph.tensors[op.outputs[0]].shape)
    return op.attrs.axis % rank != 0 and all(graph.tensors[n].data is None for n in op.inputs)


OPS = (OpDef("concatenation", ConcatenationAttrs, _validate, _run, lower=_lower, kernels=("concatenation",),
             batch_safe=_batch_safe),)
