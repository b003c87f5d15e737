"""depthwise_conv2d on block run-length encoded weights (models/sparse.py): the reference is the dense
op on the decoded filter; the C twin, runtime_c/src/sparse_depthwise_conv2d_s8.c, computes on the
stream. The deployment chooses it for a depthwise_conv2d op (depthwise_conv2d.py). Formula:
docs/numerics.md#sparse-weights.
"""
from __future__ import annotations

import numpy as np

from ..blob import IN, OUT, Arena, Call, Const, const, weighted
from ..sparse import SparseWeights, decode_filter
from .depthwise_conv2d import DepthwiseConv2DParams, depthwise_conv2d_s8


def sparse_depthwise_conv2d_s8(x: np.ndarray, w: SparseWeights, shape: tuple[int, ...], bias: np.ndarray | None,
                               p: DepthwiseConv2DParams) -> np.ndarray:
    """x int8 [N, H, W, C], w the stream of a filter of `shape` [1, KH, KW, C*M] -> int8 [N, out_h, out_w, C*M]."""
    return depthwise_conv2d_s8(x, decode_filter("depthwise_conv2d", w, shape), bias, p)


def sparse_depthwise_conv2d_call(x_shape, w: SparseWeights, shape: tuple[int, ...], bias: np.ndarray | None,
                                 p: DepthwiseConv2DParams, *, x: Arena = IN, y: Arena = OUT) -> Call:
    return weighted("sparse_depthwise_conv2d", [*p.c_params(), w.block, w.blocks], p, x_shape, x, shape,
                    Const(w.stream), const(bias), (x_shape[0], p.out_h, p.out_w, shape[3]), y)


# the window's column: C x KH x KW
SCRATCH = {"sparse_depthwise_conv2d": lambda call: call.words(2)[3] * call.words(4)[1] * call.words(4)[2]}
