"""reshape: a new shape for the same bytes, run by no kernel (the deployment gives its output its
input's arena bytes). Formula: docs/numerics.md#data-movement.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..graph import Graph, Op
from . import OpDef
from .common import expect, io


@dataclass(frozen=True)
class ReshapeAttrs:
    """The new shape is the output tensor's."""


def _validate(graph: Graph, op: Op, where: str) -> None:
    x, y = io(graph, op, where, (1,))
    expect(int(np.prod(x.shape)) == int(np.prod(y.shape)), where, f"cannot reshape {x.shape} to {y.shape}")
    expect(x.quant == y.quant, where, "reshape keeps the scale and zero point")


def _run(graph: Graph, op: Op, _params, values: dict) -> None:
    values[op.outputs[0]] = values[op.inputs[0]].reshape(-1, *graph.tensors[op.outputs[0]].shape[1:])


OPS = (OpDef("reshape", ReshapeAttrs, _validate, _run),)
