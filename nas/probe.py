"""What a supernet space offers before searching it: the measured share of its candidates within a
budget, and the accuracy of candidates drawn from a briefly trained supernet. The space-level
searches (MCUFormer's search-space evolution, TinyFormer's SuperNAS) score spaces with these.

    fits = memory_probe(space, board, budget, 100, rng, cache)      # [(arch, figures, params)]
    accuracy = accuracy_probe(space, "fashion-mnist", board, "sn.npz", 10, rng, TrainOptions(epochs=1), ...)

memory_probe: each drawn candidate is built with fresh weights, pruned one-shot to its sparsity (a
block run-length stream's size depends on which blocks are zero, not on the values), exported and
deployed with its schedule, and its figures composed from per-op measurements (nas/measure.py):
one emulation per distinct op, shared through `cache` across candidates and spaces.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from mcusim.boards import Board
from mcusim.files import read_bytes
from mcusim.models.deploy import MemoryOptions, deploy
from mcusim.models.export import calibrate, export
from mcusim.models.nn import build, parameter_count
from mcusim.models.prune import apply_masks, compute_masks, prunable_layers
from mcusim.models.train import TrainOptions

from .evaluate import EvalSpec, Evaluator
from .measure import Budget, Figures, OpCache, compose
from .search import JournalError, json_lines
from .spaces import Arch, Space
from .supernet import read_supernet, train_supernet


def memory_probe(space: Space, board: Board, budget: Budget, samples: int, rng: np.random.Generator, cache: OpCache,
                 options: MemoryOptions = MemoryOptions()) -> list[tuple[Arch, Figures, int]]:
    """(arch, composed figures, parameter count) of `samples` candidates drawn from the space."""
    found = []
    for k in range(samples):
        arch = space.sample(rng)
        cfg = space.config(arch)
        torch.manual_seed(k)
        model = build(cfg).eval()
        with torch.no_grad():
            apply_masks(model, compute_masks(model, space.pruning(arch, prunable_layers(model))))
            x = torch.rand(4, cfg.image_size, cfg.image_size, cfg.channels) * 2 - 1
            graph = export(model, calibrate(model, x, observer="minmax"))
        figures = compose(deploy(graph, space.memory_options(arch, options)), board, cache)
        found.append((arch, figures, parameter_count(model)))
    return found


def accuracy_probe(space: Space, dataset: str, board: Board, path: str | Path, samples: int,
                   rng: np.random.Generator, options: TrainOptions, train_images: int | None, validation: int,
                   val_images: int, progress: bool = True) -> float:
    """The mean validation accuracy of `samples` candidates drawn from the space's supernet after
    `options.epochs` of training (at `path`: trained there, or resumed, or read when finished),
    each evaluated as the search evaluates it (pruned to its sparsity, BatchNorm recalibrated)."""
    path = Path(path)
    if not path.exists() or read_supernet(path)[2] is not None:  # none yet, or a run cut short
        train_supernet(space, dataset, path, options, resume=path.exists(), progress=progress, validation=validation,
                       train_images=train_images)
    evaluator = Evaluator(EvalSpec(str(path), board.name, Budget(), dataset, val_images=val_images))
    scores = []
    for _ in range(samples):
        arch = space.sample(rng)
        scores.append(evaluator.float_accuracy(evaluator.subnet(arch), arch))
    return float(np.mean(scores))


def read_trail(path: Path, key) -> dict:
    """The records of a space-level search's JSON-lines trail by key(record) (none before it starts); a
    last line torn by a kill is cut off the file, a damaged one is a JournalError naming it."""
    if not path.exists():
        return {}
    raw = read_bytes(path, JournalError, "search trail")
    entries, torn = json_lines(path, raw)
    records = {}
    for number, r in enumerate(entries, 1):
        try:
            records[key(r)] = r
        except (KeyError, TypeError, IndexError):
            raise JournalError(f"{path}:{number}: not a record of this search; the file is damaged") from None
    if torn:
        with open(path, "r+b") as f:
            f.truncate(len(raw) - torn)
    return records


def append_trail(path: Path, record: dict) -> None:
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")
