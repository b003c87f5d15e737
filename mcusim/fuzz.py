"""`mcusim fuzz`: a C function against its Python reference, bit for bit, on examples hypothesis draws.

    reference = load_reference("relu_ref.py:relu_s8")        # Python file:function, annotated (mcusim.testing)
    fuzzer = build_fuzzer(["relu_s8.c"], board, reference, budgets=Budgets(cycles=5000))
    report = fuzzer.run(examples=1000, seed=0)               # a Report: passed, counterexample, worst
    fuzzer.check(x=x, n=7, ...)                              # one example of your own; raises Failure

build_fuzzer builds call-only firmware (toolchain.build(..., call_only=True)) that keeps the function;
`mcusim fuzz` (cli.py) and the pytest plugin (pytest_plugin.py) are its two front ends.

One firmware and one Emulator serve every example. Before each call the host restores the firmware's
static data (.data and .bss as startup left them) and empties the flash caches (so an example's cycles
do not depend on the examples before it), lays the arguments out afresh in the heap region
(each array between two guards of GUARD_PATTERN), and fills the Out arrays with OUT_FILL. The
reference runs before the call (its assume() rejects an example outside the C function's contract).
After the call, an example fails when an output differs from the reference's, a guard byte or an
input changed, the firmware faulted, the C function's return value differs from an int the reference
returns, or the call's cycles or stack peak exceed a budget. Hypothesis then shrinks the failing example to a minimal
one. Runs are deterministic for a seed (no example database), so the same command replays a failure.
"""
from __future__ import annotations

import contextlib
import importlib.util
import inspect
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import hypothesis.configuration
import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable, UnsatisfiedAssumption

from .boards import Board
from .elf import ElfImage
from .emulator import CALL_MAX_INSTRUCTIONS, Emulator
from .errors import McusimError, UsageError, missing_extra
from .faults import FirmwareFault
from .toolchain import build, cache_root
from .testing import BARE, OUT_FILL, Array, Scalar, Size, arrays

GUARD_PATTERN = bytes(range(0xF0, 0x100))  # 16 bytes before and after every array
GUARD = len(GUARD_PATTERN)
ALIGN = 8  # every array starts 8-byte aligned


# ---- the reference and its signature ------------------------------------------------------------

def load_reference(spec: str, default_function: str | None = None, folder: Path | None = None) -> Callable:
    """The function of `spec` ("REF.py:FUNC", or "REF.py" with default_function), imported as Python
    imports a test file: its folder first on sys.path. A relative REF.py is taken from `folder`
    (default: the working directory). Raises UsageError naming what is wrong."""
    path_text, colon, name = spec.rpartition(":")
    if not colon or "/" in name or name.endswith(".py"):
        path_text, name = spec, default_function
    if not name:
        raise UsageError(f"--reference {spec}: name the function: --reference {spec}:FUNC")
    path = Path(path_text)
    if folder is not None and not path.is_absolute():
        path = folder / path
    if not path.is_file():
        raise UsageError(f"--reference {spec}: no such file {path}")
    module_name = f"mcusim_reference_{path.stem}"
    loader = importlib.util.spec_from_file_location(module_name, path)
    if loader is None:
        raise UsageError(f"--reference {spec}: {path} is not a Python file")
    module = importlib.util.module_from_spec(loader)
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    sys.modules[module_name] = module
    try:
        loader.loader.exec_module(module)
    except ModuleNotFoundError as e:
        missing = missing_extra(e)
        if missing is not None:
            raise missing from None
        raise UsageError(f"--reference {spec}: importing {path} failed: {e}") from None
    except Exception as e:  # the user's module: any error it raises is theirs to fix
        raise UsageError(f"--reference {spec}: importing {path} failed: {type(e).__name__}: {e}") from None
    function = getattr(module, name, None)
    if not callable(function):
        raise UsageError(f"--reference {spec}: {path} defines no function {name}")
    return function


