"""The `mcusim` command. This module owns the emulator commands; other packages add theirs through
the `mcusim.commands` entry-point group: each entry point is a function `register(subparsers)` that
adds its subcommands and sets `func(args) -> int` on them, so the emulator never imports them. An
entry point that fails to load is named in a one-line warning and the other commands still work.

The one vocabulary of the commands (README, "Use"): an option that more than one command takes is
declared once, here, and the plugins declare theirs with these helpers.

    --board B              a board of the registry (`mcusim boards`)
    -o, --output PATH      every file or folder a command writes
    --json                 one JSON object on stdout: what was written and the key figures
    --trace T.json         a Chrome trace-event file (Perfetto)
    --seed N               every random draw (default 0)
    --<role>-images N      image counts by role: --train-images, --val-images, --calibration-images,
                           --test-images
    --memory-opts, --no-dsp  how a graph is deployed (help text from the plugin)

Old spellings stay for one release as hidden aliases (add_option): they parse into the new option
and warn on stderr; --help does not show them.
"""
from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
from contextlib import contextmanager
from dataclasses import asdict
from importlib.metadata import entry_points
from typing import Callable

from .boards import BOARDS, Board, get_board, UnknownBoard
from .elf import ElfImage
from .emulator import (CALL_MAX_INSTRUCTIONS, DEFAULT_MAX_INSTRUCTIONS, DEFAULT_TIMEOUT_S, MAX_INSTRUCTIONS,
                       MAX_TIMEOUT_S, Emulator, ProfileEntry, RunResult)
from .errors import EX_USAGE, McusimError, MissingExtra, UsageError, missing_extra
from .faults import FirmwareFault
from .files import output_file
from .toolchain import DEFAULT_STACK, OPT_LEVELS, build
from .trace import slices, write_trace

def board(name: str) -> Board:
    """The board of --board NAME; an unknown name is a usage error that lists the known ones."""
    try:
        return get_board(name)
    except UnknownBoard as e:
        raise UsageError(str(e)) from None


def _integer_from(least: int, name: str, most: int | None = None):
    """An argparse type: an integer >= least (and <= most); argparse names the type (`name`) in its error."""
    def parse(text: str) -> int:
        value = int(text)
        if value < least or (most is not None and value > most):
            raise ValueError(text)
        return value

    parse.__name__ = name
    return parse


