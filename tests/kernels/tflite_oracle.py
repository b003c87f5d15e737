"""One-op int8 TFLite models built with the flatbuffers schema that tflite-micro ships, run in
TFLM's reference kernels (tflite_micro.runtime) or, for ops TFLM lacks (GELU), in LiteRT's reference
kernels (ai-edge-litert): the independent oracles for the numpy reference."""
from __future__ import annotations

import math

import flatbuffers
import numpy as np
from tflite_micro.python.tflite_micro import runtime
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from mcusim.models.quant import quantize_multiplier

_TYPES = {np.dtype(np.int8): schema.TensorType.INT8, np.dtype(np.int32): schema.TensorType.INT32,
          np.dtype(np.float32): schema.TensorType.FLOAT32}
ACTIVATIONS = {"none": schema.ActivationFunctionType.NONE, "relu": schema.ActivationFunctionType.RELU,
               "relu6": schema.ActivationFunctionType.RELU6}


class Model:
    """A TFLite model under construction: tensors, constant buffers and operators, in order."""

    def __init__(self):
        self.tensors: list = []
        self.buffers: list = [schema.BufferT()]  # buffer 0: empty, by convention
        self.opcodes: list[int] = []
        self.operators: list = []

    def tensor(self, shape, dtype, scale, zero_point, data: np.ndarray | None = None, axis: int = 0) -> int:
        t = schema.TensorT()
        t.shape = list(shape)
        t.type = _TYPES[np.dtype(dtype)]
        q = schema.QuantizationParametersT()
        q.scale = [float(s) for s in np.atleast_1d(scale)]
        q.zeroPoint = [int(z) for z in np.atleast_1d(zero_point)]
        q.quantizedDimension = axis
        t.quantization = q
        t.buffer = 0
        if data is not None:
            b = schema.BufferT()
            b.data = np.ascontiguousarray(data).view(np.uint8).reshape(-1).tolist()
            self.buffers.append(b)
            t.buffer = len(self.buffers) - 1
        self.tensors.append(t)
        return len(self.tensors) - 1

    def op(self, opcode: int, options_type: int, options, inputs: list[int], outputs: list[int]) -> None:
        if opcode not in self.opcodes:
            self.opcodes.append(opcode)
        op = schema.OperatorT()
        op.opcodeIndex, op.inputs, op.outputs = self.opcodes.index(opcode), inputs, outputs
        op.builtinOptionsType, op.builtinOptions = options_type, options
        self.operators.append(op)

    def serialize(self, inputs: list[int], outputs: list[int]) -> bytes:
        codes = []
        for opcode in self.opcodes:
            code = schema.OperatorCodeT()
            code.builtinCode, code.deprecatedBuiltinCode = opcode, min(opcode, 127)  # 127: see builtinCode
            code.version = 1
            codes.append(code)
        graph = schema.SubGraphT()
        graph.tensors, graph.inputs, graph.outputs, graph.operators = self.tensors, inputs, outputs, self.operators
        model = schema.ModelT()
        model.version, model.operatorCodes, model.subgraphs, model.buffers = 3, codes, [graph], self.buffers
        builder = flatbuffers.Builder(1024)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())

    def single(self, opcode: int, options_type: int, options, inputs: list[int], outputs: list[int]) -> bytes:
        """The bytes of a model of this one op (its first input is the model's input)."""
        self.op(opcode, options_type, options, inputs, outputs)
        return self.serialize([inputs[0]], outputs)


MIN_ARENA = 1 << 16  # bytes: TFLM's heuristic alone (ten times the model) fails a small model whose
                     # output is large (a PAD of 120 bytes to 2,079: "TFLM failed to allocate tensors")


def run(model: bytes, *xs: np.ndarray, arena_size: int | None = None) -> np.ndarray:
    """Run a model in TFLM on its inputs, in order; return its first output. arena_size: TFLM's tensor
    arena in bytes (default: ten times the model's size, TFLM's heuristic, and at least MIN_ARENA)."""
    arena_size = arena_size or max(10 * len(model), MIN_ARENA)
    interpreter = runtime.Interpreter.from_bytes(model, arena_size=arena_size)
    for k, x in enumerate(xs):
        interpreter.set_input(x, k)
    interpreter.invoke()
    return interpreter.get_output(0)


