"""Cycles per MAC of the emulated int8 kernels, plain C and DSP paths, on the M4 and M7 boards.

    python benchmarks/kernel_cycles_per_mac.py

Each kernel is called twice on random data; the second call's modelled cycles (predictors warm)
are divided by its multiply-accumulates.
"""
from __future__ import annotations

import tempfile

import numpy as np

from mcusim.boards import get_board
from mcusim.models.kernels import EmulatedKernels
from mcusim.models.ops.fully_connected import FullyConnectedParams, fully_connected_c

FC_SHAPES = [(1, 64, 64), (1, 192, 64), (16, 64, 64), (49, 64, 128)]  # (batches, depth, channels)


def fully_connected_cycles(kernels: EmulatedKernels, batches: int, depth: int, channels: int) -> int:
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, (batches, depth), dtype=np.int8)
    w = rng.integers(-127, 128, (channels, depth), dtype=np.int8)
    bias = rng.integers(-1000, 1000, channels, dtype=np.int32)
    p = FullyConnectedParams(3, -2, np.full(channels, 1 << 30, np.int32), np.full(channels, -8, np.int32))
    for _ in range(2):
        fully_connected_c(kernels, x, w, bias, p)
    return kernels.emulator.last_call.cycles


def main() -> None:
    print(f"{'kernel':18} {'shape B x K x O':16} {'board':10} {'path':6} {'cycles':>10} {'cycles/MAC':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for board_name in ("stm32f427", "stm32f746"):
            for dsp in (False, True):
                kernels = EmulatedKernels(get_board(board_name), dsp, tmp)
                for shape in FC_SHAPES:
                    cycles = fully_connected_cycles(kernels, *shape)
                    macs = int(np.prod(shape))
                    print(f"{'fully_connected':18} {'x'.join(map(str, shape)):16} {board_name:10} "
                          f"{'dsp' if dsp else 'plain':6} {cycles:>10,} {cycles / macs:>10.3f}")


if __name__ == "__main__":
    main()
