"""What the op definitions share: shape and quantization checks (raising GraphError), and the
derivation of kernel parameters from tensor scales exactly as TFLite Micro derives them (float32
scales widened to double, then QuantizeMultiplier), so that an imported .tflite computes what TFLM
computes.
"""
from __future__ import annotations

import math
import operator
from dataclasses import astuple, dataclass

import numpy as np

from ..blob import Arena, Call, binary, i32
from ..graph import ACTIVATIONS, INT32_MAX, MAX_TENSOR_BYTES, Graph, GraphError, Op, Tensor, short
from ..quant import quantize_multiplier, round_half_away
from ..sparse import SparseWeights, choose
from . import Lowering, OpDef


def int_tuples(attrs, *names: str) -> None:
    """Hold the named fields of a frozen attributes dataclass as tuples of ints, whatever sequence of
    integers was given (a graph file's header gives lists; 8.7 or "1881" is no integer)."""
    for name in names:
        object.__setattr__(attrs, name, tuple(operator.index(v) for v in getattr(attrs, name)))


# ---- validation ------------------------------------------------------------------------------------

def expect(cond: bool, where: str, message: str) -> None:
    if not cond:
        raise GraphError(f"{where}: {message}")


def checked(where: str, build, *args):
    """build(*args), its ValueError (a parameter outside the kernel's legal range) as a GraphError."""
    try:
        return build(*args)
    except ValueError as e:
        raise GraphError(f"{where}: {e}") from None


def io(graph: Graph, op: Op, where: str, inputs: tuple[int, ...]) -> list[Tensor]:
    """The op's tensors (inputs then the one output) after checking their count, int8 activations
    and per-tensor quantization of its activations."""
    expect(len(op.inputs) in inputs and len(op.outputs) == 1, where,
           f"takes {' or '.join(map(str, inputs))} inputs and one output")
    expect(all(graph.tensors[n].shape for n in (*op.inputs, *op.outputs)), where,
           "operands must have rank >= 1 (a scalar is no op's operand)")
    x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    expect(x.dtype == y.dtype == "int8", where, "input and output must be int8")
    expect(x.quant is not None and y.quant is not None and len(x.quant.scale) == len(y.quant.scale) == 1, where,
           "input and output need per-tensor quantization")
    if hasattr(op.attrs, "activation"):
        expect(op.attrs.activation in ACTIVATIONS, where, f"activation {short(op.attrs.activation)} not in {ACTIVATIONS}")
    return [graph.tensors[n] for n in op.inputs] + [y]


def check_weights(where: str, w: Tensor, bias: Tensor | None, channels: int, axis: int, reach: int = 255) -> None:
    """Weights symmetric int8 constants with output channels along `axis`, a bias constant int32 [channels],
    and no accumulator able to leave int32 (the kernels' legal range: output_stage refuses one): a
    channel's sum is at most reach * sum |w| + |bias|, `reach` bounding the other factor (an input
    minus its zero point: 255)."""
    expect(w.dtype == "int8" and w.data is not None, where, f"weights {short(w.name)} must be a constant int8 tensor")
    expect(w.quant is not None and all(z == 0 for z in w.quant.zero_point) and
           (w.quant.axis is None or w.quant.axis % len(w.shape) == axis), where,
           f"weights must be symmetric (zero point 0), per tensor or per output channel (axis {axis})")
    if bias is not None:
        expect(bias.dtype == "int32" and bias.shape == (channels,) and bias.data is not None, where,
               f"bias must be a constant int32 [{channels}]")
    others = tuple(k for k in range(w.data.ndim) if k != axis)
    reached = reach * np.abs(w.data.astype(np.int64)).sum(axis=others).reshape(-1)
    if bias is not None:
        reached = reached + np.abs(bias.data.astype(np.int64))
    expect(int(reached.max()) <= INT32_MAX, where, f"weights and bias can take an accumulator to {int(reached.max()):,}, "
           "beyond int32: outside the kernels' legal range")


