"""TinyFormer's SuperNAS: which supernet to search in, before SparseNAS searches it.

    chosen = supernas(variants, "fashion-mnist", board, budget, SuperNASOptions(), "out/")

SuperNAS's search space holds supernet configurations (how many blocks each choice block has, the
channels its candidates choose from); `VARIANTS` are ours for 28 x 28 images, small to large. Each
variant, in order (TinyFormer's algorithms 1 and 2):

1. TestSupernet: `samples` (100) single-path candidates drawn with random sparsity configurations,
   their figures measured (nas/probe.py); a supernet more than half of whose candidates exceed the
   memory budget (SRAM or flash) is skipped;
2. acceptance probability: the share of those candidates that fit the whole budget with a parameter
   count within [params_min, params_max] (TinyFormer's lambda bounds on model capacity); a space is
   accepted at >= 90 %;
3. an accepted supernet is trained briefly (`epochs`) and scored by the mean validation accuracy of
   `accuracy_samples` sparse candidates drawn from it.

The accepted supernet with the best score is chosen (none accepted: the one with the highest
acceptance, marked so). Its supernet is then trained in full (`mcusim supernet`) and searched by
SparseNAS (`mcusim search --space tinyformer`: stage one one-shot pruned candidates, stage two the
best fine-tuned under AGP pruning, `--finetune E`).

Output folder: `supernas.jsonl` (one line per variant, resumable), `supernets/`, `supernas.md`.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mcusim.boards import Board
from mcusim.models.train import TrainOptions

from .measure import Budget, OpCache
from .probe import accuracy_probe, append_trail, memory_probe, read_trail
from .spaces import Space

TRAIL = "supernas.jsonl"
ACCEPT, SKIP = 0.9, 0.5

VARIANTS = {
    "small": {"mbconvs": (1, 1), "widths": ((8, 12, 16), (16, 24, 32)), "token_dims": (16, 32)},
    "normal": {},
    "large": {"mbconvs": (2, 3), "transformers": (True, True), "widths": ((24, 32, 48), (48, 64, 96)),
              "token_dims": (48, 64, 96)},
}


@dataclass(frozen=True)
class SuperNASOptions:
    samples: int = 100
    params_min: int = 0
    params_max: int | None = None
    epochs: int = 1
    train_images: int | None = 20000
    validation: int = 5000
    accuracy_samples: int = 10
    val_images: int = 1000
    seed: int = 0


def memory_only(budget: Budget) -> Budget:
    return dataclasses.replace(budget, latency_ms=None)


def supernas(base: Space, variants: dict[str, dict], dataset: str, board: Board, budget: Budget,
             options: SuperNASOptions, out: str | Path, progress: bool = True) -> dict:
    """Score every variant of `base` (overrides of its fields) into the folder `out`; returns the
    chosen variant's record."""
    out = Path(out)
    (out / "supernets").mkdir(parents=True, exist_ok=True)
    trail_path = out / TRAIL
    records = read_trail(trail_path, lambda r: r["variant"])
    cache: OpCache = {}
    for k, (name, overrides) in enumerate(variants.items()):
        if name in records:
            continue
        space = dataclasses.replace(base, **overrides)
        rng = np.random.default_rng([options.seed, k])
        probed = memory_probe(space, board, budget, options.samples, rng, cache)
        over_memory = sum(bool(memory_only(budget).violations(f)) for _, f, _ in probed) / len(probed)
        accepted = sum(not budget.violations(f) and options.params_min <= n <= (options.params_max or n)
                       for _, f, n in probed) / len(probed)
        record = {"variant": name, "space": space.to_json(), "over_memory": over_memory, "acceptance": accepted,
                  "skipped": over_memory > SKIP, "accepted": accepted >= ACCEPT, "accuracy": None,
                  "sram_peaks": [int(np.percentile([f.sram_peak for _, f, _ in probed], q)) for q in (0, 50, 100)],
                  "flash": [int(np.percentile([f.flash for _, f, _ in probed], q)) for q in (0, 50, 100)]}
        if record["accepted"] and not record["skipped"]:
            record["accuracy"] = accuracy_probe(
                space, dataset, board, out / "supernets" / f"{name}.npz", options.accuracy_samples, rng,
                TrainOptions(epochs=options.epochs, seed=options.seed), options.train_images, options.validation,
                options.val_images, progress)
        append_trail(trail_path, record)
        records[name] = record
    scored = [r for r in records.values() if r["accuracy"] is not None]
    chosen = max(scored, key=lambda r: r["accuracy"]) if scored else \
        {**max(records.values(), key=lambda r: r["acceptance"]), "fallback": True}
    _write_report(out, records, chosen, options)
    return chosen


def _write_report(out: Path, records: dict, chosen: dict, options: SuperNASOptions) -> None:
    lines = ["# TinyFormer SuperNAS", "",
             f"Per variant, {options.samples} candidates measured (composed figures) with random sparsity: skipped "
             f"when more than {SKIP:.0%} exceed the memory budget, accepted when at least {ACCEPT:.0%} fit the whole "
             f"budget with {options.params_min:,} to {f'{options.params_max:,}' if options.params_max else 'any number of'} "
             "parameters; accepted ones scored "
             f"by the mean accuracy of {options.accuracy_samples} sparse candidates after {options.epochs} epoch(s).",
             "", f"Chosen: {chosen['variant']}" + (" (none accepted: the highest acceptance)" if chosen.get("fallback")
                                                     else ""), "",
             "| variant | over memory | acceptance | skipped | accepted | accuracy | SRAM peak min/median/max | "
             "flash min/median/max |", "|---|---:|---:|:-:|:-:|---:|---|---|"]
    for r in records.values():
        acc = f"{r['accuracy']:.4f}" if r["accuracy"] is not None else "-"
        lines.append(f"| {r['variant']} | {r['over_memory']:.0%} | {r['acceptance']:.0%} | "
                     f"{'yes' if r['skipped'] else 'no'} | {'yes' if r['accepted'] else 'no'} | {acc} | "
                     f"{' / '.join(f'{v:,}' for v in r['sram_peaks'])} | {' / '.join(f'{v:,}' for v in r['flash'])} |")
    (out / "supernas.md").write_text("\n".join(lines) + "\n")
