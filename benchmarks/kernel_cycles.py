"""Modelled cycles of the bundled int8 matmul kernel on every board, cache on and off.

    python benchmarks/kernel_cycles.py [--opt 2]

Prints, per board, the cycles of one matmul_s8 pass (from the firmware's trace markers), MACs per
cycle and the time at the board's clock.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from mcusim.boards import BOARDS
from mcusim.elf import ElfImage
from mcusim.emulator import Emulator
from mcusim.toolchain import RUNTIME_C, build
from mcusim.trace import slices

M, K, N = 49, 64, 64


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--opt", default="2", help="optimization level the kernel is built with")
    args = ap.parse_args()
    print(f"matmul_s8 {M}x{K}x{N} ({M * K * N:,} MACs), -O{args.opt}")
    print(f"{'board':10} {'core':10} {'flash cache':11} {'cycles/pass':>12} {'MAC/cycle':>9} {'ms':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for board in BOARDS.values():
            elf = ElfImage(build([RUNTIME_C / "examples" / "matmul_bench.c"], board, Path(tmp) / f"{board.name}.elf",
                                 opt=args.opt, defines=["BENCH_PASSES=2"]))
            for cached in (True, False):
                result = Emulator(board, elf, flash_cache=cached).run()
                passes = [d for name, _, d in slices(result.markers, result.cycles) if name == "matmul_s8"]
                cycles = passes[-1]  # the second pass: predictors warm
                print(f"{board.name:10} {board.core.name:10} {'on' if cached else 'off':11} {cycles:>12,} "
                      f"{M * K * N / cycles:>9.3f} {cycles / board.clock_hz * 1e3:>8.3f}")


if __name__ == "__main__":
    main()