def check_window(where: str, x: Tensor, y: Tensor, kernel, stride, pad, dilation) -> None:
    """The geometry of a windowed op (conv2d, depthwise_conv2d, pooling), per spatial axis, as SAME
    and VALID padding give it: kernel, stride and dilation >= 1; padding in [0, dilated kernel - 1];
    every window starting above the input's last row (column). And the padded input the windows read
    (conv2d.windows) holds at most MAX_TENSOR_BYTES values: absurd dilations, pool sizes and paddings
    are refused here, before anything is allocated."""
    expect(len(x.shape) == 4 and len(y.shape) == 4 and x.shape[0] == y.shape[0], where,
           "input and output must be NHWC with the same batch")
    expect(len(kernel) == len(stride) == len(pad) == len(dilation) == 2, where,
           "kernel, stride, padding and dilation each give (height, width)")
    expect(min(*kernel, *stride, *dilation) >= 1 and min(pad) >= 0, where,
           "kernel, strides and dilations >= 1, padding >= 0")
    padded = x.shape[0] * x.shape[3]
    for axis, (size, out, k, s, p, d) in enumerate(zip(x.shape[1:3], y.shape[1:3], kernel, stride, pad, dilation)):
        side, effective = "height" if axis == 0 else "width", (k - 1) * d + 1
        expect(p < effective, where, f"{side}: padding {p} is not below the dilated kernel's {effective}")
        expect((out - 1) * s - p <= size - 1, where, f"{side}: {out} outputs at stride {s} overrun an input of {size}")
        padded *= max(p + size, (out - 1) * s + effective)
    expect(padded <= MAX_TENSOR_BYTES, where, f"the windows read a padded input of {padded:,} values; at most "
           f"{MAX_TENSOR_BYTES:,} (the largest board's memory)")


def check_rank(where: str, *tensors: Tensor, most: int = 4) -> None:
    expect(all(1 <= len(t.shape) <= most for t in tensors), where,
           f"tensors must have rank 1 to {most}" + (" (the kernels' NHWC)" if most == 4 else ""))


def data_movement(graph: Graph, op: Op, where: str, inputs=(1,), most: int = 4) -> list[Tensor]:
    """transpose, pad, slice and concatenation: ranks 1 to `most`, one scale and zero point throughout."""
    tensors = io(graph, op, where, inputs)
    check_rank(where, *tensors, most=most)
    expect(all(t.dtype == "int8" and t.quant == tensors[-1].quant for t in tensors), where,
           "inputs and output must be int8 with one scale and zero point (no requantization, as TFLM)")
    return tensors


def check_same_shape(graph: Graph, op: Op, where: str) -> None:
    """Elementwise ops of one input."""
    x, y = io(graph, op, where, (1,))
    expect(x.shape == y.shape, where, f"input {x.shape} and output {y.shape} must have one shape")


def check_second_operand(graph: Graph, op: Op, where: str) -> None:
    b = graph.tensors[op.inputs[1]]
    expect(b.dtype == "int8" and b.quant is not None and len(b.quant.scale) == 1, where,
           "both operands must be int8 with per-tensor quantization")


# ---- moves of up to six axes on four-axis kernels ---------------------------------------------------

