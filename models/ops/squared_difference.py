"""squared_difference, int8 (a - b)^2 with TFLM's rescaling and broadcasting: the numpy reference and
the call of its C twin runtime_c/src/squared_difference_s8.c. Formula:
docs/numerics.md#squared_difference. Add's input stage at a left shift of 7; the output multiplier
may exceed 1.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..blob import IN, IN2, OUT, Arena, Call
from ..quant import multiply_by_quantized_multiplier, quantize_multiplier, wrap_int32
from .add import AddParams, rescaled
from .common import BinaryAttrs, elementwise_call, elementwise_op, rescaling

LEFT_SHIFT = 7  # TFLM's for int8: 255^2 * 2^14 fits int32


@dataclass(frozen=True)
class SquaredDifferenceParams(AddParams):
    """mcusim_add_params, field for field (act_min, act_max: the int8 range)."""

    @classmethod
    def from_quantization(cls, scale1: float, zp1: int, scale2: float, zp2: int, scale_out: float, zp_out: int,
                          act_min: int = -128, act_max: int = 127) -> "SquaredDifferenceParams":
        """TFLM's PrepareQuantized: ratios in double from the float32 scales; 2^14 * scale_out in float32."""
        s1, s2 = float(np.float32(scale1)), float(np.float32(scale2))
        twice_max = 2.0 * max(s1, s2)
        real_out = twice_max * twice_max / float(np.float32(1 << 2 * LEFT_SHIFT) * np.float32(scale_out))
        m1, m2, mo = (quantize_multiplier(r) for r in (s1 / twice_max, s2 / twice_max, real_out))
        return cls(-zp1, -zp2, zp_out, LEFT_SHIFT, *m1, *m2, *mo, act_min, act_max)


def squared_difference_s8(a: np.ndarray, b: np.ndarray, p: AddParams) -> np.ndarray:
    """(a - b)^2, int8 whose shapes broadcast -> int8 of the broadcast shape. The square wraps as int32
    (it fits where the input multipliers are at most 0.5, as Prepare makes them)."""
    v1, v2 = rescaled(a, b, p)
    d = wrap_int32(v1 - v2)
    out = multiply_by_quantized_multiplier(wrap_int32(d * d), p.output_multiplier, p.output_shift)
    return np.clip(wrap_int32(out + p.output_offset), p.act_min, p.act_max).astype(np.int8)


def squared_difference_call(a_shape, b_shape, p: AddParams, *, a: Arena = IN, b: Arena = IN2,
                            y: Arena = OUT) -> Call:
    return elementwise_call("squared_difference", a_shape, b_shape, p, a=a, b=b, y=y)


OPS = (elementwise_op("squared_difference", rescaling(SquaredDifferenceParams), squared_difference_s8,
                      squared_difference_call, BinaryAttrs),)
