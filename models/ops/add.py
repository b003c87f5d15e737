"""add, int8 elementwise with TFLite's rescaling: the numpy reference and the call of its C twin
runtime_c/src/add_s8.c. Formula: docs/numerics.md#add.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..blob import IN, IN2, OUT, Arena, Call
from ..quant import multiply_by_quantized_multiplier, quantize_multiplier, wrap_int32
from .common import elementwise_call, elementwise_op

LEFT_SHIFT = 20  # TFLite's headroom for int8 add


@dataclass(frozen=True)
class AddParams:
    """mcusim_add_params, field for field."""

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
        output_real = twice_max / ((1 << LEFT_SHIFT) * so)
        if output_real >= 1:
            raise ValueError(f"add output scale {scale_out} is too small for inputs of scale {max(s1, s2)}")
        m1, m2, mo = (quantize_multiplier(r) for r in (s1 / twice_max, s2 / twice_max, output_real))
        return cls(-zp1, -zp2, zp_out, LEFT_SHIFT, *m1, *m2, *mo, act_min, act_max)


def add_s8(a: np.ndarray, b: np.ndarray, p: AddParams) -> np.ndarray:
    """a, b int8 of one shape -> int8 of that shape."""
    scaled = [multiply_by_quantized_multiplier((x.astype(np.int64) + offset) << p.left_shift, m, s)
              for x, offset, m, s in ((a, p.input1_offset, p.input1_multiplier, p.input1_shift),
                                      (b, p.input2_offset, p.input2_multiplier, p.input2_shift))]
    out = multiply_by_quantized_multiplier(wrap_int32(scaled[0] + scaled[1]), p.output_multiplier, p.output_shift)
    return np.clip(wrap_int32(out + p.output_offset), p.act_min, p.act_max).astype(np.int8)


def add_call(shape, p: AddParams, *, a: Arena = IN, b: Arena = IN2, y: Arena = OUT) -> Call:
    """a and b of one shape."""
    return elementwise_call("add", shape, p, a=a, b=b, y=y)


OPS = (elementwise_op("add", AddParams, add_s8, add_call),)