def effective_multipliers(input_scale: float, filter_scales: np.ndarray, output_scale: float):
    """TFLM's per-channel multipliers: float32 scales widened to double, then QuantizeMultiplier."""
    pairs = [quantize_multiplier(float(np.float32(input_scale)) * float(np.float32(s)) / float(np.float32(output_scale)))
             for s in filter_scales]
    return np.array([m for m, _ in pairs], np.int32), np.array([s for _, s in pairs], np.int32)


def _weighted(opcode, options_type, options, x, w, bias, input_scale, input_zp, filter_scales, output_scale,
              output_zp, out_shape, filter_axis=0) -> np.ndarray:
    """A one-op model of a weighted op: input, constant filter (per-channel along filter_axis),
    constant bias, output."""
    m = Model()
    channels = len(filter_scales)
    zeros = np.zeros(channels, np.int64)
    i = m.tensor(x.shape, np.int8, input_scale, input_zp)
    f = m.tensor(w.shape, np.int8, filter_scales, zeros, w, axis=filter_axis)
    b = m.tensor(bias.shape, np.int32, np.float32(input_scale) * filter_scales.astype(np.float32), zeros, bias)
    o = m.tensor(out_shape, np.int8, output_scale, output_zp)
    return run(m.single(opcode, options_type, options, [i, f, b], [o]), x)


def fully_connected(x, w, bias, input_scale, input_zp, filter_scales, output_scale, output_zp,
                    activation: str = "none") -> np.ndarray:
    """TFLM's int8 FULLY_CONNECTED on x [B, K], w [O, K], bias [O], with a fused activation."""
    options = schema.FullyConnectedOptionsT()
    options.fusedActivationFunction = ACTIVATIONS[activation]
    return _weighted(schema.BuiltinOperator.FULLY_CONNECTED, schema.BuiltinOptions.FullyConnectedOptions, options,
                     x, w, bias, input_scale, input_zp, filter_scales, output_scale, output_zp,
                     (x.shape[0], w.shape[0]))


def conv2d(x, w, bias, input_scale, input_zp, filter_scales, output_scale, output_zp, out_shape,
           padding: str, stride: tuple[int, int], dilation: tuple[int, int], activation: str = "none") -> np.ndarray:
    """TFLM's int8 CONV_2D on x [N, H, W, C], w [O, KH, KW, C], bias [O]."""
    options = schema.Conv2DOptionsT()
    options.padding = {"same": schema.Padding.SAME, "valid": schema.Padding.VALID}[padding]
    options.strideH, options.strideW = stride
    options.dilationHFactor, options.dilationWFactor = dilation
    options.fusedActivationFunction = ACTIVATIONS[activation]
    return _weighted(schema.BuiltinOperator.CONV_2D, schema.BuiltinOptions.Conv2DOptions, options, x, w, bias,
                     input_scale, input_zp, filter_scales, output_scale, output_zp, out_shape)


def depthwise_conv2d(x, w, bias, input_scale, input_zp, filter_scales, output_scale, output_zp, out_shape,
                     padding: str, stride, dilation, depth_multiplier: int, activation: str = "none") -> np.ndarray:
    """TFLM's int8 DEPTHWISE_CONV_2D on x [N, H, W, C], w [1, KH, KW, C*M] (per-channel along axis 3)."""
    options = schema.DepthwiseConv2DOptionsT()
    options.padding = {"same": schema.Padding.SAME, "valid": schema.Padding.VALID}[padding]
    options.strideH, options.strideW = stride
    options.dilationHFactor, options.dilationWFactor = dilation
    options.depthMultiplier = depth_multiplier
    options.fusedActivationFunction = ACTIVATIONS[activation]
    return _weighted(schema.BuiltinOperator.DEPTHWISE_CONV_2D, schema.BuiltinOptions.DepthwiseConv2DOptions, options,
                     x, w, bias, input_scale, input_zp, filter_scales, output_scale, output_zp, out_shape,
                     filter_axis=3)


def pool2d(kind: str, x, scale: float, zero_point: int, out_shape, padding: str, filter_hw, stride,
           activation: str = "none") -> np.ndarray:
    """TFLM's int8 AVERAGE_POOL_2D or MAX_POOL_2D (`kind` "avg" or "max"); input and output share
    scale and zero point."""
    m = Model()
    i = m.tensor(x.shape, np.int8, scale, zero_point)
    o = m.tensor(out_shape, np.int8, scale, zero_point)
    options = schema.Pool2DOptionsT()
    options.padding = {"same": schema.Padding.SAME, "valid": schema.Padding.VALID}[padding]
    options.strideH, options.strideW = stride
    options.filterHeight, options.filterWidth = filter_hw
    options.fusedActivationFunction = ACTIVATIONS[activation]
    opcode = {"avg": schema.BuiltinOperator.AVERAGE_POOL_2D, "max": schema.BuiltinOperator.MAX_POOL_2D}[kind]
    return run(m.single(opcode, schema.BuiltinOptions.Pool2DOptions, options, [i], [o]), x)


