"""The memory system's effect on the int8 fully-connected kernel: weights in flash against weights in
SRAM, on every board, for a weight-streaming layer and a compute-bound one.

    python benchmarks/flash_weights.py

Each layer is runtime_c/src/fully_connected_s8.c (DSP path) on random int8 data, its weights a
`const` array (.rodata, in flash) or a plain one (.data, copied to SRAM at startup). The kernel is
called twice; the table gives the second call (caches as the first left them):

- streaming: 256 -> 64 channels, 1 row: 16 KB of weights, each byte used once per call, more than
  the F746's 4 KB L1 D-cache and the F427's 128-byte ART data cache hold;
- compute-bound: 32 -> 32 channels, 49 rows: 1 KB of weights, reused by every row.

Weights and inputs are 8-byte aligned in both layouts, so that the Cortex-M7's pairing of loads by
bank (address bit 2) is the same in both: the ratio is the memory system's alone.

Columns: cycles with the weights in SRAM and in flash, the ratio, the data cache's misses and the
wait-state cycles of the flash call (`CallStats.stall`), and the time at the board's clock.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from mcusim.boards import BOARDS
from mcusim.elf import ElfImage
from mcusim.emulator import Emulator
from mcusim.toolchain import RUNTIME_C, build

LAYERS = {"streaming 256->64 x1": (256, 64, 1), "compute 32->32 x49": (32, 32, 49)}

SOURCE = """
#include "mcusim_nn.h"
#define IN {k}
#define OUT {o}
#define ROWS {rows}
{qualifier} int8_t weights[OUT * IN] __attribute__((aligned(8))) = {{{weights}}};
static int8_t input[ROWS * IN] __attribute__((aligned(8))) = {{{inputs}}};
static int8_t output[ROWS * OUT];
static int32_t multiplier[OUT], shift[OUT];

int32_t layer(void)
{{
    static const mcusim_fc_params params = {{3, -2, -128, 127}};
    const mcusim_per_channel_quant quant = {{multiplier, shift}};
    const mcusim_dims in = {{ROWS, 1, 1, IN}}, filter = {{OUT, 1, 1, IN}}, out = {{ROWS, 1, 1, OUT}};
    for (int i = 0; i < OUT; i++) {{
        multiplier[i] = 1518500250;
        shift[i] = -9;
    }}
    return mcusim_fully_connected_s8(&params, &quant, &in, input, &filter, weights, 0, &out, output);
}}
"""


def _firmware(board, k: int, o: int, rows: int, in_flash: bool, folder: Path) -> ElfImage:
    rng = np.random.default_rng(0)
    text = SOURCE.format(k=k, o=o, rows=rows, qualifier="const" if in_flash else "",
                         weights=",".join(map(str, rng.integers(-127, 128, k * o))),
                         inputs=",".join(map(str, rng.integers(-128, 128, k * rows))))
    source = folder / f"layer_{k}_{o}_{rows}_{int(in_flash)}.c"
    source.write_text(text)
    return ElfImage(build([source, RUNTIME_C / "src" / "fully_connected_s8.c"], board,
                          folder / f"{source.stem}_{board.name}.elf", defines=["MCUSIM_DSP=1"], call_only=True,
                          keep=["layer"]))


def _call(board, elf: ElfImage) -> tuple[int, int, int]:
    """(cycles, data-cache misses, stall cycles) of the second call of layer()."""
    emu = Emulator(board, elf)
    emu.call("layer")
    before = emu.counter.memory_stats()
    emu.call("layer")
    after = emu.counter.memory_stats()
    return emu.last_call.cycles, after.dcache_misses - before.dcache_misses, emu.last_call.stall


def main() -> None:
    print(f"{'board':10} {'layer':22} {'SRAM cycles':>12} {'flash cycles':>13} {'ratio':>6} "
          f"{'D misses':>9} {'wait states':>12} {'flash ms':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for board in BOARDS.values():
            for label, (k, o, rows) in LAYERS.items():
                sram, _, _ = _call(board, _firmware(board, k, o, rows, False, Path(tmp)))
                flash, misses, stall = _call(board, _firmware(board, k, o, rows, True, Path(tmp)))
                print(f"{board.name:10} {label:22} {sram:>12,} {flash:>13,} {flash / sram:>6.3f} {misses:>9,} "
                      f"{stall:>12,} {flash / board.clock_hz * 1e3:>9.4f}")


if __name__ == "__main__":
    main()
