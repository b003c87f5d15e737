"""The memory techniques, measured in the emulator (STM32F746, DSP kernels), on the shipped graphs:

1. MCUFormer-style ablation on the shipped ViTs: none, each technique alone, all of them —
   token overwriting, patch-embedding decomposition (the im2col kernel undecomposed, and decomposed
   into sub-kernels of at most 2x2: 1x1 for the 7x7 patches of the low-rank ViT), TinyFormer's
   head-tail planner.
2. MCUNetV2's techniques on the CNN and the TinyFormer: in-place depthwise; patch-based inference
   with 2x2, 3x3 and 4x4 patches (each at the stage end with the smallest planned arena), with the
   cycles the halos cost; both (patch count chosen too).

Figures: measured SRAM peak (static + stack + arena), its arena and stack parts, the plan's lower
bound, cycles and latency at 216 MHz; one random input (seed 0). Also the host time of one
whole-model emulation of the shipped ViT.

    python benchmarks/memory_ablation.py
"""
from __future__ import annotations

import time

import numpy as np

from mcusim.boards import get_board
from mcusim.models import zoo
from mcusim.models.evaluate import random_inputs
from mcusim.models.deploy import MemoryOptions, deploy
from mcusim.models.graph import Graph
from mcusim.models.runner import BoardRunner

BOARD = "stm32f746"
VIT_ABLATION = ["none", "token-overwrite", "patch-embed", "patch-embed=2x2", "head-tail",
                "token-overwrite,patch-embed=2x2,head-tail"]
PATCH_ABLATION = ["none", "inplace-depthwise", "patch-based=2", "patch-based=3", "patch-based=4",
                  "patch-based,inplace-depthwise"]


def measure(graph: Graph, options: str):
    runner = BoardRunner(deploy(graph, MemoryOptions.parse(options)), get_board(BOARD))
    start = time.perf_counter()
    _, m = runner.run(random_inputs(graph, np.random.default_rng(0)))
    return runner.deployment, m, time.perf_counter() - start


def table(model: str, choices: list[str]) -> None:
    graph = Graph.load(zoo.get(model).graph)
    print(f"\n{model} on {BOARD}")
    print(f"{'memory options':42} {'SRAM peak':>10} {'arena':>8} {'stack':>6} {'bound':>8} {'cycles':>12} "
          f"{'ms':>8} {'vs none':>8}")
    base = None
    for options in choices:
        d, m, _ = measure(graph, options)
        base = base or m
        note = ""
        if "patch_based" in d.graph.metadata:
            note = f"  stage {d.graph.metadata['patch_based']['stage']}"
        print(f"{options:42} {m.total_peak:>10,} {m.arena_peak:>8,} {m.stack_peak:>6,} {m.lower_bound:>8,} "
              f"{m.cycles:>12,} {m.latency_ms:>8.2f} {m.total_peak / base.total_peak - 1:>+8.1%}{note}")


def main() -> None:
    for model in ("vit-fmnist", "vit-fmnist-lowrank"):
        table(model, VIT_ABLATION)
    for model in ("cnn-fmnist", "tinyformer-fmnist"):
        table(model, PATCH_ABLATION)
    _, m, seconds = measure(Graph.load(zoo.get("vit-fmnist").graph), "none")
    print(f"\nwhole-model emulation of vit-fmnist: {seconds:.2f} s on the host for {m.cycles:,} cycles "
          f"({len(m.ops)} ops, measured op by op)")


if __name__ == "__main__":
    main()
