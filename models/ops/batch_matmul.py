"""batch_matmul, int8 with both operands' zero points: the numpy reference and the call of its C twin
runtime_c/src/batch_matmul_s8.c. Formula: docs/numerics.md#batch_matmul.
"""
from __future__ import annotations

from dataclasses import astuple, dataclass

import numpy as np

from ..blob import IN, IN2, OUT, Arena, Call, binary, i32
from ..graph import Graph, Op
from ..quant import integer_matmul, output_stage
from . import Lowering, OpDef
from .common import check_second_operand, expect, io, operand_quantization
from .mul import MulParams


@dataclass(frozen=True)
class BatchMatmulAttrs:
    """lhs [B, M, K] (or [B, K, M] with adj_x) times rhs [B, K, N] (or [B, N, K] with adj_y)."""

    adj_x: bool = False
    adj_y: bool = False


# One product of two zero-pointed operands and one requantization, as mul: mcusim_mul_params, whose
# input1/input2 are lhs/rhs here. TFLM's Prepare: real = lhs_scale * rhs_scale / out_scale in double
# from the float32 scales (LiteRT multiplies the scales in float32 first and can differ by one LSB;
# TFLM is the reference here).
BatchMatmulParams = MulParams
MAX_DEPTH = 32767  # K: 255 * 255 * K < 2^31 (the kernel's legal range)


def batch_matmul_s8(lhs: np.ndarray, rhs_t: np.ndarray, p: BatchMatmulParams) -> np.ndarray:
    """lhs int8 [B, M, K], rhs_t int8 [B, N, K] (the right operand transposed) -> int8 [B, M, N]."""
    acc = integer_matmul(lhs.astype(np.int64) + p.input1_offset, np.swapaxes(rhs_t.astype(np.int64) + p.input2_offset, 1, 2))
    return output_stage(acc, np.full(acc.shape[-1], p.output_multiplier), np.full(acc.shape[-1], p.output_shift),
                        p.output_offset, p.act_min, p.act_max, "batch_matmul")


def batch_matmul_call(lhs_shape, rhs_t_shape, p: BatchMatmulParams, *, a: Arena = IN, b: Arena = IN2,
                      y: Arena = OUT) -> Call:
    """The kernel's one layout: lhs [B, M, K], rhs transposed [B, N, K]."""
    (batches, m, k), n = lhs_shape, rhs_t_shape[1]
    return binary("batch_matmul", i32(astuple(p)), (batches, 1, m, k), a, (batches, 1, n, k), b, (batches, 1, m, n), y)


def _validate(graph: Graph, op: Op, where: str) -> None:
    a, b, y = io(graph, op, where, (2,))
    check_second_operand(graph, op, where)
    expect(len(a.shape) == len(b.shape) == len(y.shape) == 3 and a.shape[0] == b.shape[0] == y.shape[0], where,
           "operands and output must be 3-D with one batch size (broadcasting is not supported)")
    m, k = a.shape[2:0:-1] if op.attrs.adj_x else a.shape[1:]
    k2, n = b.shape[2:0:-1] if op.attrs.adj_y else b.shape[1:]
    expect(k == k2 and y.shape[1:] == (m, n), where, f"[{m}x{k}] times [{k2}x{n}] cannot give {list(y.shape[1:])}")
    expect(k <= MAX_DEPTH, where, f"K = {k}: at most {MAX_DEPTH}, so that no accumulator leaves int32")


def _prepare(graph: Graph, op: Op) -> BatchMatmulParams:
    return BatchMatmulParams.from_quantization(*operand_quantization(graph, op))


def _run(graph: Graph, op: Op, p: BatchMatmulParams, values: dict) -> None:
    lhs, rhs = values[op.inputs[0]], values[op.inputs[1]]
    lhs = np.swapaxes(lhs, 1, 2) if op.attrs.adj_x else lhs
    rhs_t = rhs if op.attrs.adj_y else np.swapaxes(rhs, 1, 2)
    values[op.outputs[0]] = batch_matmul_s8(np.ascontiguousarray(lhs), np.ascontiguousarray(rhs_t), p)


def _lower(lowering: Lowering) -> tuple[Call, ...]:
    """The deployment first brings the operands to the kernel's layout (deploy.canonical)."""
    a, b = lowering.tensor(0), lowering.tensor(1)
    return (batch_matmul_call(a.shape, b.shape, lowering.params, a=lowering.operand(a.name),
                              b=lowering.operand(b.name), y=Arena(lowering.op.outputs[0])),)


def _batch_safe(graph: Graph, op: Op) -> bool:
    """A constant operand would need copies."""
    return all(graph.tensors[n].data is None for n in op.inputs)


OPS = (OpDef("batch_matmul", BatchMatmulAttrs, _validate, _run, _prepare, _lower, ("batch_matmul",), _batch_safe),)


BMM_ROWS = 32  # batch_matmul_s8.c's MCUSIM_BMM_ROWS
SCRATCH = {"batch_matmul": lambda call: 4 * BMM_ROWS}  # the lhs rows' shares
