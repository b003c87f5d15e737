"""fully_connected, int8: the numpy reference (the specification) and the call of its C twin
runtime_c/src/fully_connected_s8.c. Formula: docs/numerics.md#fully_connected.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np

from ..kernels import call_weighted
from ..quant import output_stage

C_FUNCTION = "mcusim_fully_connected_s8"


@dataclass(frozen=True)
class FullyConnectedParams:
    """Quantization of one fully connected layer (mcusim_fc_params + per-channel requantization)."""

    input_offset: int   # -input zero point, [-127, 128]
    output_offset: int  # output zero point, [-128, 127]
    multiplier: np.ndarray  # int32 [O]
    shift: np.ndarray       # int32 [O], [-31, 30]
    act_min: int = -128
    act_max: int = 127


def fully_connected_s8(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, p: FullyConnectedParams) -> np.ndarray:
    """x int8 [B, K], w int8 [O, K], bias int32 [O] or None -> int8 [B, O]."""
    acc = (x.astype(np.int64) + p.input_offset) @ w.astype(np.int64).T  # [B, O], exact in int64
    if bias is not None:
        acc += bias.astype(np.int64)
    return output_stage(acc, p.multiplier, p.shift, p.output_offset, p.act_min, p.act_max, "fully_connected")


def fully_connected_c(kernels, x: np.ndarray, w: np.ndarray, bias: np.ndarray | None,
                      p: FullyConnectedParams) -> np.ndarray:
    """The C kernel on `kernels` (models.kernels.HostKernels or EmulatedKernels)."""
    (batches, depth), (channels, filter_depth) = x.shape, w.shape
    out = call_weighted(kernels, C_FUNCTION, [p.input_offset, p.output_offset, p.act_min, p.act_max],
                        p.multiplier, p.shift, x, (batches, 1, 1, depth), w, (channels, 1, 1, filter_depth), bias,
                        (batches, 1, 1, channels))
    return out.reshape(batches, channels)


def fully_connected_inplace_c(kernels, x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, p: FullyConnectedParams,
                              accesses: list | None = None) -> np.ndarray:
    """The token-overwriting kernel (fully_connected_inplace_s8.c): x is placed at the start of one
    buffer of T * max(K, O) bytes, which the kernel turns into the [T, O] output. On emulated kernels,
    a list given as `accesses` receives every load and store the kernel makes in the buffer."""
    (tokens, depth), channels = x.shape, w.shape[0]
    buffer = np.zeros(tokens * max(depth, channels), np.int8)
    buffer[:x.size] = x.reshape(-1)
    with kernels.scratch():
        params = kernels.put(np.array([p.input_offset, p.output_offset, p.act_min, p.act_max], np.int32))
        quant = kernels.put(kernels.pointers([kernels.put(p.multiplier.astype(np.int32)),
                                              kernels.put(p.shift.astype(np.int32))]))
        address = kernels.put(buffer)
        dims = [kernels.put(np.array(d, np.int32)) for d in ((tokens, 1, 1, depth), (channels, 1, 1, depth),
                                                              (tokens, 1, 1, channels))]
        b = kernels.put(bias.astype(np.int32)) if bias is not None else 0
        watching = kernels.emulator.watch(address, buffer.size) if accesses is not None else contextlib.nullcontext([])
        with watching as seen:
            status = kernels.call("mcusim_fully_connected_inplace_s8", params, quant, dims[0], address, dims[1],
                                  kernels.put(w.astype(np.int8)), b, dims[2], address)
        if accesses is not None:
            accesses.extend(seen)
        if status != 0:
            raise ValueError(f"mcusim_fully_connected_inplace_s8 returned status {status}")
        return kernels.read(address, np.int8, (tokens, channels))
