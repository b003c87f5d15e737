"""concatenation along one axis, int8, inputs and output sharing one scale and zero point (as TFLM):
the numpy reference and the calls of its C twin runtime_c/src/concatenation_s8.c, which copies one
input into its slab of the output, so that k inputs are k calls and no array of pointers is needed.
Formula: docs/numerics.md#data-movement.
"""
from __future__ import annotations

import numpy as np

from ..kernels import nhwc


def concatenation_s8(xs: list[np.ndarray], axis: int) -> np.ndarray:
    return np.concatenate(xs, axis=axis)


def concatenation_c(kernels, xs: list[np.ndarray], axis: int) -> np.ndarray:
    """One call per input, each at its offset along the axis, into one output buffer."""
    out_shape = np.concatenate([np.zeros_like(x) for x in xs], axis=axis).shape
    axis4 = axis % len(out_shape) + 4 - len(out_shape)
    with kernels.scratch():
        out = kernels.alloc(int(np.prod(out_shape)))
        out_dims = kernels.put(np.array(nhwc(out_shape), np.int32))
        offset = 0
        for x in xs:
            params = kernels.put(np.array([axis4, offset], np.int32))
            status = kernels.call("mcusim_concatenation_s8", params, kernels.put(np.array(nhwc(x.shape), np.int32)),
                                  kernels.put(x.astype(np.int8)), out_dims, out)
            if status != 0:
                raise ValueError(f"mcusim_concatenation_s8 returned status {status}")
            offset += x.shape[axis]
        return kernels.read(out, np.int8, out_shape)
