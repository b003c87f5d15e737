"""Cycles per MAC of the emulated int8 kernels (fully_connected, conv2d, depthwise_conv2d), plain C
and DSP paths, on the M4 and M7 boards. Shapes: FC is B x K x O; conv is H x W x C > O, kernel k,
stride s; depthwise is H x W x C, kernel k, stride s, depth multiplier 1.

    python benchmarks/kernel_cycles_per_mac.py

Each kernel is called twice on random data; the second call's modelled cycles (predictors warm)
are divided by its multiply-accumulates.
"""
from __future__ import annotations

import tempfile

import numpy as np

from mcusim.boards import get_board
from mcusim.models.kernels import EmulatedKernels, execute
from mcusim.models.ops.conv2d import Conv2DParams, conv2d_call, padding
from mcusim.models.ops.depthwise_conv2d import DepthwiseConv2DParams, depthwise_conv2d_call
from mcusim.models.ops.fully_connected import FullyConnectedParams, fully_connected_call

FC_SHAPES = [(1, 64, 64), (1, 192, 64), (16, 64, 64), (49, 64, 128)]  # (batches, depth, channels)
# (H, W, C, O, K, stride, padding): a 3x3 conv, a pointwise conv, a 4x4/4 patch embedding of a 28x28 image
CONV_SHAPES = [(16, 16, 8, 16, 3, 1, "same"), (14, 14, 32, 32, 1, 1, "valid"), (28, 28, 1, 32, 4, 4, "valid")]
# (H, W, C, K, stride): the 3x3 depthwise of an inverted-residual block, unstrided and strided
DEPTHWISE_SHAPES = [(16, 16, 32, 3, 1), (14, 14, 64, 3, 2)]


def fully_connected_cycles(kernels: EmulatedKernels, batches: int, depth: int, channels: int) -> int:
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, (batches, depth), dtype=np.int8)
    w = rng.integers(-127, 128, (channels, depth), dtype=np.int8)
    bias = rng.integers(-1000, 1000, channels, dtype=np.int32)
    p = FullyConnectedParams(3, -2, np.full(channels, 1 << 30, np.int32), np.full(channels, -8, np.int32))
    for _ in range(2):
        execute(kernels, fully_connected_call(x.shape, w, bias, p), input=x)
    return kernels.emulator.last_call.cycles


def conv2d_cycles(kernels: EmulatedKernels, h, w, c, o, k, stride, mode) -> tuple[int, int]:
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, (1, h, w, c), dtype=np.int8)
    f = rng.integers(-127, 128, (o, k, k, c), dtype=np.int8)
    (ph, oh), (pw, ow) = padding(mode, h, k, stride, 1), padding(mode, w, k, stride, 1)
    p = Conv2DParams(3, -2, np.full(o, 1 << 30, np.int32), np.full(o, -8, np.int32), oh, ow, (stride, stride),
                     (ph, pw))
    for _ in range(2):
        execute(kernels, conv2d_call(x.shape, f, None, p), input=x)
    return kernels.emulator.last_call.cycles, oh * ow * o * k * k * c  # taps in the padding are counted


def depthwise_cycles(kernels: EmulatedKernels, h, w, c, k, stride) -> tuple[int, int]:
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, (1, h, w, c), dtype=np.int8)
    f = rng.integers(-127, 128, (1, k, k, c), dtype=np.int8)
    (ph, oh), (pw, ow) = padding("same", h, k, stride, 1), padding("same", w, k, stride, 1)
    p = DepthwiseConv2DParams(3, -2, np.full(c, 1 << 30, np.int32), np.full(c, -8, np.int32), oh, ow,
                              (stride, stride), (ph, pw))
    for _ in range(2):
        execute(kernels, depthwise_conv2d_call(x.shape, f, None, p), input=x)
    return kernels.emulator.last_call.cycles, oh * ow * c * k * k


def main() -> None:
    print(f"{'kernel':18} {'shape':16} {'board':10} {'path':6} {'cycles':>10} {'cycles/MAC':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for board_name in ("stm32f427", "stm32f746"):
            for dsp in (False, True):
                kernels = EmulatedKernels(get_board(board_name), dsp, tmp)
                path = "dsp" if dsp else "plain"
                for shape in FC_SHAPES:
                    cycles = fully_connected_cycles(kernels, *shape)
                    macs = int(np.prod(shape))
                    print(f"{'fully_connected':18} {'x'.join(map(str, shape)):16} {board_name:10} {path:6} "
                          f"{cycles:>10,} {cycles / macs:>10.3f}")
                for h, w, c, o, k, stride, mode in CONV_SHAPES:
                    cycles, macs = conv2d_cycles(kernels, h, w, c, o, k, stride, mode)
                    shape = f"{h}x{w}x{c}>{o} k{k}s{stride}"
                    print(f"{'conv2d':18} {shape:16} {board_name:10} {path:6} {cycles:>10,} {cycles / macs:>10.3f}")
                for h, w, c, k, stride in DEPTHWISE_SHAPES:
                    cycles, macs = depthwise_cycles(kernels, h, w, c, k, stride)
                    shape = f"{h}x{w}x{c} k{k}s{stride}"
                    print(f"{'depthwise_conv2d':18} {shape:16} {board_name:10} {path:6} {cycles:>10,} "
                          f"{cycles / macs:>10.3f}")


if __name__ == "__main__":
    main()
