"""Block run-length encoding of int8 weights (TinyFormer's SparseEngine), in numpy.

A filter is seen as R rows (one per output channel) of K values, cut into K / block blocks of `block`
consecutive values. The encoded stream keeps only the blocks that hold a non-zero value, in row-major
order; each stored block is one uint8 *gap*, the number of all-zero blocks skipped since the previous
stored block (or since the start; counted across row ends), then its `block` int8 values:

    stream = [gap, v_0 .. v_{block-1}] * stored_blocks

A gap over 255 is bridged by stored all-zero blocks with gap 255 (each also takes a position), as
TinyFormer inserts zero elements when a distance does not fit. The C kernels (sparse_*_s8.c) compute
directly on the stream; `filter_rows(kind, weights)` says how each layer's filter is cut into rows:

    fully_connected   [O, K]            rows = O, row = K inputs
    conv2d            [O, KH, KW, C]    rows = O, row = (kh, kw, c), blocks along c
    depthwise_conv2d  [1, KH, KW, C*M]  rows = C*M, row = (kh, kw), blocks along kw

A layer is stored sparse only where the stream is smaller than the dense filter (`choose`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_GAP = 255
MAX_BLOCK = 16  # the kernels' limit (mcusim_nn.h)


@dataclass(frozen=True)
class SparseWeights:
    """One encoded filter: `stream` (the bytes), `blocks` (stored blocks, padding included), the block
    size and the dense row geometry it decodes to."""

    stream: bytes
    blocks: int
    block: int
    rows: int
    row_length: int   # values per row, a multiple of block

    @property
    def array(self) -> np.ndarray:
        """The stream as the int8 array a kernel call passes (at least one byte)."""
        return np.frombuffer(self.stream or b"\0", np.int8)


def encode(rows: np.ndarray, block: int) -> SparseWeights:
    """rows int8 [R, K] with K a multiple of block -> the stream."""
    r, k = rows.shape
    if not 1 <= block <= MAX_BLOCK or k % block:
        raise ValueError(f"block size {block} must be in [1, {MAX_BLOCK}] and divide the row length {k}")
    grid = np.ascontiguousarray(rows, np.int8).reshape(-1, block)  # every block, row-major
    stored = np.flatnonzero(grid.any(axis=1))
    gaps = np.diff(stored, prepend=-1) - 1
    out = bytearray()
    count = 0
    for position, gap in zip(stored, gaps):
        while gap > MAX_GAP:  # a zero block bridges 255 skipped blocks and occupies one position itself
            out += bytes([MAX_GAP]) + bytes(block)
            gap -= MAX_GAP + 1
            count += 1
        out += bytes([gap]) + grid[position].tobytes()
        count += 1
    return SparseWeights(bytes(out), count, block, r, k)


def decode(sparse: SparseWeights) -> np.ndarray:
    """The stream back to dense rows int8 [R, K]; a malformed stream raises ValueError."""
    b = sparse.block
    positions = sparse.rows * sparse.row_length // b
    if len(sparse.stream) != sparse.blocks * (b + 1):
        raise ValueError(f"stream of {len(sparse.stream)} bytes does not hold {sparse.blocks} blocks of {b}")
    records = np.frombuffer(sparse.stream, np.uint8).reshape(sparse.blocks, b + 1)
    where = np.cumsum(records[:, 0].astype(np.int64) + 1) - 1
    if len(where) and where[-1] >= positions:
        raise ValueError(f"stream runs past the filter's {positions} blocks")
    grid = np.zeros((positions, b), np.int8)
    grid[where] = records[:, 1:].view(np.int8)
    return grid.reshape(sparse.rows, sparse.row_length)


def encoded_size(rows: np.ndarray, block: int) -> int:
    """Bytes of the stream, without building it."""
    grid = rows.reshape(-1, block)
    stored = np.flatnonzero(grid.any(axis=1))
    gaps = np.diff(stored, prepend=-1) - 1
    padding = int(np.sum(gaps // (MAX_GAP + 1)))
    return (len(stored) + padding) * (block + 1)


def filter_rows(kind: str, weights: np.ndarray) -> np.ndarray:
    """A layer's filter as rows [R, K] (see the module doc)."""
    if kind == "fully_connected":
        return weights
    if kind == "conv2d":
        return weights.reshape(weights.shape[0], -1)
    if kind == "depthwise_conv2d":
        _, kh, kw, channels = weights.shape
        return np.ascontiguousarray(weights[0].transpose(2, 0, 1)).reshape(channels, kh * kw)
    raise ValueError(f"{kind} has no sparse kernel")


