"""What the NN commands do, as functions the CLI (models/cli.py) calls and prints the results of:

    graph = export_model("vit-digits", "digits")                # PTQ of a registered model's checkpoint
    result, m = evaluate_graph(graph, "digits", 100, runner)     # int8 accuracy (reference, or on a board)
    mismatches, ms = check_on_board(runner, inputs=3, seed=0)    # random inputs, bit-exact with the reference?
    result, m = run_demo(runner, test_images=100, out=Path("mcusim-demo"))

The SHIPPED rule: a graph exported from a shipped checkpoint records the checkpoint as "shipped",
so that the graph finds it (graph_checkpoint) wherever mcusim is installed; any other checkpoint is
recorded by its path.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mcusim.errors import UsageError

from .graph import Graph
from .interpreter import run

SHIPPED = "shipped"
CALIBRATION_IMAGES = 512
DEMO_MODEL, DEMO_BOARD, DEMO_DATASET = "vit-fmnist", "stm32f746", "fashion-mnist"


def export_model(name: str, dataset: str, checkpoint: str | Path | None = None,
                 calibration_images: int = CALIBRATION_IMAGES, observer: str = "histogram") -> Graph:
    """The int8 graph of registered model `name` from `checkpoint` (default: its shipped one),
    calibrated on `calibration_images` training images of `dataset` (a seeded draw, seed 0), with the
    metadata that makes it reproducible and lets eval find its float checkpoint."""
    import torch

    from . import datasets, zoo
    from .evaluate import DEFAULT_PREPROCESS
    from .export import calibrate, export
    from .train import images, load_checkpoint

    entry = zoo.get(name)
    source = checkpoint or entry.checkpoint
    if source is None:
        raise UsageError(f"{name} has no shipped checkpoint; train one (mcusim train) and pass --checkpoint")
    model, meta = load_checkpoint(source)
    if meta["model"] not in (name, entry.pruned_from):
        raise UsageError(f"{source} holds {meta['model']}, not {name}")
    x, _ = datasets.load(dataset, "train")
    pick = np.random.default_rng(0).permutation(len(x))[:calibration_images]
    qparams = calibrate(model, images(entry, x[np.sort(pick)]), observer=observer)
    metadata = {"model": name, "checkpoint": str(checkpoint) if checkpoint else SHIPPED, "dataset": dataset,
                "calibration": {"samples": len(pick), "observer": observer},
                "preprocess": {"size": entry.config.image_size, **DEFAULT_PREPROCESS}}
    with torch.no_grad():
        return export(model, qparams, metadata)


def graph_checkpoint(graph: Graph) -> Path | None:
    """The float checkpoint an exported graph came from, if it is still there."""
    recorded, model = graph.metadata.get("checkpoint"), graph.metadata.get("model")
    if recorded == SHIPPED:
        from . import zoo

        return zoo.get(model).checkpoint
    return Path(recorded) if recorded and Path(recorded).exists() else None


def evaluate_graph(graph: Graph, dataset: str, test_images: int | None = None, runner=None,
                   progress: bool = False) -> tuple[dict, object]:
    """(result, measurement) of the graph's int8 accuracy on the first `test_images` images of the
    dataset's test split (None: all): on the reference interpreter, or with `runner` (a
    models.runner.BoardRunner) on its emulated board, each image compared with the reference
    (measurement: the first image's; None without a runner). result: accuracy, samples, and with a
    runner bit_exact and mismatches; float_accuracy and checkpoint when the graph's float checkpoint
    is there."""
    from . import datasets
    from .evaluate import accuracy, board_accuracy

    x, y = datasets.load(dataset, "test")
    x, y = x[:test_images], y[:test_images]
    measurement = None
    if runner is not None:
        correct, mismatches, measurement = board_accuracy(runner, x, y, progress=progress)
        result = {"accuracy": correct, "samples": len(x), "bit_exact": mismatches == 0, "mismatches": mismatches}
    else:
        result = {"accuracy": accuracy(graph, x, y, progress=progress), "samples": len(x)}
    checkpoint = graph_checkpoint(graph)
    if checkpoint is not None:
        from . import zoo
        from .train import accuracy as float_accuracy, images, load_checkpoint

        model, _ = load_checkpoint(checkpoint)
        result["float_accuracy"] = float_accuracy(model, images(zoo.get(graph.metadata["model"]), x), y)
        result["checkpoint"] = str(checkpoint)
    return result, measurement


def check_on_board(runner, inputs: int, seed: int = 0, progress: bool = False):
    """(mismatches, measurements, one per input in order): `inputs` random inputs
    (models.evaluate.random_inputs, drawn in order from one generator seeded with `seed`, so the
    first k of them are those of a check of k inputs) run on the runner's board, each output compared
    value by value with the reference interpreter's (0 mismatches: bit-exact)."""
    from tqdm import tqdm

    from .evaluate import differing_values, random_inputs

    graph = runner.deployment.graph
    rng = np.random.default_rng(seed)
    mismatches, measurements = 0, []
    for _ in tqdm(range(inputs), desc=f"check on {runner.board.name}", unit="input", disable=not progress,
                  leave=False):
        x = random_inputs(graph, rng)
        outputs, measurement = runner.run(x)
        measurements.append(measurement)
        mismatches += differing_values(outputs, run(graph, x))
    return mismatches, measurements


def demo_graph() -> Graph:
    from . import zoo

    return Graph.load(zoo.get(DEMO_MODEL).graph)


def run_demo(runner, test_images: int, out: Path, progress: bool = False):
    """(result, measurement) of the demo: the runner's graph (demo_graph()) on the first `test_images`
    test images of DEMO_DATASET computed on the emulated board and compared with the reference;
    writes into `out` a Perfetto trace (trace.json), a memory timeline (memory.png) and the result
    (report.json)."""
    from . import datasets
    from .evaluate import board_accuracy
    from .plots import memory_timeline

    board = runner.board
    x, y = datasets.load(DEMO_DATASET, "test")
    x, y = x[:test_images], y[:test_images]
    accuracy, mismatches, m = board_accuracy(runner, x, y, progress=progress)
    out.mkdir(parents=True, exist_ok=True)
    m.write_trace(out / "trace.json")
    memory_timeline(runner.deployment, m, out / "memory.png",
                    f"{DEMO_MODEL} on {board.name}: SRAM peak {m.total_peak:,} B (arena {m.arena_peak:,} B, "
                    f"lower bound {m.lower_bound:,} B)")
    result = {"model": DEMO_MODEL, "accuracy": accuracy, "samples": len(x), "bit_exact": mismatches == 0,
              "mismatches": mismatches, **m.to_json()}
    (out / "report.json").write_text(json.dumps(result, indent=1))
    return result, m
