"""fully_connected, int8: the numpy reference (the specification) and the call of its C twin
runtime_c/src/fully_connected_s8.c. Formula: docs/numerics.md#fully_connected.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..kernels import call_weighted
from ..quant import integer_matmul, output_stage

C_FUNCTION = "mcusim_fully_connected_s8"
C_FUNCTION_INPLACE = "mcusim_fully_connected_inplace_s8"


@dataclass(frozen=True)
class FullyConnectedParams:
    """Quantization of one fully connected layer (mcusim_fc_params + per-channel requantization)."""

    input_offset: int   # -input zero point, [-127, 128]
    output_offset: int  # output zero point, [-128, 127]
    multiplier: np.ndarray  # int32 [O]
    shift: np.ndarray       # int32 [O], [-31, 30]
    act_min: int = -128
    act_max: int = 127

    def c_params(self) -> list[int]:
        """mcusim_fc_params."""
        return [self.input_offset, self.output_offset, self.act_min, self.act_max]


def fully_connected_s8(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, p: FullyConnectedParams) -> np.ndarray:
    """x int8 [B, K], w int8 [O, K], bias int32 [O] or None -> int8 [B, O]."""
    acc = integer_matmul(x.astype(np.int64) + p.input_offset, w.T)  # [B, O]
    if bias is not None:
        acc += bias.astype(np.int64)
    return output_stage(acc, p.multiplier, p.shift, p.output_offset, p.act_min, p.act_max, "fully_connected")


def fully_connected_c(kernels, x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, p: FullyConnectedParams, *,
                      in_place: bool = False, accesses: list | None = None) -> np.ndarray:
    """The C kernel on `kernels` (models.kernels.HostKernels or EmulatedKernels). in_place: the
    token-overwriting kernel (fully_connected_inplace_s8.c), whose one buffer of T * max(K, O) bytes
    holds x and then the output. accesses: see models.kernels.call_weighted."""
    (batches, depth), (channels, filter_depth) = x.shape, w.shape
    out = call_weighted(kernels, C_FUNCTION_INPLACE if in_place else C_FUNCTION,
                        p.c_params(), p.multiplier, p.shift, x,
                        (batches, 1, 1, depth), w, (channels, 1, 1, filter_depth), bias, (batches, 1, 1, channels),
                        in_place=in_place, accesses=accesses)
    return out.reshape(batches, channels)
