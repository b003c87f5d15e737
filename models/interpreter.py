"""The reference interpreter: runs a Graph op by op with the numpy reference kernels. It is the
executable specification that the C kernels and the emulated firmware must equal bit for bit.

Quantization parameters are derived from the tensors' scales exactly as TFLite Micro derives them
(float32 scales widened to double, then QuantizeMultiplier), so that a graph imported from a .tflite
file computes what TFLM computes.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .graph import Graph, GraphError, Op, Tensor
from .ops.add import AddParams, add_s8
from .ops.batch_matmul import BatchMatmulParams, batch_matmul_s8
from .ops.concatenation import concatenation_s8
from .ops.conv2d import Conv2DParams, conv2d_s8
from .ops.depthwise_conv2d import DepthwiseConv2DParams, depthwise_conv2d_s8
from .ops.fully_connected import FullyConnectedParams, fully_connected_s8
from .ops.gelu_sigmoid import GeluSigmoidParams, gelu_sigmoid_s8
from .ops.layer_norm import LayerNormParams, layer_norm_s8
from .ops.lookup import gelu_table, lookup_s8
from .ops.mean import MeanParams, mean_s8
from .ops.mul import MulParams, mul_s8
from .ops.pad import pad_s8
from .ops.pool2d import Pool2DParams, avg_pool2d_s8, max_pool2d_s8
from .ops.quantize import dequantize_s8, quantize_s8
from .ops.slice import slice_s8
from .ops.softmax import SoftmaxParams, softmax_s8
from .ops.transpose import transpose_s8
from .quant import quantize_multiplier, round_half_away


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


def _weighted(graph: Graph, op: Op, channels: int):
    """(x, y, multiplier, shift, act_min, act_max) of a weighted op."""
    x, w, y = (graph.tensors[n] for n in (op.inputs[0], op.inputs[1], op.outputs[0]))
    multiplier, shift = per_channel_multipliers(x, w, y, channels)
    return x, y, multiplier, shift, *activation_range(op.attrs.activation, y)


def _operand_quantization(graph: Graph, op: Op) -> tuple:
    """(scale, zero point) of each input, then of the output: what two-operand ops derive params from."""
    tensors = [graph.tensors[n] for n in (*op.inputs, op.outputs[0])]
    return tuple(v for t in tensors for v in (t.quant.scale[0], t.quant.zero_point[0]))


def _fully_connected_params(graph: Graph, op: Op) -> FullyConnectedParams:
    x, y, multiplier, shift, act_min, act_max = _weighted(graph, op, graph.tensors[op.inputs[1]].shape[0])
    return FullyConnectedParams(-x.quant.zero_point[0], y.quant.zero_point[0], multiplier, shift, act_min, act_max)


def _conv2d_params(graph: Graph, op: Op) -> Conv2DParams:
    x, y, multiplier, shift, act_min, act_max = _weighted(graph, op, graph.tensors[op.inputs[1]].shape[0])
    a = op.attrs
    return Conv2DParams(-x.quant.zero_point[0], y.quant.zero_point[0], multiplier, shift, y.shape[1], y.shape[2],
                        a.stride, a.pad, a.dilation, act_min, act_max)


def _depthwise_conv2d_params(graph: Graph, op: Op) -> DepthwiseConv2DParams:
    x, y, multiplier, shift, act_min, act_max = _weighted(graph, op, graph.tensors[op.inputs[1]].shape[3])
    a = op.attrs
    return DepthwiseConv2DParams(-x.quant.zero_point[0], y.quant.zero_point[0], multiplier, shift, y.shape[1],
                                 y.shape[2], a.stride, a.pad, a.dilation, act_min, act_max, a.depth_multiplier)


def _pool2d_params(graph: Graph, op: Op) -> Pool2DParams:
    y, a = graph.tensors[op.outputs[0]], op.attrs
    return Pool2DParams(a.filter, y.shape[1], y.shape[2], a.stride, a.pad, *activation_range(a.activation, y))


def _softmax_params(graph: Graph, op: Op) -> SoftmaxParams:
    return SoftmaxParams.from_scale(graph.tensors[op.inputs[0]].quant.scale[0], op.attrs.beta)


def _batch_matmul_params(graph: Graph, op: Op) -> BatchMatmulParams:
    return BatchMatmulParams.from_quantization(*_operand_quantization(graph, op))


def _mean_params(graph: Graph, op: Op) -> MeanParams:
    x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    count = int(np.prod([x.shape[a % len(x.shape)] for a in op.attrs.axes]))
    return MeanParams.from_quantization(x.quant.scale[0], x.quant.zero_point[0], y.quant.scale[0],
                                        y.quant.zero_point[0], count)


def _gelu_params(graph: Graph, op: Op) -> np.ndarray:
    """The 256-entry table."""
    return gelu_table(*_operand_quantization(graph, op), op.attrs.approximate)


def _gelu_sigmoid_params(graph: Graph, op: Op) -> GeluSigmoidParams:
    return GeluSigmoidParams.from_quantization(*_operand_quantization(graph, op))


def _layer_norm_params(graph: Graph, op: Op) -> LayerNormParams:
    x, gamma, y = graph.tensors[op.inputs[0]], graph.tensors[op.inputs[1]], graph.tensors[op.outputs[0]]
    a = op.attrs
    return LayerNormParams.from_quantization(x.quant.scale[0], gamma.quant.scale, y.quant.scale[0],
                                             y.quant.zero_point[0], x.shape[-1], a.eps, a.scale_bits,
                                             a.sqrt_iterations)


def _elementwise_params(params_cls):
    def params(graph: Graph, op: Op):
        return params_cls.from_quantization(*_operand_quantization(graph, op),
                                            *activation_range(op.attrs.activation, graph.tensors[op.outputs[0]]))

    return params


def _edge_params(graph: Graph, op: Op) -> tuple[float, int]:
    """(scale, zero point) of the int8 side of a quantize or dequantize."""
    q = graph.tensors[op.outputs[0] if op.kind == "quantize" else op.inputs[0]].quant
    return q.scale[0], q.zero_point[0]


PARAMS: dict[str, Callable[[Graph, Op], object]] = {
    "fully_connected": _fully_connected_params, "conv2d": _conv2d_params,
    "depthwise_conv2d": _depthwise_conv2d_params, "avg_pool2d": _pool2d_params, "max_pool2d": _pool2d_params,
    "softmax": _softmax_params, "batch_matmul": _batch_matmul_params, "mean": _mean_params, "gelu": _gelu_params,
    "gelu_sigmoid": _gelu_sigmoid_params, "layer_norm": _layer_norm_params, "add": _elementwise_params(AddParams),
    "mul": _elementwise_params(MulParams), "quantize": _edge_params, "dequantize": _edge_params,
}


def op_params(graph: Graph, op: Op):
    """The kernel parameters of `op` as the reference and the C kernels take them (None for ops whose
    attributes say everything: data movement and reshape)."""
    params = PARAMS.get(op.kind)
    return params(graph, op) if params else None


def _constant(graph: Graph, op: Op, index: int) -> np.ndarray | None:
    return graph.tensors[op.inputs[index]].data if len(op.inputs) > index else None


def _fully_connected(graph: Graph, op: Op, values: dict[str, np.ndarray]) -> None:
    w, y = graph.tensors[op.inputs[1]], graph.tensors[op.outputs[0]]
    rows = values[op.inputs[0]].reshape(-1, w.shape[1])
    out = fully_connected_s8(rows, w.data, _constant(graph, op, 2), op_params(graph, op))
    values[op.outputs[0]] = out.reshape(-1, *y.shape[1:])


def _windowed(reference):
    """conv2d and depthwise_conv2d."""
    def kernel(graph: Graph, op: Op, values: dict[str, np.ndarray]) -> None:
        w = graph.tensors[op.inputs[1]].data
        values[op.outputs[0]] = reference(values[op.inputs[0]], w, _constant(graph, op, 2), op_params(graph, op))

    return kernel


def _unary(reference):
    """Ops of one activation input computed by reference(x, params)."""
    def kernel(graph: Graph, op: Op, values: dict[str, np.ndarray]) -> None:
        values[op.outputs[0]] = reference(values[op.inputs[0]], op_params(graph, op))

    return kernel


def _batch_matmul(graph: Graph, op: Op, values: dict[str, np.ndarray]) -> None:
    lhs, rhs = values[op.inputs[0]], values[op.inputs[1]]
    lhs = np.swapaxes(lhs, 1, 2) if op.attrs.adj_x else lhs
    rhs_t = rhs if op.attrs.adj_y else np.swapaxes(rhs, 1, 2)
    values[op.outputs[0]] = batch_matmul_s8(np.ascontiguousarray(lhs), np.ascontiguousarray(rhs_t),
                                            op_params(graph, op))


def _mean(graph: Graph, op: Op, values: dict[str, np.ndarray]) -> None:
    x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    axes = tuple(a % len(x.shape) for a in op.attrs.axes)
    values[op.outputs[0]] = mean_s8(values[op.inputs[0]], axes, op_params(graph, op)).reshape(-1, *y.shape[1:])


def _layer_norm(graph: Graph, op: Op, values: dict[str, np.ndarray]) -> None:
    x, gamma, y = graph.tensors[op.inputs[0]], graph.tensors[op.inputs[1]], graph.tensors[op.outputs[0]]
    rows = values[op.inputs[0]].reshape(-1, x.shape[-1])
    out = layer_norm_s8(rows, gamma.data, _constant(graph, op, 2), op_params(graph, op))
    values[op.outputs[0]] = out.reshape(-1, *y.shape[1:])


def _transpose(graph: Graph, op: Op, values: dict[str, np.ndarray]) -> None:
    values[op.outputs[0]] = transpose_s8(values[op.inputs[0]], op.attrs.perm)


def _pad(graph: Graph, op: Op, values: dict[str, np.ndarray]) -> None:
    values[op.outputs[0]] = pad_s8(values[op.inputs[0]], op.attrs.pads, op.attrs.value)


def _slice(graph: Graph, op: Op, values: dict[str, np.ndarray]) -> None:
    x = values[op.inputs[0]]
    size = (x.shape[0] // graph.tensors[op.inputs[0]].shape[0] * op.attrs.size[0], *op.attrs.size[1:])
    values[op.outputs[0]] = slice_s8(x, op.attrs.begin, size).reshape(-1, *graph.tensors[op.outputs[0]].shape[1:])


def _concatenation(graph: Graph, op: Op, values: dict[str, np.ndarray]) -> None:
    values[op.outputs[0]] = concatenation_s8([values[n] for n in op.inputs], op.attrs.axis)


def _quantize(graph: Graph, op: Op, values: dict[str, np.ndarray]) -> None:
    values[op.outputs[0]] = quantize_s8(values[op.inputs[0]], *op_params(graph, op))


def _dequantize(graph: Graph, op: Op, values: dict[str, np.ndarray]) -> None:
    values[op.outputs[0]] = dequantize_s8(values[op.inputs[0]], *op_params(graph, op))


def _reshape(graph: Graph, op: Op, values: dict[str, np.ndarray]) -> None:
    values[op.outputs[0]] = values[op.inputs[0]].reshape(-1, *graph.tensors[op.outputs[0]].shape[1:])


def _elementwise(reference):
    def kernel(graph: Graph, op: Op, values: dict[str, np.ndarray]) -> None:
        values[op.outputs[0]] = reference(values[op.inputs[0]], values[op.inputs[1]], op_params(graph, op))

    return kernel


KERNELS: dict[str, Callable[[Graph, Op, dict], None]] = {
    "fully_connected": _fully_connected, "conv2d": _windowed(conv2d_s8),
    "depthwise_conv2d": _windowed(depthwise_conv2d_s8), "avg_pool2d": _unary(avg_pool2d_s8),
    "max_pool2d": _unary(max_pool2d_s8), "softmax": _unary(softmax_s8), "reshape": _reshape,
    "add": _elementwise(add_s8), "mul": _elementwise(mul_s8), "quantize": _quantize, "dequantize": _dequantize,
    "batch_matmul": _batch_matmul, "mean": _mean, "gelu": _unary(lookup_s8), "transpose": _transpose, "pad": _pad,
    "concatenation": _concatenation, "layer_norm": _layer_norm, "gelu_sigmoid": _unary(gelu_sigmoid_s8),
    "slice": _slice,
}


def batch_safe(graph: Graph, op: Op) -> bool:
    """Whether `op` leaves its tensors' axis 0 alone, so that a batch of samples stacked along axis 0
    runs through it as one (see run)."""
    a = op.attrs
    rank = len(graph.tensors[op.inputs[0]].shape)
    if any(len(graph.tensors[n].shape) < 2 for n in (*op.inputs, *op.outputs) if graph.tensors[n].data is None):
        return False  # in a 1-D tensor axis 0 is the data
    if op.kind in ("concatenation", "batch_matmul") and any(graph.tensors[n].data is not None for n in op.inputs):
        return False  # a constant operand would need copies (add and mul broadcast theirs)
    if op.kind == "mean":
        return all(axis % rank != 0 for axis in a.axes)
    if op.kind == "transpose":
        return a.perm[0] == 0
    if op.kind == "slice":
        return a.begin[0] == 0 and a.size[0] == graph.tensors[op.inputs[0]].shape[0]
    if op.kind == "pad":
        return a.pads[0] == (0, 0)
    if op.kind == "concatenation":
        return a.axis % rank != 0
    return True


def run(graph: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """The outputs of run_all, in graph.outputs order."""
    values = run_all(graph, inputs)
    return [values[name] for name in graph.outputs]


def run_all(graph: Graph, inputs: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Run `graph` on `inputs` (in graph.inputs order, each of its tensor's dtype: int8, or float32 for
    a graph that quantizes its own input); returns the outputs in order.

    Batches: an input may stack n samples along axis 0 (axis 0 n times the tensor's); every tensor is
    then n times longer along axis 0 and the outputs hold the n results in order, the same bits as n
    runs. This needs ops that keep axis 0 apart (batch_safe): true of the graphs mcusim exports, whose
    tensors all lead with the batch axis. Returns every tensor's value by name."""
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
    batch = batches.pop() if batches else 1
    if batch > 1 and not all(batch_safe(graph, op) for op in graph.ops):
        raise GraphError("this graph mixes its axis 0 (an op reduces, moves or slices it): run one sample at a time")
    for name, t in graph.tensors.items():
        if t.data is not None:
            values[name] = t.data
    for op in graph.ops:
        KERNELS[op.kind](graph, op, values)
    return values
