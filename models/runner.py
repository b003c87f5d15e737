"""A deployed graph on an emulated board: the firmware (kernels + graph executor, built once per board
and DSP option), the model blob in flash after the firmware, the arena at the start of the heap.

    runner = BoardRunner(deploy(graph), get_board("stm32f746"))
    outputs, measurement = runner.run([x])          # int8 (or float32) arrays, one sample each

Measurement, per step (one graph op), all in the emulator:
- cycles and instructions of the executor's call (the kernel calls plus the step's dispatch);
- stack peak: the stack is painted before the call and read after (Emulator.call); it holds the
  scratch memory the step's kernels state (models/ops.scratch_size), reported beside it;
- arena peak: before the step the host paints every arena byte no live buffer holds (what the plan
  says is free); after it, the highest arena word that no longer holds the paint. A step that writes
  any painted word outside its own outputs raises DeployError (a kernel writing out of bounds, or a
  plan that shares bytes it must not): the plan is checked, not trusted;
- SRAM peak = static (.data + .bss) + stack peak + arena peak.
The arena high-water of a whole run is the largest step's arena peak.
"""
from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from mcusim.boards import Board
from mcusim.elf import ElfImage
from mcusim.emulator import DEFAULT_MAX_INSTRUCTIONS, Emulator, FlashUsage
from mcusim.peripherals import Marker
from mcusim.toolchain import RUNTIME_C, build
from mcusim.trace import write_trace

from .deploy import Deployment, DeployError, weight_storage, weight_summary
from .kernels import SOURCES
from .names import SHORT_WIDTH, short_names
from .ops import scratch_size

EXECUTOR = RUNTIME_C / "executor" / "mcusim_graph.c"
ENTRY = "mcusim_graph_run"
STATUS = {-1: "a kernel argument outside its legal range (mcusim_nn.h)", -2: "a malformed model blob",
          -3: "a kernel id this firmware does not know"}  # mcusim_nn.h, mcusim_graph.h


def firmware(board: Board, dsp: bool = True, workdir: str | Path | None = None) -> Path:
    """The graph firmware for `board` (cached by the toolchain: built once per board and option)."""
    workdir = Path(workdir or tempfile.gettempdir())
    return build([*SOURCES, EXECUTOR, RUNTIME_C / "startup" / "empty_main.c"], board,
                 workdir / f"mcusim-graph-{board.name}-dsp{int(dsp)}.elf", defines=[f"MCUSIM_DSP={int(dsp)}"],
                 keep=[ENTRY])


@dataclass(frozen=True)
class StepMeasurement:
    name: str
    kind: str
    cycles: int
    instructions: int
    stack_peak: int
    scratch: int  # of the stack peak: the largest scratch a kernel of the step states
    arena_peak: int
    sram_peak: int

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Measurement:
    board: Board
    ops: list[StepMeasurement]
    static: int
    planned_arena: int
    lower_bound: int
    flash: FlashUsage
    blob: int  # bytes of the model blob in flash
    markers: list[Marker]  # the executor's trace markers, one per step
    end_cycles: int        # the cycle count when the last step returned

    def write_trace(self, path: str | Path) -> None:
        """The Perfetto trace: a slice per op with its measurement, and SRAM counter tracks."""
        write_trace(path, self.markers, self.end_cycles, self.board, [op.to_json() for op in self.ops],
                    {"SRAM peak (B)": [op.sram_peak for op in self.ops],
                     "arena (B)": [op.arena_peak for op in self.ops]})

    @property
    def cycles(self) -> int:
        return sum(op.cycles for op in self.ops)

    @property
    def latency_ms(self) -> float:
        return self.cycles / self.board.clock_hz * 1e3

    @property
    def arena_peak(self) -> int:
        return max((op.arena_peak for op in self.ops), default=0)

    @property
    def stack_peak(self) -> int:
        return max((op.stack_peak for op in self.ops), default=0)

    @property
    def total_peak(self) -> int:
        return max((op.sram_peak for op in self.ops), default=self.static)

    @property
    def flash_total(self) -> int:
        return self.flash.total + self.blob

    def to_json(self) -> dict:
        """The measurement keys of DESIGN.md's infer/check JSON."""
        return {
            "board": self.board.name,
            "cycles": self.cycles,
            "latency_ms": self.latency_ms,
            "sram": {"static": self.static, "stack_peak": self.stack_peak, "arena_peak": self.arena_peak,
                     "arena_planned": self.planned_arena, "arena_lower_bound": self.lower_bound,
                     "total_peak": self.total_peak},
            "flash": {**self.flash.to_json(), "model": self.blob, "total": self.flash_total},
            "ops": [op.to_json() for op in self.ops],
        }


