"""fully_connected on block run-length encoded weights (models/sparse.py): the reference is the dense
op on the decoded filter; the C twin, runtime_c/src/sparse_fully_connected_s8.c, computes on the
stream. The deployment chooses it for a fully_connected op (fully_connected.py). Formula:
docs/numerics.md#sparse-weights.
"""
from __future__ import annotations

import numpy as np

from ..blob import IN, OUT, Arena, Call, Const, const, weighted
from ..sparse import SparseWeights, decode_filter
from .fully_connected import FullyConnectedParams, fully_connected_s8


def sparse_fully_connected_s8(x: np.ndarray, w: SparseWeights, bias: np.ndarray | None,
                              p: FullyConnectedParams) -> np.ndarray:
    """x int8 [B, K], w the stream of an [O, K] filter -> int8 [B, O]."""
    return fully_connected_s8(x, decode_filter("fully_connected", w, (w.rows, w.row_length)), bias, p)


def sparse_fully_connected_call(x_shape, w: SparseWeights, bias: np.ndarray | None, p: FullyConnectedParams, *,
                                x: Arena = IN, y: Arena = OUT) -> Call:
    rows = int(np.prod(x_shape)) // w.row_length
    return weighted("sparse_fully_connected", [*p.c_params(), w.block, w.blocks], p, (rows, 1, 1, w.row_length), x,
                    (w.rows, 1, 1, w.row_length), Const(w.stream), const(bias), (rows, 1, 1, w.rows), y)
