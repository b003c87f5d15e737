"""batch_matmul, int8 with both operands' zero points: the numpy reference and the call of its C twin
runtime_c/src/batch_matmul_s8.c. Formula: docs/numerics.md#batch_matmul.
"""
from __future__ import annotations

from dataclasses import astuple

import numpy as np

from ..kernels import call_binary_shaped
from ..quant import integer_matmul, output_stage
from .mul import MulParams


# One product of two zero-pointed operands and one requantization, as mul: mcusim_mul_params, whose
# input1/input2 are lhs/rhs here. TFLM's Prepare: real = lhs_scale * rhs_scale / out_scale in double
# from the float32 scales (LiteRT multiplies the scales in float32 first and can differ by one LSB;
# TFLM is the reference here).
BatchMatmulParams = MulParams


def batch_matmul_s8(lhs: np.ndarray, rhs_t: np.ndarray, p: BatchMatmulParams) -> np.ndarray:
    """lhs int8 [B, M, K], rhs_t int8 [B, N, K] (the right operand transposed) -> int8 [B, M, N]."""
    acc = integer_matmul(lhs.astype(np.int64) + p.input1_offset, np.swapaxes(rhs_t.astype(np.int64) + p.input2_offset, 1, 2))
    return output_stage(acc, np.full(acc.shape[-1], p.output_multiplier), np.full(acc.shape[-1], p.output_shift),
                        p.output_offset, p.act_min, p.act_max, "batch_matmul")


def batch_matmul_c(kernels, lhs: np.ndarray, rhs_t: np.ndarray, p: BatchMatmulParams) -> np.ndarray:
    (b, m, k), n = lhs.shape, rhs_t.shape[1]
    return call_binary_shaped(kernels, "mcusim_batch_matmul_s8", list(astuple(p)), lhs, (b, 1, m, k), rhs_t,
                              (b, 1, n, k), (b, 1, m, n)).reshape(b, m, n)
