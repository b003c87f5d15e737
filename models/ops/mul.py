"""mul, int8 elementwise with broadcasting: the numpy reference and the call of its C twin runtime_c/src/mul_s8.c.
Formula: docs/numerics.md#mul.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..blob import IN, IN2, OUT, Arena, Call
from ..quant import multiply_by_quantized_multiplier, quantize_multiplier, wrap_int32
from .common import elementwise_call, elementwise_op, rescaling


@dataclass(frozen=True)
class MulParams:
    """mcusim_mul_params, field for field."""

    input1_offset: int
    input2_offset: int
    output_offset: int
    output_multiplier: int
    output_shift: int
    act_min: int = -128
    act_max: int = 127

    @classmethod
    def from_quantization(cls, scale1: float, zp1: int, scale2: float, zp2: int, scale_out: float, zp_out: int,
                          act_min: int = -128, act_max: int = 127) -> "MulParams":
        """TFLite's Prepare for int8 MUL: real = s1 * s2 / s_out (float32 scales widened to double)."""
        s1, s2, so = (float(np.float32(s)) for s in (scale1, scale2, scale_out))
        return cls(-zp1, -zp2, zp_out, *quantize_multiplier(s1 * s2 / so), act_min, act_max)


def mul_s8(a: np.ndarray, b: np.ndarray, p: MulParams) -> np.ndarray:
    """a, b int8 whose shapes broadcast -> int8 of the broadcast shape."""
    product = (a.astype(np.int64) + p.input1_offset) * (b.astype(np.int64) + p.input2_offset)
    out = multiply_by_quantized_multiplier(product, p.output_multiplier, p.output_shift)
    return np.clip(wrap_int32(out + p.output_offset), p.act_min, p.act_max).astype(np.int8)


def mul_call(a_shape, b_shape, p: MulParams, *, a: Arena = IN, b: Arena = IN2, y: Arena = OUT) -> Call:
    return elementwise_call("mul", a_shape, b_shape, p, a=a, b=b, y=y)


OPS = (elementwise_op("mul", rescaling(MulParams), mul_s8, mul_call),)