@dataclass(frozen=True)
class Signature:
    """The reference's parameters in order, each with its annotation (Array, Size or Scalar), and
    the sizes the Int parameters bind (name -> Size)."""

    name: str
    params: tuple[tuple[str, object], ...]
    sizes: dict[str, Size]

    @property
    def arrays(self) -> list[tuple[str, Array]]:
        return [(n, a) for n, a in self.params if isinstance(a, Array)]


ANNOTATIONS = ("In[dtype, dims], Out[dtype, dims], InOut[dtype, dims], Int[\"n\", lo, hi], Struct[fields], "
               "Int32[lo, hi], Multiplier, Shift, ZeroPoint, Scalar[strategy]")


def signature(function: Callable) -> Signature:
    """The Signature of a reference; UsageError for a parameter without a mcusim.testing annotation,
    a size name no Int parameter binds or two bind, or a parameter C cannot take (*args, keyword-only)."""
    name = getattr(function, "__name__", repr(function))
    try:
        hints = inspect.get_annotations(function, eval_str=True)
        params = inspect.signature(function).parameters.values()
    except Exception as e:  # an annotation that does not evaluate: the reference's own error
        raise UsageError(f"reference {name}: its annotations do not evaluate: {type(e).__name__}: {e}") from None
    found, sizes = [], {}
    for p in params:
        if p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            raise UsageError(f"reference {name}: parameter {p.name} is {p.kind.description}; the C function's "
                             "arguments are positional")
        annotation = hints.get(p.name)
        annotation = BARE.get(annotation, annotation) if isinstance(annotation, type) else annotation
        if not isinstance(annotation, (Array, Size, Scalar)):
            raise UsageError(f"reference {name}: parameter {p.name} has no mcusim.testing annotation ({ANNOTATIONS})")
        binding = [annotation] if isinstance(annotation, Size) else [
            f for f in getattr(annotation, "fields", None) or () if isinstance(f, Size)]
        for size in binding:
            if size.name in sizes:
                raise UsageError(f"reference {name}: size {size.name!r} is bound twice (by Int parameters or "
                                 "Struct fields)")
            sizes[size.name] = size
        found.append((p.name, annotation))
    if not found:
        raise UsageError(f"reference {name}: no parameters; annotate them with {ANNOTATIONS}")
    for pname, a in found:
        unbound = [d for d in a.size_names if d not in sizes] if isinstance(a, Array) else []
        if unbound:
            raise UsageError(f"reference {name}: size {unbound[0]!r} of {pname} is bound by no "
                             f"Int[{unbound[0]!r}, lo, hi] parameter or Struct field")
    return Signature(name, tuple(found), sizes)


# ---- examples, failures, the report -------------------------------------------------------------

@st.composite
def drawn_examples(draw, sig: Signature) -> dict:
    """One example: the sizes first, then each parameter's value in order (arrays of the drawn shapes)."""
    drawn = {n: draw(s.strategy()) for n, s in sig.sizes.items()}
    values = {}
    for pname, a in sig.params:
        if isinstance(a, Size):
            values[pname] = drawn[a.name]
        elif isinstance(a, Scalar):
            values[pname] = draw(a.strategy)
        elif a.fields is not None:
            values[pname] = _words([f if type(f) is int else drawn[f] if isinstance(f, str) else
                                    drawn[f.name] if isinstance(f, Size) else draw(f.strategy) for f in a.fields])
        elif a.role != "out":
            values[pname] = draw(arrays(a.dtype, a.shape(drawn)))
    return {"sizes": drawn, "values": values}


def _words(values) -> np.ndarray:
    """A Struct's field values as int32, each wrapped to 32 bits as a register holds it."""
    return np.array([int(v) & 0xFFFF_FFFF for v in values], np.uint32).view(np.int32)


class Failure(AssertionError):
    """An example that fails: kind (mismatch, overrun, input_written, return, fault, cycles, stack,
    reference), a one-line message and the details of the counterexample (JSON-ready)."""

    def __init__(self, kind: str, message: str, details: dict):
        super().__init__(message)
        self.kind, self.message, self.details = kind, message, details


