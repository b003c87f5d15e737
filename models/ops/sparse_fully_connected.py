"""fully_connected on block run-length encoded weights (models/sparse.py): the reference is the dense
op on the decoded filter; the C twin, runtime_c/src/sparse_fully_connected_s8.c, computes on the
stream. Formula: docs/numerics.md#sparse-weights.
"""
from __future__ import annotations

import numpy as np

from ..kernels import call_weighted
from ..sparse import SparseWeights, decode_filter
from .fully_connected import FullyConnectedParams, fully_connected_s8

C_FUNCTION = "mcusim_sparse_fully_connected_s8"
KIND = "fully_connected"


def sparse_fully_connected_s8(x: np.ndarray, w: SparseWeights, bias: np.ndarray | None,
                              p: FullyConnectedParams) -> np.ndarray:
    """x int8 [B, K], w the stream of an [O, K] filter -> int8 [B, O]."""
    return fully_connected_s8(x, decode_filter(KIND, w, (w.rows, w.row_length)), bias, p)


def sparse_fully_connected_c(kernels, x: np.ndarray, w: SparseWeights, bias: np.ndarray | None,
                             p: FullyConnectedParams) -> np.ndarray:
    """The C kernel on `kernels` (models.kernels.HostKernels or EmulatedKernels)."""
    batches, depth = x.shape
    out = call_weighted(kernels, C_FUNCTION, [*p.c_params(), w.block, w.blocks], p.multiplier, p.shift, x,
                        (batches, 1, 1, depth), w.array, (w.rows, 1, 1, w.row_length), bias, (batches, 1, 1, w.rows))
    return out.reshape(batches, w.rows)