positive_int = _integer_from(1, "positive integer")
non_negative_int = _integer_from(0, "non-negative integer")
seed_int = _integer_from(0, "seed (0 to 2**32 - 1)", 2**32 - 1)  # what numpy's and torch's generators all take


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0 (not nan, not inf)."""
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(text)
    return value


positive_float.__name__ = "positive number"


class _OldSpelling(argparse.Action):
    """An option's old spelling: stores into the new option's dest and names the new one on stderr."""

    def __init__(self, option_strings, dest, new: str, **kwargs):
        super().__init__(option_strings, dest, **kwargs)
        self.new = new

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"mcusim: {option_string} is deprecated; use {self.new}", file=sys.stderr)
        setattr(namespace, self.dest, values)


def add_option(p: argparse.ArgumentParser, *flags: str, aliases: tuple[str, ...] = (), **kwargs) -> argparse.Action:
    """p.add_argument(*flags, **kwargs), and each old spelling in `aliases` as a hidden alias (for one
    release): it takes a value as the option does, stores it into the same dest and warns; --help
    leaves it out. Options that take a value only."""
    action = p.add_argument(*flags, **kwargs)
    for old in aliases:
        p.add_argument(old, dest=action.dest, action=_OldSpelling, new=max(flags, key=len), type=action.type,
                       choices=action.choices, metavar=action.metavar, default=argparse.SUPPRESS,
                       help=argparse.SUPPRESS)
    return action


def add_board(p: argparse.ArgumentParser, required: bool = True, default: str | None = None,
              purpose: str = "the emulated board") -> None:
    """--board B; its help names the boards of the registry."""
    where = f" (default: {default})" if default else ""
    p.add_argument("--board", required=required, default=default, metavar="B",
                   help=f"{purpose}: {', '.join(BOARDS)}{where}")


def add_output(p: argparse.ArgumentParser, metavar: str, required: bool = True, help: str | None = None,
               default: str | None = None) -> None:
    """-o/--output: what the command writes."""
    p.add_argument("-o", "--output", required=required, default=default, metavar=metavar, help=help)


def add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true",
                   help="print one JSON object on stdout instead of text (with what was written)")


def add_trace(p: argparse.ArgumentParser) -> None:
    p.add_argument("--trace", metavar="T.json",
                   help="write a Chrome trace-event file (opens in Perfetto): a slice per marker or op")


def add_seed(p: argparse.ArgumentParser, what: str = "every random draw") -> None:
    p.add_argument("--seed", type=seed_int, default=0, metavar="N", help=f"seed of {what} (default: %(default)s)")


def add_force(p: argparse.ArgumentParser) -> None:
    """--force: a command whose -o is a folder writes into a non-empty one, replacing its files."""
    p.add_argument("--force", action="store_true", help="write into a non-empty output folder, replacing its files")


def add_images(p: argparse.ArgumentParser, role: str, help: str, default: int | None = None,
               aliases: tuple[str, ...] = ()) -> None:
    """--<role>-images N: how many images of a role (train, val, calibration, test) a command uses."""
    add_option(p, f"--{role}-images", type=positive_int, default=default, metavar="N", help=help, aliases=aliases)


def add_deploy_options(p: argparse.ArgumentParser, memory_opts_help: str) -> None:
    """--memory-opts OPTS (what they are is the plugin's: `memory_opts_help`) and --no-dsp."""
    p.add_argument("--memory-opts", default="none", metavar="OPTS", help=memory_opts_help)
    p.add_argument("--no-dsp", dest="dsp", action="store_false",
                   help="the kernels' plain C path, without the DSP extension (SMLAD)")


def print_json(obj) -> None:
    """The --json output: one JSON value on one line of stdout."""
    print(json.dumps(obj))


@contextmanager
def writing(flag: str, path):
    """An OSError while writing `path` (given as `flag`) becomes a usage error naming both."""
    try:
        yield
    except OSError as e:
        raise UsageError(f"{flag} {path}: cannot write: {e.strerror or e}") from None


def _kib(n: int) -> str:
    return f"{n / 1024:g} KiB"


def _region(r) -> dict:
    return {"name": r.name, "base": r.base, "size": r.size}


def cmd_boards(args) -> int:
    if args.json:
        print_json([{"name": b.name, "part": b.part, "core": b.core.name, "clock_hz": b.clock_hz,
                     "flash": _region(b.flash), "ram": _region(b.ram), "extra": [_region(r) for r in b.extra]}
                    for b in BOARDS.values()])
        return 0
    rows = [("board", "part", "core", "clock", "flash", "SRAM (linker)", "other RAM")]
    for b in BOARDS.values():
        extra = ", ".join(f"{r.name} {_kib(r.size)}" for r in b.extra) or "-"
        rows.append((b.name, b.part, b.core.name, f"{b.clock_hz // 1_000_000} MHz", _kib(b.flash.size),
                     _kib(b.ram.size), extra))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return 0


def _words(option: str, texts: list[str]) -> list[str]:
    """The words of each --cflags / --ldflags text, split as a POSIX shell would (shlex)."""
    try:
        return [word for text in texts for word in shlex.split(text)]
    except ValueError as e:
        raise UsageError(f"{option}: {e}") from None


def cmd_build(args) -> int:
    b = board(args.board)
    out = output_file(args.output, "-o", inputs=args.sources)
    if args.stack_size % 8:
        raise UsageError(f"--stack-size {args.stack_size}: not a multiple of 8 bytes")
    out = build(args.sources, b, out, include_dirs=args.include, defines=args.define, opt=args.opt,
                stack_size=args.stack_size, keep=args.keep, cflags=_words("--cflags", args.cflags),
                ldflags=_words("--ldflags", args.ldflags), call_only=args.no_main,
                warnings=sys.stderr if args.warnings else None)
    s = ElfImage(out).sizes(b)
    if args.json:
        print_json({"output": str(out), "board": b.name, "text": s.text, "rodata": s.rodata, "data": s.data,
                    "bss": s.bss})
    else:
        print(f"{out}: text {s.text} B, rodata {s.rodata} B, data {s.data} B, bss {s.bss} B", file=sys.stderr)
    return 0


REPORT_MARKERS = 20  # marker names the report lists


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
        shown = [f"{n} x{c}: {cyc:,} cycles" for n, (c, cyc) in list(totals.items())[:REPORT_MARKERS]]
        more = f"; and {len(totals) - REPORT_MARKERS:,} more names" if len(totals) > REPORT_MARKERS else ""
        lines.append("markers       " + "; ".join(shown) + more)
    m = result.memory
    if m is not None:
        lines.append(f"flash caches  I {m.icache_hits:,} hits, {m.icache_misses:,} misses; D {m.dcache_hits:,} hits, "
                     f"{m.dcache_misses:,} misses; wait states {m.fetch_stall + m.data_stall:,} cycles "
                     f"(fetch {m.fetch_stall:,}, data {m.data_stall:,})")
    if result.fault:
        lines.append(f"fault         {result.fault}")
    return "\n".join(lines)


def profile_table(entries: list[ProfileEntry], total_cycles: int, top: int = 15) -> str:
    lines = [f"{'function':32} {'cycles':>14} {'share':>7} {'instructions':>14} {'wait states':>12}"]
    for e in entries[:top]:
        share = e.cycles / total_cycles if total_cycles else 0.0
        lines.append(f"{e.function[:32]:32} {e.cycles:>14,} {share:>7.1%} {e.instructions:>14,} {e.stall:>12,}")
    return "\n".join(lines)


def _run_elf(path: str, board: Board, args) -> int:
    trace = output_file(args.trace, "--trace", inputs=[path]) if args.trace else None
    emu = Emulator(board, ElfImage(path), max_instructions=args.max_instructions, timeout=args.timeout,
                   flash_cache=args.flash_cache)
    fault = None
    try:
        result = emu.run()
        status = result.exit_code & 0xFF
    except FirmwareFault as f:
        result, status, fault = f.result, f.exit_code, f
    if trace:
        with writing("--trace", trace):
            write_trace(trace, result.markers, result.cycles, board)
    profile = emu.profile() if args.profile else None
    over = None if fault else over_budget(args, (result.cycles, result.sram.stack_peak, result.sram.total_peak))
    if args.json:
        obj = result.to_json()
        if profile is not None:
            obj["profile"] = [asdict(e) for e in profile]
        if over:
            obj["over_budget"] = over
        print_json(obj)
    else:
        sys.stdout.write(result.output)
        sys.stderr.write(result.stderr)
        print(report(result, board))
        if profile is not None:
            print("\n" + profile_table(profile, result.cycles))
    for note in result.notes:
        print(f"mcusim: note: {note}", file=sys.stderr)
    if fault is not None:
        print(f"mcusim: {fault}", file=sys.stderr)
    elif over:
        print(f"mcusim: {over}", file=sys.stderr)
    return status or (EX_BUDGET if over else 0)


EX_BUDGET = 1  # the status of a command that passed but went over a --max-cycles, --max-stack or --max-sram budget
BUDGETS = (("cycles", "max_cycles", ""), ("stack peak", "max_stack", " B"), ("SRAM peak", "max_sram", " B"))


def over_budget(args, *runs: tuple[int, int, int], worst: Callable[[int], str] | None = None) -> str | None:
    """The line naming the first figure (cycles, stack peak, SRAM peak, in that order) over its budget
    (--max-cycles, --max-stack, --max-sram; an option the command lacks sets none): the figure, its
    largest value among `runs` (each (cycles, stack peak, SRAM peak)) and the budget, then, given
    `worst`, "(worst(i))" naming the run i (0-based; the first of equal values) it came from. None
    when every figure is within its budget. `run` and `check` print it as `mcusim: LINE`, exit 1."""
    for column, (figure, option, unit) in enumerate(BUDGETS):
        budget = getattr(args, option, None)
        if budget is None:
            continue
        i = max(range(len(runs)), key=lambda r: runs[r][column])
        value = runs[i][column]
        if value > budget:
            where = f" ({worst(i)})" if worst is not None else ""
            return f"{figure} {value:,}{unit} over the budget of {budget:,}{unit}{where}"
    return None


def cmd_run(args) -> int:
    return _run_elf(args.elf, board(args.board), args)


EX_FAILED = 1  # fuzz: a counterexample was found


def _fuzz_command(args, function: str) -> str:
    """The command line that replays a fuzz run: the same draws, as the seed fixes every one."""
    words = ["mcusim", "fuzz", *args.sources, "--reference", args.reference, "--board", args.board,
             "--function", function, "--examples", str(args.examples), "--seed", str(args.seed)]
    words += [] if args.dsp else ["--no-dsp"]
    words += [w for d in args.include for w in ("-I", d)] + [w for d in args.define for w in ("-D", d)]
    words += ["-O", args.opt] if args.opt != "2" else []
    words += ["--max-instructions", str(args.max_instructions)] if args.max_instructions != CALL_MAX_INSTRUCTIONS else []
    for flag, value in (("--max-cycles", args.max_cycles), ("--max-stack", args.max_stack)):
        words += [flag, str(value)] if value is not None else []
    return shlex.join(words)


def cmd_fuzz(args) -> int:
    from .fuzz import Budgets, build_fuzzer, load_reference  # hypothesis: the 'testing' extra

    b = board(args.board)
    reference = load_reference(args.reference, args.function)
    fuzzer = build_fuzzer(args.sources, b, reference, function=args.function, include_dirs=args.include,
                          defines=args.define, dsp=args.dsp, opt=args.opt,
                          budgets=Budgets(args.max_cycles, args.max_stack), max_instructions=args.max_instructions)
    report = fuzzer.run(args.examples, args.seed)
    if report.counterexample is not None:
        report.counterexample["replay"] = _fuzz_command(args, fuzzer.function)
    if args.json:
        print_json(report.to_json())
    else:
        print(report.text())
    if report.passed:
        return 0
    print(f"mcusim: {report.counterexample['message']}", file=sys.stderr)
    return EX_FAILED


_instructions = _integer_from(1, f"instruction count (1 to {MAX_INSTRUCTIONS})", MAX_INSTRUCTIONS)


def _seconds(text: str) -> float:
    """An argparse type: seconds, more than 0 and at most MAX_TIMEOUT_S."""
    value = positive_float(text)
    if value > MAX_TIMEOUT_S:
        raise ValueError(text)
    return value


_seconds.__name__ = f"number of seconds (more than 0, at most {MAX_TIMEOUT_S:g})"


def add_budgets(p: argparse.ArgumentParser, sram: str | None = None) -> None:
    """--max-cycles N and --max-stack BYTES, and given `sram` (what the command's SRAM peak sums, for
    the help) --max-sram BYTES: budgets whose excess fails the command (exit 1, one line: over_budget)."""
    p.add_argument("--max-cycles", type=non_negative_int, metavar="N",
                   help="cycle budget: over it, one line naming the figure and exit 1")
    p.add_argument("--max-stack", type=non_negative_int, metavar="BYTES",
                   help="budget of the stack peak: over it, one line naming the figure and exit 1")
    if sram is not None:
        p.add_argument("--max-sram", type=non_negative_int, metavar="BYTES",
                       help=f"budget of the SRAM peak ({sram}): over it, one line naming the figure and exit 1")


def _add_run_options(p: argparse.ArgumentParser) -> None:
    add_json(p)
    p.add_argument("--max-instructions", type=_instructions, default=DEFAULT_MAX_INSTRUCTIONS, metavar="N",
                   help="instruction budget: runaway firmware stops with a fault, exit 70 (default %(default)s)")
    p.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT_S, metavar="SECONDS",
                   help="wall-clock limit: firmware still running then stops with a fault, exit 70 "
                        "(default %(default)g)")
    add_trace(p)
    add_budgets(p, sram="static + stack + heap")
    p.add_argument("--profile", action="store_true", help="print a flat profile: cycles per function")
    p.add_argument("--no-flash-cache", dest="flash_cache", action="store_false",
                   help="turn the flash caches off (ART / L1): every line fetched or read from flash pays "
                        "the wait states")


