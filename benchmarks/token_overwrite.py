"""Token overwriting (MCUFormer) against the plain fully connected kernel, in the emulator on the M7
board: activation bytes the kernel touches (traced with Emulator.watch over the input and output
buffers), its stack peak, and its cycles, for the linear layers of a small ViT.

    python benchmarks/token_overwrite.py

Shapes (tokens x in -> out): the QKV projection, the attention output, the MLP's two layers.
"""
from __future__ import annotations

import tempfile

import numpy as np

from mcusim.boards import get_board
from mcusim.models.blob import IN, OUT
from mcusim.models.kernels import EmulatedKernels, execute
from mcusim.models.ops.fully_connected import FullyConnectedParams, fully_connected_call

SHAPES = [(65, 64, 192), (65, 64, 64), (65, 64, 128), (65, 128, 64)]


def touched(accesses) -> int:
    return len({a.address + i for a in accesses for i in range(a.size)})


def run_fully_connected(kernels: EmulatedKernels, x, w, p, in_place: bool) -> tuple[int, int, int]:
    """(activation bytes touched, stack peak, cycles) of one call of the plain kernel (separate
    input and output buffers) or the token-overwriting one."""
    accesses = []
    call = fully_connected_call(x.shape, w, None, p, y=IN if in_place else OUT, in_place=in_place)
    execute(kernels, call, accesses, input=x)
    call = kernels.emulator.last_call
    return touched(accesses), call.stack_peak, call.cycles


def main() -> None:
    rng = np.random.default_rng(0)
    print(f"{'tokens x in > out':18} {'plain bytes':>11} {'+stack':>7} {'inplace bytes':>13} {'+stack':>7} "
          f"{'saved':>6} {'plain cycles':>12} {'inplace cycles':>14}")
    with tempfile.TemporaryDirectory() as tmp:
        kernels = EmulatedKernels(get_board("stm32f746"), True, tmp)
        for tokens, depth, channels in SHAPES:
            x = rng.integers(-128, 128, (tokens, depth), dtype=np.int8)
            w = rng.integers(-127, 128, (channels, depth), dtype=np.int8)
            p = FullyConnectedParams(3, -2, np.full(channels, 1 << 30, np.int32), np.full(channels, -8, np.int32))
            plain_bytes, plain_stack, plain_cycles = run_fully_connected(kernels, x, w, p, in_place=False)
            inplace_bytes, inplace_stack, inplace_cycles = run_fully_connected(kernels, x, w, p, in_place=True)
            saved = (plain_bytes + plain_stack) - (inplace_bytes + inplace_stack)
            print(f"{f'{tokens}x{depth} > {channels}':18} {plain_bytes:>11,} {plain_stack:>7,} {inplace_bytes:>13,} "
                  f"{inplace_stack:>7,} {saved:>6,} {plain_cycles:>12,} {inplace_cycles:>14,}")


if __name__ == "__main__":
    main()
