"""A pruned shipped model against its dense original: int8 accuracy on the Fashion-MNIST test set
(reference interpreter), and on an emulated board the latency, SRAM peak and flash (firmware + blob)
as deployed, the pruned one with its filters stored sparse where smaller. Beside them, the dense
graph pruned after training at the same sparsity without fine-tuning (models.sparse.prune_graph),
which shows what fine-tuning buys.

    python benchmarks/sparse_model.py [--dense tinyformer-fmnist] [--sparse tinyformer-fmnist-sparse]
                                      [--board stm32f746] [--limit N] [--memory-opts sparse-flash]
"""
from __future__ import annotations

import argparse

import numpy as np

from mcusim.boards import get_board
from mcusim.models import datasets, zoo
from mcusim.models.deploy import MemoryOptions, deploy
from mcusim.models.evaluate import accuracy, random_inputs
from mcusim.models.graph import Graph
from mcusim.models.runner import BoardRunner
from mcusim.models.sparse import SPARSE_KINDS, filter_rows, prune_graph


def zero_share(graph: Graph) -> float:
    """Share of zero weights over the fully connected, conv and depthwise filters."""
    filters = [filter_rows(op.kind, graph.tensors[op.inputs[1]].data) for op in graph.ops if op.kind in SPARSE_KINDS]
    return sum(int((f == 0).sum()) for f in filters) / sum(f.size for f in filters)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dense", default="tinyformer-fmnist")
    ap.add_argument("--sparse", default="tinyformer-fmnist-sparse")
    ap.add_argument("--board", default="stm32f746")
    ap.add_argument("--limit", type=int, help="test images (default: all 10,000)")
    ap.add_argument("--memory-opts", default="sparse-flash",
                    help="deployment options (default: %(default)s, every smaller stream stored sparse)")
    args = ap.parse_args()
    board = get_board(args.board)
    x, y = datasets.load("fashion-mnist", "test")
    x, y = x[:args.limit], y[:args.limit]
    dense, sparse = (Graph.load(zoo.get(name).graph) for name in (args.dense, args.sparse))
    sparsity = zero_share(sparse)
    rows = [(args.dense, dense), (args.sparse, sparse),
            (f"{args.dense} pruned to {sparsity:.0%}, no fine-tuning", prune_graph(dense, sparsity))]
    print(f"{board.name} ({board.core.name}), {len(x):,} Fashion-MNIST test images")
    print(f"{'model':48} {'zeros':>6} {'sparse layers':>13} {'accuracy':>8} {'ms':>8} {'SRAM':>8} {'flash':>9} "
          f"{'model blob':>10}")
    for label, graph in rows:
        deployment = deploy(graph, MemoryOptions.parse(args.memory_opts))
        runner = BoardRunner(deployment, board)
        _, m = runner.run(random_inputs(graph, np.random.default_rng(0)))
        layers = [call.kernel for step in deployment.steps for call in step.calls]
        sparse_layers = sum(kernel.startswith("sparse_") for kernel in layers)
        weighted = sparse_layers + sum(kernel in SPARSE_KINDS for kernel in layers)
        print(f"{label:48} {zero_share(graph):>6.1%} {f'{sparse_layers}/{weighted}':>13} "
              f"{accuracy(graph, x, y):>8.2%} {m.latency_ms:>8.1f} {m.total_peak:>8,} {m.flash_total:>9,} "
              f"{m.blob:>10,}")


if __name__ == "__main__":
    main()
