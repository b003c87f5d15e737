"""conv2d on block run-length encoded weights (models/sparse.py): the reference is the dense op on the
decoded filter; the C twin, runtime_c/src/sparse_conv2d_s8.c, computes on the stream. Formula:
docs/numerics.md#sparse-weights.
"""
from __future__ import annotations

import numpy as np

from ..kernels import call_weighted
from ..sparse import SparseWeights, decode_filter
from .conv2d import Conv2DParams, conv2d_s8

C_FUNCTION = "mcusim_sparse_conv2d_s8"
KIND = "conv2d"


def sparse_conv2d_s8(x: np.ndarray, w: SparseWeights, shape: tuple[int, ...], bias: np.ndarray | None,
                     p: Conv2DParams) -> np.ndarray:
    """x int8 [N, H, W, C], w the stream of a filter of `shape` [O, KH, KW, C] -> int8 [N, out_h, out_w, O]."""
    return conv2d_s8(x, decode_filter(KIND, w, shape), bias, p)


def sparse_conv2d_c(kernels, x: np.ndarray, w: SparseWeights, shape: tuple[int, ...], bias: np.ndarray | None,
                    p: Conv2DParams) -> np.ndarray:
    """The C kernel on `kernels` (models.kernels.HostKernels or EmulatedKernels)."""
    return call_weighted(kernels, C_FUNCTION, [*p.c_params(), w.block, w.blocks], p.multiplier, p.shift, x, x.shape,
                         w.array, shape, bias, (x.shape[0], p.out_h, p.out_w, shape[0]))