def reduced_transpose(shape, perm) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The same move of the same bytes on the fewest axes: axes of size 1 dropped, input axes that stay
    neighbours in the output merged. E.g. (1, 16, 3, 2, 16) by (2, 0, 3, 1, 4), a converter's q/k/v
    split, is (16, 6, 16) by (1, 0, 2)."""
    kept = [a for a, d in enumerate(shape) if d != 1]
    label = {a: k for k, a in enumerate(kept)}
    groups: list[list[int]] = []  # runs of (relabelled) input axes, in output order
    for a in (label[a] for a in perm if a in label):
        if groups and groups[-1][-1] + 1 == a:
            groups[-1].append(a)
        else:
            groups.append([a])
    order = sorted(range(len(groups)), key=lambda g: groups[g][0])
    position = {g: i for i, g in enumerate(order)}
    reduced = tuple(math.prod(shape[kept[a]] for a in groups[g]) for g in order)
    return reduced or (1,), tuple(position[g] for g in range(len(groups))) or (0,)


def reduced_box(shape, begin, size) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """The same box of the same bytes on the fewest axes: axes of size 1 dropped, an axis merged into
    the one before it where it is taken whole or the one before takes one index. E.g. q of a (3, 1, 2,
    16, 16) q/k/v stack, box (0, 0, 0, 0, 0) + (1, 1, 2, 16, 16), is the box 0 + 512 of 1536 values."""
    axes = [(d, b, s) for d, b, s in zip(shape, begin, size) if d != 1]
    merged: list[tuple[int, int, int]] = []
    for d, b, s in axes:
        if merged and (b == 0 and s == d or merged[-1][2] == 1):
            pd, pb, ps = merged.pop()
            merged.append((pd * d, pb * d + b, ps * d if ps > 1 else s))
        else:
            merged.append((d, b, s))
    merged = merged or [(1, 0, 1)]
    return tuple(m[0] for m in merged), tuple(m[1] for m in merged), tuple(m[2] for m in merged)


# ---- parameters ------------------------------------------------------------------------------------

def per_channel_multipliers(x: Tensor, w: Tensor, y: Tensor, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """multiplier[c], shift[c] for real = input_scale * weight_scale[c] / output_scale."""
    in_scale, out_scale = float(np.float32(x.quant.scale[0])), float(np.float32(y.quant.scale[0]))
    scales = w.quant.scale if len(w.quant.scale) == channels else w.quant.scale * channels
    pairs = [quantize_multiplier(in_scale * float(np.float32(s)) / out_scale) for s in scales]
    return np.array([m for m, _ in pairs], np.int32), np.array([s for _, s in pairs], np.int32)


def activation_range(activation: str, y: Tensor) -> tuple[int, int]:
    """TFLite CalculateActivationRangeQuantized for an int8 output."""
    scale, zp = float(np.float32(y.quant.scale[0])), y.quant.zero_point[0]
    lo, hi = -128, 127
    if activation in ("relu", "relu6"):
        lo = max(lo, zp)
    if activation == "relu6":
        hi = min(hi, zp + round_half_away(6.0 / scale))
    return lo, hi


def weighted_quantization(graph: Graph, op: Op, channels: int):
    """(input offset, output offset, multiplier, shift, act_min, act_max) of a weighted op."""
    x, w, y = (graph.tensors[n] for n in (op.inputs[0], op.inputs[1], op.outputs[0]))
    multiplier, shift = per_channel_multipliers(x, w, y, channels)
    return (-x.quant.zero_point[0], y.quant.zero_point[0], multiplier, shift,
            *activation_range(op.attrs.activation, y))


def operand_quantization(graph: Graph, op: Op) -> tuple:
    """(scale, zero point) of each input, then of the output: what two-operand ops derive params from."""
    tensors = [graph.tensors[n] for n in (*op.inputs, op.outputs[0])]
    return tuple(v for t in tensors for v in (t.quant.scale[0], t.quant.zero_point[0]))


def constant(graph: Graph, op: Op, index: int) -> np.ndarray | None:
    """The data of the op's input `index` (a bias), or None where the op has no such input."""
    return graph.tensors[op.inputs[index]].data if len(op.inputs) > index else None


def unary(reference):
    """run() of an op of one activation input computed by reference(x, params)."""
    def run(graph: Graph, op: Op, params, values: dict) -> None:
        values[op.outputs[0]] = reference(values[op.inputs[0]], params)

    return run



def sparse_stream(lowering: Lowering) -> SparseWeights | None:
    """The weighted op's filter block run-length encoded (models/sparse.py), where the deployment
    stores it so (MemoryOptions.sparse_weights: the stream is smaller than the dense filter and, unless
    sparse_for_flash, sparse enough to be faster), else None. A layer run in place keeps its dense filter."""
    options = lowering.options
    if not options.sparse_weights or lowering.in_place:
        return None
    return choose(lowering.op.kind, lowering.tensor(1).data, for_speed=not options.sparse_for_flash)


# ---- elementwise binary ops: add, sub, mul, squared_difference, maximum, minimum --------------------

@dataclass(frozen=True)
class ElementwiseAttrs:
    """add, sub and mul: a fused activation (TFLite's)."""

    activation: str = "none"


@dataclass(frozen=True)
class BinaryAttrs:
    """squared_difference, maximum and minimum: none (TFLite fuses no activation into them)."""


def broadcast_axes(a_shape, b_shape, y_shape) -> list[tuple[int, bool, bool]]:
    """TFLite's (NumPy's) broadcasting of a and b to y, collapsed: shapes aligned right, a dim of 1
    broadcasts; y must be exactly the broadcast shape (ValueError otherwise). Axes where y is 1 are
    dropped and adjacent axes with the same pattern merged, leaving (size > 1, a has it, b has it) per
    axis, outermost first; at least one of a and b has every axis. Equal shapes give one axis (or none
    for a single element)."""
    rank = len(y_shape)
    try:
        full = tuple(np.broadcast_shapes(a_shape, b_shape))
    except ValueError:
        full = None
    if full != tuple(y_shape):
        raise ValueError(f"shapes {tuple(a_shape)}, {tuple(b_shape)} do not broadcast to {tuple(y_shape)}")
    a = (1,) * (rank - len(a_shape)) + tuple(a_shape)
    b = (1,) * (rank - len(b_shape)) + tuple(b_shape)
    axes: list[tuple[int, bool, bool]] = []
    for size, da, db in zip(y_shape, a, b):
        if size == 1:
            continue
        pattern = (da == size, db == size)
        if axes and axes[-1][1:] == pattern:
            axes[-1] = (axes[-1][0] * size, *pattern)
        else:
            axes.append((size, *pattern))
    return axes


