"""Golden traces: per-op cycles and SRAM of the shipped graphs on each board, recorded in traces/ and
compared by the tests, so that a change to a kernel, the executor, the planner or the cycle model
shows as figures that moved.

    python -m mcusim.models.traces          # (re)record traces/<model>.<board>.json (`make traces`)

A record runs the model's shipped graph (models/checkpoints/<model>.graph) once on one random input
(seed 0, models.evaluate.random_inputs) with the default deployment options and the DSP kernels, and
refuses outputs that differ from the reference interpreter's.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from mcusim.boards import BOARDS, get_board
from mcusim.files import write_text_atomic
from mcusim.toolchain import compiler_version

from . import zoo
from .deploy import DeployError, deploy
from .evaluate import differing_values, random_inputs
from .graph import Graph
from .interpreter import run
from .runner import BoardRunner

TRACES = Path(__file__).resolve().parent.parent / "traces"
OP_FIGURES = ("cycles", "stack_peak", "arena_peak", "sram_peak")


def shipped() -> list[str]:
    """The models with a shipped graph."""
    return [name for name in zoo.names() if zoo.get(name).graph is not None]


def record(model: str, board: str) -> dict:
    graph = Graph.load(zoo.get(model).graph)
    runner = BoardRunner(deploy(graph), get_board(board))
    inputs = random_inputs(graph, np.random.default_rng(0))
    outputs, m = runner.run(inputs)
    if differing_values(outputs, run(graph, inputs)):
        raise DeployError(f"{model} on {board}: the board's outputs differ from the reference interpreter's")
    summary = m.to_json()
    return {"model": model, "board": board, "compiler": compiler_version(), "cycles": summary["cycles"],
            "sram": summary["sram"], "flash": summary["flash"],
            "ops": [{"name": op.name, "kind": op.kind, **{k: getattr(op, k) for k in OP_FIGURES}} for op in m.ops]}


def path_of(model: str, board: str) -> Path:
    return TRACES / f"{model}.{board}.json"


def moves(golden: dict, new: dict) -> list[tuple[str, str, int, int]]:
    """(where, figure, golden value, new value) for every figure that differs; a changed op list is
    one move of figure "ops"."""
    if [(op["name"], op["kind"]) for op in golden["ops"]] != [(op["name"], op["kind"]) for op in new["ops"]]:
        return [("graph", "ops", len(golden["ops"]), len(new["ops"]))]
    found = [("total", "cycles", golden["cycles"], new["cycles"])]
    found += [("sram", k, v, new["sram"][k]) for k, v in golden["sram"].items()]
    found += [("flash", k, v, new["flash"][k]) for k, v in golden["flash"].items()]
    for old, op in zip(golden["ops"], new["ops"]):
        found += [(op["name"], k, old[k], op[k]) for k in OP_FIGURES]
    return [m for m in found if m[2] != m[3]]


def main() -> int:
    TRACES.mkdir(exist_ok=True)
    for model in shipped():
        for board in BOARDS:
            new = record(model, board)
            path = path_of(model, board)
            if path.exists():
                moved = moves(json.loads(path.read_text()), new)
                print(f"{path.name}: {len(moved)} figures moved")
            write_text_atomic(path, json.dumps(new, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
