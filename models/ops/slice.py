"""slice, int8 (a box of the input, stride 1: TFLite SLICE and unit-stride STRIDED_SLICE, as for a
ViT's class token): the numpy reference and the call of its C twin runtime_c/src/slice_s8.c.
Formula: docs/numerics.md#data-movement.
"""
from __future__ import annotations

import numpy as np

from ..kernels import call_unary, nhwc


def slice_s8(x: np.ndarray, begin: tuple[int, ...], size: tuple[int, ...]) -> np.ndarray:
    """out[i] = x[begin + i] for i < size, axis by axis."""
    return np.ascontiguousarray(x[tuple(slice(b, b + s) for b, s in zip(begin, size))])


def slice_c(kernels, x: np.ndarray, begin: tuple[int, ...], size: tuple[int, ...]) -> np.ndarray:
    begin4 = [0] * (4 - x.ndim) + list(begin)
    return call_unary(kernels, "mcusim_slice_s8", begin4, x.reshape(nhwc(x.shape)), nhwc(size)).reshape(size)
