"""sub, int8 elementwise with TFLite's rescaling and broadcasting: the numpy reference and the call of
its C twin runtime_c/src/sub_s8.c. Formula: docs/numerics.md#sub. Add's input and output stages with
the rescaled inputs subtracted; TFLM derives the ratios in float32 (add: double).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..blob import IN, IN2, OUT, Arena, Call
from .add import LEFT_SHIFT, AddParams, finish, rescaled
from .common import elementwise_call, elementwise_op, rescaling


@dataclass(frozen=True)
class SubParams(AddParams):
    """mcusim_add_params, field for field."""

    @classmethod
    def from_quantization(cls, scale1: float, zp1: int, scale2: float, zp2: int, scale_out: float, zp_out: int,
                          act_min: int = -128, act_max: int = 127) -> "SubParams":
        """TFLM's CalculateOpDataSub: the three ratios divided in float32, then widened to double."""
        s1, s2, so = (np.float32(s) for s in (scale1, scale2, scale_out))
        twice_max = np.float32(2) * max(s1, s2)
        return cls.from_ratios(scale_out, float(s1 / twice_max), float(s2 / twice_max),
                               float(twice_max / (np.float32(1 << LEFT_SHIFT) * so)), zp1, zp2, zp_out, act_min,
                               act_max)


def sub_s8(a: np.ndarray, b: np.ndarray, p: AddParams) -> np.ndarray:
    """a - b, int8 whose shapes broadcast -> int8 of the broadcast shape."""
    v1, v2 = rescaled(a, b, p)
    return finish(v1 - v2, p)


def sub_call(a_shape, b_shape, p: AddParams, *, a: Arena = IN, b: Arena = IN2, y: Arena = OUT) -> Call:
    return elementwise_call("sub", a_shape, b_shape, p, a=a, b=b, y=y)


OPS = (elementwise_op("sub", rescaling(SubParams), sub_s8, sub_call),)
