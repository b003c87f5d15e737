"""How truthfully a supernet ranks candidates: Kendall's tau between each sampled candidate's
validation accuracy with inherited weights (what the search ranks by) and its accuracy after
training on its own from them (what the user gets).

    python benchmarks/supernet_ranking.py --space mcuformer [--supernet CKPT] [--candidates 10] [--epochs 2]

Candidates are drawn uniformly from the space (seeded); each is scored as the search scores it
(nas/evaluate.py: subnet, BatchNorm recalibrated, float accuracy on the supernet's validation set),
then fine-tuned alone for --epochs on the search's training images (Evaluator.finetune) and scored
again. Prints one row per candidate and tau (tau-b: ties counted as neither order). Issue 19 asks
for tau >= 0.6 on at least 10 candidates per space.
"""
from __future__ import annotations

import argparse

import numpy as np

from mcusim.boards import get_board
from mcusim.nas.evaluate import EvalSpec, Evaluator
from mcusim.nas.measure import Budget
from mcusim.nas.spaces import arch_hash
from mcusim.nas.supernet import SHIPPED, read_supernet


def kendall_tau(a: list[float], b: list[float]) -> float:
    """Kendall's tau-b of two equally long sequences: (concordant - discordant) pairs over the
    geometric mean of the pairs untied in each."""
    concordant = discordant = ties_a = ties_b = 0
    for i in range(len(a)):
        for j in range(i + 1, len(a)):
            da, db = np.sign(a[i] - a[j]), np.sign(b[i] - b[j])
            ties_a += da == 0
            ties_b += db == 0
            concordant += da * db > 0
            discordant += da * db < 0
    pairs = len(a) * (len(a) - 1) // 2
    return float((concordant - discordant) / np.sqrt((pairs - ties_a) * (pairs - ties_b)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--space", default="mcuformer", choices=sorted(SHIPPED), help="its shipped supernet")
    parser.add_argument("--supernet", help="a supernet checkpoint instead of the shipped one")
    parser.add_argument("--candidates", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=2, help="epochs of training each candidate on its own")
    parser.add_argument("--val-images", type=int, help="default: the supernet's whole validation set")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    path = args.supernet or str(SHIPPED[args.space])
    supernet, meta, _ = read_supernet(path)
    space = supernet.space
    board = get_board("stm32f746")  # not used for scoring; the spec needs one
    evaluator = Evaluator(EvalSpec(path, board.name, Budget.of(board), meta["dataset"], val_images=args.val_images))
    rng = np.random.default_rng(args.seed)
    archs = list({arch_hash(space, a): a for a in (space.sample(rng) for _ in range(4 * args.candidates))}.values())
    inherited, alone = [], []
    print(f"{path}: {meta['supernet']} supernet, {meta['epoch']} epochs, training {meta.get('training', 'single path')}")
    print("| candidate | inherited | alone |")
    print("|---|---:|---:|")
    for arch in archs[:args.candidates]:
        inherited.append(evaluator.float_accuracy(evaluator.subnet(arch), arch))
        alone.append(evaluator.float_accuracy(evaluator.finetune(arch, args.epochs, progress=False), arch))
        print(f"| {arch_hash(space, arch)} | {inherited[-1]:.4f} | {alone[-1]:.4f} |", flush=True)
    print(f"Kendall tau over {len(alone)} candidates: {kendall_tau(inherited, alone):.3f}")


if __name__ == "__main__":
    main()
