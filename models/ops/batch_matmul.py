"""batch_matmul, int8 with both operands' zero points: the numpy reference and the call of its C twin
runtime_c/src/batch_matmul_s8.c. Formula: docs/numerics.md#batch_matmul.
"""
from __future__ import annotations

from dataclasses import astuple, dataclass

import numpy as np

from ..kernels import call_binary_shaped
from ..quant import output_stage, quantize_multiplier


@dataclass(frozen=True)
class BatchMatmulParams:
    """mcusim_bmm_params, field for field."""

    lhs_offset: int
    rhs_offset: int
    output_offset: int
    output_multiplier: int
    output_shift: int
    act_min: int = -128
    act_max: int = 127

    @classmethod
    def from_quantization(cls, lhs_scale: float, lhs_zp: int, rhs_scale: float, rhs_zp: int, out_scale: float,
                          out_zp: int, act_min: int = -128, act_max: int = 127) -> "BatchMatmulParams":
        """TFLM's Prepare: real = lhs_scale * rhs_scale / out_scale in double (LiteRT multiplies the
        scales in float32 first and can differ by one LSB; TFLM is the reference here)."""
        s1, s2, so = (float(np.float32(s)) for s in (lhs_scale, rhs_scale, out_scale))
        return cls(-lhs_zp, -rhs_zp, out_zp, *quantize_multiplier(s1 * s2 / so), act_min, act_max)


def batch_matmul_s8(lhs: np.ndarray, rhs_t: np.ndarray, p: BatchMatmulParams) -> np.ndarray:
    """lhs int8 [B, M, K], rhs_t int8 [B, N, K] (the right operand transposed) -> int8 [B, M, N]."""
    acc = (lhs.astype(np.int64) + p.lhs_offset) @ np.swapaxes(rhs_t.astype(np.int64) + p.rhs_offset, 1, 2)
    return output_stage(acc, np.full(acc.shape[-1], p.output_multiplier), np.full(acc.shape[-1], p.output_shift),
                        p.output_offset, p.act_min, p.act_max, "batch_matmul")


def batch_matmul_c(kernels, lhs: np.ndarray, rhs_t: np.ndarray, p: BatchMatmulParams) -> np.ndarray:
    (b, m, k), n = lhs.shape, rhs_t.shape[1]
    return call_binary_shaped(kernels, "mcusim_batch_matmul_s8", list(astuple(p)), lhs, (b, 1, m, k), rhs_t,
                              (b, 1, n, k), (b, 1, m, n)).reshape(b, m, n)
