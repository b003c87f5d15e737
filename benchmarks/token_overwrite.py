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
from mcusim.models.kernels import EmulatedKernels
from mcusim.models.ops.fully_connected import FullyConnectedParams, fully_connected_inplace_c

SHAPES = [(65, 64, 192), (65, 64, 64), (65, 64, 128), (65, 128, 64)]


def touched(accesses) -> int:
    return len({a.address + i for a in accesses for i in range(a.size)})


def plain_call(kernels: EmulatedKernels, x, w, p) -> tuple[int, int, int]:
    """(activation bytes touched, stack peak, cycles) of mcusim_fully_connected_s8 with separate
    input and output buffers."""
    (tokens, depth), channels = x.shape, w.shape[0]
    emu = kernels.emulator
    with kernels.scratch():
        params = kernels.put(np.array([p.input_offset, p.output_offset, p.act_min, p.act_max], np.int32))
        quant = kernels.put(kernels.pointers([kernels.put(p.multiplier), kernels.put(p.shift)]))
        dims = [kernels.put(np.array(d, np.int32)) for d in ((tokens, 1, 1, depth), (channels, 1, 1, depth),
                                                              (tokens, 1, 1, channels))]
        weights = kernels.put(w)
        out = kernels.alloc(tokens * channels)
        inp = kernels.put(x)
        low = out if out < inp else inp
        span = max(out + tokens * channels, inp + x.size) - low
        with emu.watch(low, span) as accesses:
            kernels.call("mcusim_fully_connected_s8", params, quant, dims[0], inp, dims[1], weights, 0, dims[2], out)
        return touched(accesses), emu.last_call.stack_peak, emu.last_call.cycles


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
            plain_bytes, plain_stack, plain_cycles = plain_call(kernels, x, w, p)
            accesses = []
            fully_connected_inplace_c(kernels, x, w, None, p, accesses=accesses)
            call = kernels.emulator.last_call
            inplace_bytes = touched(accesses)
            saved = (plain_bytes + plain_stack) - (inplace_bytes + call.stack_peak)
            print(f"{f'{tokens}x{depth} > {channels}':18} {plain_bytes:>11,} {plain_stack:>7,} {inplace_bytes:>13,} "
                  f"{call.stack_peak:>7,} {saved:>6,} {plain_cycles:>12,} {call.cycles:>14,}")


if __name__ == "__main__":
    main()
