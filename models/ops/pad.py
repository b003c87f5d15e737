"""pad, int8 (constant padding before and after each axis): the numpy reference and the call of its
C twin runtime_c/src/pad_s8.c. Formula: docs/numerics.md#data-movement.
"""
from __future__ import annotations

import numpy as np

from ..kernels import call_unary, nhwc


def pad_s8(x: np.ndarray, pads: tuple[tuple[int, int], ...], value: int) -> np.ndarray:
    """pads[k] = (before, after) for axis k; value is the int8 fill (TFLite PAD: the zero point)."""
    return np.pad(x, pads, constant_values=value)


def pad_c(kernels, x: np.ndarray, pads: tuple[tuple[int, int], ...], value: int) -> np.ndarray:
    before = [0] * (4 - x.ndim) + [b for b, _ in pads]
    out_shape = tuple(d + b + a for d, (b, a) in zip(x.shape, pads))
    return call_unary(kernels, "mcusim_pad_s8", [*before, value], x.reshape(nhwc(x.shape)),
                      nhwc(out_shape)).reshape(out_shape)
