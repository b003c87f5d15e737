"""quantize (float32 -> int8) and dequantize (int8 -> float32) at a graph's edges, as TFLite: the
numpy references and the calls of their C twins runtime_c/src/quantize_s8.c and dequantize_s8.c.
Formulas: docs/numerics.md#quantize-and-dequantize.
"""
from __future__ import annotations

import numpy as np

from ..quant import round_half_away_array


def quantize_s8(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """TFLite AffineQuantize: round(x / scale) in float32, halves away from zero, + zero point, clamped.
    Where x / scale overflows int32 TFLite's conversion is undefined; here (and in C) it saturates."""
    with np.errstate(over="ignore", invalid="ignore"):  # huge quotients saturate below
        quotient = np.asarray(x, np.float32) / np.float32(scale)
        rounded = np.clip(round_half_away_array(quotient), -256, 255)  # as the C, before converting to int32
    return np.clip(rounded.astype(np.int64) + zero_point, -128, 127).astype(np.int8)


def dequantize_s8(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """TFLite Dequantize: (float)(double(scale) * (q - zero_point))."""
    return (float(np.float32(scale)) * (q.astype(np.float64) - zero_point)).astype(np.float32)


def _params(kernels, scale: float, zero_point: int) -> int:
    record = np.array([(scale, zero_point)], dtype=[("scale", "<f4"), ("zero_point", "<i4")])
    return kernels.put(record)


def _call(kernels, function: str, scale: float, zero_point: int, x: np.ndarray, out_dtype) -> np.ndarray:
    with kernels.scratch():
        dims = kernels.put(np.array((1, 1, 1, x.size), np.int32))
        out = kernels.alloc(x.size * np.dtype(out_dtype).itemsize)
        status = kernels.call(function, _params(kernels, scale, zero_point), dims, kernels.put(x), dims, out)
        if status != 0:
            raise ValueError(f"{function} returned status {status}")
        return kernels.read(out, out_dtype, x.shape)


def quantize_c(kernels, x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    return _call(kernels, "mcusim_quantize_s8", scale, zero_point, np.asarray(x, np.float32), np.int8)


def dequantize_c(kernels, q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    return _call(kernels, "mcusim_dequantize_s8", scale, zero_point, np.asarray(q, np.int8), np.float32)
