"""depthwise_conv2d, int8 NHWC: the numpy reference (the specification) and the call of its C twin
runtime_c/src/depthwise_conv2d_s8.c (and depthwise_conv2d_inplace_s8.c, MCUNetV2's in-place
depthwise). Formula: docs/numerics.md#depthwise_conv2d. The deployment may run it on a sparse filter
(sparse_depthwise_conv2d.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..blob import IN, OUT, Arena, Call, const, weighted
from ..graph import Graph, Op
from ..quant import output_stage
from . import Lowering, OpDef
from .common import check_weights, check_window, constant, expect, io, sparse_stream, weighted_quantization
from .conv2d import Conv2DAttrs, Conv2DParams, run_windowed, taps


@dataclass(frozen=True)
class DepthwiseConv2DAttrs(Conv2DAttrs):
    depth_multiplier: int = 1


@dataclass(frozen=True)
class DepthwiseConv2DParams(Conv2DParams):
    depth_multiplier: int = 1

    def c_params(self) -> list[int]:
        """mcusim_dw_conv_params."""
        return [*super().c_params(), self.depth_multiplier]


def depthwise_conv2d_s8(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, p: DepthwiseConv2DParams) -> np.ndarray:
    """x int8 [N, H, W, C], w int8 [1, KH, KW, C*M], bias int32 [C*M] or None -> int8 [N, out_h, out_w, C*M].
    Output channel o reads input channel o // M."""
    _, kh, kw, out_ch = w.shape
    wt = w.astype(np.int64)[0]
    acc = np.zeros((x.shape[0], p.out_h, p.out_w, out_ch), np.int64)
    for ky, kx, window in taps(x, p, kh, kw):
        acc += np.repeat(window, p.depth_multiplier, axis=3) * wt[ky, kx]
    if bias is not None:
        acc += bias.astype(np.int64)
    return output_stage(acc, p.multiplier, p.shift, p.output_offset, p.act_min, p.act_max, "depthwise_conv2d")


def depthwise_conv2d_call(x_shape, w: np.ndarray, bias: np.ndarray | None, p: DepthwiseConv2DParams, *,
                          x: Arena = IN, y: Arena = OUT, in_place: bool = False) -> Call:
    """in_place: the in-place kernel, output over input (x and y the same tensor)."""
    return weighted("depthwise_conv2d_inplace" if in_place else "depthwise_conv2d", p.c_params(), p, x_shape, x,
                    w.shape, const(w), const(bias), (x_shape[0], p.out_h, p.out_w, w.shape[3]), y)


def _validate(graph: Graph, op: Op, where: str) -> None:
    x, w, *rest = io(graph, op, where, (2, 3))
    y = rest[-1]
    channels = x.shape[-1] * op.attrs.depth_multiplier
    expect(op.attrs.depth_multiplier >= 1, where, "depth multiplier must be >= 1")
    expect(len(w.shape) == 4 and w.shape[0] == 1 and w.shape[3] == channels and y.shape[-1] == channels, where,
           f"weights must be [1, KH, KW, {channels}] and the output {channels} channels")
    check_weights(where, w, rest[0] if len(rest) == 2 else None, channels, 3)
    a = op.attrs
    check_window(where, x, y, w.shape[1:3], a.stride, a.pad, a.dilation)


def _prepare(graph: Graph, op: Op) -> DepthwiseConv2DParams:
    quantization = weighted_quantization(graph, op, graph.tensors[op.inputs[1]].shape[3])
    y, a = graph.tensors[op.outputs[0]], op.attrs
    return DepthwiseConv2DParams(*quantization[:4], y.shape[1], y.shape[2], a.stride, a.pad, a.dilation,
                                 *quantization[4:], a.depth_multiplier)


def _lower(lowering: Lowering) -> tuple[Call, ...]:
    from .sparse_depthwise_conv2d import sparse_depthwise_conv2d_call  # the sparse twin imports this module

    x, w, y = lowering.tensor(0), lowering.tensor(1), lowering.tensor(output=True)
    bias, stream = constant(lowering.graph, lowering.op, 2), sparse_stream(lowering)
    operands = dict(x=lowering.operand(x.name), y=Arena(y.name))
    if stream is not None:
        return (sparse_depthwise_conv2d_call(x.shape, stream, w.shape, bias, lowering.params, **operands),)
    return (depthwise_conv2d_call(x.shape, w.data, bias, lowering.params, in_place=lowering.in_place, **operands),)


OPS = (OpDef("depthwise_conv2d", DepthwiseConv2DAttrs, _validate, run_windowed(depthwise_conv2d_s8), _prepare,
             _lower, ("depthwise_conv2d", "depthwise_conv2d_inplace", "sparse_depthwise_conv2d")),)


SCRATCH = {"depthwise_conv2d_inplace": lambda call: call.words(2)[1] * call.words(2)[2]}  # a channel's H x W plane