@dataclass
class Report:
    function: str
    board: str
    seed: int
    passed: bool
    examples: int             # examples run to the first failure (all of them when passed)
    shrinks: int              # further calls while shrinking
    seconds: float
    worst: dict               # the largest cycles, instructions and stack peak of any call
    counterexample: dict | None = None  # its "replay" (a command) is the caller's to add

    def to_json(self) -> dict:
        return {"passed": self.passed, "examples": self.examples, "shrinks": self.shrinks,
                "seconds": round(self.seconds, 3), "counterexample": self.counterexample, "worst": self.worst}

    def text(self) -> str:
        """The report for a person: a pass line, or the counterexample."""
        worst = self.worst
        worst_line = (f"worst call: {worst['cycles']:,} cycles, {worst['instructions']:,} instructions, "
                      f"stack peak {worst['stack']:,} B")
        if self.passed:
            rate = self.examples / self.seconds if self.seconds else 0.0
            return (f"{self.function} on {self.board}: {self.examples:,} examples passed (seed {self.seed}, "
                    f"{self.seconds:.1f} s, {rate:,.0f} examples/s); {worst_line}")
        c = self.counterexample
        lines = [f"FAILED: {c['message']}",
                 f"found at example {self.examples:,}, shrunk in {self.shrinks:,} more calls; the counterexample:",
                 *_counterexample_lines(c), worst_line]
        if c.get("replay"):
            lines.append(f"replay: {c['replay']}")
        return "\n".join(lines)


def _counterexample_lines(c: dict) -> list[str]:
    """A counterexample's arguments, both outputs, the first difference and the call's figures."""
    width = max(len(n) for n in [*c["inputs"], *c.get("outputs", {}), "first difference"]) + 2
    lines = [f"  {name:{width}}{_show(value, width + 2)}" for name, value in c["inputs"].items()]
    for name, both in c.get("outputs", {}).items():
        lines.append(f"  {name:{width}}kernel    {_show(both['kernel'], width + 12)}")
        lines.append(f"  {'':{width}}reference {_show(both['reference'], width + 12)}")
    if c.get("first_difference"):
        d = c["first_difference"]
        at = f"{d['output']}[{', '.join(map(str, d['index']))}]"
        lines.append(f"  {'first difference':{width}}{at}: kernel {d['kernel']}, reference {d['reference']}")
    if c["cycles"] is not None:
        lines.append(f"  {'call':{width}}{c['cycles']:,} cycles, stack peak {c['stack']:,} B")
    return lines


def _show(value, indent: int) -> str:
    """An argument of a counterexample: an int, or an array (summarized beyond 64 elements) whose
    continuation lines are indented by `indent`."""
    if isinstance(value, int):
        return str(value)
    return np.array2string(np.asarray(value), threshold=64, max_line_width=110, separator=", ", prefix=" " * indent)


def _plain(value):
    """A value of an example as JSON: arrays as nested lists."""
    return value.tolist() if isinstance(value, np.ndarray) else int(value)


