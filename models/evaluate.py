"""Accuracy of an int8 Graph on a dataset with the reference interpreter, and the images it takes.

    accuracy(graph, x, y)    # x: dataset images, uint8 NHWC; y: labels

A graph made by `mcusim export` records its input preprocessing in its metadata (`preprocess`: size,
mean, std); images are resized and normalized as the model was trained, then quantized with the
graph input's scale and zero point.
"""
from __future__ import annotations

import numpy as np
from tqdm import tqdm

from . import datasets
from .graph import Graph, GraphError
from .interpreter import run
from .ops.quantize import quantize_s8

DEFAULT_PREPROCESS = {"mean": 0.5, "std": 0.5}  # [-1, 1], as the models here are trained


def graph_inputs(graph: Graph, x: np.ndarray) -> np.ndarray:
    """Dataset images (uint8 NHWC) as the graph's int8 input, stacked along axis 0."""
    t = graph.tensors[graph.inputs[0]]
    if len(t.shape) != 4 or t.dtype != "int8":
        raise GraphError(f"input {t.name!r} is {t.dtype}{list(t.shape)}, not an int8 NHWC image")
    _, h, w, c = t.shape
    if h != w or x.shape[3] != c:
        raise GraphError(f"the graph takes {h}x{w}x{c} images; the dataset has {x.shape[1]}x{x.shape[2]}x{x.shape[3]}")
    pre = {**DEFAULT_PREPROCESS, **graph.metadata.get("preprocess", {})}
    xf = datasets.normalize(datasets.resize(x, h), pre["mean"], pre["std"])
    return quantize_s8(xf, t.quant.scale[0], t.quant.zero_point[0])


def random_inputs(graph: Graph, rng: np.random.Generator) -> list[np.ndarray]:
    """One sample per graph input: uniform int8, or standard normal float32 for a float input."""
    inputs = []
    for name in graph.inputs:
        t = graph.tensors[name]
        inputs.append(rng.standard_normal(t.shape).astype(np.float32) if t.dtype == "float32"
                      else rng.integers(-128, 128, t.shape, dtype=np.int8))
    return inputs


def differing_values(outputs: list[np.ndarray], expected: list[np.ndarray]) -> int:
    """How many output values differ from the expected ones (0: bit-exact)."""
    return sum(int((a != b).sum()) for a, b in zip(outputs, expected, strict=True))


def accuracy(graph: Graph, x: np.ndarray, y: np.ndarray, batch_size: int = 100, progress: bool = False) -> float:
    """Top-1 accuracy of the graph's int8 output (its argmax) on images x (uint8 NHWC) with labels y."""
    correct = 0
    for i in tqdm(range(0, len(x), batch_size), desc="int8 reference", unit="batch", disable=not progress,
                  leave=False):
        logits = run(graph, [graph_inputs(graph, x[i:i + batch_size])])[0]
        correct += int((logits.reshape(len(logits), -1).argmax(1) == y[i:i + batch_size]).sum())
    return correct / len(x)


def board_accuracy(runner, x: np.ndarray, y: np.ndarray, batch_size: int = 100, progress: bool = False):
    """(accuracy, mismatches, measurement of the first image) of the graph on an emulated board
    (a models.runner.BoardRunner), one image at a time; mismatches counts the output values that
    differ from the reference interpreter's."""
    graph = runner.deployment.graph
    correct, mismatches, first = 0, 0, None
    with tqdm(total=len(x), desc=f"int8 on {runner.board.name}", unit="image", disable=not progress,
              leave=False) as bar:
        for start in range(0, len(x), batch_size):
            inputs = graph_inputs(graph, x[start:start + batch_size])
            reference = run(graph, [inputs])[0]
            for i in range(len(inputs)):
                (logits,), measurement = runner.run([inputs[i:i + 1]])
                first = first or measurement
                mismatches += differing_values([logits], [reference[i:i + 1]])
                correct += int(logits.reshape(-1).argmax() == y[start + i])
                bar.update()
    return correct / len(x), mismatches, first
