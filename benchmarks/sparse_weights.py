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
from mcusim.models.kernels import EmulatedKernels, execute
from mcusim.models.ops.conv2d import Conv2DParams, conv2d_call, padding
from mcusim.models.ops.depthwise_conv2d import DepthwiseConv2DParams, depthwise_conv2d_call
from mcusim.models.ops.fully_connected import FullyConnectedParams, fully_connected_call
from mcusim.models.ops.sparse_conv2d import sparse_conv2d_call
from mcusim.models.ops.sparse_depthwise_conv2d import sparse_depthwise_conv2d_call
from mcusim.models.ops.sparse_fully_connected import sparse_fully_connected_call
from mcusim.models.sparse import compression_ratio, encode, filter_rows, prune_rows

SPARSITIES = (0.5, 0.7, 0.9)
BLOCKS = (2, 4)


def layers(rng: np.random.Generator):
    """(label, kind, filter shape, dense call, sparse call) of ViT- and TinyFormer-sized layers; a dense
    call takes (kernels, filter), a sparse one (kernels, SparseWeights)."""
    def quant(n):
        return np.full(n, 1 << 30, np.int32), np.full(n, -8, np.int32)

    for label, tokens, depth, out in (("ViT MLP up", 65, 64, 128), ("ViT MLP down", 65, 128, 64)):
        x, p = rng.integers(-128, 128, (tokens, depth), dtype=np.int8), FullyConnectedParams(3, -2, *quant(out))
        yield (f"FC {tokens} x {depth} > {out} ({label})", "fully_connected", (out, depth),
               lambda k, w, x=x, p=p: execute(k, fully_connected_call(x.shape, w, None, p), input=x),
               lambda k, s, x=x, p=p: execute(k, sparse_fully_connected_call(x.shape, s, None, p), input=x))
    for size, channels, out, kernel in ((16, 32, 32, 3), (14, 32, 64, 1)):
        pad, side = padding("same", size, kernel, 1, 1)
        x = rng.integers(-128, 128, (1, size, size, channels), dtype=np.int8)
        p = Conv2DParams(3, -2, *quant(out), side, side, (1, 1), (pad, pad))
        shape = (out, kernel, kernel, channels)
        yield (f"conv {kernel}x{kernel} {size}x{size}x{channels} > {out}", "conv2d", shape,
               lambda k, w, x=x, p=p: execute(k, conv2d_call(x.shape, w, None, p), input=x),
               lambda k, s, x=x, p=p, shape=shape: execute(k, sparse_conv2d_call(x.shape, s, shape, None, p), input=x))
    pad, side = padding("same", 16, 3, 1, 1)
    x = rng.integers(-128, 128, (1, 16, 16, 64), dtype=np.int8)
    p = DepthwiseConv2DParams(3, -2, *quant(64), side, side, (1, 1), (pad, pad))
    yield ("depthwise 3x3 16x16x64", "depthwise_conv2d", (1, 3, 3, 64),
           lambda k, w: execute(k, depthwise_conv2d_call(x.shape, w, None, p), input=x),
           lambda k, s: execute(k, sparse_depthwise_conv2d_call(x.shape, s, (1, 3, 3, 64), None, p), input=x))


def cycles(kernels, call, weights) -> int:
    """The modelled cycles of the second of two calls (predictors warm)."""
    for _ in range(2):
        call(kernels, weights)
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
        for label, kind, shape, dense, sparse in layers(rng):
            w = rng.integers(-127, 128, shape, dtype=np.int8)
            dense_cycles = cycles(kernels, dense, w)
            print(f"{label:32} {'dense':>8} {'':>5} {w.size:>7,} {'':>6} {'':>7} {dense_cycles:>10,}")
            blocks = (shape[2],) if kind == "depthwise_conv2d" else BLOCKS
            for sparsity in SPARSITIES:
                for block in blocks:
                    stream = encode(prune_rows(filter_rows(kind, w), block, sparsity), block)
                    sparse_cycles = cycles(kernels, sparse, stream)
                    print(f"{'':32} {sparsity:>8.0%} {block:>5} {len(stream.stream):>7,} "
                          f"{w.size / len(stream.stream):>6.2f} {compression_ratio(sparsity, block):>7.2f} "
                          f"{sparse_cycles:>10,} {dense_cycles / sparse_cycles:>6.2f}x")

if __name__ == "__main__":
    main()
