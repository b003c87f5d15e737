"""fully_connected, int8: the numpy reference (the specification) and the call of its C twin
runtime_c/src/fully_connected_s8.c (and fully_connected_inplace_s8.c, MCUFormer's token overwriting).
Formula: docs/numerics.md#fully_connected.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..blob import IN, OUT, Arena, Call, const, weighted
from ..graph import Graph, Op
from ..quant import integer_matmul, output_stage
from . import Lowering, OpDef
from .common import check_weights, constant, expect, io, sparse_stream, weighted_quantization


@dataclass(frozen=True)
class FullyConnectedAttrs:
    activation: str = "none"


@dataclass(frozen=True)
class FullyConnectedParams:
    """Quantization of one fully connected layer (mcusim_fc_params + per-channel requantization)."""

    input_offset: int   # -input zero point, [-127, 128]
    output_offset: int  # output zero point, [-128, 127]
    multiplier: np.ndarray  # int32 [O]
    shift: np.ndarray       # int32 [O], [-31, 30]
    act_min: int = -128
    act_max: int = 127

    def c_params(self) -> list[int]:
        """mcusim_fc_params."""
        return [self.input_offset, self.output_offset, self.act_min, self.act_max]


def fully_connected_s8(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, p: FullyConnectedParams) -> np.ndarray:
    """x int8 [B, K], w int8 [O, K], bias int32 [O] or None -> int8 [B, O]."""
    acc = integer_matmul(x.astype(np.int64) + p.input_offset, w.T)  # [B, O]
    if bias is not None:
        acc += bias.astype(np.int64)
    return output_stage(acc, p.multiplier, p.shift, p.output_offset, p.act_min, p.act_max, "fully_connected")


def fully_connected_call(x_shape, w: np.ndarray, bias: np.ndarray | None, p: FullyConnectedParams, *,
                         x: Arena = IN, y: Arena = OUT, in_place: bool = False) -> Call:
    """The kernel call for x of x_shape seen as rows of K = w.shape[1]. in_place: the token-overwriting
    kernel, whose one buffer (x and y the same tensor) of rows * max(K, O) bytes holds x, then y."""
    (channels, depth), rows = w.shape, int(np.prod(x_shape)) // w.shape[1]
    return weighted("fully_connected_inplace" if in_place else "fully_connected", p.c_params(), p,
                    (rows, 1, 1, depth), x, (channels, 1, 1, depth), const(w), const(bias), (rows, 1, 1, channels), y)


def _validate(graph: Graph, op: Op, where: str) -> None:
    x, w, *rest = io(graph, op, where, (2, 3))
    y = rest[-1]
    expect(len(w.shape) == 2, where, "weights must be 2-D [O, K]")
    channels, depth = w.shape
    size = int(np.prod(x.shape))
    expect(size % depth == 0, where, f"input of {size} elements is not a whole number of rows of {depth}")
    expect(int(np.prod(y.shape)) == size // depth * channels and y.shape[-1] == channels, where,
           f"output shape {y.shape} does not hold {size // depth} rows of {channels}")
    check_weights(where, w, rest[0] if len(rest) == 2 else None, channels, 0)


def _prepare(graph: Graph, op: Op) -> FullyConnectedParams:
    return FullyConnectedParams(*weighted_quantization(graph, op, graph.tensors[op.inputs[1]].shape[0]))


def _run(graph: Graph, op: Op, p: FullyConnectedParams, values: dict) -> None:
    w, y = graph.tensors[op.inputs[1]], graph.tensors[op.outputs[0]]
    rows = values[op.inputs[0]].reshape(-1, w.shape[1])
    values[op.outputs[0]] = fully_connected_s8(rows, w.data, constant(graph, op, 2), p).reshape(-1, *y.shape[1:])


def _lower(lowering: Lowering) -> tuple[Call, ...]:
    from .sparse_fully_connected import sparse_fully_connected_call  # the sparse twin imports this module

    x, w, y = lowering.tensor(0), lowering.tensor(1), lowering.tensor(output=True)
    bias, stream = constant(lowering.graph, lowering.op, 2), sparse_stream(lowering)
    operands = dict(x=lowering.operand(x.name), y=Arena(y.name))
    if stream is not None:
        return (sparse_fully_connected_call(x.shape, stream, bias, lowering.params, **operands),)
    return (fully_connected_call(x.shape, w.data, bias, lowering.params, in_place=lowering.in_place, **operands),)


OPS = (OpDef("fully_connected", FullyConnectedAttrs, _validate, _run, _prepare, _lower,
             ("fully_connected", "fully_connected_inplace", "sparse_fully_connected")),)


def _inplace_scratch(call: Call) -> int:
    """fully_connected_inplace_s8.c: a block of up to 8 tokens' outputs within 2,048 bytes (one token
    at least, all at most)."""
    tokens, channels = call.words(2)[0], call.words(4)[0]
    return min(tokens, max(1, min(8, 2048 // channels))) * channels


SCRATCH = {"fully_connected_inplace": _inplace_scratch}
