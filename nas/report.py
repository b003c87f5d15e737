"""The results folder of a search, written from its journal:

    best.graph      the most accurate candidate within budget, the int8 graph that was measured
    best.json       its journal record, with its int8 accuracy on the test split (and under
                    search --like, the reference model's beside it)
    report.md       summary, best candidates, the reference model beside the best (--like), Pareto
                    front, residual summary
    residuals.md    analytic estimate vs measured SRAM peak for every measured candidate (and .csv)
    pareto.png      accuracy against measured SRAM peak and latency, the front marked
    residuals.png   each analytic estimate against the measured peak

Each file is written atomically (temp + rename): a kill never leaves half a file over a good one.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np

from mcusim.files import atomic_path, atomic_writer, write_text_atomic
from mcusim.models import datasets
from mcusim.models.evaluate import accuracy

from .evaluate import Evaluator, shipped_graph
from .search import Journal


def scored(records: list[dict]) -> list[dict]:
    """The candidates within budget that have an accuracy, most accurate first."""
    return sorted((r for r in records if r["fits"] and r["accuracy"] is not None),
                  key=lambda r: (-r["accuracy"], r["measured"]["sram_peak"], r["hash"]))


def pareto(records: list[dict], cost: str) -> list[dict]:
    """The candidates no other is at least as accurate and at most as costly as (`cost` a measured
    key), by increasing cost."""
    front, best = [], -1.0
    for r in sorted(records, key=lambda r: (r["measured"][cost], -r["accuracy"])):
        if r["accuracy"] > best:
            front.append(r)
            best = r["accuracy"]
    return front


def residual_rows(records: list[dict]) -> list[dict]:
    rows = []
    for r in records:
        if not r["measured"]:
            continue
        measured = r["measured"]["sram_peak"]
        row = {"hash": r["hash"], "params": r["params"], "measured": measured, "fits": r["fits"]}
        for name, value in r["analytic"].items():
            row[name] = value
            row[f"{name}_residual"] = measured - value
        rows.append(row)
    return rows


def write_results(journal: Journal, out: str | Path, evaluator: Evaluator, test_images: int | None = None,
                  finetune: int = 0, finetune_lr: float = 1e-3, progress: bool = True) -> dict | None:
    """Write the results folder; returns the best record (None when no candidate fits). finetune:
    epochs of training the best candidate on its own before its graph is exported (and measured
    again: `finetuned` in its record)."""
    out = Path(out)
    records = journal.records
    ranked = scored(records)
    best = reference = None
    x, y = datasets.load(evaluator.spec.dataset, "test")
    x, y = x[:test_images], y[:test_images]
    like = evaluator.spec.like
    if like is not None:
        budget = evaluator.spec.budget
        reference = {"model": like, "test_accuracy": accuracy(shipped_graph(like, evaluator.spec.dataset), x, y,
                                                              progress=progress), "test_images": len(x),
                     "measured": {"sram_peak": budget.sram, "flash": budget.flash, "latency_ms": budget.latency_ms}}
    if ranked:
        best = dict(ranked[0])
        arch = evaluator.space.check(best["arch"])
        if finetune:
            model = evaluator.finetune(arch, finetune, finetune_lr, progress=progress)
            graph = evaluator.export(model, arch, finetuned_epochs=finetune)
            figures, bit_exact, _ = evaluator.measure(graph, arch)
            best["finetuned"] = {"epochs": finetune, "lr": finetune_lr, "accuracy": evaluator.float_accuracy(model, arch),
                                 "int8_accuracy": evaluator.int8_accuracy(graph), "measured": figures.to_json(),
                                 "bit_exact": bit_exact, "violations": evaluator.spec.budget.violations(figures)}
        else:
            _, graph = evaluator.graph(arch)
        with atomic_path(out / "best.graph") as tmp:
            graph.save(tmp)
        best["test_accuracy"] = accuracy(graph, x, y, progress=progress)
        best["test_images"] = len(x)
        if reference is not None:
            best["reference"] = reference
        write_text_atomic(out / "best.json", json.dumps(best, indent=1))
    rows = residual_rows(records)
    _write_residuals(rows, out)
    _plots(records, ranked, rows, out)
    write_text_atomic(out / "report.md", _report(journal, ranked, best, rows, reference))
    return best


def _formulas(rows: list[dict]) -> list[str]:
    """The analytic estimates of every row (a space's records all have the same ones)."""
    return [k for k in rows[0] if k not in ("hash", "params", "measured", "fits") and not k.endswith("_residual")
            and all(k in r for r in rows)] if rows else []


def _write_residuals(rows: list[dict], out: Path) -> None:
    table = io.StringIO(newline="")
    writer = csv.DictWriter(table, fieldnames=list(rows[0]) if rows else ["hash"], extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(out / "residuals.csv", table.getvalue())
    names = _formulas(rows)
    lines = ["# Analytic estimates vs the measured SRAM peak", "",
             "Bytes; residual = measured - estimate (positive: the estimate is too low). measured = static + stack "
             "+ arena high-water marks in the emulator.", "",
             "| candidate | params | fits | measured | " + " | ".join(f"{n} | residual" for n in names) + " |",
             "|---|---:|:-:|---:|" + "---:|---:|" * len(names)]
    for r in rows:
        lines.append(f"| {r['hash']} | {r['params']:,} | {'yes' if r['fits'] else 'no'} | {r['measured']:,} | " +
                     " | ".join(f"{r[n]:,} | {r[f'{n}_residual']:+,}" for n in names) + " |")
    write_text_atomic(out / "residuals.md", "\n".join(lines) + "\n")


def residual_summary(rows: list[dict]) -> list[str]:
    lines = ["| estimate | candidates | mean residual | min | max | mean abs relative | underestimates |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name in _formulas(rows):
        res = np.array([r[f"{name}_residual"] for r in rows], float)
        rel = np.abs(res) / np.array([r["measured"] for r in rows], float)
        lines.append(f"| {name} | {len(res)} | {res.mean():+,.0f} | {res.min():+,.0f} | {res.max():+,.0f} | "
                     f"{rel.mean():.1%} | {(res > 0).mean():.0%} |")
    return lines


def _row(r: dict) -> str:
    m = r["measured"]
    int8 = f"{r['int8_accuracy']:.4f}" if r["int8_accuracy"] is not None else "-"
    return (f"| {r['hash']} | {r['accuracy']:.4f} | {int8} | {m['sram_peak']:,} | {m['flash']:,} | "
            f"{m['latency_ms']:.1f} | {r['params']:,} | `{json.dumps(r['arch'])}` |")


def _against(best: dict | None, reference: dict) -> list[str]:
    """The report's side-by-side of the best candidate and the shipped model whose figures were the
    budget (search --like)."""
    r, name = reference["measured"], reference["model"]
    lines = [f"## Against {name}, whose measured figures are the budget", "",
             f"int8 test accuracy on the same {reference['test_images']:,} test images; SRAM, flash and latency "
             "measured on the board.", "",
             "| model | int8 test accuracy | SRAM peak | flash | latency ms |", "|---|---:|---:|---:|---:|"]
    if best is not None:
        m = best.get("finetuned", best)["measured"]
        lines.append(f"| searched `{best['hash']}` | {best['test_accuracy']:.4f} | {m['sram_peak']:,} | "
                     f"{m['flash']:,} | {m['latency_ms']:.1f} |")
    lines += [f"| {name} | {reference['test_accuracy']:.4f} | {r['sram_peak']:,} | {r['flash']:,} | "
              f"{r['latency_ms']:.1f} |", ""]
    if best is not None:
        points = 100 * (best["test_accuracy"] - reference["test_accuracy"])
        lines += [f"The searched model is {abs(points):.2f} points {'more' if points >= 0 else 'less'} accurate "
                  f"than {name}, within the budget {name} sets.", ""]
    else:
        lines += ["No candidate fits the budget.", ""]
    return lines


def _report(journal: Journal, ranked: list[dict], best: dict | None, rows: list[dict],
            reference: dict | None = None) -> str:
    h, records = journal.header, journal.records
    ev = h["eval"]
    budget = ev["budget"]
    seconds = sum(r["seconds"] or 0 for r in records)
    limits = ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in budget.items() if v is not None)
    lines = [f"# Search: {h['space']['name']} on {ev['board']}", "",
             f"- budget: {limits} (bytes, ms); memory options: {ev['memory_opts']}",
             f"- supernet: {h['supernet']['path']} (sha256 {h['supernet']['sha256'][:12]})",
             f"- candidates measured: {len(records)}, within budget: {sum(r['fits'] for r in records)}; "
             f"evaluation time {seconds / 60:.1f} min summed over workers "
             f"({len(records) / max(seconds, 1e-9) * 3600:.0f} candidates per worker-hour)",
             "- accuracy: the float subnet (inherited weights) on the validation images; int8: the exported graph "
             "on the first of them (reference interpreter, bit-exact with the board)", ""]
    if best:
        m = best["measured"]
        lines += ["## Best within budget", "",
                  f"`{best['hash']}` {json.dumps(best['arch'])}: validation accuracy {best['accuracy']:.4f}, int8 test "
                  f"accuracy {best['test_accuracy']:.4f} ({best['test_images']} images), measured SRAM peak "
                  f"{m['sram_peak']:,} B (static {m['static']:,} + stack {m['stack_peak']:,} + arena "
                  f"{m['arena_peak']:,}), flash {m['flash']:,} B (model blob {m['blob']:,}), {m['cycles']:,} cycles = "
                  f"{m['latency_ms']:.1f} ms.", ""]
        if "finetuned" in best:
            f = best["finetuned"]
            fm = f["measured"]
            lines += [f"Fine-tuned on its own for {f['epochs']} epochs from the inherited weights (peak learning rate "
                      f"{f['lr']:g}): validation accuracy "
                      f"{f['accuracy']:.4f} (int8 {f['int8_accuracy']:.4f} on the first validation images), measured "
                      f"again: SRAM peak {fm['sram_peak']:,} B, flash {fm['flash']:,} B, {fm['latency_ms']:.1f} ms"
                      f"{'' if not f['violations'] else ' (' + '; '.join(f['violations']) + ')'}.", ""]
        lines += [f"The int8 test accuracy above is best.graph's (the fine-tuned model where there is one): "
                  f"`mcusim check best.graph --board {ev['board']}` runs it on the board.", ""]
    if reference is not None:
        lines += _against(best, reference)
    header = ["| candidate | accuracy | int8 | SRAM peak | flash | latency ms | params | arch |",
              "|---|---:|---:|---:|---:|---:|---:|---|"]
    lines += ["## The ten most accurate within budget", "", *header, *map(_row, ranked[:10]), "",
              "## Pareto front: accuracy vs measured SRAM peak", "", *header,
              *map(_row, pareto(ranked, "sram_peak")), "",
              "## Analytic estimates vs measured SRAM peak", "",
              "Per candidate in residuals.md / residuals.csv; plot: residuals.png.", "", *residual_summary(rows), ""]
    return "\n".join(lines)


def _plots(records: list[dict], ranked: list[dict], rows: list[dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
    for ax, cost, label in ((axes[0], "sram_peak", "measured SRAM peak (KiB)"),
                            (axes[1], "latency_ms", "measured latency (ms)")):
        scale = 1024 if cost == "sram_peak" else 1
        ax.scatter([r["measured"][cost] / scale for r in ranked], [r["accuracy"] for r in ranked], s=14,
                   color="tab:blue", label="within budget")
        front = pareto(ranked, cost)
        ax.step([r["measured"][cost] / scale for r in front], [r["accuracy"] for r in front], where="post",
                color="tab:red", label="Pareto front")
        ax.set_xlabel(label)
        ax.set_ylabel("validation accuracy")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"{len(records)} candidates measured, {len(ranked)} within budget")
    _save_png(fig, out / "pareto.png")
    plt.close(fig)

    names = _formulas(rows)
    fig, ax = plt.subplots(figsize=(6, 5), layout="constrained")
    measured = np.array([r["measured"] for r in rows], float) / 1024
    for name, marker in zip(names, "os^xv+"):  # distinct markers: estimates that agree overlap
        ax.scatter(measured, np.array([r[name] for r in rows], float) / 1024, s=16, marker=marker, label=name,
                   alpha=0.7)
    if rows:
        top = float(max([measured.max(), *(max(r[n] for r in rows) / 1024 for n in names)]))  # names may be none
        ax.plot([0, top], [0, top], color="gray", linewidth=1, label="estimate = measured")
    ax.set_xlabel("measured SRAM peak (KiB)")
    ax.set_ylabel("analytic estimate (KiB)")
    ax.grid(alpha=0.3)
    ax.legend()
    _save_png(fig, out / "residuals.png")
    plt.close(fig)


def _save_png(fig, path: Path) -> None:
    with atomic_writer(path) as f:
        fig.savefig(f, format="png", dpi=110)