def broadcast_dims(a_shape, b_shape, y_shape) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """The kernels' NHWC dims of a, b and y for broadcast_axes: each dim of a and b is y's or 1 (stride 0
    in the kernel). ValueError where the collapsed broadcast needs more than four dims."""
    axes = broadcast_axes(a_shape, b_shape, y_shape)
    if len(axes) > 4:
        raise ValueError(f"shapes {tuple(a_shape)}, {tuple(b_shape)} -> {tuple(y_shape)} broadcast over "
                         f"{len(axes)} alternating axes; the kernels take at most 4")
    axes = [(1, True, True)] * (4 - len(axes)) + axes
    return (tuple(s if in_a else 1 for s, in_a, _ in axes), tuple(s if in_b else 1 for s, _, in_b in axes),
            tuple(s for s, _, _ in axes))


def validate_elementwise(graph: Graph, op: Op, where: str) -> None:
    a, b, y = io(graph, op, where, (2,))
    check_second_operand(graph, op, where)
    checked(where, broadcast_dims, a.shape, b.shape, y.shape)


def same_quantization(graph: Graph, op: Op, where: str) -> None:
    """maximum and minimum: a plain compare of the int8 values, so inputs and output share one scale
    and zero point (TFLite's converter gives them so; TFLM compares without checking)."""
    expect(all(graph.tensors[n].quant == graph.tensors[op.outputs[0]].quant for n in op.inputs), where,
           "inputs and output must share one scale and zero point (the op compares int8 values)")


def elementwise_batch_safe(graph: Graph, op: Op) -> bool:
    """Stacked samples stay apart where every activation operand has the output's rank and axis 0, and
    every constant operand broadcasts along axis 0 (a lower rank, or axis 0 of 1)."""
    y = graph.tensors[op.outputs[0]].shape
    return all((len(t.shape) == len(y) and t.shape[0] == y[0]) if t.data is None else (len(t.shape) < len(y) or
               t.shape[0] == 1) for t in (graph.tensors[n] for n in op.inputs))


def elementwise_call(kernel: str, a_shape, b_shape, p, *, a: Arena, b: Arena, y: Arena) -> Call:
    """A binary kernel's call on a of a_shape and b of b_shape, broadcast (broadcast_dims); p: the
    kernel's params record, field for field."""
    a_dims, b_dims, y_dims = broadcast_dims(a_shape, b_shape, np.broadcast_shapes(a_shape, b_shape))
    return binary(kernel, i32(astuple(p)), a_dims, a, b_dims, b, y_dims, y)


def rescaling(params_cls):
    """prepare() of an op whose parameters come from its operands' scales: params_cls.from_quantization
    of (scale, zero point) of both inputs and the output, then the activation range (the int8 range
    where the op fuses no activation)."""
    def prepare(graph: Graph, op: Op):
        y = graph.tensors[op.outputs[0]]
        act = activation_range(op.attrs.activation, y) if hasattr(op.attrs, "activation") else (-128, 127)
        return params_cls.from_quantization(*operand_quantization(graph, op), *act)

    return prepare


def elementwise_op(kind: str, prepare, reference, call, attrs=ElementwiseAttrs, check=None,
                   kernel: str | None = None) -> OpDef:
    """The OpDef of a binary elementwise op with broadcasting: prepare(graph, op) -> params,
    reference(a, b, params) (NumPy broadcasting), call(a_shape, b_shape, params, a=, b=, y=);
    check(graph, op, where): validation beyond validate_elementwise; kernel: its C kernel (default kind)."""
    def validate(graph: Graph, op: Op, where: str) -> None:
        validate_elementwise(graph, op, where)
        if check is not None:
            check(graph, op, where)

    def run(graph: Graph, op: Op, p, values: dict) -> None:
        values[op.outputs[0]] = reference(values[op.inputs[0]], values[op.inputs[1]], p)

    def lower(lowering: Lowering) -> tuple[Call, ...]:
        a, b = lowering.tensor(0), lowering.tensor(1)
        return (call(a.shape, b.shape, lowering.params, a=lowering.operand(a.name), b=lowering.operand(b.name),
                     y=Arena(lowering.op.outputs[0])),)

    return OpDef(kind, attrs, validate, run, prepare, lower, (kernel or kind,), elementwise_batch_safe)
