"""add, int8 elementwise with TFLite's rescaling and broadcasting: the numpy reference and the call of
its C twin runtime_c/src/add_s8.c. Formula: docs/numerics.md#add. sub and squared_difference share
its input stage (rescaled).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..blob import IN, IN2, OUT, Arena, Call
from ..quant import multiply_by_quantized_multiplier, quantize_multiplier, wrap_int32
from .common import elementwise_call, elementwise_op, rescaling

LEFT_SHIFT = 20  # TFLite's headroom for int8 add and sub


@dataclass(frozen=True)
class AddParams:
    """mcusim_add_params, field for field (also sub's and squared_difference's)."""

    input1_offset: int
    input2_offset: int
    output_offset: int
    left_shift: int
    input1_multiplier: int
    input1_shift: int
    input2_multiplier: int
    input2_shift: int
    output_multiplier: int
    output_shift: int
    act_min: int = -128
    act_max: int = 127

    @classmethod
    def from_quantization(cls, scale1: float, zp1: int, scale2: float, zp2: int, scale_out: float, zp_out: int,
                          act_min: int = -128, act_max: int = 127) -> "AddParams":
        """TFLite's Prepare for int8 ADD (float32 scales widened to double)."""
        s1, s2, so = (float(np.float32(s)) for s in (scale1, scale2, scale_out))
        twice_max = 2 * max(s1, s2)
        return cls.from_ratios(scale_out, s1 / twice_max, s2 / twice_max, twice_max / ((1 << LEFT_SHIFT) * so),
                               zp1, zp2, zp_out, act_min, act_max)

    @classmethod
    def from_ratios(cls, scale_out: float, real1: float, real2: float, real_out: float, zp1: int, zp2: int,
                    zp_out: int, act_min: int, act_max: int) -> "AddParams":
        """The parameters from the three real multipliers (each below 1: QuantizeMultiplierSmallerThanOneExp)."""
        if real_out >= 1:
            raise ValueError(f"output scale {scale_out} is too small for the inputs' scales")
        m1, m2, mo = (quantize_multiplier(r) for r in (real1, real2, real_out))
        return cls(-zp1, -zp2, zp_out, LEFT_SHIFT, *m1, *m2, *mo, act_min, act_max)


def rescaled(a: np.ndarray, b: np.ndarray, p: AddParams) -> tuple[np.ndarray, np.ndarray]:
    """The input stage of add, sub and squared_difference: v_i = MBQM((x_i + offset_i) << left_shift,
    multiplier_i, shift_i), int64 arrays of a's and b's shapes."""
    return tuple(multiply_by_quantized_multiplier((x.astype(np.int64) + offset) << p.left_shift, m, s)
                 for x, offset, m, s in ((a, p.input1_offset, p.input1_multiplier, p.input1_shift),
                                         (b, p.input2_offset, p.input2_multiplier, p.input2_shift)))


def finish(raw: np.ndarray, p: AddParams) -> np.ndarray:
    """The output stage of add and sub: raw (wrapping as int32) requantized, offset, clamped, int8."""
    out = multiply_by_quantized_multiplier(wrap_int32(raw), p.output_multiplier, p.output_shift)
    return np.clip(wrap_int32(out + p.output_offset), p.act_min, p.act_max).astype(np.int8)


def add_s8(a: np.ndarray, b: np.ndarray, p: AddParams) -> np.ndarray:
    """a, b int8 whose shapes broadcast -> int8 of the broadcast shape."""
    v1, v2 = rescaled(a, b, p)
    return finish(v1 + v2, p)


def add_call(a_shape, b_shape, p: AddParams, *, a: Arena = IN, b: Arena = IN2, y: Arena = OUT) -> Call:
    return elementwise_call("add", a_shape, b_shape, p, a=a, b=b, y=y)


OPS = (elementwise_op("add", rescaling(AddParams), add_s8, add_call),)
