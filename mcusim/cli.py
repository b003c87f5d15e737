"""The `mcusim` command. This module owns the emulator commands; other packages add theirs through
the `mcusim.commands` entry-point group: each entry point is a function `register(subparsers)` that
adds its subcommands and sets `func(args) -> int` on them, so the emulator never imports them.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from importlib.metadata import entry_points

from .boards import BOARDS, Board, get_board, UnknownBoard
from .elf import ElfImage
from .emulator import DEFAULT_MAX_INSTRUCTIONS, Emulator, FirmwareFault, ProfileEntry, RunResult
from .errors import EX_USAGE, McusimError, UsageError
from .toolchain import DEFAULT_STACK, build
from .trace import slices, write_trace

def _board(name: str) -> Board:
    try:
        return get_board(name)
    except UnknownBoard as e:
        raise UsageError(str(e)) from None


def _kib(n: int) -> str:
    return f"{n / 1024:g} KiB"


def cmd_boards(args) -> int:
    rows = [("board", "part", "core", "clock", "flash", "SRAM (linker)", "other RAM")]
    for b in BOARDS.values():
        extra = ", ".join(f"{r.name} {_kib(r.size)}" for r in b.extra) or "-"
        rows.append((b.name, b.part, b.core.name, f"{b.clock_hz // 1_000_000} MHz", _kib(b.flash.size),
                     _kib(b.ram.size), extra))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return 0


def cmd_build(args) -> int:
    board = _board(args.board)
    out = build(args.sources, board, args.output, include_dirs=args.include, defines=args.define,
                opt=args.opt, stack_size=args.stack_size)
    s = ElfImage(out).sizes(board)
    print(f"{out}: text {s.text} B, rodata {s.rodata} B, data {s.data} B, bss {s.bss} B", file=sys.stderr)
    return 0


def report(result: RunResult, board: Board) -> str:
    """The human-readable report of a run."""
    sram, flash = result.sram, result.flash
    ms = result.cycles / board.clock_hz * 1e3
    lines = [
        f"board         {board.name} ({board.core.name}, {board.clock_hz // 1_000_000} MHz)",
        f"exit code     {result.exit_code}",
        f"instructions  {result.instructions:,}",
        f"cycles        {result.cycles:,} ({ms:.3f} ms)",
        f"SRAM          static {sram.static:,} B + stack peak {sram.stack_peak:,} B + heap peak "
        f"{sram.heap_peak:,} B = {sram.total_peak:,} B of {_kib(board.ram.size)}",
        f"flash         text {flash.text:,} B + rodata {flash.rodata:,} B + data {flash.data:,} B = "
        f"{flash.total:,} B of {_kib(board.flash.size)}",
    ]
    if result.markers:
        totals: dict[str, list[int]] = {}
        for name, _start, duration in slices(result.markers, result.cycles):
            entry = totals.setdefault(name, [0, 0])
            entry[0] += 1
            entry[1] += duration
        lines.append("markers       " + "; ".join(f"{n} x{c}: {cyc:,} cycles" for n, (c, cyc) in totals.items()))
    if result.fault:
        lines.append(f"fault         {result.fault}")
    return "\n".join(lines)


def profile_table(entries: list[ProfileEntry], total_cycles: int, top: int = 15) -> str:
    lines = [f"{'function':32} {'cycles':>14} {'share':>7} {'instructions':>14}"]
    for e in entries[:top]:
        share = e.cycles / total_cycles if total_cycles else 0.0
        lines.append(f"{e.function[:32]:32} {e.cycles:>14,} {share:>7.1%} {e.instructions:>14,}")
    return "\n".join(lines)


def _run_elf(path: str, board: Board, args) -> int:
    emu = Emulator(board, ElfImage(path), max_instructions=args.max_instructions, flash_cache=args.flash_cache)
    try:
        result = emu.run()
        status = result.exit_code & 0xFF
    except FirmwareFault as f:
        result, status = f.result, f.exit_code
        print(f"mcusim: {f}", file=sys.stderr)
    if args.trace:
        try:
            write_trace(args.trace, result.markers, result.cycles, board)
        except OSError as e:
            raise UsageError(f"--trace {args.trace}: cannot write: {e.strerror}") from None
    profile = emu.profile() if args.profile else None
    if args.json:
        obj = result.to_json()
        if profile is not None:
            obj["profile"] = [asdict(e) for e in profile]
        print(json.dumps(obj))
    else:
        sys.stdout.write(result.output)
        sys.stderr.write(result.stderr)
        print(report(result, board))
        if profile is not None:
            print("\n" + profile_table(profile, result.cycles))
    return status


def cmd_run(args) -> int:
    return _run_elf(args.elf, _board(args.board), args)


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--max-instructions", type=int, default=DEFAULT_MAX_INSTRUCTIONS, metavar="N",
                   help="instruction budget; runaway firmware stops with a fault (default %(default)s)")
    p.add_argument("--trace", metavar="T.json", help="write a Chrome trace-event file (opens in Perfetto)")
    p.add_argument("--profile", action="store_true", help="print a flat profile: cycles per function")
    p.add_argument("--no-flash-cache", dest="flash_cache", action="store_false",
                   help="model flash wait states on every instruction fetch (ART / I-cache off)")


class _Parser(argparse.ArgumentParser):
    """argparse with the project's exit status for a bad command line (EX_USAGE, 64, not 2)."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(EX_USAGE, f"{self.prog}: error: {message}\n")


def parser() -> argparse.ArgumentParser:
    top = _Parser(prog="mcusim", description="Cortex-M emulator with measured cycles and SRAM")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("boards", help="list the emulated boards")
    p.set_defaults(func=cmd_boards)

    p = sub.add_parser("build", help="compile C sources into firmware for a board")
    p.add_argument("sources", nargs="+", metavar="SRC.c")
    p.add_argument("--board", required=True)
    p.add_argument("-o", "--output", required=True, metavar="OUT.elf")
    p.add_argument("-I", dest="include", action="append", default=[], metavar="DIR")
    p.add_argument("-D", dest="define", action="append", default=[], metavar="NAME[=VAL]")
    p.add_argument("-O", dest="opt", default="2", metavar="LEVEL")
    p.add_argument("--stack-size", type=int, default=DEFAULT_STACK, metavar="BYTES")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("run", help="run firmware from reset and report cycles, SRAM and flash")
    p.add_argument("elf", metavar="OUT.elf")
    p.add_argument("--board", required=True)
    _add_run_options(p)
    p.set_defaults(func=cmd_run)

    for ep in entry_points(group="mcusim.commands"):
        ep.load()(sub)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except McusimError as e:
        if getattr(args, "json", False):
            print(json.dumps({"error": str(e)}))
        print(f"mcusim: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
