"""A candidate's figures as the search scores them, measured in the emulator: peak SRAM, flash, cycles.

    figures, measurement = measure(deployment, board, inputs)   # the whole graph run, one sample
    figures = compose(deployment, board, cache)                 # from per-op measurements, cached
    budget.violations(figures)                                  # [] when it fits

measure(): the deployment runs on the board (models/runner.py: static + stack + arena high-water
marks per op, cycles per op, firmware + blob flash). A model that the board refuses (an arena or a
blob larger than its memories) runs on the board's roomy twin instead: the same core, clock, flash
wait states and cost model, its SRAM and flash enlarged, so its figures are still measured (they do
not depend on the memories' sizes) and the budget, not the refusal, rejects it.

compose(): the figures without running the graph: each step (one op's kernel calls) is keyed by
(board, DSP path, op kind, attributes, tensor shapes, kernels, sparse stream sizes) -- the op, its
shapes and the memory options that chose its kernels -- and measured once, alone, on arbitrary data
(BoardRunner.run_steps); repeated layers, within a candidate and across candidates, are emulated
once. Composition: SRAM peak = static + max over steps of (the step's measured stack peak + the
plan's arena extent at that step: the highest byte of a buffer live there); flash = firmware + blob
(no emulation needed); cycles = the sum of the steps' cycles. SRAM and flash equal a full run's
exactly (tests/nas/test_measure.py); the cycles of a step depend a little on its data and on the
flash cache's state as it starts, so the sum is within a fraction of a percent of a full run's.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict, dataclass

import numpy as np

from mcusim.boards import Board
from mcusim.models.deploy import Deployment, DeployError
from mcusim.models.plots import planned_curves
from mcusim.models.runner import BoardRunner, Measurement, StepMeasurement

ROOMY_RAM, ROOMY_FLASH = 16 << 20, 64 << 20  # the roomy twin's memories


@dataclass(frozen=True)
class Figures:
    """board: what ran the model (the board, or its roomy twin: '<board>-roomy')."""

    board: str
    sram_peak: int
    static: int
    stack_peak: int
    arena_peak: int
    flash: int
    blob: int
    cycles: int
    latency_ms: float

    def to_json(self) -> dict:
        return asdict(self)


def roomy(board: Board) -> Board:
    """The board with RAM and flash large enough for any candidate (same base addresses)."""
    return dataclasses.replace(board, name=f"{board.name}-roomy", ram=dataclasses.replace(board.ram, size=ROOMY_RAM),
                               flash=dataclasses.replace(board.flash, size=ROOMY_FLASH))


def runner(deployment: Deployment, board: Board, dsp: bool = True) -> BoardRunner:
    """A BoardRunner on the board, or on its roomy twin when the board refuses the model."""
    try:
        return BoardRunner(deployment, board, dsp=dsp)
    except DeployError:
        return BoardRunner(deployment, roomy(board), dsp=dsp)


def figures_of(m: Measurement) -> Figures:
    return Figures(m.board.name, m.total_peak, m.static, m.stack_peak, m.arena_peak, m.flash_total, m.blob, m.cycles,
                   m.latency_ms)


def measure(deployment: Deployment, board: Board, inputs: list[np.ndarray], dsp: bool = True,
            cache: "OpCache | None" = None) -> tuple[Figures, Measurement, list[np.ndarray]]:
    """(figures, the per-op measurement, the outputs) of one sample run; the steps' figures go into
    `cache` when one is given."""
    r = runner(deployment, board, dsp)
    outputs, m = r.run(inputs)
    if cache is not None:
        for i, op in enumerate(m.ops):
            cache.setdefault(step_key(deployment, i, r.board, dsp), op)
    return figures_of(m), m, outputs


def step_key(deployment: Deployment, i: int, board: Board, dsp: bool) -> str:
    """What a step's measured cost depends on, as a string: (op, shapes, options) on a board."""
    graph, op, step = deployment.graph, deployment.graph.ops[i], deployment.steps[i]
    shapes = [list(graph.tensors[name].shape) for name in (*op.inputs, *op.outputs)]
    sparse = [len(call.args[5].data) for call in step.calls if call.kernel.startswith("sparse_")]  # the stream
    board_name = board.name.removesuffix("-roomy")
    return json.dumps([board_name, dsp, op.kind, repr(op.attrs), shapes, [c.kernel for c in step.calls], sparse])


OpCache = dict[str, StepMeasurement]


def compose(deployment: Deployment, board: Board, cache: OpCache, dsp: bool = True, seed: int = 0) -> Figures:
    """The figures composed from per-step measurements; steps not in `cache` are run alone (and
    cached)."""
    keys = [step_key(deployment, i, board, dsp) for i in range(len(deployment.steps))]
    missing = [i for i, key in enumerate(keys) if key not in cache]
    r = runner(deployment, board, dsp)
    for i, op in zip(missing, r.run_steps(missing, np.random.default_rng(seed))):
        cache.setdefault(keys[i], op)
    extents = [-(-int(e) // 4) * 4 for e in planned_curves(deployment)[1]]  # touched words
    stacks = [cache[key].stack_peak for key in keys]
    static = r.emulator.sizes.static_ram
    cycles = sum(cache[key].cycles for key in keys)
    return Figures(r.board.name, static + max(map(sum, zip(stacks, extents)), default=0), static,
                   max(stacks, default=0), max(extents, default=0), r.emulator.flash().total + len(deployment.blob),
                   len(deployment.blob), cycles, cycles / board.clock_hz * 1e3)


@dataclass(frozen=True)
class Budget:
    """A board's limits for a candidate (None: unlimited): SRAM and flash in bytes, latency in ms."""

    sram: int | None = None
    flash: int | None = None
    latency_ms: float | None = None

    @classmethod
    def of(cls, board: Board, sram_kb: float | None = None, flash_kb: float | None = None,
           latency_ms: float | None = None) -> "Budget":
        """The board's SRAM and flash, or less where given (KiB)."""
        return cls(round(sram_kb * 1024) if sram_kb else board.ram.size,
                   round(flash_kb * 1024) if flash_kb else board.flash.size, latency_ms)

    def violations(self, f: Figures) -> list[str]:
        found = []
        if self.sram is not None and f.sram_peak > self.sram:
            found.append(f"SRAM {f.sram_peak:,} B > {self.sram:,} B")
        if self.flash is not None and f.flash > self.flash:
            found.append(f"flash {f.flash:,} B > {self.flash:,} B")
        if self.latency_ms is not None and f.latency_ms > self.latency_ms:
            found.append(f"latency {f.latency_ms:.1f} ms > {self.latency_ms:g} ms")
        if f.board.endswith("-roomy"):
            found.append(f"does not run on {f.board.removesuffix('-roomy')} (arena or blob too large for its memories)")
        return found

    def to_json(self) -> dict:
        return asdict(self)
