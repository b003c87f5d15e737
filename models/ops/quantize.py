"""quantize (float32 -> int8) and dequantize (int8 -> float32) at a graph's edges, as TFLite: the
numpy references and the calls of their C twins runtime_c/src/quantize_s8.c and dequantize_s8.c.
Formulas: docs/numerics.md#quantize-and-dequantize.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from ..blob import IN, OUT, Arena, Call, Const, unary
from ..graph import Graph, Op
from ..quant import round_half_away_array
from . import Lowering, OpDef
from .common import expect


@dataclass(frozen=True)
class EdgeAttrs:
    """quantize (float32 -> int8) and dequantize (int8 -> float32) at the graph's edges."""


def quantize_s8(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """TFLite AffineQuantize: round(x / scale) in float32, halves away from zero, + zero point, clamped.
    Where x / scale overflows int32 TFLite's conversion is undefined; here (and in C) it saturates."""
    with np.errstate(over="ignore", invalid="ignore"):  # huge quotients saturate below
        quotient = np.asarray(x, np.float32) / np.float32(scale)
        rounded = np.clip(round_half_away_array(quotient), -256, 255)  # as the C, before converting to int32
    return np.clip(rounded.astype(np.int64) + zero_point, -128, 127).astype(np.int8)


def dequantize_s8(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """TFLite Dequantize: (float)(double(scale) * (q - zero_point))."""
    return (float(np.float32(scale)) * (q.astype(np.float64) - zero_point)).astype(np.float32)


def edge_call(kind: str, shape, scale: float, zero_point: int, *, x: Arena = IN, y: Arena = OUT) -> Call:
    """kind "quantize" or "dequantize" of a tensor of `shape`; the params are mcusim_quant_params
    (float32 scale, int32 zero point)."""
    flat = (1, 1, 1, int(np.prod(shape)))
    return unary(kind, Const(struct.pack("<fi", scale, zero_point)), flat, x, flat, y)


def _validate(graph: Graph, op: Op, where: str) -> None:
    expect(len(op.inputs) == 1 and len(op.outputs) == 1, where, "takes one input and one output")
    x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    q, f = (y, x) if op.kind == "quantize" else (x, y)
    expect(f.dtype == "float32" and q.dtype == "int8", where,
           f"{op.kind} maps {'float32 to int8' if op.kind == 'quantize' else 'int8 to float32'}")
    expect(q.quant is not None and len(q.quant.scale) == 1, where, "the int8 side needs per-tensor quantization")
    expect(x.shape == y.shape, where, f"{op.kind} keeps the shape")


def _prepare(graph: Graph, op: Op) -> tuple[float, int]:
    """(scale, zero point) of the int8 side."""
    q = graph.tensors[op.outputs[0] if op.kind == "quantize" else op.inputs[0]].quant
    return q.scale[0], q.zero_point[0]


def _edge_op(kind: str, reference) -> OpDef:
    def run(graph: Graph, op: Op, p: tuple[float, int], values: dict) -> None:
        values[op.outputs[0]] = reference(values[op.inputs[0]], *p)

    def lower(lowering: Lowering) -> tuple[Call, ...]:
        x = lowering.tensor(0)
        return (edge_call(kind, x.shape, *lowering.params, x=lowering.operand(x.name),
                          y=Arena(lowering.op.outputs[0])),)

    return OpDef(kind, EdgeAttrs, _validate, run, _prepare, lower, (kind,))


OPS = (_edge_op("quantize", quantize_s8), _edge_op("dequantize", dequantize_s8))
