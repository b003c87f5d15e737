"""depthwise_conv2d, int8 NHWC: the numpy reference (the specification) and the call of its C twin
runtime_c/src/depthwise_conv2d_s8.c. Formula: docs/numerics.md#depthwise_conv2d.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..kernels import call_weighted
from ..quant import output_stage
from .conv2d import Conv2DParams, taps

C_FUNCTION = "mcusim_depthwise_conv2d_s8"
C_FUNCTION_INPLACE = "mcusim_depthwise_conv2d_inplace_s8"


@dataclass(frozen=True)
class DepthwiseConv2DParams(Conv2DParams):
    depth_multiplier: int = 1

    def c_params(self) -> list[int]:
        """mcusim_dw_conv_params."""
        return [*super().c_params(), self.depth_multiplier]


def depthwise_conv2d_s8(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, p: DepthwiseConv2DParams) -> np.ndarray:
    """x int8 [N, H, W, C], w int8 [1, KH, KW, C*M], bias int32 [C*M] or None -> int8 [N, out_h, out_w, C*M].
    Output channel o reads input channel o // M."""
    _, kh, kw, out_ch = w.shape
    wt = w.astype(np.int64)[0]
    acc = np.zeros((x.shape[0], p.out_h, p.out_w, out_ch), np.int64)
    for ky, kx, window in taps(x, p, kh, kw):
        acc += np.repeat(window, p.depth_multiplier, axis=3) * wt[ky, kx]
    if bias is not None:
        acc += bias.astype(np.int64)
    return output_stage(acc, p.multiplier, p.shift, p.output_offset, p.act_min, p.act_max, "depthwise_conv2d")


def depthwise_conv2d_c(kernels, x: np.ndarray, w: np.ndarray, bias: np.ndarray | None,
                       p: DepthwiseConv2DParams, *, in_place: bool = False, accesses: list | None = None) -> np.ndarray:
    """The C kernel on `kernels` (models.kernels.HostKernels or EmulatedKernels). in_place: the
    in-place kernel (depthwise_conv2d_inplace_s8.c), output over input. accesses: see
    models.kernels.call_weighted."""
    return call_weighted(kernels, C_FUNCTION_INPLACE if in_place else C_FUNCTION, p.c_params(), p.multiplier,
                         p.shift, x, x.shape, w, w.shape, bias, (x.shape[0], p.out_h, p.out_w, w.shape[3]),
                         in_place=in_place, accesses=accesses)