class BoardRunner:
    """One deployment on one emulated board; run() may be called for any number of samples."""

    def __init__(self, deployment: Deployment, board: Board, *, dsp: bool = True, workdir: str | Path | None = None,
                 max_instructions: int = DEFAULT_MAX_INSTRUCTIONS):
        self.deployment, self.board = deployment, board
        elf = ElfImage(firmware(board, dsp and board.core.dsp, workdir))
        self.emulator = emu = Emulator(board, elf, max_instructions=max_instructions)
        flash_end = max(s.paddr + len(s.data) for s in elf.segments if board.flash.contains(s.paddr))
        self.blob_address = (flash_end + 7) & ~7
        blob, arena = deployment.blob, deployment.plan.arena_size
        self.arena_address = (emu.layout.heap_start + 7) & ~7
        room = emu.layout.heap_limit - self.arena_address
        overflows = []  # every resource the model overflows, so that one message says all a fix must cover
        if self.blob_address + len(blob) > board.flash.end:
            overflows.append(f"flash: firmware {emu.sizes.flash:,} B + model blob {len(blob):,} B = "
                             f"{emu.sizes.flash + len(blob):,} B > {board.flash.size:,} B")
        if arena > room:
            guard = emu.layout.stack_top - emu.layout.heap_limit
            overflows.append(f"SRAM: arena {arena:,} B > {room:,} B free ({board.ram.size:,} B RAM - static "
                             f"{emu.sizes.static_ram:,} B - stack and guard {guard:,} B)")
        if overflows:
            raise DeployError(f"model does not fit {board.name}: {'; '.join(overflows)}")
        emu.uc.mem_write(self.blob_address, blob)
        self._arena_words = -(-arena // 4) * 4

    def _write(self, name: str, array: np.ndarray) -> None:
        self.emulator.write(self.arena_address + self.deployment.offset(name), array)

    def _read(self, name: str) -> np.ndarray:
        t = self.deployment.graph.tensors[name]
        return self.emulator.read(self.arena_address + self.deployment.offset(name), t.dtype, t.shape)

    def _span(self, buffers) -> np.ndarray:
        """A mask over the arena's words: those inside `buffers`."""
        mask = np.zeros(self._arena_words // 4, bool)
        for b in buffers:
            start = self.deployment.plan.offsets[b.names]
            mask[start // 4:-(-(start + b.size) // 4)] = True
        return mask

    def run(self, inputs: list[np.ndarray]) -> tuple[list[np.ndarray], Measurement]:
        """Run one sample (inputs in graph.inputs order, each of its tensor's dtype and shape). Each
        sample starts with empty flash caches, as the first inference after a reset: its figures
        do not depend on the samples run before it."""
        d, emu = self.deployment, self.emulator
        for name, array in zip(d.graph.inputs, inputs, strict=True):
            t = d.graph.tensors[name]
            if array.shape != t.shape or array.dtype != np.dtype(t.dtype):
                raise DeployError(f"input {name!r}: expected {t.dtype}{list(t.shape)}, "
                                  f"got {array.dtype}{list(array.shape)}")
        emu.paint(self.arena_address, self._arena_words)
        for name, array in zip(d.graph.inputs, inputs):
            self._write(name, array)
        emu.markers.clear()
        emu.reset_caches()
        ops = [self._step(i) for i in range(len(d.steps))]
        outputs = [self._read(name) for name in d.graph.outputs]
        return outputs, Measurement(self.board, ops, emu.sizes.static_ram, d.plan.arena_size, d.lower_bound,
                                    emu.flash(), len(d.blob), list(emu.markers), emu.cycles)

    def run_steps(self, steps: list[int], rng: np.random.Generator) -> list[StepMeasurement]:
        """Steps of the deployment run alone, each on arbitrary data: the arena filled with random
        bytes first, so every buffer a step reads holds some value (kernels take any int8). What a
        step's stack, arena extent and code path need does not depend on the values; its cycles
        may, slightly (docs/search.md)."""
        arena = rng.integers(0, 256, self._arena_words, dtype=np.uint8)
        result = []
        for i in steps:
            self.emulator.write(self.arena_address, arena)
            result.append(self._step(i))
        return result

    def _step(self, i: int) -> StepMeasurement:
        """Run step i on what the arena holds: paint the bytes no live buffer holds, call the
        executor, check that it wrote inside its outputs, measure."""
        d, emu, step = self.deployment, self.emulator, self.deployment.steps[i]
        held = self._span(d.held(i))
        for start, stop in _runs(np.flatnonzero(~held)):
            emu.paint(self.arena_address + 4 * start, 4 * (stop - start))
        status = emu.call(ENTRY, self.blob_address, self.arena_address, i, 1, 0)
        if status != 0:
            raise DeployError(f"step {i} ({step.name}, {step.kind}) on {self.board.name}: status {status}, "
                              f"{STATUS.get(status, 'unknown')}")
        touched = ~emu.painted_words(self.arena_address, self._arena_words)
        stray = np.flatnonzero(touched & ~held & ~self._span(d.written(i)))
        if stray.size:
            raise DeployError(f"step {i} ({step.name}, {step.kind}) wrote arena bytes {4 * stray[0]}.."
                              f"{4 * stray[-1] + 3} outside its output buffers")
        words = np.flatnonzero(touched)
        extent = 4 * int(words[-1] + 1) if words.size else 0
        stats = emu.last_call
        scratch = max((scratch_size(call) for call in step.calls), default=0)
        return StepMeasurement(step.name, step.kind, stats.cycles, stats.instructions, stats.stack_peak, scratch,
                               extent, emu.sizes.static_ram + stats.stack_peak + extent)


def _runs(indices: np.ndarray):
    """(start, stop) of each run of consecutive integers in a sorted array."""
    if not indices.size:
        return []
    breaks = np.flatnonzero(np.diff(indices) != 1)
    starts = np.concatenate([[indices[0]], indices[breaks + 1]])
    stops = np.concatenate([indices[breaks] + 1, [indices[-1] + 1]])
    return zip(starts.tolist(), stops.tolist())


def report(m: Measurement, deployment: Deployment, top: int | None = None) -> str:
    """The human-readable measurement of a run of `deployment`: one row per step (the `top` costliest,
    or all; each with its index and short name, models/names.py, and its filter's storage), then
    totals, the patch-based choice and the weight storage."""
    names = short_names(deployment.graph)
    storage = {layer.step: layer for layer in weight_storage(deployment)}
    rows = list(enumerate(m.ops))
    if top is not None:
        rows = sorted(rows, key=lambda row: -row[1].cycles)[:top]
    lines = [f"{'#':>4} {'op':{SHORT_WIDTH}} {'kind':16} {'weights':8} {'cycles':>12} {'ms':>8} {'stack':>6} "
             f"{'scratch':>7} {'arena':>8} {'SRAM':>8}"]
    us = 1e3 / m.board.clock_hz
    for i, op in rows:
        layer = storage.get(i)
        weights = "" if layer is None else "dense" if layer.storage == "dense" else f"rle b{layer.block}"
        lines.append(f"{i:>4} {names[i]:{SHORT_WIDTH}} {op.kind:16} {weights:8} {op.cycles:>12,} "
                     f"{op.cycles * us:>8.3f} {op.stack_peak:>6,} {op.scratch:>7,} {op.arena_peak:>8,} {op.sram_peak:>8,}")
    if top is not None and top < len(m.ops):
        lines.append(f"({len(m.ops) - top} cheaper steps not shown; --all-ops shows every step)")
    b = m.board
    lines += [
        f"board    {b.name} ({b.core.name}, {b.clock_hz // 1_000_000} MHz)",
        f"latency  {m.cycles:,} cycles = {m.latency_ms:.3f} ms",
        f"SRAM     peak {m.total_peak:,} B of {b.ram.size:,} (static {m.static:,} + stack peak {m.stack_peak:,} + arena "
        f"{m.arena_peak:,} measured; planned arena {m.planned_arena:,}, schedule lower bound {m.lower_bound:,})",
        f"flash    {m.flash_total:,} B of {b.flash.size:,} (firmware {m.flash.total:,} + model {m.blob:,})",
        f"weights  {weight_summary(list(storage.values()), deployment.options)}",
    ]
    if deployment.patch_choice is not None:
        lines.append(f"patches  {deployment.patch_choice}")
    return "\n".join(lines)
