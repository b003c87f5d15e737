"""MCUFormer's search-space evolution: which supernet (low-rank ratio r, token number n) to search in.

    result = evolve(MCUFormerSpace(), "fashion-mnist", board, budget, EvolutionOptions(), "out/")

A supernet space S = (r, n) -- here (rank ratio, patch size), the token number (image / patch)^2 --
is scored Q(S) = A(S) + lambda * M(S) (MCUFormer sec. 3.1): A the mean validation accuracy of
`accuracy_samples` candidates drawn from S's supernet after `epochs` epochs of training, M the share
of `samples` candidates drawn from S whose measured figures fit the budget (nas/measure.py's
composed figures of their graphs: one emulation per distinct op, across all spaces). The tendency of
Q near the current space is a plane fitted by least squares over its k nearest evaluated spaces (a
piecewise-linear fit, k = 5 as MCUFormer), Q ~ b + w_r r + w_n n; each factor then moves
trunc(w_i * step_i / tau_i) grid steps towards a higher Q (step_i: the grid interval of the factor
there; tau_i: its update threshold, the score change over one step that earns a move), at most
`max_move` steps at once; the evolution stops where no factor moves, or after `iterations`.

Design choices where the article leaves details out (written here so a reader knows): every
evaluated space's supernet is trained the same `epochs` from scratch, so every data point has the
same total training epochs (MCUFormer fits only points of equal epochs, resuming supernets between
rounds); the first data points are `initial` spaces drawn at random with the starting one; a fit
needs three points not on a line, and spaces next to the current one are evaluated until it has
them. The chosen space's supernet is then trained to convergence by `mcusim supernet`.

Output folder: `evolution.jsonl` (one line per evaluated space, resumable), `supernets/`,
`evolution.md` (the trail and the data points).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mcusim.boards import Board
from mcusim.errors import UsageError
from mcusim.models.train import TrainOptions

from .measure import Budget, OpCache
from .probe import accuracy_probe, append_trail, memory_probe, read_trail
from .spaces import MCUFormerSpace

TRAIL = "evolution.jsonl"


@dataclass(frozen=True)
class EvolutionOptions:
    rank_ratios: tuple[float, ...] = (0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0)
    patches: tuple[int, ...] = (7, 4)           # by increasing token number: 16, 49 at 28 x 28
    initial: int = 4                            # random spaces evaluated with the start
    neighbours: int = 5                         # k of the piecewise-linear fit
    epochs: int = 1                             # supernet training per evaluated space
    train_images: int | None = 20000
    validation: int = 5000
    samples: int = 100                          # candidates whose measured figures give M
    accuracy_samples: int = 10                  # candidates whose accuracy gives A
    val_images: int = 1000
    weight: float = 0.5                         # lambda
    thresholds: tuple[float, float] = (0.005, 0.005)  # tau for (rank ratio, token number)
    max_move: int = 2
    iterations: int = 4
    seed: int = 0


def plane(points: list[tuple[float, float, float]]) -> np.ndarray | None:
    """(b, w_r, w_n) of the least-squares plane through (r, n, Q) points; None when they do not
    span one (fewer than three, or all on a line)."""
    x = np.array([[1.0, r, n] for r, n, _ in points])
    if len(points) < 3 or np.linalg.matrix_rank(x) < 3:
        return None
    return np.linalg.lstsq(x, np.array([q for *_, q in points]), rcond=None)[0]


def move(index: int, values: tuple, slope: float, threshold: float, max_move: int) -> int:
    """The factor's new grid index: trunc(slope * step / threshold) steps up the slope, where step
    is the grid interval on that side, at most max_move, inside the grid."""
    direction = 1 if slope > 0 else -1
    beside = index + direction
    if not 0 <= beside < len(values):
        return index
    steps = min(max_move, math.trunc(abs(slope) * abs(values[beside] - values[index]) / threshold))
    return int(np.clip(index + direction * steps, 0, len(values) - 1))


def evolve(base: MCUFormerSpace, dataset: str, board: Board, budget: Budget, options: EvolutionOptions,
           out: str | Path, progress: bool = True) -> dict:
    """Run (or resume) the evolution from `base`'s supernet space into the folder `out`; returns the
    chosen space's record."""
    out = Path(out)
    (out / "supernets").mkdir(parents=True, exist_ok=True)
    trail_path = out / TRAIL
    records = read_trail(trail_path, lambda r: (r["rank_ratio"], r["patch"]))
    ranks, patches = options.rank_ratios, options.patches
    grid = [(r, p) for r in ranks for p in patches]
    cache: OpCache = {}
    rng = np.random.default_rng(options.seed)

    def tokens(patch: int) -> int:
        return (base.image_size // patch) ** 2

    def evaluate(point: tuple[float, int]) -> dict:
        if point in records:
            return records[point]
        space = dataclasses.replace(base, rank_ratio=point[0], patch=point[1])
        path = out / "supernets" / f"r{point[0]:g}-p{point[1]}.npz"
        draws = np.random.default_rng([options.seed, len(ranks) * patches.index(point[1]) + ranks.index(point[0])])
        accuracy = accuracy_probe(space, dataset, board, path, options.accuracy_samples, draws,
                                  TrainOptions(epochs=options.epochs, seed=options.seed), options.train_images,
                                  options.validation, options.val_images, progress)
        fits = sum(not budget.violations(f) for _, f, _ in memory_probe(space, board, budget, options.samples, draws,
                                                                          cache))
        record = {"rank_ratio": point[0], "patch": point[1], "tokens": tokens(point[1]), "accuracy": accuracy,
                  "share": fits / options.samples, "epochs": options.epochs, "supernet": str(path)}
        record["score"] = record["accuracy"] + options.weight * record["share"]
        append_trail(trail_path, record)
        records[point] = record
        return record

    current = (base.rank_ratio, base.patch)
    if current not in grid:
        raise UsageError(f"the starting space (rank ratio {base.rank_ratio:g}, patch {base.patch}) is not on the grid "
                         f"of rank ratios {list(ranks)} and patches {list(patches)}")
    starts = [current] + [grid[i] for i in rng.permutation(len(grid)) if grid[i] != current][:options.initial]
    for point in starts:
        evaluate(point)
    path = [current]
    for _ in range(options.iterations):
        i, j = ranks.index(current[0]), patches.index(current[1])

        def distance(p):
            return abs(ranks.index(p[0]) - i) + abs(patches.index(p[1]) - j)

        while True:
            near = sorted(records, key=lambda p: (distance(p), p))[:options.neighbours]
            w = plane([(r, tokens(p), records[(r, p)]["score"]) for r, p in near])
            missing = sorted((p for p in grid if p not in records), key=lambda p: (distance(p), p))
            if w is not None or not missing:
                break
            evaluate(missing[0])
        if w is None:
            break
        token_values = tuple(tokens(p) for p in patches)
        new_i = move(i, ranks, w[1], options.thresholds[0], options.max_move)
        new_j = move(j, token_values, w[2], options.thresholds[1], options.max_move)
        nxt = (ranks[new_i], patches[new_j])
        if nxt == current:
            break
        current = nxt
        evaluate(current)
        path.append(current)
    chosen = records[current]
    _write_report(out, records, path, options)
    return chosen


def _write_report(out: Path, records: dict, path: list, options: EvolutionOptions) -> None:
    lines = ["# MCUFormer search-space evolution", "",
             f"Score Q = A + {options.weight:g} x M; A: mean validation accuracy of {options.accuracy_samples} "
             f"candidates after {options.epochs} epoch(s) of supernet training; M: share of {options.samples} "
             "candidates within the budget, measured.", "",
             "Path: " + " -> ".join(f"(r {r:g}, patch {p})" for r, p in path), "",
             "| rank ratio | patch | tokens | A | M | Q |", "|---:|---:|---:|---:|---:|---:|"]
    for (r, p), rec in sorted(records.items()):
        lines.append(f"| {r:g} | {p} | {rec['tokens']} | {rec['accuracy']:.4f} | {rec['share']:.2f} | "
                     f"{rec['score']:.4f} |")
    (out / "evolution.md").write_text("\n".join(lines) + "\n")
