"""Emulation speed: the full emulator (instruction counting, budget, SRAM painting and measurement)
against raw Unicorn on the same ELF, in the same process.

    python benchmarks/emulation_speed.py [--board stm32f746] [--passes 100] [--repeat 5]

Two int8 matmul workloads (runtime_c/examples/matmul_bench.c): `runtime`, the runtime's
mcusim_fully_connected_s8 (DSP path where the core has one), as models run it; and `naive`, a plain C
triple loop of about five instructions per translated block, the counter's worst case (its cost is
paid per block).

Raw Unicorn gets only what the firmware needs to finish: the memory map, the PPB window (the firmware
reads DWT and writes ITM) and a semihosting exit hook. MIPS = instructions / best wall time of
`--repeat` runs, the instruction count coming from the full emulator (the program is deterministic).
"""
from __future__ import annotations

import argparse
import struct
import tempfile
import time
from pathlib import Path

from unicorn import UC_ARCH_ARM, UC_HOOK_INTR, UC_MODE_THUMB, UC_PROT_ALL, Uc, arm_const

from mcusim.boards import get_board
from mcusim.elf import ElfImage
from mcusim.emulator import STOP_ADDRESS, Emulator
from mcusim.peripherals import PPB_BASE, PPB_SIZE
from mcusim.toolchain import RUNTIME_C, build


def run_raw(board, elf: ElfImage) -> float:
    uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB)
    uc.ctl_set_cpu_model(getattr(arm_const, board.core.unicorn_model))
    for region in board.regions:
        uc.mem_map(region.base, region.size, UC_PROT_ALL)
    for seg in elf.segments:
        uc.mem_write(seg.paddr, seg.data)
    uc.mmio_map(PPB_BASE, PPB_SIZE, lambda *a: 1, None, lambda *a: None, None)

    def on_bkpt(uc, intno, _):
        if uc.reg_read(arm_const.UC_ARM_REG_R0) in (0x18, 0x20):  # SYS_EXIT, SYS_EXIT_EXTENDED
            uc.emu_stop()
        else:
            uc.reg_write(arm_const.UC_ARM_REG_PC, (uc.reg_read(arm_const.UC_ARM_REG_PC) + 2) | 1)

    uc.hook_add(UC_HOOK_INTR, on_bkpt)
    sp, reset = struct.unpack("<2I", uc.mem_read(board.flash.base, 8))
    uc.reg_write(arm_const.UC_ARM_REG_SP, sp)
    t0 = time.perf_counter()
    uc.emu_start(reset | 1, STOP_ADDRESS)
    return time.perf_counter() - t0


def run_full(board, elf: ElfImage, native: bool):
    emu = Emulator(board, elf, native=native)
    t0 = time.perf_counter()
    result = emu.run()
    return time.perf_counter() - t0, result, emu.counter.blocks()


WORKLOADS = {
    "runtime": ([RUNTIME_C / "src" / "fully_connected_s8.c"], ["BENCH_RUNTIME_KERNEL=1"]),
    "naive": ([], []),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="stm32f746")
    ap.add_argument("--workload", choices=sorted(WORKLOADS), nargs="+", default=list(WORKLOADS))
    ap.add_argument("--passes", type=int, default=100, help="matmul passes (0.3-1M instructions each)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--opt", default="2", help="optimization level of the kernel (blocks get longer at 3)")
    ap.add_argument("--python-counter", action="store_true",
                    help="also time the pure-Python fallback counter once (minutes: use few --passes)")
    args = ap.parse_args()
    board = get_board(args.board)
    for workload in args.workload:
        measure(board, workload, args)


def measure(board, workload: str, args) -> None:
    sources, defines = WORKLOADS[workload]
    with tempfile.TemporaryDirectory() as tmp:
        path = build([RUNTIME_C / "examples" / "matmul_bench.c", *sources], board, Path(tmp) / "bench.elf",
                     defines=[f"BENCH_PASSES={args.passes}", f"MCUSIM_DSP={int(board.core.dsp)}", *defines],
                     opt=args.opt)
        elf = ElfImage(path)
    # Alternate the two so that a noisy neighbour slows both alike; keep the best of each.
    raw_times, full_times = [], []
    for _ in range(args.repeat):
        raw_times.append(run_raw(board, elf))
        seconds, result, result_blocks = run_full(board, elf, native=True)
        full_times.append(seconds)
    raw, full = min(raw_times), min(full_times)
    n = result.instructions
    blocks = sum(b.hits for b in result_blocks)
    print(f"workload      {workload}: matmul_bench.c -O{args.opt} x{args.passes} passes on {board.name} "
          f"({board.core.name}), {n:,} instructions in {blocks:,} blocks ({n / blocks:.1f} per block)")
    print(f"raw Unicorn   {raw:7.3f} s  {n / raw / 1e6:7.1f} MIPS")
    print(f"mcusim        {full:7.3f} s  {n / full / 1e6:7.1f} MIPS  (native block counter, budget, SRAM "
          f"measurement: stack {result.sram.stack_peak} B, heap {result.sram.heap_peak} B)")
    print(f"ratio         {raw / full:.2f}x of raw speed")
    if args.python_counter:
        slow, _, _ = run_full(board, elf, native=False)
        print(f"python hook   {slow:7.3f} s  {n / slow / 1e6:7.1f} MIPS  ({raw / slow:.2f}x of raw)")


if __name__ == "__main__":
    main()
