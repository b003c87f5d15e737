"""Composed measurement (nas/measure.py) against full runs: the figures it gives and what it saves.

1. Each shipped Fashion-MNIST graph on the STM32F746: full-run and composed SRAM peak, flash and
   cycles, and the steps run alone (distinct ops) out of all steps.
2. N random candidates of the MCUFormer space (random weights: the shapes are what matters here),
   measured by full runs and by composition through one shared cache: seconds of emulation per
   candidate, distinct ops emulated, the largest SRAM and cycle differences.

    python benchmarks/measurement_cache.py [--candidates 40]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from mcusim.boards import get_board
from mcusim.models import zoo
from mcusim.models.deploy import deploy
from mcusim.models.evaluate import random_inputs
from mcusim.models.export import untrained_graph
from mcusim.models.graph import Graph
from mcusim.nas.measure import compose, measure
from mcusim.nas.spaces import get

SHIPPED = ["vit-fmnist", "vit-fmnist-lowrank", "tinyformer-fmnist", "tinyformer-fmnist-sparse", "cnn-fmnist"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=40)
    parser.add_argument("--board", default="stm32f746")
    args = parser.parse_args()
    board = get_board(args.board)
    rng = np.random.default_rng(0)

    print(f"{'model':26} {'SRAM full':>10} {'composed':>10} {'flash full':>11} {'composed':>10} "
          f"{'cycles full':>12} {'composed':>12} {'diff':>7} {'run alone':>10}")
    for name in SHIPPED:
        graph = Graph.load(zoo.get(name).graph)
        d = deploy(graph)
        full, _, _ = measure(d, board, random_inputs(graph, rng))
        cache = {}
        c = compose(d, board, cache)
        print(f"{name:26} {full.sram_peak:>10,} {c.sram_peak:>10,} {full.flash:>11,} {c.flash:>10,} "
              f"{full.cycles:>12,} {c.cycles:>12,} {(c.cycles - full.cycles) / full.cycles:>+7.2%} "
              f"{len(cache):>4} / {len(d.steps):<4}")

    space = get("mcuformer")
    archs = [space.sample(rng) for _ in range(args.candidates)]
    graphs = [untrained_graph(space.config(a), samples=4) for a in archs]
    deployments = [deploy(g) for g in graphs]
    cache: dict = {}
    full_s = composed_s = 0.0
    sram_diff, cycle_diff, steps = 0, 0.0, 0
    for g, d in zip(graphs, deployments):
        t = time.perf_counter()
        full, _, _ = measure(d, board, random_inputs(g, rng))
        full_s += time.perf_counter() - t
        t = time.perf_counter()
        c = compose(d, board, cache)
        composed_s += time.perf_counter() - t
        sram_diff = max(sram_diff, abs(c.sram_peak - full.sram_peak))
        cycle_diff = max(cycle_diff, abs(c.cycles - full.cycles) / full.cycles)
        steps += len(d.steps)
    n = len(archs)
    print(f"\n{n} random {space.name} candidates on {board.name}: full runs {full_s / n:.2f} s each, composed "
          f"{composed_s / n:.2f} s each through one cache ({len(cache)} distinct ops emulated for {steps} steps); "
          f"largest SRAM difference {sram_diff} B, largest cycle difference {cycle_diff:.2%}")


if __name__ == "__main__":
    main()
