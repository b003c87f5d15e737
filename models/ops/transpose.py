"""transpose, int8 (a permutation of up to four axes): the numpy reference and the call of its C
twin runtime_c/src/transpose_s8.c. Formula: docs/numerics.md#data-movement.
"""
from __future__ import annotations

import numpy as np

from ..kernels import call_unary, nhwc


def transpose_s8(x: np.ndarray, perm: tuple[int, ...]) -> np.ndarray:
    """out.shape[k] = x.shape[perm[k]]; out[i_0, .., i_r] = x[j] with j[perm[k]] = i_k."""
    return np.ascontiguousarray(np.transpose(x, perm))


def transpose_c(kernels, x: np.ndarray, perm: tuple[int, ...]) -> np.ndarray:
    lead = 4 - x.ndim
    perm4 = [*range(lead), *(p + lead for p in perm)]
    out_shape = tuple(x.shape[p] for p in perm)
    return call_unary(kernels, "mcusim_transpose_s8", perm4, x.reshape(nhwc(x.shape)),
                      nhwc(out_shape)).reshape(out_shape)
