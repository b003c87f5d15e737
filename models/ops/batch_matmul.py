"""batch_matmul, int8 with both operands' zero points, any rank 2..6 with TFLite's batch broadcasting:
the numpy reference and the call of its C twin runtime_c/src/batch_matmul_s8.c.
Formula: docs/numerics.md#batch_matmul.
"""
from __future__ import annotations

from dataclasses import astuple, dataclass

import numpy as np

from ..blob import IN, IN2, OUT, Arena, Call, binary, i32
from ..graph import Graph, Op
from ..quant import integer_matmul, output_stage
from . import Lowering, OpDef
from .common import broadcast_axes, check_second_operand, checked, expect, io, operand_quantization
from .mul import MulParams


@dataclass(frozen=True)
class BatchMatmulAttrs:
    """lhs [..., M, K] (or [..., K, M] with adj_x) times rhs [..., K, N] (or [..., N, K] with adj_y); the
    batch dims (all but the last two) broadcast as TFLite's: aligned right, a dim of 1 broadcasts."""

    adj_x: bool = False
    adj_y: bool = False


# One product of two zero-pointed operands and one requantization, as mul: mcusim_mul_params, whose
# input1/input2 are lhs/rhs here. TFLM's Prepare: real = lhs_scale * rhs_scale / out_scale in double
# from the float32 scales (LiteRT multiplies the scales in float32 first and can differ by one LSB;
# TFLM is the reference here).
BatchMatmulParams = MulParams
MAX_DEPTH = 32767  # K: 255 * 255 * K < 2^31 (the kernel's legal range)


def batch_matmul_s8(lhs: np.ndarray, rhs_t: np.ndarray, p: BatchMatmulParams) -> np.ndarray:
    """lhs int8 [..., M, K], rhs_t int8 [..., N, K] (the right operand transposed), batch dims broadcast
    -> int8 [broadcast batch dims, M, N]."""
    rhs = np.swapaxes(rhs_t.astype(np.int64) + p.input2_offset, -1, -2)
    acc = integer_matmul(lhs.astype(np.int64) + p.input1_offset, rhs)
    return output_stage(acc, np.full(acc.shape[-1], p.output_multiplier), np.full(acc.shape[-1], p.output_shift),
                        p.output_offset, p.act_min, p.act_max, "batch_matmul")


def kernel_dims(lhs_shape, rhs_t_shape) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """The kernel's dims (n, h, w, c) of lhs [..., M, K], rhs_t [..., N, K] and the output for one call.
    The batch dims are collapsed (broadcast_axes: axes of 1 dropped, neighbours broadcasting alike
    merged); an innermost batch axis that only lhs has (the rhs shared by consecutive lhs matrices)
    joins lhs's rows, since those matrices and their products lie end to end. At most two axes may
    remain: the kernel's n and h, in which each operand has the output's size or 1 (read again for
    every output batch). ValueError where the batch dims do not broadcast or need more axes."""
    (m, k), n = lhs_shape[-2:], rhs_t_shape[-2]
    batch = np.broadcast_shapes(tuple(lhs_shape[:-2]), tuple(rhs_t_shape[:-2]))
    axes = broadcast_axes(lhs_shape[:-2], rhs_t_shape[:-2], batch)
    if axes and not axes[-1][2]:
        m *= axes.pop()[0]
    if len(axes) > 2:
        raise ValueError(f"batch dims {tuple(lhs_shape[:-2])} and {tuple(rhs_t_shape[:-2])} broadcast over "
                         f"{len(axes)} alternating axes; the kernel takes at most 2")
    axes = [(1, True, True)] * (2 - len(axes)) + axes
    return (tuple(s if in_lhs else 1 for s, in_lhs, _ in axes) + (m, k),
            tuple(s if in_rhs else 1 for s, _, in_rhs in axes) + (n, k), tuple(s for s, _, _ in axes) + (m, n))


def batch_matmul_call(lhs_shape, rhs_t_shape, p: BatchMatmulParams, *, a: Arena = IN, b: Arena = IN2,
                      y: Arena = OUT) -> Call:
    """The kernel's one layout: lhs [..., M, K], rhs transposed [..., N, K], batch dims broadcast."""
    lhs_dims, rhs_dims, y_dims = kernel_dims(lhs_shape, rhs_t_shape)
    return binary("batch_matmul", i32(astuple(p)), lhs_dims, a, rhs_dims, b, y_dims, y)


def _matrices(shape, adjoint: bool) -> tuple[int, int]:
    """(rows, columns) of an operand of `shape` as the product reads it (adjoint: transposed)."""
    return (shape[-1], shape[-2]) if adjoint else (shape[-2], shape[-1])


def _validate(graph: Graph, op: Op, where: str) -> None:
    a, b, y = io(graph, op, where, (2,))
    check_second_operand(graph, op, where)
    expect(min(len(a.shape), len(b.shape)) >= 2, where, "operands must have rank >= 2 ([..., rows, columns])")
    (m, k), (k2, n) = _matrices(a.shape, op.attrs.adj_x), _matrices(b.shape, op.attrs.adj_y)
    batch = checked(where, np.broadcast_shapes, a.shape[:-2], b.shape[:-2])
    expect(k == k2 and y.shape == (*batch, m, n), where,
           f"{list(a.shape)} times {list(b.shape)} (adj_x {op.attrs.adj_x}, adj_y {op.attrs.adj_y}) cannot give "
           f"{list(y.shape)}")
    expect(k <= MAX_DEPTH, where, f"K = {k}: at most {MAX_DEPTH}, so that no accumulator leaves int32")
    checked(where, kernel_dims, (*a.shape[:-2], m, k), (*b.shape[:-2], n, k))


def _prepare(graph: Graph, op: Op) -> BatchMatmulParams:
    return BatchMatmulParams.from_quantization(*operand_quantization(graph, op))


def _run(graph: Graph, op: Op, p: BatchMatmulParams, values: dict) -> None:
    lhs, rhs = values[op.inputs[0]], values[op.inputs[1]]
    lhs = np.swapaxes(lhs, -1, -2) if op.attrs.adj_x else lhs
    rhs_t = rhs if op.attrs.adj_y else np.swapaxes(rhs, -1, -2)
    values[op.outputs[0]] = batch_matmul_s8(lhs, rhs_t, p)


def _lower(lowering: Lowering) -> tuple[Call, ...]:
    """The deployment first brings the operands to the kernel's layout (deploy.canonical)."""
    a, b = lowering.tensor(0), lowering.tensor(1)
    return (batch_matmul_call(a.shape, b.shape, lowering.params, a=lowering.operand(a.name),
                              b=lowering.operand(b.name), y=Arena(lowering.op.outputs[0])),)


def _batch_safe(graph: Graph, op: Op) -> bool:
    """Stacked samples stay apart where axis 0 is a batch axis (rank >= 3) that both operands, activations
    (a constant would need copies), have at the output's size."""
    y = graph.tensors[op.outputs[0]].shape
    return len(y) >= 3 and all(t.data is None and len(t.shape) == len(y) and t.shape[0] == y[0]
                               for t in (graph.tensors[n] for n in op.inputs))


OPS = (OpDef("batch_matmul", BatchMatmulAttrs, _validate, _run, _prepare, _lower, ("batch_matmul",), _batch_safe),)


BMM_ROWS = 32  # batch_matmul_s8.c's MCUSIM_BMM_ROWS
SCRATCH = {"batch_matmul": lambda call: 4 * BMM_ROWS}  # the lhs rows' shares