def _filled(dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    """An Out array before the call: every byte OUT_FILL."""
    return np.full(int(np.prod(shape, dtype=np.int64)) * dtype.itemsize, OUT_FILL, np.uint8).view(dtype).reshape(shape)


def _first_difference(kernel: np.ndarray, reference: np.ndarray) -> tuple[int, ...]:
    """The index of the first element (C order) where two arrays of one shape differ."""
    return tuple(int(i) for i in np.argwhere(kernel != reference)[0])


# ---- the fuzzer ---------------------------------------------------------------------------------

@contextlib.contextmanager
def _hypothesis_home(folder: Path):
    """Hypothesis' storage (its cache of the constants in loaded modules) in `folder` for the block,
    not .hypothesis/ in the working directory, unless HYPOTHESIS_STORAGE_DIRECTORY chooses one. The
    setting before is restored (it is hypothesis.configuration's module global)."""
    if os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        yield
        return
    before = getattr(hypothesis.configuration, "__hypothesis_home_directory", None)
    hypothesis.configuration.set_hypothesis_home_dir(folder)
    try:
        yield
    finally:
        hypothesis.configuration.set_hypothesis_home_dir(before)


@dataclass(frozen=True)
class Budgets:
    """Per-call limits; None: none."""

    cycles: int | None = None
    stack: int | None = None


@dataclass
class _Counts:
    calls: int = 0
    first_failure: int | None = None
    worst: dict = field(default_factory=lambda: {"cycles": 0, "instructions": 0, "stack": 0})


class Fuzzer:
    """Calls `function` of the call-only firmware `elf` on examples of `sig`, in one Emulator."""

    def __init__(self, board: Board, elf: ElfImage, function: str, reference: Callable, sig: Signature,
                 budgets: Budgets, max_instructions: int):
        """max_instructions bounds each call (a runaway kernel stops with a fault). Raises UsageError when `function` is no function of the firmware or the largest example's
        arrays do not fit the board's heap region."""
        if not elf.has_symbol(function) or not elf.symbol(function).is_function:
            raise UsageError(f"{function}: no external function of that name in the sources (a static one "
                             "cannot be called; give another with --function)")
        self.function, self.reference, self.sig, self.budgets = function, reference, sig, budgets
        self.board = board
        self.emu = emu = Emulator(board, elf, max_instructions=max_instructions)
        emu.call("main")  # startup (.data, .bss, constructors) and the empty main of call-only firmware
        lay = emu.layout
        largest = {n: s.hi for n, s in sig.sizes.items()}
        need = sum(int(np.prod(a.shape(largest), dtype=np.int64)) * a.dtype.itemsize + 2 * GUARD + ALIGN
                   for _, a in sig.arrays)
        if need > lay.heap_limit - lay.heap_start:
            raise UsageError(f"reference {sig.name}: its largest arrays need {need:,} bytes with guards; "
                             f"{board.name}'s heap region has {lay.heap_limit - lay.heap_start:,} (lower the Int "
                             "parameters' upper bounds)")
        self._static = (board.ram.base, emu.read(board.ram.base, np.uint8, (lay.heap_start - board.ram.base,)))
        self.counts = _Counts()

    def _call(self, example: dict) -> None:
        """Run one example; raises Failure. The reference runs first: its assume() rejects an example
        before the C function sees it."""
        expected = self._reference(example)
        emu, values, drawn = self.emu, example["values"], example["sizes"]
        emu.write(*self._static)
        emu.reset_caches()  # every example's cycles its own, whatever ran before it
        with emu.scratch():
            placed, args = {}, []
            for pname, a in self.sig.params:
                if not isinstance(a, Array):
                    args.append(values[pname])
                    continue
                shape = a.shape(drawn)
                data = _filled(a.dtype, shape) if a.role == "out" else values[pname]
                raw = data.tobytes()
                base = emu.alloc(len(raw) + 2 * GUARD, ALIGN)
                emu.write(base, np.frombuffer(GUARD_PATTERN + raw + GUARD_PATTERN, np.uint8))
                placed[pname] = (base, a, shape, len(raw))
                args.append(base + GUARD)
            try:
                returned = emu.call(self.function, *args)
            except (FirmwareFault, McusimError) as e:
                raise Failure("fault", f"{self.function} faulted: {e}", self._details(example))
            stats = emu.last_call
            worst = self.counts.worst
            worst["cycles"] = max(worst["cycles"], stats.cycles)
            worst["instructions"] = max(worst["instructions"], stats.instructions)
            worst["stack"] = max(worst["stack"], stats.stack_peak)
            kernel = {}
            for pname, (base, a, shape, n) in placed.items():
                raw = emu.read(base, np.uint8, (n + 2 * GUARD,))
                kernel[pname] = raw[GUARD:GUARD + n].view(a.dtype).reshape(shape)
                guards = np.concatenate([raw[:GUARD], raw[GUARD + n:]])
                changed = np.flatnonzero(guards != np.frombuffer(GUARD_PATTERN * 2, np.uint8))
                if changed.size:
                    # byte offsets from the array's start: -GUARD..-1 before it, n..n+GUARD-1 after it
                    offsets = [int(i) - GUARD if i < GUARD else n + int(i) - GUARD for i in changed]
                    raise Failure("overrun", f"{self.function} wrote outside {pname}, a {n}-byte array, at byte "
                                  f"offset {', '.join(map(str, offsets))} (a guard byte changed)",
                                  {**self._details(example, stats), "overrun": {"array": pname, "offsets": offsets}})
        for pname, a in self.sig.arrays:
            if a.role == "in" and not np.array_equal(kernel[pname], values[pname]):
                raise Failure("input_written", f"{self.function} wrote into its input {pname}",
                              self._details(example, stats))
        for pname, a in self.sig.arrays:
            if a.role != "in" and kernel[pname].tobytes() != expected[pname].tobytes():
                index = _first_difference(kernel[pname], expected[pname])
                at = f"{pname}[{', '.join(map(str, index))}]"
                details = self._details(example, stats, kernel, expected)
                details["first_difference"] = {"output": pname, "index": list(index),
                                               "kernel": int(kernel[pname][index]),
                                               "reference": int(expected[pname][index])}
                raise Failure("mismatch", f"{self.function} differs from the reference at {at}: "
                              f"{int(kernel[pname][index])} != {int(expected[pname][index])}", details)
        ret = expected.get(None)
        if ret is not None and returned != ret:
            raise Failure("return", f"{self.function} returned {returned}, the reference {ret}",
                          self._details(example, stats))
        for figure, label, value, budget, unit in (("cycles", "cycles", stats.cycles, self.budgets.cycles, ""),
                                                   ("stack", "stack peak", stats.stack_peak, self.budgets.stack, " B")):
            if budget is not None and value > budget:
                raise Failure(figure, f"{self.function}: {label} {value:,}{unit} over the budget of {budget:,}{unit}",
                              self._details(example, stats))

    def _reference(self, example: dict) -> dict:
        """The reference's outputs by name (and its int return value, if any, under None)."""
        values, drawn = example["values"], example["sizes"]
        args, outputs = [], {}
        for pname, a in self.sig.params:
            if not isinstance(a, Array):
                args.append(values[pname])
            elif a.role == "in":
                copy = values[pname].copy()
                copy.flags.writeable = False
                args.append(copy)
            else:
                outputs[pname] = _filled(a.dtype, a.shape(drawn)) if a.role == "out" else values[pname].copy()
                args.append(outputs[pname])
        try:
            returned = self.reference(*args)
        except UnsatisfiedAssumption:  # assume(): an example outside the C function's contract
            raise
        except Exception as e:  # the reference is the user's code: its error is part of the counterexample
            raise Failure("reference", f"the reference {self.sig.name} raised {type(e).__name__}: {e}",
                          self._details(example))
        if isinstance(returned, (int, np.integer)) and not isinstance(returned, bool):
            outputs[None] = int(returned)
        return outputs

    def _details(self, example: dict, stats=None, kernel: dict | None = None, expected: dict | None = None) -> dict:
        """A counterexample as JSON: sizes, inputs (every argument), the call's cycles and stack peak
        (stats: CallStats; None after a fault) and, given both, the outputs of kernel and reference."""
        details = {"sizes": dict(example["sizes"]), "inputs": {n: _plain(v) for n, v in example["values"].items()},
                   "cycles": stats.cycles if stats else None, "stack": stats.stack_peak if stats else None}
        if kernel is not None and expected is not None:
            details["outputs"] = {n: {"kernel": kernel[n].tolist(), "reference": expected[n].tolist()}
                                  for n, a in self.sig.arrays if a.role != "in"}
        return details

    def check(self, **values) -> None:
        """Run one example of your own, the reference's arguments by name (the Out arrays left out),
        as a hypothesis property test of your own strategies would; raises Failure (an AssertionError)
        naming what differs, or hypothesis' UnsatisfiedAssumption when the reference rejects it."""
        __tracebackhide__ = True  # pytest: the failure is the kernel's, not a line of this module
        wanted = {n for n, a in self.sig.params if not (isinstance(a, Array) and a.role == "out")}
        if set(values) != wanted:
            raise UsageError(f"{self.sig.name}: check() takes {', '.join(sorted(wanted))}; "
                             f"got {', '.join(sorted(values)) or 'nothing'}")
        drawn = {a.name: values[n] for n, a in self.sig.params if isinstance(a, Size)}
        drawn.update((f.name, int(values[n][i])) for n, a in self.sig.arrays if a.fields is not None
                     for i, f in enumerate(a.fields) if isinstance(f, Size))
        example = {"sizes": drawn, "values": {}}
        for n, a in self.sig.params:
            value = values.get(n)
            if isinstance(a, Array) and a.fields is not None:
                value = _words(value)
            if isinstance(a, Array) and a.role != "out":
                value = np.asarray(value)
                if value.dtype != a.dtype or value.shape != a.shape(drawn):
                    raise UsageError(f"{self.sig.name}: {n} must be {a.dtype.name} of shape {a.shape(drawn)}, "
                                     f"not {value.dtype.name} of shape {value.shape}")
            if value is not None:
                example["values"][n] = value
        try:
            self._call(example)
        except Failure as e:
            raise Failure(e.kind, "\n".join([e.message, *_counterexample_lines(e.details)]), e.details) from None

    def run(self, examples: int, seed: int) -> Report:
        """Draw up to `examples` examples with `seed` and run each; on a failure, shrink it. Raises
        UsageError when the reference rejects (assume) every example drawn."""
        counts = self.counts = _Counts()

        @hypothesis_seed(seed)
        @settings(max_examples=examples, database=None, deadline=None, derandomize=False, print_blob=False,
                  report_multiple_bugs=False, verbosity=Verbosity.quiet, phases=(Phase.generate, Phase.shrink),
                  suppress_health_check=list(HealthCheck))
        @given(drawn_examples(self.sig))
        def one(example):
            try:
                self._call(example)
            except UnsatisfiedAssumption:  # rejected by the reference: no example run
                raise
            except Failure:
                counts.calls += 1
                if counts.first_failure is None:
                    counts.first_failure = counts.calls
                raise
            counts.calls += 1

        start = time.perf_counter()
        try:
            with _hypothesis_home(cache_root() / "hypothesis"):
                one()
            failure = None
        except Failure as e:
            failure = e
        except Unsatisfiable:
            raise UsageError(f"reference {self.sig.name}: it rejected (assume) every example drawn; widen its "
                             "annotations' ranges to the C function's contract or loosen the assumptions") from None
        seconds = time.perf_counter() - start
        head = (self.function, self.board.name, seed)
        if failure is None:
            return Report(*head, True, counts.calls, 0, seconds, counts.worst)
        return Report(*head, False, counts.first_failure, counts.calls - counts.first_failure, seconds, counts.worst,
                      {"kind": failure.kind, "message": failure.message, **failure.details})


def build_fuzzer(sources: list, board: Board, reference: Callable, *, function: str | None = None,
                 include_dirs: list = (), defines: list[str] = (), dsp: bool = True, opt: str = "2",
                 budgets: Budgets = Budgets(), max_instructions: int = CALL_MAX_INSTRUCTIONS) -> Fuzzer:
    """A Fuzzer of `function` (default: the reference's name) built from C `sources` for `board`
    into call-only firmware, with -DMCUSIM_DSP=1 or 0 as `dsp` says. Raises UsageError for a bad
    function name or reference, BuildError when the sources do not build."""
    sig = signature(reference)
    function = function or sig.name
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", function):
        raise UsageError(f"--function {function!r}: not a C function name (letters, digits and _)")
    with tempfile.TemporaryDirectory(prefix="mcusim-fuzz-") as tmp:
        # --undefined keeps the function through --gc-sections; one the sources lack is left out of the
        # ELF, and the Fuzzer names it.
        elf = ElfImage(build(sources, board, Path(tmp) / "fuzz.elf", include_dirs=include_dirs,
                             defines=[*defines, f"MCUSIM_DSP={int(dsp)}"], opt=opt,
                             ldflags=[f"-Wl,--undefined={function}"], call_only=True))
    return Fuzzer(board, elf, function, reference, sig, budgets, max_instructions)
