"""Softmax in the emulator: the direct TFLite-exact kernel against TinyFormer's lazily filled exp
table (the same bits), for rows of 16..256 and several row counts, on the M4 and M7 boards.

    python benchmarks/softmax_cycles.py

Inputs: attention scores, int8 normal around 0 (std 40), input scale 1/16.
"""
from __future__ import annotations

import tempfile

import numpy as np

from mcusim.boards import get_board
from mcusim.models.kernels import EmulatedKernels, execute
from mcusim.models.ops.softmax import SoftmaxParams, softmax_call

SHAPES = [(16, 16), (64, 64), (197, 197), (256, 256), (4, 256)]  # (rows, depth)


def main() -> None:
    rng = np.random.default_rng(0)
    p = SoftmaxParams.from_scale(1 / 16)
    print(f"{'board':10} {'rows x depth':13} {'direct':>12} {'lut':>12} {'speedup':>8} {'cycles/elem (lut)':>18}")
    with tempfile.TemporaryDirectory() as tmp:
        for board_name in ("stm32f427", "stm32f746"):
            kernels = EmulatedKernels(get_board(board_name), True, tmp)
            for rows, depth in SHAPES:
                x = np.clip(rng.normal(0, 40, (rows, depth)), -128, 127).astype(np.int8)
                cycles = []
                for lut in (False, True):
                    execute(kernels, softmax_call(x.shape, p, lut=lut), input=x)
                    cycles.append(kernels.emulator.last_call.cycles)
                print(f"{board_name:10} {f'{rows}x{depth}':13} {cycles[0]:>12,} {cycles[1]:>12,} "
                      f"{cycles[0] / cycles[1]:>8.1f} {cycles[1] / x.size:>18.1f}")


if __name__ == "__main__":
    main()
