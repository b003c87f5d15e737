"""Planned arena sizes of the registered models' graphs as deployed (models.deploy.canonical: batch
matmuls in the kernel's layout): the schedule's lower bound (most bytes live during one op) against
TFLite Micro's greedy-by-size plan, the randomized greedy search (the deployment default) and
TinyFormer's head-tail alternating plan (models/planner.py); then with MCUFormer's token overwriting
(a linear layer's output over its input) the bound and the greedy plan again. Shapes alone decide a
plan, so the models are exported from their initial weights, calibrated on random images.

    python benchmarks/arena_plan.py

These are plans; benchmarks/memory_ablation.py measures them in the emulator.
"""
from __future__ import annotations

from mcusim.models import zoo
from mcusim.models.deploy import canonical
from mcusim.models.export import untrained_graph
from mcusim.models.planner import activation_buffers, greedy_by_size, greedy_search, head_tail, lower_bound, sources


def main() -> None:
    print(f"{'model':20} {'ops':>4} {'buffers':>7} {'largest':>8} {'lower bound':>11} {'greedy':>8} {'search':>8} "
          f"{'head-tail':>9} {'overwrite: bound':>16} {'greedy':>8}")
    for name in zoo.names():
        graph = canonical(untrained_graph(zoo.get(name).config))
        buffers = activation_buffers(graph)
        greedy, alternating = greedy_by_size(buffers), head_tail(buffers, sources(graph, buffers))
        largest = max(b.size for b in buffers)
        overwritten = activation_buffers(graph, token_overwrite=True)
        print(f"{name:20} {len(graph.ops):>4} {len(buffers):>7} {largest:>8,} {lower_bound(buffers):>11,} "
              f"{greedy.arena_size:>8,} {greedy_search(buffers).arena_size:>8,} {alternating.arena_size:>9,} "
              f"{lower_bound(overwritten):>16,} "
              f"{greedy_by_size(overwritten).arena_size:>8,}")


if __name__ == "__main__":
    main()
