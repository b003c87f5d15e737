"""avg_pool2d and max_pool2d, int8 NHWC: the numpy references (the specification) and the calls of
their C twins runtime_c/src/avg_pool2d_s8.c and max_pool2d_s8.c. Formulas: docs/numerics.md#pool2d.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..kernels import call_unary
from .conv2d import windows


@dataclass(frozen=True)
class Pool2DParams:
    """Window geometry of a pooling op (mcusim_pool_params); out_h x out_w is the output's size."""

    filter: tuple[int, int]
    out_h: int
    out_w: int
    stride: tuple[int, int] = (1, 1)
    pad: tuple[int, int] = (0, 0)
    act_min: int = -128
    act_max: int = 127

    def windows(self, x: np.ndarray, fill: int):
        return windows(x, (self.out_h, self.out_w), self.filter, self.stride, self.pad, (1, 1), fill)

    def c_params(self) -> list[int]:
        return [*self.stride, *self.pad, *self.filter, self.act_min, self.act_max]


def _check_windows(count: np.ndarray) -> None:
    if (count == 0).any():
        raise ValueError("a pooling window lies wholly in the padding: outside the kernel's legal range")


def avg_pool2d_s8(x: np.ndarray, p: Pool2DParams) -> np.ndarray:
    """x int8 [N, H, W, C] -> int8 [N, out_h, out_w, C]: the mean of the taps inside the input,
    rounded half away from zero (as TFLite: the padding is not averaged in)."""
    total = sum(window for _, _, window in p.windows(x.astype(np.int64), 0))
    count = sum(window for _, _, window in p.windows(np.ones((1, *x.shape[1:3], 1), np.int64), 0))
    _check_windows(count)
    half = count // 2
    mean = np.where(total > 0, (total + half) // count, -((half - total) // count))  # C division truncates
    return np.clip(mean, p.act_min, p.act_max).astype(np.int8)


def max_pool2d_s8(x: np.ndarray, p: Pool2DParams) -> np.ndarray:
    """x int8 [N, H, W, C] -> int8 [N, out_h, out_w, C]: the largest tap inside the input."""
    count = sum(window for _, _, window in p.windows(np.ones((1, *x.shape[1:3], 1), np.int64), 0))
    _check_windows(count)
    best = np.maximum.reduce([window for _, _, window in p.windows(x.astype(np.int64), -(1 << 16))])
    return np.clip(best, p.act_min, p.act_max).astype(np.int8)


def avg_pool2d_c(kernels, x: np.ndarray, p: Pool2DParams) -> np.ndarray:
    return call_unary(kernels, "mcusim_avg_pool2d_s8", p.c_params(), x, (x.shape[0], p.out_h, p.out_w, x.shape[3]))


def max_pool2d_c(kernels, x: np.ndarray, p: Pool2DParams) -> np.ndarray:
    return call_unary(kernels, "mcusim_max_pool2d_s8", p.c_params(), x, (x.shape[0], p.out_h, p.out_w, x.shape[3]))
