"""mean over axes, int8: the numpy reference and the call of its C twin runtime_c/src/mean_s8.c.
Formula: docs/numerics.md#mean.
"""
from __future__ import annotations

from dataclasses import astuple, dataclass

import numpy as np

from ..kernels import call_unary, nhwc
from ..quant import multiply_by_quantized_multiplier, quantize_multiplier


@dataclass(frozen=True)
class MeanParams:
    """mcusim_mean_params, field for field: the multiplier already holds 1 / count."""

    input_offset: int
    output_offset: int
    multiplier: int
    shift: int

    @classmethod
    def from_quantization(cls, input_scale: float, input_zp: int, output_scale: float, output_zp: int,
                          count: int) -> "MeanParams":
        """TFLite's QuantizedMeanOrSum: QuantizeMultiplier(input_scale / output_scale) in double, then
        1 / count folded in: the multiplier shifted left by s = min(floor(log2 count), 32, 31 + shift)
        and divided by count (integer division), the shift lowered by s."""
        multiplier, shift = quantize_multiplier(float(np.float32(input_scale)) / float(np.float32(output_scale)))
        s = min(count.bit_length() - 1, 32, 31 + shift)
        return cls(-input_zp, output_zp, (multiplier << s) // count, shift - s)


def mean_s8(x: np.ndarray, axes: tuple[int, ...], p: MeanParams) -> np.ndarray:
    """x int8 of any rank -> int8 with the reduced axes kept as size 1."""
    total = (x.astype(np.int64) + p.input_offset).sum(axis=tuple(axes), keepdims=True)
    out = multiply_by_quantized_multiplier(total, p.multiplier, p.shift) + p.output_offset
    return np.clip(out, -128, 127).astype(np.int8)


def mean_c(kernels, x: np.ndarray, axes: tuple[int, ...], p: MeanParams) -> np.ndarray:
    """x of rank <= 4; the reduced axes are those where the output dims are 1."""
    out_shape = tuple(1 if a in {a % x.ndim for a in axes} else d for a, d in enumerate(x.shape))
    return call_unary(kernels, "mcusim_mean_s8", list(astuple(p)), x.reshape(nhwc(x.shape)),
                      nhwc(out_shape)).reshape(out_shape)