def softmax(x, scale: float, zero_point: int, beta: float = 1.0) -> np.ndarray:
    """TFLM's int8 SOFTMAX over the last axis; the output has scale 1/256 and zero point -128."""
    m = Model()
    i = m.tensor(x.shape, np.int8, scale, zero_point)
    o = m.tensor(x.shape, np.int8, 1 / 256, -128)
    options = schema.SoftmaxOptionsT()
    options.beta = beta
    return run(m.single(schema.BuiltinOperator.SOFTMAX, schema.BuiltinOptions.SoftmaxOptions, options, [i], [o]), x)


# kind -> (builtin operator, its options' type and class), for binary(); None: no options table.
BINARY = {
    "add": (schema.BuiltinOperator.ADD, schema.BuiltinOptions.AddOptions, schema.AddOptionsT),
    "sub": (schema.BuiltinOperator.SUB, schema.BuiltinOptions.SubOptions, schema.SubOptionsT),
    "mul": (schema.BuiltinOperator.MUL, schema.BuiltinOptions.MulOptions, schema.MulOptionsT),
    "squared_difference": (schema.BuiltinOperator.SQUARED_DIFFERENCE, schema.BuiltinOptions.SquaredDifferenceOptions,
                           schema.SquaredDifferenceOptionsT),
    "maximum": (schema.BuiltinOperator.MAXIMUM, schema.BuiltinOptions.MaximumMinimumOptions,
                schema.MaximumMinimumOptionsT),
    "minimum": (schema.BuiltinOperator.MINIMUM, schema.BuiltinOptions.MaximumMinimumOptions,
                schema.MaximumMinimumOptionsT),
}


def binary(kind: str, a, b, scale1: float, zp1: int, scale2: float, zp2: int, scale_out: float, zp_out: int,
           activation: str = "none") -> np.ndarray:
    """TFLM's int8 ADD, SUB, MUL (with a fused activation), SQUARED_DIFFERENCE, MAXIMUM or MINIMUM
    (`kind` a key of BINARY) on two inputs whose shapes broadcast."""
    opcode, options_type, options_class = BINARY[kind]
    m = Model()
    i1 = m.tensor(a.shape, np.int8, scale1, zp1)
    i2 = m.tensor(b.shape, np.int8, scale2, zp2)
    o = m.tensor(np.broadcast_shapes(a.shape, b.shape), np.int8, scale_out, zp_out)
    options = options_class()
    if hasattr(options, "fusedActivationFunction"):
        options.fusedActivationFunction = ACTIVATIONS[activation]
    m.op(opcode, options_type, options, [i1, i2], [o])
    return run(m.serialize([i1, i2], [o]), a, b, arena_size=(1 << 16) + 4 * (a.size + b.size))


def quantize(x, scale: float, zero_point: int) -> np.ndarray:
    """TFLM's QUANTIZE float32 -> int8."""
    m = Model()
    i = m.tensor(x.shape, np.float32, 1.0, 0)
    o = m.tensor(x.shape, np.int8, scale, zero_point)
    return run(m.single(schema.BuiltinOperator.QUANTIZE, 0, None, [i], [o]), x.astype(np.float32))


def dequantize(q, scale: float, zero_point: int) -> np.ndarray:
    """TFLM's DEQUANTIZE int8 -> float32."""
    m = Model()
    i = m.tensor(q.shape, np.int8, scale, zero_point)
    o = m.tensor(q.shape, np.float32, 1.0, 0)
    return run(m.single(schema.BuiltinOperator.DEQUANTIZE, 0, None, [i], [o]), q)


