"""transpose, int8 (a permutation of up to six axes that reduces to four: axes of size 1 dropped,
neighbours merged, common.reduced_transpose): the numpy reference and the call of its C twin
runtime_c/src/transpose_s8.c. Formula: docs/numerics.md#data-movement.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..blob import IN, OUT, Arena, Call, i32, unary
from ..graph import MAX_RANK, Graph, Op, short
from . import Lowering, OpDef
from .common import data_movement, expect, int_tuples, reduced_transpose


@dataclass(frozen=True)
class TransposeAttrs:
    """Output axis k is input axis perm[k]."""

    perm: tuple[int, ...] = ()

    def __post_init__(self):
        int_tuples(self, "perm")


def transpose_s8(x: np.ndarray, perm: tuple[int, ...]) -> np.ndarray:
    """out.shape[k] = x.shape[perm[k]]; out[i_0, .., i_r] = x[j] with j[perm[k]] = i_k."""
    return np.ascontiguousarray(np.transpose(x, perm))


def transpose_call(x_shape, perm: tuple[int, ...], *, x: Arena = IN, y: Arena = OUT) -> Call:
    """x of at most four axes."""
    lead = 4 - len(x_shape)
    perm4 = [*range(lead), *(p + lead for p in perm)]
    return unary("transpose", i32(perm4), x_shape, x, tuple(x_shape[p] for p in perm), y)


def _validate(graph: Graph, op: Op, where: str) -> None:
    x, y = data_movement(graph, op, where, most=MAX_RANK)
    perm = op.attrs.perm
    expect(sorted(perm) == list(range(len(x.shape))), where, f"perm {short(perm)} is not a permutation of {len(x.shape)} axes")
    expect(y.shape == tuple(x.shape[p] for p in perm), where, f"{x.shape} permuted by {perm} is not {y.shape}")
    reduced, _ = reduced_transpose(x.shape, perm)
    expect(len(reduced) <= 4, where, f"{x.shape} permuted by {perm} moves {len(reduced)} axes; the kernel moves 4")


def _run(graph: Graph, op: Op, _params, values: dict) -> None:
    values[op.outputs[0]] = transpose_s8(values[op.inputs[0]], op.attrs.perm)


def _lower(lowering: Lowering) -> tuple[Call, ...]:
    x = lowering.tensor(0)
    shape, perm = reduced_transpose(x.shape, lowering.op.attrs.perm)
    return (transpose_call(shape, perm, x=lowering.operand(x.name), y=Arena(lowering.op.outputs[0])),)


OPS = (OpDef("transpose", TransposeAttrs, _validate, _run, lower=_lower, kernels=("transpose",),
             batch_safe=lambda graph, op: op.attrs.perm[0] == 0),)