def filter_from_rows(kind: str, matrix: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The inverse of filter_rows: rows [R, K] back to the layer's filter of `shape`."""
    if kind == "depthwise_conv2d":
        _, kh, kw, channels = shape
        return np.ascontiguousarray(matrix.reshape(channels, kh, kw).transpose(1, 2, 0))[None]
    return matrix.reshape(shape)


def decode_filter(kind: str, sparse: SparseWeights, shape: tuple[int, ...]) -> np.ndarray:
    return filter_from_rows(kind, decode(sparse), shape)


CANDIDATE_BLOCKS = (1, 2, 3, 4)  # the pruning geometries: 2 or 4 along inputs, 3 along a 3-wide kernel


# The share of a filter's blocks that a stream may keep and still run faster than the dense kernel,
# per layer kind and block size: where the sparse kernel's cycles (linear in the blocks kept) meet
# the dense kernel's, measured on the STM32F746 model, DSP kernels, by benchmarks/sparse_weights.py
# against the dense kernels of issue 17 (FC 65x64>128 and 65x128>64, conv 3x3 and 1x1: the smaller
# break-even of each kind). Sparse depthwise is slower at every sparsity measured (its window column
# costs more than the dense kernel's taps). Block sizes not listed take the kind's smallest.
BREAK_EVEN = {"fully_connected": {2: 0.07, 4: 0.15}, "conv2d": {2: 0.02, 4: 0.07}, "depthwise_conv2d": {3: 0.0}}


def choose(kind: str, weights: np.ndarray, for_speed: bool = True) -> SparseWeights | None:
    """The smallest encoding of a layer's filter over the block sizes that divide its rows, or None
    when no stream is smaller than the dense filter (adaptive storage) or, for_speed, when the
    smallest keeps more blocks than BREAK_EVEN (the sparse kernel would be the slower)."""
    matrix = filter_rows(kind, weights)
    sizes = {b: encoded_size(matrix, b) for b in CANDIDATE_BLOCKS if matrix.shape[1] % b == 0}
    block = min(sizes, key=lambda b: (sizes[b], -b))
    kept = sizes[block] / (block + 1) / (matrix.size / block)  # stored blocks (padding ones too) / all
    limits = BREAK_EVEN[kind]
    if sizes[block] >= matrix.size or (for_speed and kept > limits.get(block, min(limits.values()))):
        return None
    return encode(matrix, block)


def compression_ratio(sparsity: float, block: int) -> float:
    """TinyFormer's compression ratio of block run-length encoding: dense bytes over encoded bytes
    when a fraction `sparsity` of the blocks is zero and no gap needs padding,
    eta = block / ((1 - sparsity) * (block + 1)) (each stored block costs one gap byte)."""
    return block / ((1.0 - sparsity) * (block + 1))


SPARSE_KINDS = ("fully_connected", "conv2d", "depthwise_conv2d")


def prune_rows(matrix: np.ndarray, block: int, sparsity: float) -> np.ndarray:
    """matrix [R, K] with the round(sparsity * blocks) blocks of smallest magnitude (sum of |values|;
    ties by position) set to zero."""
    grid = matrix.reshape(-1, block).copy()
    score = np.abs(grid.astype(np.int64)).sum(axis=1)
    grid[np.argsort(score, kind="stable")[:round(sparsity * len(grid))]] = 0
    return grid.reshape(matrix.shape)


def prune_graph(graph, sparsity: float, block: int = 4):
    """Post-training block pruning of an int8 graph by magnitude (a quick stand-in for pruning with
    fine-tuning, models/prune.py, where only flash and cycles matter): every fully connected and conv
    filter loses `sparsity` of its blocks of `block` values along the input channels (layers whose
    rows `block` does not divide keep their filter), every depthwise filter `sparsity` of its kernel
    rows. Returns a new graph sharing everything but the pruned filters."""
    import dataclasses

    from .graph import Graph

    tensors = dict(graph.tensors)
    for op in graph.ops:
        if op.kind not in SPARSE_KINDS:
            continue
        w = tensors[op.inputs[1]]
        b = w.shape[2] if op.kind == "depthwise_conv2d" else block
        matrix = filter_rows(op.kind, w.data)
        if matrix.shape[1] % b == 0 and (op.kind != "conv2d" or w.shape[3] % b == 0):
            pruned = filter_from_rows(op.kind, prune_rows(matrix, b, sparsity), w.shape)
            tensors[w.name] = dataclasses.replace(w, data=pruned)
    return Graph(tensors, list(graph.ops), list(graph.inputs), list(graph.outputs), dict(graph.metadata))
