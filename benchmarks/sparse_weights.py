"""Sparse weights (block run-length encoding, TinyFormer's SparseEngine) against our dense kernels, in
the emulator: flash bytes of the filter and modelled cycles per call, at 50 / 70 / 90 % block sparsity
and block sizes 2 and 4 (depthwise: one block per 3-wide kernel row), with the compression ratio
measured beside TinyFormer's formula eta = b / ((1 - s)(b + 1)).

    python benchmarks/sparse_weights.py [--board stm32f746] [--no-dsp]

Random int8 filters are pruned by block magnitude (models/sparse.py prune_rows); each kernel is
called twice and the second call's cycles are kept (predictors warm). Flash counts the filter bytes
only (bias and quantization are the same for both).
"""
from __future__ import annotations

import argparse
import tempfile

import numpy as np

from mcusim.boards import get_board
from mcusim.models.kernels import EmulatedKernels
from mcusim.models.ops.conv2d import Conv2DParams, conv2d_c, padding
from mcusim.models.ops.depthwise_conv2d import DepthwiseConv2DParams, depthwise_conv2d_c
from mcusim.models.ops.fully_connected import FullyConnectedParams, fully_connected_c
from mcusim.models.ops.sparse_conv2d import sparse_conv2d_c
from mcusim.models.ops.sparse_depthwise_conv2d import sparse_depthwise_conv2d_c
from mcusim.models.ops.sparse_fully_connected import sparse_fully_connected_c
from mcusim.models.sparse import compression_ratio, encode, filter_from_rows, filter_rows, prune_rows

SPARSITIES = (0.5, 0.7, 0.9)
BLOCKS = (2, 4)


def layers(rng: np.random.Generator):
    """(label, kind, input, filter shape, params) of ViT- and TinyFormer-sized layers."""
    def quant(n):
        return np.full(n, 1 << 30, np.int32), np.full(n, -8, np.int32)

    def conv(h, c, o, k, cls=Conv2DParams, **extra):
        (pad, out), = {padding("same", h, k, 1, 1)}
        return rng.integers(-128, 128, (1, h, h, c), dtype=np.int8), cls(3, -2, *quant(o), out, out, (1, 1),
                                                                          (pad, pad), **extra)

    yield "FC 65 x 64 > 128 (ViT MLP up)", "fully_connected", rng.integers(-128, 128, (65, 64), dtype=np.int8), \
        (128, 64), FullyConnectedParams(3, -2, *quant(128))
    yield "FC 65 x 128 > 64 (ViT MLP down)", "fully_connected", rng.integers(-128, 128, (65, 128), dtype=np.int8), \
        (64, 128), FullyConnectedParams(3, -2, *quant(64))
    yield ("conv 3x3 16x16x32 > 32", "conv2d", *conv(16, 32, 32, 3)[:1], (32, 3, 3, 32), conv(16, 32, 32, 3)[1])
    yield ("conv 1x1 14x14x32 > 64", "conv2d", *conv(14, 32, 64, 1)[:1], (64, 1, 1, 32), conv(14, 32, 64, 1)[1])
    x, p = conv(16, 64, 64, 3, DepthwiseConv2DParams)
    yield "depthwise 3x3 16x16x64", "depthwise_conv2d", x, (1, 3, 3, 64), p


def run(kernels, kind: str, x, w, p, sparse=None) -> int:
    dense = {"fully_connected": fully_connected_c, "conv2d": conv2d_c, "depthwise_conv2d": depthwise_conv2d_c}
    sparse_fn = {"fully_connected": lambda k, x, s, b, p: sparse_fully_connected_c(k, x, s, b, p),
                 "conv2d": lambda k, x, s, b, p: sparse_conv2d_c(k, x, s, w.shape, b, p),
                 "depthwise_conv2d": lambda k, x, s, b, p: sparse_depthwise_conv2d_c(k, x, s, w.shape, b, p)}
    for _ in range(2):
        if sparse is None:
            dense[kind](kernels, x, w, None, p)
        else:
            sparse_fn[kind](kernels, x, sparse, None, p)
    return kernels.emulator.last_call.cycles


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="stm32f746")
    ap.add_argument("--no-dsp", action="store_true", help="the plain C kernels")
    args = ap.parse_args()
    board = get_board(args.board)
    dsp = board.core.dsp and not args.no_dsp
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        kernels = EmulatedKernels(board, dsp, tmp)
        print(f"{board.name} ({board.core.name}), {'DSP' if dsp else 'plain C'} kernels")
        print(f"{'layer':32} {'sparsity':>8} {'block':>5} {'bytes':>7} {'ratio':>6} {'formula':>7} {'cycles':>10} "
              f"{'speedup':>7}")
        for label, kind, x, shape, p in layers(rng):
            w = rng.integers(-127, 128, shape, dtype=np.int8)
            dense_cycles = run(kernels, kind, x, w, p)
            print(f"{label:32} {'dense':>8} {'':>5} {w.size:>7,} {'':>6} {'':>7} {dense_cycles:>10,}")
            blocks = (shape[2],) if kind == "depthwise_conv2d" else BLOCKS
            for sparsity in SPARSITIES:
                for block in blocks:
                    rows = prune_rows(filter_rows(kind, w), block, sparsity)
                    sparse = encode(rows, block)
                    pruned = filter_from_rows(kind, rows, shape)
                    cycles = run(kernels, kind, x, pruned, p, sparse)
                    print(f"{'':32} {sparsity:>8.0%} {block:>5} {len(sparse.stream):>7,} "
                          f"{w.size / len(sparse.stream):>6.2f} {compression_ratio(sparsity, block):>7.2f} "
                          f"{cycles:>10,} {dense_cycles / cycles:>6.2f}x")


if __name__ == "__main__":
    main()
