"""conv2d, int8 NHWC: the numpy reference (the specification) and the call of its C twin
runtime_c/src/conv2d_s8.c. Formula: docs/numerics.md#conv2d. The deployment may run a conv2d as a patch
embedding (patch_embed.py) or on a sparse filter (sparse_conv2d.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..blob import IN, OUT, Arena, Call, const, weighted
from ..graph import Graph, Op
from ..quant import integer_matmul, output_stage
from . import Lowering, OpDef
from .common import (check_weights, check_window, constant, expect, int_tuples, io, sparse_stream,
                     weighted_quantization)


@dataclass(frozen=True)
class Conv2DAttrs:
    """Explicit padding (rows above, columns left); the output tensor's shape fixes the rest."""

    stride: tuple[int, int] = (1, 1)
    pad: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    activation: str = "none"

    def __post_init__(self):
        int_tuples(self, "stride", "pad", "dilation")


@dataclass(frozen=True)
class Conv2DParams:
    """Geometry and quantization of one conv2d (mcusim_conv_params + per-channel requantization).
    Padding is explicit (rows above, columns left); out_h x out_w is the output's size."""

    input_offset: int
    output_offset: int
    multiplier: np.ndarray
    shift: np.ndarray
    out_h: int
    out_w: int
    stride: tuple[int, int] = (1, 1)
    pad: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    act_min: int = -128
    act_max: int = 127

    def c_params(self) -> list[int]:
        """mcusim_conv_params."""
        return [self.input_offset, self.output_offset, *self.stride, *self.pad, *self.dilation, self.act_min,
                self.act_max]


