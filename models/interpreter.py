"""The reference interpreter: runs a Graph op by op with the numpy references of the op registry
(models/ops). It is the executable specification that the C kernels and the emulated firmware must
equal bit for bit.

    interpreter = Interpreter(graph)     # every op's parameters prepared once
    outputs = interpreter.run(inputs)    # as often as needed; run(graph, inputs) for a single run

Parameters are derived from the tensors' scales exactly as TFLite Micro derives them (models/ops/common.py),
so that a graph imported from a .tflite file computes what TFLM computes.
"""
from __future__ import annotations

import numpy as np

from .graph import Graph, GraphError, Op
from .ops import op_def


def op_params(graph: Graph, op: Op):
    """The kernel parameters of `op` as the reference and the C kernels take them (None for ops whose
    attributes say everything: data movement and reshape)."""
    return op_def(op.kind).prepare(graph, op)


def batch_safe(graph: Graph, op: Op) -> bool:
    """Whether `op` leaves its tensors' axis 0 alone, so that a batch of samples stacked along axis 0
    runs through it as one (see Interpreter.run_all)."""
    if any(len(graph.tensors[n].shape) < 2 for n in (*op.inputs, *op.outputs) if graph.tensors[n].data is None):
        return False  # in a 1-D tensor axis 0 is the data
    return op_def(op.kind).batch_safe(graph, op)


class Interpreter:
    """One graph, its ops' definitions and parameters prepared once."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self._steps = [(op, op_def(op.kind), op_params(graph, op)) for op in graph.ops]
        self._batch_safe = all(batch_safe(graph, op) for op in graph.ops)

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """The outputs of run_all, in graph.outputs order."""
        values = self.run_all(inputs)
        return [values[name] for name in self.graph.outputs]

    def run_all(self, inputs: list[np.ndarray]) -> dict[str, np.ndarray]:
        """Run the graph on `inputs` (in graph.inputs order, each of its tensor's dtype: int8, or float32
        for a graph that quantizes its own input); returns every tensor's value by name.

        Batches: an input may stack n samples along axis 0 (axis 0 n times the tensor's); every tensor
        is then n times longer along axis 0 and the outputs hold the n results in order, the same bits
        as n runs. This needs ops that keep axis 0 apart (batch_safe): true of the graphs mcusim
        exports, whose tensors all lead with the batch axis."""
        graph = self.graph
        if len(inputs) != len(graph.inputs):
            raise GraphError(f"graph takes {len(graph.inputs)} inputs, got {len(inputs)}")
        values: dict[str, np.ndarray] = {}
        batches = set()
        for name, array in zip(graph.inputs, inputs):
            t = graph.tensors[name]
            array = np.asarray(array)
            if (array.shape[1:] != t.shape[1:] or array.ndim != len(t.shape) or array.shape[0] % t.shape[0] or
                    not array.shape[0] or array.dtype != np.dtype(t.dtype)):
                raise GraphError(f"input {name!r}: expected {t.dtype}{list(t.shape)}, got {array.dtype}{list(array.shape)}")
            batches.add(array.shape[0] // t.shape[0])
            values[name] = array
        if len(batches) > 1:
            raise GraphError(f"inputs stack different numbers of samples ({sorted(batches)})")
        if (batches.pop() if batches else 1) > 1 and not self._batch_safe:
            raise GraphError("this graph mixes its axis 0 (an op reduces, moves or slices it): run one sample at a time")
        for name, t in graph.tensors.items():
            if t.data is not None:
                values[name] = t.data
        for op, definition, params in self._steps:
            definition.run(graph, op, params, values)
        return values


def run(graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """Interpreter(graph).run(inputs)."""
    return Interpreter(graph).run(inputs)


def run_all(graph: Graph, inputs: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Interpreter(graph).run_all(inputs)."""
    return Interpreter(graph).run_all(inputs)