def batch_matmul(lhs, rhs, lhs_scale, lhs_zp, rhs_scale, rhs_zp, out_scale, out_zp, adj_x: bool = False,
                 adj_y: bool = True) -> np.ndarray:
    """TFLM's int8 BATCH_MATMUL of any rank (2..5) with its batch broadcasting and adjoint flags: lhs
    [..., M, K] ([..., K, M] if adj_x) times rhs [..., K, N] ([..., N, K] if adj_y, the default)."""
    m = Model()
    a = m.tensor(lhs.shape, np.int8, lhs_scale, lhs_zp)
    b = m.tensor(rhs.shape, np.int8, rhs_scale, rhs_zp)
    rows, cols = lhs.shape[-1 if adj_x else -2], rhs.shape[-2 if adj_y else -1]
    out_shape = (*np.broadcast_shapes(lhs.shape[:-2], rhs.shape[:-2]), rows, cols)
    o = m.tensor(out_shape, np.int8, out_scale, out_zp)
    options = schema.BatchMatMulOptionsT()
    options.adjX, options.adjY = adj_x, adj_y
    m.op(schema.BuiltinOperator.BATCH_MATMUL, schema.BuiltinOptions.BatchMatMulOptions, options, [a, b], [o])
    model = m.serialize([a, b], [o])
    # the model holds no constants, so TFLM's default arena (ten times its size) can be short of its
    # tensors: the operands, their transposed copies, the output and the interpreter's records
    return run(model, lhs, rhs, arena_size=10 * len(model) + 2 * (lhs.size + rhs.size + math.prod(out_shape)) + 65536)


def mean(x, axes, keep_dims: bool, input_scale, input_zp, output_scale, output_zp) -> np.ndarray:
    """TFLM's int8 MEAN over the given axes."""
    m = Model()
    i = m.tensor(x.shape, np.int8, input_scale, input_zp)
    a = m.tensor((len(axes),), np.int32, 1.0, 0, np.array(axes, np.int32))
    out_shape = np.zeros(x.shape).mean(axis=tuple(axes), keepdims=keep_dims).shape
    o = m.tensor(out_shape, np.int8, output_scale, output_zp)
    options = schema.ReducerOptionsT()
    options.keepDims = keep_dims
    return run(m.single(schema.BuiltinOperator.MEAN, schema.BuiltinOptions.ReducerOptions, options, [i, a], [o]), x)


def transpose(x, perm, scale, zero_point) -> np.ndarray:
    """TFLM's int8 TRANSPOSE."""
    m = Model()
    i = m.tensor(x.shape, np.int8, scale, zero_point)
    p = m.tensor((len(perm),), np.int32, 1.0, 0, np.array(perm, np.int32))
    o = m.tensor([x.shape[k] for k in perm], np.int8, scale, zero_point)
    return run(m.single(schema.BuiltinOperator.TRANSPOSE, schema.BuiltinOptions.TransposeOptions,
                        schema.TransposeOptionsT(), [i, p], [o]), x)


def pad(x, pads, scale, zero_point, value: int | None = None) -> np.ndarray:
    """TFLM's int8 PAD (fill: the zero point) or, given a value, PADV2 (fill: that int8 constant)."""
    m = Model()
    i = m.tensor(x.shape, np.int8, scale, zero_point)
    p = m.tensor((len(pads), 2), np.int32, 1.0, 0, np.array(pads, np.int32))
    o = m.tensor([d + b + a for d, (b, a) in zip(x.shape, pads)], np.int8, scale, zero_point)
    if value is None:
        model = m.single(schema.BuiltinOperator.PAD, schema.BuiltinOptions.PadOptions, schema.PadOptionsT(), [i, p], [o])
    else:
        v = m.tensor((), np.int8, scale, zero_point, np.array(value, np.int8))
        model = m.single(schema.BuiltinOperator.PADV2, schema.BuiltinOptions.PadV2Options, schema.PadV2OptionsT(),
                         [i, p, v], [o])
    return run(model, x)


def concatenation(xs, axis: int, scale, zero_point) -> np.ndarray:
    """TFLM's int8 CONCATENATION (inputs and output share scale and zero point, as TFLM requires)."""
    m = Model()
    ins = [m.tensor(x.shape, np.int8, scale, zero_point) for x in xs]
    o = m.tensor(np.concatenate(xs, axis=axis).shape, np.int8, scale, zero_point)
    options = schema.ConcatenationOptionsT()
    options.axis = axis
    m.op(schema.BuiltinOperator.CONCATENATION, schema.BuiltinOptions.ConcatenationOptions, options, ins, [o])
    return run(m.serialize(ins, [o]), *xs)


def gelu(x, input_scale, input_zp, output_scale, output_zp, approximate: bool) -> np.ndarray:
    """LiteRT's int8 GELU (TFLM has none): the second oracle, ai-edge-litert's reference kernels."""
    m = Model()
    i = m.tensor(x.shape, np.int8, input_scale, input_zp)
    o = m.tensor(x.shape, np.int8, output_scale, output_zp)
    options = schema.GeluOptionsT()
    options.approximate = approximate
    return run_litert(m.single(schema.BuiltinOperator.GELU, schema.BuiltinOptions.GeluOptions, options, [i], [o]), x)