class _AppendWords(argparse._AppendAction):
    """action="append" for an option whose value may begin with a dash (--cflags "-DX -O3"), which
    argparse alone would take for an option: _Parser joins the two words (--cflags=-DX -O3)."""


class _Parser(argparse.ArgumentParser):
    """argparse with the project's exit status for a bad command line (EX_USAGE, 64, not 2), and
    with _AppendWords options."""

    def parse_known_args(self, args=None, namespace=None):
        words = list(sys.argv[1:] if args is None else args)
        joining = {s for a in self._actions if isinstance(a, _AppendWords) for s in a.option_strings}
        joined: list[str] = []
        while words:
            word = words.pop(0)
            if word == "--":  # the rest are operands
                joined += [word, *words]
                break
            joined.append(f"{word}={words.pop(0)}" if word in joining and words else word)
        return super().parse_known_args(joined, namespace)

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(EX_USAGE, f"{self.prog}: error: {message}\n")


def parser() -> argparse.ArgumentParser:
    top = _Parser(prog="mcusim", description="Cortex-M emulator with measured cycles and SRAM")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("boards", help="list the emulated boards")
    add_json(p)
    p.set_defaults(func=cmd_boards)

    p = sub.add_parser("build", help="compile C sources into firmware for a board")
    p.add_argument("sources", nargs="+", metavar="SRC.c")
    add_board(p)
    add_output(p, "OUT.elf", help="the firmware")
    p.add_argument("-I", dest="include", action="append", default=[], metavar="DIR", help="an include directory")
    p.add_argument("-D", dest="define", action="append", default=[], metavar="NAME[=VAL]", help="a macro")
    p.add_argument("-O", dest="opt", default="2", choices=OPT_LEVELS, metavar="LEVEL",
                   help=f"optimization level: {' '.join(OPT_LEVELS)} (default: %(default)s)")
    p.add_argument("--stack-size", type=positive_int, default=DEFAULT_STACK, metavar="BYTES",
                   help="default: %(default)s")
    p.add_argument("--cflags", action=_AppendWords, default=[], metavar='"FLAGS"',
                   help="more gcc flags, after mcusim's (e.g. \"-funroll-loops -flto\"); none that choose outputs "
                        "or read host files")
    p.add_argument("--ldflags", action=_AppendWords, default=[], metavar='"FLAGS"',
                   help="more link flags, after the sources (e.g. \"-u _printf_float\", -lNAME, -Wl,--wrap=F)")
    p.add_argument("--keep", action="append", default=[], metavar="SYMBOL",
                   help="keep this external function or variable although nothing calls it (for Emulator.call)")
    p.add_argument("--no-main", action="store_true",
                   help="the sources define no main(): firmware whose functions the host calls (Emulator.call)")
    p.add_argument("--warnings", action="store_true", help="print the compiler's warnings (on stderr)")
    add_json(p)
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("run", help="run firmware from reset and report cycles, SRAM and flash")
    p.add_argument("elf", metavar="OUT.elf")
    add_board(p)
    _add_run_options(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("fuzz", help="fuzz a C function against a Python reference, bit for bit, in the emulator")
    p.add_argument("sources", nargs="+", metavar="KERNEL.c")
    p.add_argument("--reference", required=True, metavar="REF.py:FUNC",
                   help="the Python reference: a function whose parameters are annotated with mcusim.testing types")
    add_board(p)
    p.add_argument("--function", metavar="NAME", help="the C function (default: the reference's name)")
    p.add_argument("--examples", type=positive_int, default=1000, metavar="N",
                   help="examples to draw (default: %(default)s)")
    add_seed(p, "the examples hypothesis draws (the same seed replays the same run)")
    p.add_argument("--dsp", action=argparse.BooleanOptionalAction, default=True,
                   help="build with MCUSIM_DSP=1 (the DSP-extension path) or 0 (default: --dsp)")
    p.add_argument("-I", dest="include", action="append", default=[], metavar="DIR", help="an include directory")
    p.add_argument("-D", dest="define", action="append", default=[], metavar="NAME[=VAL]", help="a macro")
    p.add_argument("-O", dest="opt", default="2", choices=OPT_LEVELS, metavar="LEVEL",
                   help=f"optimization level: {' '.join(OPT_LEVELS)} (default: %(default)s)")
    add_budgets(p)
    p.add_argument("--max-instructions", type=_instructions, default=CALL_MAX_INSTRUCTIONS, metavar="N",
                   help="instructions one call may run before it stops with a fault (default %(default)s)")
    add_json(p)
    p.set_defaults(func=cmd_fuzz)

    _add_plugin_commands(sub)
    return top


def _add_plugin_commands(sub) -> None:
    """Each entry point of the `mcusim.commands` group adds its commands; one that fails to load or
    to register is named in a one-line warning on stderr and left out whole (the commands it added
    before failing are taken back: argparse keeps them in `choices` and `_choices_actions`)."""
    for ep in entry_points(group="mcusim.commands"):
        commands, listed = dict(sub.choices), list(sub._choices_actions)
        try:
            ep.load()(sub)
        except Exception as e:  # a broken plugin must not take `mcusim boards` down with it
            sub.choices.clear()
            sub.choices.update(commands)
            sub._choices_actions[:] = listed
            print(f"mcusim: warning: the commands of plugin {ep.name!r} ({ep.value}) are not available: "
                  f"{type(e).__name__}: {e}".replace("\n", " "), file=sys.stderr)


MAX_ERROR = 1000  # characters of an error line: a hostile file's bytes quoted by a library stay short


def _fail(args, message: str, exit_code: int) -> int:
    """Report a command's error: one line on stderr of at most MAX_ERROR characters (and, with --json,
    as {"error": ...} on stdout)."""
    message = " ".join(message.split("\n"))
    if len(message) > MAX_ERROR:
        message = message[:MAX_ERROR - 3] + "..."
    if getattr(args, "json", False):
        print_json({"error": message})
    print(f"mcusim: {message}", file=sys.stderr)
    return exit_code


def main(argv: list[str] | None = None) -> int:
    """Run the command of `argv`; its exit status. An optional dependency a command imports and
    does not find ends it with one line that names the extra to install, exit 69 (EX_UNAVAILABLE)."""
    args = parser().parse_args(argv)
    try:
        try:
            return args.func(args)
        except ModuleNotFoundError as e:
            missing = missing_extra(e)
            if missing is None:  # not an optional dependency: a broken install, its traceback says where
                raise
            raise missing from None
    except MissingExtra as e:
        return _fail(args, f"{args.command} needs the '{e.extra}' extra: pip install 'mcusim[{e.extra}]'", e.exit_code)
    except McusimError as e:
        return _fail(args, str(e), e.exit_code)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