def padding(mode: str, size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TFLite's (pad before, output size) along one axis for padding 'same' or 'valid'."""
    effective = (kernel - 1) * dilation + 1
    if mode == "same":
        out = (size + stride - 1) // stride
        return max(0, ((out - 1) * stride + effective - size) // 2), out
    if mode == "valid":
        return 0, (size - effective + stride) // stride
    raise ValueError(f"padding must be 'same' or 'valid', got {mode!r}")


def windows(x: np.ndarray, out_hw: tuple[int, int], kernel: tuple[int, int], stride: tuple[int, int],
            pad: tuple[int, int], dilation: tuple[int, int], fill: int = 0):
    """Yield (ky, kx, window) for each kernel tap: window[n, y, x, c] is what the tap reads for output
    pixel (y, x), [N, out_h, out_w, C], taken from x padded with `fill` (pad above/left as given, and
    below/right as far as the output needs)."""
    _, h, w, _ = x.shape
    (oh, ow), (kh, kw), (sh, sw), (ph, pw), (dh, dw) = out_hw, kernel, stride, pad, dilation
    bottom = max(0, (oh - 1) * sh + (kh - 1) * dh + 1 - h - ph)
    right = max(0, (ow - 1) * sw + (kw - 1) * dw + 1 - w - pw)
    xs = np.pad(x, ((0, 0), (ph, bottom), (pw, right), (0, 0)), constant_values=fill)
    for ky in range(kh):
        for kx in range(kw):
            yield ky, kx, xs[:, ky * dh: ky * dh + (oh - 1) * sh + 1: sh, kx * dw: kx * dw + (ow - 1) * sw + 1: sw]


def taps(x: np.ndarray, p: Conv2DParams, kh: int, kw: int):
    """windows() of x plus the input offset, int64; the padding holds zeros, i.e. the input zero
    point, so a padded tap adds nothing, as if skipped."""
    return windows(x.astype(np.int64) + p.input_offset, (p.out_h, p.out_w), (kh, kw), p.stride, p.pad, p.dilation)


def conv2d_s8(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, p: Conv2DParams) -> np.ndarray:
    """x int8 [N, H, W, C], w int8 [O, KH, KW, C], bias int32 [O] or None -> int8 [N, out_h, out_w, O]."""
    o, kh, kw, _ = w.shape
    wt = w.astype(np.int64)
    acc = np.zeros((x.shape[0], p.out_h, p.out_w, o), np.int64)
    for ky, kx, window in taps(x, p, kh, kw):
        acc += integer_matmul(window, wt[:, ky, kx, :].T)
    if bias is not None:
        acc += bias.astype(np.int64)
    return output_stage(acc, p.multiplier, p.shift, p.output_offset, p.act_min, p.act_max, "conv2d")


def conv2d_call(x_shape, w: np.ndarray, bias: np.ndarray | None, p: Conv2DParams, *, direct: bool = False,
                x: Arena = IN, y: Arena = OUT) -> Call:
    """direct: conv2d_direct_s8.c, which takes no scratch memory (conv2d_s8.c's im2col path does)."""
    return weighted("conv2d_direct" if direct else "conv2d", p.c_params(), p, x_shape, x, w.shape, const(w),
                    const(bias), (x_shape[0], p.out_h, p.out_w, w.shape[0]), y)


def _validate(graph: Graph, op: Op, where: str) -> None:
    x, w, *rest = io(graph, op, where, (2, 3))
    y = rest[-1]
    expect(len(w.shape) == 4 and w.shape[3] == x.shape[-1] and y.shape[-1] == w.shape[0], where,
           "weights must be [O, KH, KW, C] for an NHWC input of C channels and an output of O")
    check_weights(where, w, rest[0] if len(rest) == 2 else None, w.shape[0], 0)
    a = op.attrs
    check_window(where, x, y, w.shape[1:3], a.stride, a.pad, a.dilation)


def _prepare(graph: Graph, op: Op) -> Conv2DParams:
    quantization = weighted_quantization(graph, op, graph.tensors[op.inputs[1]].shape[0])
    y, a = graph.tensors[op.outputs[0]], op.attrs
    return Conv2DParams(*quantization[:4], y.shape[1], y.shape[2], a.stride, a.pad, a.dilation, *quantization[4:])


def run_windowed(reference):
    """run() of conv2d and depthwise_conv2d."""
    def run(graph: Graph, op: Op, p, values: dict) -> None:
        values[op.outputs[0]] = reference(values[op.inputs[0]], graph.tensors[op.inputs[1]].data,
                                          constant(graph, op, 2), p)

    return run


def _lower(lowering: Lowering) -> tuple[Call, ...]:
    # The twins below import this module.
    from .patch_embed import PatchEmbedParams, patch_embed_call, sub_kernel
    from .sparse_conv2d import sparse_conv2d_call

    x, w, y = lowering.tensor(0), lowering.tensor(1), lowering.tensor(output=True)
    bias, p = constant(lowering.graph, lowering.op, 2), lowering.params
    operands = dict(x=lowering.operand(x.name), y=Arena(y.name))
    sub = sub_kernel(lowering.op.attrs, w.shape[1:3], lowering.options.patch_embed)
    if sub is not None:
        return (patch_embed_call(x.shape, w.data, bias, PatchEmbedParams.of(p), sub, **operands),)
    stream = sparse_stream(lowering)
    if stream is not None:
        return (sparse_conv2d_call(x.shape, stream, w.shape, bias, p, **operands),)
    return (conv2d_call(x.shape, w.data, bias, p, direct=not lowering.options.scratch, **operands),)


OPS = (OpDef("conv2d", Conv2DAttrs, _validate, run_windowed(conv2d_s8), _prepare, _lower,
             ("conv2d", "conv2d_direct", "patch_embed", "sparse_conv2d")),)


CONV_MAX_COLUMN, CONV_CHANNEL_BLOCK = 4096, 32  # conv2d_s8.c's MCUSIM_CONV_MAX_COLUMN, _CHANNEL_BLOCK


def _conv2d_scratch(call: Call) -> int:
    """conv2d_s8.c: the im2col path's two columns and block of sums; the pointwise and direct paths none."""
    stride_h, stride_w, pad_h, pad_w = call.words(0)[2:6]
    (_, h, w, c), (_, kh, kw, _), (_, oh, ow, _) = call.words(2), call.words(4), call.words(7)
    if (kh, kw, stride_h, stride_w, pad_h, pad_w, oh, ow) == (1, 1, 1, 1, 0, 0, h, w):
        return 0
    return 2 * kh * kw * c + 4 * CONV_CHANNEL_BLOCK if kh * kw * c <= CONV_MAX_COLUMN else 0


SCRATCH = {"conv2d": _conv2d_scratch}
