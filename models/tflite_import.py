"""Import an int8 TFLite flatbuffer into a Graph, with the schema that tflite-micro ships.

Supported: FULLY_CONNECTED, CONV_2D, DEPTHWISE_CONV_2D, AVERAGE_POOL_2D, MAX_POOL_2D, SOFTMAX,
RESHAPE, ADD and MUL (same shapes), BATCH_MATMUL (adj_x/adj_y, one batch size), MEAN, TRANSPOSE,
PAD / PADV2, CONCATENATION, SLICE, STRIDED_SLICE (unit strides) and GELU, with fused
NONE/RELU/RELU6, on int8 activations (int8 weights, int32 biases), and QUANTIZE / DEQUANTIZE for
float inputs and outputs at the edges. SAME/VALID padding becomes explicit padding; constant axes,
permutations, paddings and slice bounds become attributes. Anything else (another op, a float
tensor, a fused activation we do not have, an operand missing) is a GraphError naming the op and
its index.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from mcusim.errors import McusimError

from .graph import Graph, GraphError, Op, Quant, Tensor
from .ops.batch_matmul import BatchMatmulAttrs
from .ops.common import ElementwiseAttrs
from .ops.concatenation import ConcatenationAttrs
from .ops.conv2d import Conv2DAttrs
from .ops.depthwise_conv2d import DepthwiseConv2DAttrs
from .ops.fully_connected import FullyConnectedAttrs
from .ops.lookup import GeluAttrs
from .ops.mean import MeanAttrs
from .ops.pad import PadAttrs
from .ops.pool2d import Pool2DAttrs
from .ops.quantize import EdgeAttrs
from .ops.reshape import ReshapeAttrs
from .ops.slice import SliceAttrs
from .ops.softmax import SoftmaxAttrs
from .ops.transpose import TransposeAttrs
from .ops.conv2d import padding


SUPPORTED = ("FULLY_CONNECTED, CONV_2D, DEPTHWISE_CONV_2D, AVERAGE_POOL_2D, MAX_POOL_2D, SOFTMAX, RESHAPE, "
             "ADD, MUL, BATCH_MATMUL, MEAN, TRANSPOSE, PAD, PADV2, CONCATENATION, SLICE, STRIDED_SLICE, GELU, "
             "QUANTIZE and DEQUANTIZE")


def _schema():
    try:
        from tflite_micro.tensorflow.lite.micro.python import schema_py_generated
    except ImportError:
        raise McusimError("importing .tflite needs the tflite-micro package: pip install 'mcusim[tflite]'") from None
    return schema_py_generated


def import_tflite(path: str | Path) -> Graph:
    """Read `path` and return its first subgraph as a validated Graph."""
    schema = _schema()
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise GraphError(f"{path}: cannot read: {e.strerror}") from None
    if len(raw) < 8 or raw[4:8] != b"TFL3":
        raise GraphError(f"{path}: not a TFLite flatbuffer (no TFL3 identifier)")
    try:
        model = schema.ModelT.InitFromPackedBuf(raw, 0)
    except Exception as e:  # the generated reader raises anything on corrupt offsets
        raise GraphError(f"{path}: corrupt TFLite flatbuffer ({type(e).__name__}: {e})") from None
    if not model.subgraphs:
        raise GraphError(f"{path}: the model has no subgraph")
    return _Importer(schema, model, path).graph()


class _Importer:
    def __init__(self, schema, model, path: Path):
        self.s, self.model, self.path = schema, model, path
        self.sub = model.subgraphs[0]
        self.op_names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
        self.names: list[str] = []
        self.tensors: dict[str, Tensor] = {}

    def graph(self) -> Graph:
        for i, t in enumerate(self.sub.tensors):
            self._tensor(i, t)
        ops = [self._checked_op(i, op) for i, op in enumerate(self.sub.operators or [])]
        graph = Graph(self.tensors, ops, [self.names[i] for i in self.sub.inputs],
                      [self.names[i] for i in self.sub.outputs], {"source": self.path.name})
        try:
            graph.validate()
        except GraphError as e:
            raise GraphError(f"{self.path}: {e}") from None
        return graph

    def _tensor(self, index: int, t) -> None:
        name = (t.name.decode() if isinstance(t.name, bytes) else t.name) or f"tensor{index}"
        if name in self.tensors:
            name = f"{name}#{index}"
        self.names.append(name)
        types = {self.s.TensorType.INT8: "int8", self.s.TensorType.INT32: "int32",
                 self.s.TensorType.FLOAT32: "float32"}
        dtype = types.get(t.type)
        if dtype is None:
            kind = {v: k for k, v in vars(self.s.TensorType).items() if not k.startswith("_")}.get(t.type, t.type)
            raise GraphError(f"{self.path}: tensor {name!r} has type {kind}; mcusim imports int8 models")
        shape = tuple(int(d) for d in (t.shape if t.shape is not None else ()))
        q = t.quantization
        quant = None
        if q is not None and q.scale is not None and len(q.scale):
            axis = None if len(q.scale) == 1 else int(q.quantizedDimension)
            quant = Quant(tuple(float(v) for v in q.scale), tuple(int(v) for v in q.zeroPoint), axis)
        data = None
        buffer = self.model.buffers[t.buffer] if t.buffer < len(self.model.buffers) else None
        if buffer is not None and buffer.data is not None and len(buffer.data):
            data = np.frombuffer(bytes(bytearray(buffer.data)), dtype=dtype).reshape(shape).copy()
        self.tensors[name] = Tensor(name, shape, dtype, quant, data)

    def _checked_op(self, index: int, op):
        """_op, with the errors of a malformed operator (too few operands, no options) as one line."""
        try:
            return self._op(index, op)
        except (IndexError, AttributeError, TypeError, ValueError) as e:
            raise GraphError(f"{self.path}: op {index}: malformed operator ({type(e).__name__}: {e})") from None

    def _op(self, index: int, op):
        code = self.model.operatorCodes[op.opcodeIndex]
        opcode = max(code.builtinCode, code.deprecatedBuiltinCode)
        name = self.op_names.get(opcode, str(opcode))
        where = f"{self.path}: op {index} ({name})"
        inputs = [self.names[i] for i in op.inputs if i >= 0]
        outputs = [self.names[i] for i in op.outputs]
        B = self.s.BuiltinOperator
        if opcode in (B.QUANTIZE, B.DEQUANTIZE):
            return Op("quantize" if opcode == B.QUANTIZE else "dequantize", inputs, outputs, EdgeAttrs(), name)
        for t in (*inputs, *outputs):
            if self.tensors[t].dtype == "float32":
                raise GraphError(f"{where}: tensor {t!r} is float; mcusim imports int8-quantized models "
                                 "(float only at the edges, through QUANTIZE and DEQUANTIZE)")
        o = op.builtinOptions
        if opcode == B.FULLY_CONNECTED:
            return Op("fully_connected", inputs, outputs, FullyConnectedAttrs(self._activation(o, where)), name)
        if opcode in (B.CONV_2D, B.DEPTHWISE_CONV_2D):
            x, w = self.tensors[inputs[0]], self.tensors[inputs[1]]
            stride, dilation = (o.strideH, o.strideW), (o.dilationHFactor, o.dilationWFactor)
            pad = tuple(padding(self._padding(o, where), size, k, s, d)[0]
                        for size, k, s, d in zip(x.shape[1:3], w.shape[1:3], stride, dilation))
            if opcode == B.CONV_2D:
                return Op("conv2d", inputs, outputs, Conv2DAttrs(stride, pad, dilation, self._activation(o, where)), name)
            return Op("depthwise_conv2d", inputs, outputs,
                      DepthwiseConv2DAttrs(stride, pad, dilation, self._activation(o, where), o.depthMultiplier), name)
        if opcode in (B.AVERAGE_POOL_2D, B.MAX_POOL_2D):
            x = self.tensors[inputs[0]]
            filt, stride = (o.filterHeight, o.filterWidth), (o.strideH, o.strideW)
            pad = tuple(padding(self._padding(o, where), size, k, s, 1)[0]
                        for size, k, s in zip(x.shape[1:3], filt, stride))
            kind = "avg_pool2d" if opcode == B.AVERAGE_POOL_2D else "max_pool2d"
            return Op(kind, inputs, outputs, Pool2DAttrs(filt, stride, pad, self._activation(o, where)), name)
        if opcode == B.SOFTMAX:
            return Op("softmax", inputs, outputs, SoftmaxAttrs(float(o.beta)), name)
        if opcode == B.RESHAPE:
            return Op("reshape", inputs[:1], outputs, ReshapeAttrs(), name)
        if opcode == B.BATCH_MATMUL:
            return Op("batch_matmul", inputs, outputs, BatchMatmulAttrs(bool(o.adjX), bool(o.adjY)), name)
        if opcode == B.MEAN:
            axes = self._constant(inputs[1], where).reshape(-1)
            return Op("mean", inputs[:1], outputs, MeanAttrs(tuple(axes), bool(getattr(o, "keepDims", False))), name)
        if opcode == B.TRANSPOSE:
            return Op("transpose", inputs[:1], outputs, TransposeAttrs(tuple(self._constant(inputs[1], where))), name)
        if opcode in (B.PAD, B.PADV2):
            pads = tuple(map(tuple, self._constant(inputs[1], where).reshape(-1, 2)))
            out_quant = self.tensors[outputs[0]].quant
            value = (self._constant(inputs[2], where).reshape(-1)[0] if len(inputs) == 3
                     else out_quant.zero_point[0] if out_quant else 0)
            return Op("pad", inputs[:1], outputs, PadAttrs(pads, int(value)), name)
        if opcode == B.CONCATENATION:
            if self._activation(o, where) != "none":
                raise GraphError(f"{where}: a fused activation on CONCATENATION is not supported")
            return Op("concatenation", inputs, outputs, ConcatenationAttrs(int(o.axis)), name)
        if opcode in (B.SLICE, B.STRIDED_SLICE):
            return Op("slice", inputs[:1], outputs, self._slice(opcode, o, inputs, where), name)
        if opcode == B.GELU:
            return Op("gelu", inputs, outputs, GeluAttrs(bool(getattr(o, "approximate", False))), name)
        if opcode in (B.ADD, B.MUL):
            kind = "add" if opcode == B.ADD else "mul"
            return Op(kind, inputs, outputs, ElementwiseAttrs(self._activation(o, where)), name)
        raise GraphError(f"{where}: unsupported op; mcusim imports {SUPPORTED}")

    def _slice(self, opcode: int, options, inputs: list[str], where: str) -> SliceAttrs:
        """SLICE (begin, size; size -1 runs to the end) or STRIDED_SLICE (begin, end, unit strides;
        negative indices count from the end; begin, end and shrink-axis masks) as a box."""
        shape = self.tensors[inputs[0]].shape
        begin = [int(b) + d if b < 0 else int(b) for b, d in zip(self._constant(inputs[1], where).reshape(-1), shape)]
        if opcode == self.s.BuiltinOperator.SLICE:
            sizes = self._constant(inputs[2], where).reshape(-1)
            return SliceAttrs(begin, [d - b if s == -1 else int(s) for s, b, d in zip(sizes, begin, shape)])
        if any(int(s) != 1 for s in self._constant(inputs[3], where).reshape(-1)):
            raise GraphError(f"{where}: only unit strides are supported")
        if options.ellipsisMask or options.newAxisMask:
            raise GraphError(f"{where}: ellipsis and new-axis masks are not supported")
        end = [int(e) + d if e < 0 else int(e) for e, d in zip(self._constant(inputs[2], where).reshape(-1), shape)]
        box_begin, size = [], []
        for k, (b, e, d) in enumerate(zip(begin, end, shape)):
            b = 0 if options.beginMask >> k & 1 else min(max(b, 0), d)
            e = d if options.endMask >> k & 1 else min(max(e, 0), d)
            box_begin.append(b)
            size.append(1 if options.shrinkAxisMask >> k & 1 else e - b)
        return SliceAttrs(box_begin, size)

    def _constant(self, name: str, where: str) -> np.ndarray:
        """The data of a constant operand (axes, a permutation, paddings, a pad value)."""
        data = self.tensors[name].data
        if data is None:
            raise GraphError(f"{where}: operand {name!r} must be a constant; mcusim does not compute shapes "
                             "at run time")
        return data

    def _activation(self, options, where: str) -> str:
        A = self.s.ActivationFunctionType
        value = options.fusedActivationFunction
        names = {A.NONE: "none", A.RELU: "relu", A.RELU6: "relu6"}
        if value not in names:
            raise GraphError(f"{where}: fused activation {value} is not supported (NONE, RELU, RELU6)")
        return names[value]

    def _padding(self, options, where: str) -> str:
        return {self.s.Padding.SAME: "same", self.s.Padding.VALID: "valid"}[options.padding]
