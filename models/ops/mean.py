"""mean over axes, int8: the numpy reference and the call of its C twin runtime_c/src/mean_s8.c.
Formula: docs/numerics.md#mean.
"""
from __future__ import annotations

from dataclasses import astuple, dataclass

import numpy as np

from ..blob import IN, OUT, Arena, Call, i32, unary
from ..graph import Graph, Op, short
from ..quant import multiply_by_quantized_multiplier, quantize_multiplier
from . import Lowering, OpDef
from .common import check_rank, expect, int_tuples, io


@dataclass(frozen=True)
class MeanAttrs:
    """Mean over `axes`; keep_dims keeps them as size 1 (the output tensor's shape says the same)."""

    axes: tuple[int, ...] = ()
    keep_dims: bool = False

    def __post_init__(self):
        int_tuples(self, "axes")


@dataclass(frozen=True)
class MeanParams:
    """mcusim_mean_params, field for field: the multiplier already holds 1 / count."""

    input_offset: int
    output_offset: int
    multiplier: int
    shift: int

    @classmethod
    def from_quantization(cls, input_scale: float, input_zp: int, output_scale: float, output_zp: int,
                          count: int) -> "MeanParams":
        """TFLite's QuantizedMeanOrSum: QuantizeMultiplier(input_scale / output_scale) in double, then
        1 / count folded in: the multiplier shifted left by s = min(floor(log2 count), 32, 31 + shift)
        and divided by count (integer division), the shift lowered by s."""
        multiplier, shift = quantize_multiplier(float(np.float32(input_scale)) / float(np.float32(output_scale)))
        s = min(count.bit_length() - 1, 32, 31 + shift)
        return cls(-input_zp, output_zp, (multiplier << s) // count, shift - s)


def mean_s8(x: np.ndarray, axes: tuple[int, ...], p: MeanParams) -> np.ndarray:
    """x int8 of any rank -> int8 with the reduced axes kept as size 1."""
    total = (x.astype(np.int64) + p.input_offset).sum(axis=tuple(axes), keepdims=True)
    out = multiply_by_quantized_multiplier(total, p.multiplier, p.shift) + p.output_offset
    return np.clip(out, -128, 127).astype(np.int8)


def mean_call(x_shape, axes: tuple[int, ...], p: MeanParams, *, x: Arena = IN, y: Arena = OUT) -> Call:
    """x of rank <= 4; the kernel reduces the axes where the output dims are 1."""
    reduced = {a % len(x_shape) for a in axes}
    kept = tuple(1 if a in reduced else d for a, d in enumerate(x_shape))
    return unary("mean", i32(astuple(p)), x_shape, x, kept, y)


def _validate(graph: Graph, op: Op, where: str) -> None:
    x, y = io(graph, op, where, (1,))
    check_rank(where, x)
    axes = {a % len(x.shape) for a in op.attrs.axes if -len(x.shape) <= a < len(x.shape)}
    expect(len(axes) == len(op.attrs.axes) >= 1, where, f"axes {short(op.attrs.axes)} are not distinct axes of {x.shape}")
    kept = tuple(1 if k in axes else d for k, d in enumerate(x.shape))
    expected = kept if op.attrs.keep_dims else tuple(d for k, d in enumerate(x.shape) if k not in axes)
    expect(y.shape == expected, where,
           f"the mean of {x.shape} over {op.attrs.axes} has shape {expected}, not {y.shape}")
    expect(int(np.prod([x.shape[a] for a in axes])) <= 1 << 23, where, "at most 2^23 elements per mean")


def _prepare(graph: Graph, op: Op) -> MeanParams:
    x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    count = int(np.prod([x.shape[a % len(x.shape)] for a in op.attrs.axes]))
    return MeanParams.from_quantization(x.quant.scale[0], x.quant.zero_point[0], y.quant.scale[0],
                                        y.quant.zero_point[0], count)


def _run(graph: Graph, op: Op, p: MeanParams, values: dict) -> None:
    x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    axes = tuple(a % len(x.shape) for a in op.attrs.axes)
    values[op.outputs[0]] = mean_s8(values[op.inputs[0]], axes, p).reshape(-1, *y.shape[1:])


def _lower(lowering: Lowering) -> tuple[Call, ...]:
    x = lowering.tensor(0)
    return (mean_call(x.shape, lowering.op.attrs.axes, lowering.params, x=lowering.operand(x.name),
                      y=Arena(lowering.op.outputs[0])),)


def _batch_safe(graph: Graph, op: Op) -> bool:
    rank = len(graph.tensors[op.inputs[0]].shape)
    return all(axis % rank != 0 for axis in op.attrs.axes)


OPS = (OpDef("mean", MeanAttrs, _validate, _run, _prepare, _lower, ("mean",), _batch_safe),)