def run_litert(model: bytes, *xs: np.ndarray) -> np.ndarray:
    """Run a model in LiteRT's reference kernels (ai-edge-litert, BUILTIN_REF), the oracle for ops TFLM
    lacks; return its first output."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(model_content=model, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    interpreter.allocate_tensors()
    for detail, x in zip(interpreter.get_input_details(), xs, strict=True):
        interpreter.set_tensor(detail["index"], x)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


def slice_(x, begin, size, scale, zero_point) -> np.ndarray:
    """TFLM's int8 SLICE (size -1: to the end of the axis)."""
    m = Model()
    i = m.tensor(x.shape, np.int8, scale, zero_point)
    b = m.tensor((len(begin),), np.int32, 1.0, 0, np.array(begin, np.int32))
    s = m.tensor((len(size),), np.int32, 1.0, 0, np.array(size, np.int32))
    out_shape = [d - bb if ss == -1 else ss for d, bb, ss in zip(x.shape, begin, size)]
    o = m.tensor(out_shape, np.int8, scale, zero_point)
    return run(m.single(schema.BuiltinOperator.SLICE, schema.BuiltinOptions.SliceOptions, schema.SliceOptionsT(),
                        [i, b, s], [o]), x)


def strided_slice(x, begin, end, out_shape, scale, zero_point, begin_mask=0, end_mask=0,
                  shrink_axis_mask=0) -> np.ndarray:
    """TFLM's int8 STRIDED_SLICE with unit strides."""
    m = Model()
    i = m.tensor(x.shape, np.int8, scale, zero_point)
    consts = [m.tensor((x.ndim,), np.int32, 1.0, 0, np.array(v, np.int32)) for v in (begin, end, [1] * x.ndim)]
    o = m.tensor(out_shape, np.int8, scale, zero_point)
    options = schema.StridedSliceOptionsT()
    options.beginMask, options.endMask, options.shrinkAxisMask = begin_mask, end_mask, shrink_axis_mask
    return run(m.single(schema.BuiltinOperator.STRIDED_SLICE, schema.BuiltinOptions.StridedSliceOptions, options,
                        [i, *consts], [o]), x)


def activation(kind: str, x, input_scale, input_zp, output_scale, output_zp, alpha: float = 0.2) -> np.ndarray:
    """TFLM's int8 LOGISTIC, TANH, HARD_SWISH, RELU, RELU6, LEAKY_RELU (with alpha), RSQRT or QUANTIZE
    int8 -> int8 (`kind` "logistic", ..., "requantize"), one op of x's shape."""
    B, O = schema.BuiltinOperator, schema.BuiltinOptions
    opcodes = {"logistic": B.LOGISTIC, "tanh": B.TANH, "hard_swish": B.HARD_SWISH, "relu": B.RELU, "relu6": B.RELU6,
               "leaky_relu": B.LEAKY_RELU, "rsqrt": B.RSQRT, "requantize": B.QUANTIZE}
    m = Model()
    i = m.tensor(x.shape, np.int8, input_scale, input_zp)
    o = m.tensor(x.shape, np.int8, output_scale, output_zp)
    options_type, options = 0, None
    if kind == "leaky_relu":
        options_type, options = O.LeakyReluOptions, schema.LeakyReluOptionsT()
        options.alpha = alpha
    return run(m.single(opcodes[kind], options_type, options, [i], [o]), x)


def gather(x, indices, axis: int, scale, zero_point) -> np.ndarray:
    """TFLM's int8 GATHER along `axis` (batch_dims 0) with constant int32 indices (TFLM takes no int64
    positions)."""
    m = Model()
    i = m.tensor(x.shape, np.int8, scale, zero_point)
    p = m.tensor(np.shape(indices), np.int32, 1.0, 0, np.array(indices, np.int32))
    k = axis % x.ndim
    o = m.tensor((*x.shape[:k], *np.shape(indices), *x.shape[k + 1:]), np.int8, scale, zero_point)
    options = schema.GatherOptionsT()
    options.axis, options.batchDims = axis, 0
    return run(m.single(schema.BuiltinOperator.GATHER, schema.BuiltinOptions.GatherOptions, options, [i, p], [o]), x)
