"""Import an int8 TFLite flatbuffer into a Graph, with the schema that tflite-micro ships.

Supported: FULLY_CONNECTED (keep_num_dims either way), CONV_2D, DEPTHWISE_CONV_2D,
AVERAGE_POOL_2D, MAX_POOL_2D, SOFTMAX, RESHAPE, SQUEEZE and EXPAND_DIMS (as reshape), ADD, SUB, MUL,
SQUARED_DIFFERENCE, MAXIMUM and MINIMUM (TFLite's broadcasting), BATCH_MATMUL (ranks 2 to 6,
adj_x/adj_y, batch broadcasting), GATHER (int8 data, constant indices), MEAN, TRANSPOSE, PAD /
PADV2, CONCATENATION, SLICE, STRIDED_SLICE (unit strides), GELU, the int8 unary ops LOGISTIC, TANH,
HARD_SWISH, RELU, RELU6, LEAKY_RELU, RSQRT and QUANTIZE int8 -> int8 (each a 256-entry table,
models/ops/activations.py), with fused NONE/RELU/RELU6, on int8 activations (int8 weights, int32
biases), and QUANTIZE / DEQUANTIZE for float inputs and outputs at the edges. What converters write
around those is rewritten first (models/tflite_fold.py): shape arithmetic folded for the fixed
input shape, placeholder shapes of a dynamic batch resolved, float islands between DEQUANTIZE and
QUANTIZE made table ops. SAME/VALID padding becomes explicit padding; constant axes, permutations,
paddings and slice bounds become attributes, and the operands they came from leave the graph.
Anything else (another op, a tensor of another type, a fused activation we do not have, an operand
missing) is a GraphError naming the op, its index in the file and, for a type, the tensor.

Nothing in the file is trusted. It is read bounded (at most MAX_FILE_BYTES, a regular file), then
decoded (_decode: only the fields used, every list's length bounded before it is walked, so tables
shared by many entries cannot multiply the work), then each value is checked before it is used:
indices of tensors, buffers and op codes in range, names UTF-8 and as the Graph schema wants them,
shapes, buffer lengths and the bytes of all tensors so far (the Graph's bounds, before any array is
made or any vector converted: a vector shared by many tensors or ops cannot multiply the work), the
quantization's lengths, operand counts (all ops together at most MAX_ITEMS), the option tables'
types and enums, strides and dilations >= 1; the Graph's own validate() does the rest
(models/graph.py). Every refusal is one GraphError naming the file, the tensor or op, and the rule
broken.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mcusim.errors import MissingExtra
from mcusim.files import read_bytes

from .tflite_fold import TABLE, fold
from .graph import (MAX_ACTIVATION_BYTES, MAX_CONSTANT_BYTES, MAX_FILE_BYTES, MAX_ITEMS, MAX_NAME, MAX_RANK, Graph,
                    GraphError, Op, Quant, Tensor, check_name, check_shape, short)
from .ops.activations import LeakyReluAttrs, UnaryAttrs
from .ops.batch_matmul import BatchMatmulAttrs
from .ops.common import BinaryAttrs, ElementwiseAttrs
from .ops.concatenation import ConcatenationAttrs
from .ops.conv2d import Conv2DAttrs
from .ops.depthwise_conv2d import DepthwiseConv2DAttrs
from .ops.fully_connected import FullyConnectedAttrs
from .ops.gather import GatherAttrs
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
             "ADD, SUB, MUL, SQUARED_DIFFERENCE, MAXIMUM, MINIMUM, BATCH_MATMUL, GATHER, SQUEEZE, EXPAND_DIMS, MEAN, "
             "TRANSPOSE, PAD, PADV2, "
             "CONCATENATION, SLICE, STRIDED_SLICE, GELU, "
             "LOGISTIC, TANH, HARD_SWISH, RELU, RELU6, LEAKY_RELU, RSQRT, QUANTIZE and DEQUANTIZE")


def _schema():
    try:
        from tflite_micro.tensorflow.lite.micro.python import schema_py_generated
    except ImportError:
        raise MissingExtra("tflite_micro") from None
    return schema_py_generated


def import_tflite(path: str | Path) -> Graph:
    """Read `path` and return its first subgraph as a validated Graph."""
    schema = _schema()
    path = Path(path)
    raw = read_bytes(path, GraphError, "TFLite model", MAX_FILE_BYTES)
    if len(raw) < 8 or raw[4:8] != b"TFL3":
        raise GraphError(f"{path}: not a TFLite flatbuffer (no TFL3 identifier)")
    try:
        model = _decode(schema, raw, path)
    except (struct.error, ValueError, TypeError, IndexError) as e:  # the reader's, where an offset leaves the buffer
        raise GraphError(f"{path}: corrupt TFLite flatbuffer ({type(e).__name__}: {short(str(e))})") from None
    model = fold(schema, model, path)
    return _Importer(schema, model, path).graph()


# ---- decoding: the fields used, as the file gives them --------------------------------------------------

@dataclass
class _TensorRecord:
    name: bytes
    type: int
    shape: np.ndarray
    scale: np.ndarray   # empty: not quantized
    zero_point: np.ndarray
    axis: int
    data: np.ndarray | None  # its buffer's bytes (uint8); None: no data
    external: bool           # the data lies outside the flatbuffer (offset and size)
    dynamic: bool = False    # its shape signature holds -1: the recorded shape may be a placeholder


@dataclass
class _OpRecord:
    opcode: int | None  # its builtin code; None: its op code index is out of range
    inputs: np.ndarray
    outputs: np.ndarray
    options: object     # the builtin options' object (schema.*OptionsT), or None
    index: int          # its index in the file's op list (messages name it; folding removes ops)


@dataclass
class _Model:
    tensors: list[_TensorRecord]
    ops: list[_OpRecord]
    inputs: np.ndarray
    outputs: np.ndarray


def _vector(length: int, as_numpy) -> np.ndarray:
    """A flatbuffer vector of scalars as a numpy view (the reader gives 0, not an array, for an absent one)."""
    return as_numpy() if length else np.zeros(0, np.int32)


def _decode(schema, raw: bytes, path: Path) -> _Model:
    """The first subgraph of the flatbuffer `raw`: its tensors (with their buffers' bytes), operators,
    inputs and outputs. Lists are bounded before they are walked and each name is checked as it is
    copied; everything else is left to _Importer."""
    model = schema.Model.GetRootAs(raw, 0)
    if model.SubgraphsLength() < 1:
        raise GraphError(f"{path}: the model has no subgraph")
    sub = model.Subgraphs(0)
    counts = {"tensors": sub.TensorsLength(), "operators": sub.OperatorsLength(), "op codes": model.OperatorCodesLength()}
    for what, count in counts.items():
        if count > MAX_ITEMS:
            raise GraphError(f"{path}: {count:,} {what}; at most {MAX_ITEMS:,}")
    codes = [model.OperatorCodes(i) for i in range(counts["op codes"])]
    opcodes = [max(c.BuiltinCode(), c.DeprecatedBuiltinCode()) for c in codes]
    tensors = []
    for i in range(counts["tensors"]):
        t = sub.Tensors(i)
        name = t.Name() or b""
        if len(name) > 4 * MAX_NAME:  # at once: many tensors may share one long string
            raise GraphError(f"{path}: tensor {i}: a name of {len(name):,} bytes; at most {MAX_NAME} characters")
        q = t.Quantization()
        scale = _vector(q.ScaleLength(), q.ScaleAsNumpy) if q is not None else np.zeros(0, np.float32)
        zero_point = _vector(q.ZeroPointLength(), q.ZeroPointAsNumpy) if q is not None else np.zeros(0, np.int64)
        buffer = model.Buffers(t.Buffer()) if t.Buffer() < model.BuffersLength() else None
        data = _vector(buffer.DataLength(), buffer.DataAsNumpy) if buffer is not None else None
        signature = _vector(t.ShapeSignatureLength(), t.ShapeSignatureAsNumpy)
        tensors.append(_TensorRecord(name, t.Type(), _vector(t.ShapeLength(), t.ShapeAsNumpy), scale, zero_point,
                                     q.QuantizedDimension() if q is not None else 0,
                                     data if data is not None and len(data) else None,
                                     buffer is not None and buffer.Offset() > 1, bool(np.any(signature < 0))))
    ops = []
    for i in range(counts["operators"]):
        op = sub.Operators(i)
        index = op.OpcodeIndex()
        ops.append(_OpRecord(opcodes[index] if index < len(opcodes) else None,
                             _vector(op.InputsLength(), op.InputsAsNumpy), _vector(op.OutputsLength(), op.OutputsAsNumpy),
                             schema.BuiltinOptionsCreator(op.BuiltinOptionsType(), op.BuiltinOptions()), i))
    return _Model(tensors, ops, _vector(sub.InputsLength(), sub.InputsAsNumpy),
                  _vector(sub.OutputsLength(), sub.OutputsAsNumpy))


# ---- importing: every value checked before it is used ---------------------------------------------------

class _Importer:
    def __init__(self, schema, model: _Model, path: Path):
        self.s, self.model, self.path = schema, model, path
        self.op_names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
        self.names: list[str] = []
        self.unsupported: dict[str, str] = {}  # tensor name -> its TensorType name, for types mcusim lacks
        self.tensors: dict[str, Tensor] = {}
        self.bytes = {"constants": 0, "activations": 0}  # of the tensors so far
        self.operands = 0  # of the ops so far
        B, O = schema.BuiltinOperator, schema
        # builtin code -> (the fewest and most inputs it takes, the class of its options; None: not read)
        self.signatures = {
            B.FULLY_CONNECTED: (2, 3, O.FullyConnectedOptionsT), B.CONV_2D: (2, 3, O.Conv2DOptionsT),
            B.DEPTHWISE_CONV_2D: (2, 3, O.DepthwiseConv2DOptionsT), B.AVERAGE_POOL_2D: (1, 1, O.Pool2DOptionsT),
            B.MAX_POOL_2D: (1, 1, O.Pool2DOptionsT), B.SOFTMAX: (1, 1, O.SoftmaxOptionsT), B.RESHAPE: (1, 2, None),
            B.BATCH_MATMUL: (2, 2, O.BatchMatMulOptionsT), B.MEAN: (2, 2, O.ReducerOptionsT),
            B.TRANSPOSE: (2, 2, None), B.PAD: (2, 2, None), B.PADV2: (3, 3, None),
            B.CONCATENATION: (1, MAX_ITEMS, O.ConcatenationOptionsT), B.SLICE: (3, 3, None),
            B.STRIDED_SLICE: (4, 4, O.StridedSliceOptionsT), B.GELU: (1, 1, O.GeluOptionsT),
            B.ADD: (2, 2, O.AddOptionsT), B.MUL: (2, 2, O.MulOptionsT), B.QUANTIZE: (1, 1, None),
            B.DEQUANTIZE: (1, 1, None),
            B.SUB: (2, 2, O.SubOptionsT), B.SQUARED_DIFFERENCE: (2, 2, None), B.MAXIMUM: (2, 2, None),
            B.MINIMUM: (2, 2, None),
            B.GATHER: (2, 2, O.GatherOptionsT), B.SQUEEZE: (1, 1, None), B.EXPAND_DIMS: (2, 2, None),
            TABLE: (2, 2, None),  # a float island folded by models/tflite_fold.py
            B.LOGISTIC: (1, 1, None), B.TANH: (1, 1, None), B.HARD_SWISH: (1, 1, None), B.RELU: (1, 1, None),
            B.RELU6: (1, 1, None), B.LEAKY_RELU: (1, 1, O.LeakyReluOptionsT), B.RSQRT: (1, 1, None),
        }

    def graph(self) -> Graph:
        for i, t in enumerate(self.model.tensors):
            self._tensor(i, t)
        ops = [self._op(op.index, op) for op in self.model.ops]
        where = f"{self.path}: the subgraph"
        inputs, outputs = self._names(self.model.inputs, f"{where}'s inputs"), self._names(self.model.outputs,
                                                                                         f"{where}'s outputs")
        for t in (*inputs, *outputs):
            if t in self.unsupported:
                raise GraphError(f"{where}: its input or output {short(t)} is {self.unsupported[t]}; mcusim imports "
                                 "int8 models")
        used = {*inputs, *outputs, *(t for op in ops for t in (*op.inputs, *op.outputs))}
        # the operands made attributes (axes, shapes, paddings) and the folded shape arithmetic are left out
        graph = Graph({name: t for name, t in self.tensors.items() if name in used}, ops, inputs, outputs,
                      {"source": self.path.name})
        try:
            graph.validate()
        except GraphError as e:
            raise GraphError(f"{self.path}: {e}") from None
        return graph

    def _names(self, indices: np.ndarray, where: str, optional: bool = False) -> list[str]:
        """The names of the tensors at `indices` (optional: -1, an absent operand, is skipped)."""
        self.operands += len(indices)
        if self.operands > MAX_ITEMS:
            raise GraphError(f"{where}: the ops and the subgraph take more than {MAX_ITEMS:,} operands in all")
        bad = [int(i) for i in indices if not (0 <= i < len(self.names) or optional and i == -1)]
        if bad:
            raise GraphError(f"{where}: tensor index {bad[0]} outside the {len(self.names)} tensors")
        return [self.names[i] for i in indices if i >= 0]

    def _tensor(self, index: int, t: _TensorRecord) -> None:
        where = f"{self.path}: tensor {index}"
        try:
            name = t.name.decode() or f"tensor{index}"
        except UnicodeDecodeError:
            raise GraphError(f"{where}: its name {short(t.name)} is not UTF-8") from None
        while name in self.tensors:
            name = f"{name}#{index}"
        check_name(name, where)
        where = f"{self.path}: tensor {index} ({short(name)})"
        self.names.append(name)
        types = {self.s.TensorType.INT8: "int8", self.s.TensorType.INT32: "int32",
                 self.s.TensorType.FLOAT32: "float32"}
        dtype = types.get(t.type)
        if dtype is None:  # refused by the first op that reads or writes it (_op), which the message names
            self.unsupported[name] = {v: k for k, v in vars(self.s.TensorType).items()
                                      if not k.startswith("_")}.get(t.type, str(t.type))
            return
        if len(t.shape) > MAX_RANK:
            raise GraphError(f"{where}: rank {len(t.shape)}; at most {MAX_RANK}")
        shape = tuple(int(d) for d in t.shape)
        nbytes = check_shape(shape, dtype, where)
        kind = "constants" if t.data is not None else "activations"
        self.bytes[kind] += nbytes
        if self.bytes[kind] > (MAX_CONSTANT_BYTES if t.data is not None else MAX_ACTIVATION_BYTES):
            raise GraphError(f"{where}: the {kind} so far hold {self.bytes[kind]:,} bytes; at most "
                             f"{MAX_CONSTANT_BYTES if t.data is not None else MAX_ACTIVATION_BYTES:,}")
        quant = None
        if len(t.scale):
            # a 1-D tensor's recorded axis is ignored, as TFLM does (converters write a conv's
            # quantized dimension, 3, on its bias of shape (C,))
            axis = 0 if len(shape) == 1 else t.axis
            channels = 1 if len(t.scale) == 1 else shape[axis] if 0 <= axis < len(shape) else None
            if len(t.scale) != channels or len(t.zero_point) != len(t.scale):
                raise GraphError(f"{where}: {len(t.scale)} scales and {len(t.zero_point)} zero points for "
                                 f"quantized dimension {axis} of {list(shape)}")
            quant = Quant(tuple(float(v) for v in t.scale), tuple(int(v) for v in t.zero_point),
                          None if len(t.scale) == 1 else int(axis))
        data = None
        if t.external:
            raise GraphError(f"{where}: its data lies outside the flatbuffer (a model over 2 GB); not supported")
        if t.data is not None:
            if len(t.data) != nbytes:
                raise GraphError(f"{where}: its buffer holds {len(t.data):,} bytes; {dtype}{list(shape)} takes {nbytes:,}")
            data = np.frombuffer(t.data.tobytes(), dtype=dtype).reshape(shape)
        self.tensors[name] = Tensor(name, shape, dtype, quant, data)

    def _op(self, index: int, op: _OpRecord) -> Op:
        if op.opcode is None:
            raise GraphError(f"{self.path}: op {index}: its op code index is outside the model's op codes")
        opcode, B = op.opcode, self.s.BuiltinOperator
        name = self.op_names.get(opcode, str(opcode))
        where = f"{self.path}: op {index} ({name})"
        if opcode not in self.signatures:
            raise GraphError(f"{where}: unsupported op; mcusim imports {SUPPORTED}")
        fewest, most, options_class = self.signatures[opcode]
        inputs, outputs = self._names(op.inputs, where, optional=True), self._names(op.outputs, where)
        for t in (*inputs, *outputs):
            if t in self.unsupported:
                raise GraphError(f"{where}: tensor {short(t)} is {self.unsupported[t]}; mcusim imports int8 models "
                                 "(int8 activations and weights, int32 biases, float32 only at the edges)")
        if not fewest <= len(inputs) <= most or len(outputs) != 1:
            raise GraphError(f"{where}: takes {fewest}{f' to {most}' if most > fewest else ''} inputs and one "
                             f"output; got {len(inputs)} and {len(outputs)}")
        o = op.options
        if options_class is not None and not isinstance(o, options_class):
            raise GraphError(f"{where}: its options are not {options_class.__name__[:-1]}")
        if opcode == B.QUANTIZE and self.tensors[inputs[0]].dtype == "int8":  # int8 -> int8: a requantization
            return Op("requantize", inputs, outputs, UnaryAttrs(), name)
        if opcode == TABLE:
            return Op("table", inputs, outputs, UnaryAttrs(), name)
        if opcode in (B.QUANTIZE, B.DEQUANTIZE):
            return Op("quantize" if opcode == B.QUANTIZE else "dequantize", inputs, outputs, EdgeAttrs(), name)
        for t in (*inputs, *outputs):
            if self.tensors[t].dtype == "float32":
                raise GraphError(f"{where}: tensor {short(t)} is float; mcusim imports int8-quantized models "
                                 "(float only at the edges, through QUANTIZE and DEQUANTIZE)")
        if opcode == B.FULLY_CONNECTED:
            return Op("fully_connected", inputs, outputs, FullyConnectedAttrs(self._activation(o, where)), name)
        if opcode in (B.CONV_2D, B.DEPTHWISE_CONV_2D):
            x, w = self.tensors[inputs[0]], self.tensors[inputs[1]]
            stride, dilation = (o.strideH, o.strideW), (o.dilationHFactor, o.dilationWFactor)
            pad = self._explicit_padding(o, x, w.shape[1:3] if len(w.shape) == 4 else (), stride, dilation, where)
            if opcode == B.CONV_2D:
                return Op("conv2d", inputs, outputs, Conv2DAttrs(stride, pad, dilation, self._activation(o, where)), name)
            return Op("depthwise_conv2d", inputs, outputs,
                      DepthwiseConv2DAttrs(stride, pad, dilation, self._activation(o, where), o.depthMultiplier), name)
        if opcode in (B.AVERAGE_POOL_2D, B.MAX_POOL_2D):
            x = self.tensors[inputs[0]]
            filt, stride = (o.filterHeight, o.filterWidth), (o.strideH, o.strideW)
            pad = self._explicit_padding(o, x, filt, stride, (1, 1), where)
            kind = "avg_pool2d" if opcode == B.AVERAGE_POOL_2D else "max_pool2d"
            return Op(kind, inputs, outputs, Pool2DAttrs(filt, stride, pad, self._activation(o, where)), name)
        if opcode == B.SOFTMAX:
            return Op("softmax", inputs, outputs, SoftmaxAttrs(float(o.beta)), name)
        if opcode in (B.RESHAPE, B.SQUEEZE, B.EXPAND_DIMS):  # the output tensor's shape is the new shape
            return Op("reshape", inputs[:1], outputs, ReshapeAttrs(), name)
        if opcode == B.GATHER:  # int8 data; gathers of int32 shape values were folded (models/tflite_fold.py)
            if o.batchDims:
                raise GraphError(f"{where}: batch_dims {o.batchDims} is not supported (0 only)")
            indices = self._constant(inputs[1], where)
            return Op("gather", inputs[:1], outputs,
                      GatherAttrs(int(o.axis), tuple(indices.reshape(-1).tolist()), indices.shape), name)
        if opcode == B.BATCH_MATMUL:
            return Op("batch_matmul", inputs, outputs, BatchMatmulAttrs(bool(o.adjX), bool(o.adjY)), name)
        if opcode == B.MEAN:
            axes = self._constant(inputs[1], where).reshape(-1)
            return Op("mean", inputs[:1], outputs, MeanAttrs(tuple(axes), bool(o.keepDims)), name)
        if opcode == B.TRANSPOSE:
            perm = self._constant(inputs[1], where).reshape(-1)
            return Op("transpose", inputs[:1], outputs, TransposeAttrs(tuple(perm)), name)
        if opcode in (B.PAD, B.PADV2):
            rank, pads = len(self.tensors[inputs[0]].shape), self._constant(inputs[1], where)
            if pads.shape != (rank, 2):
                raise GraphError(f"{where}: paddings of shape {list(pads.shape)} for an input of rank {rank}; "
                                 f"expected [{rank}, 2]")
            out_quant = self.tensors[outputs[0]].quant
            value = (self._constant(inputs[2], where, np.int8).reshape(-1)[0] if opcode == B.PADV2
                     else out_quant.zero_point[0] if out_quant else 0)
            return Op("pad", inputs[:1], outputs, PadAttrs(tuple(map(tuple, pads)), int(value)), name)
        if opcode == B.CONCATENATION:
            if self._activation(o, where) != "none":
                raise GraphError(f"{where}: a fused activation on CONCATENATION is not supported")
            return Op("concatenation", inputs, outputs, ConcatenationAttrs(int(o.axis)), name)
        if opcode in (B.SLICE, B.STRIDED_SLICE):
            return Op("slice", inputs[:1], outputs, self._slice(opcode, o, inputs, where), name)
        if opcode == B.GELU:
            return Op("gelu", inputs, outputs, GeluAttrs(bool(o.approximate)), name)
        if opcode == B.LEAKY_RELU:
            return Op("leaky_relu", inputs, outputs, LeakyReluAttrs(float(o.alpha)), name)
        unary = {B.LOGISTIC: "logistic", B.TANH: "tanh", B.HARD_SWISH: "hard_swish", B.RELU: "relu", B.RELU6: "relu6",
                 B.RSQRT: "rsqrt"}
        if opcode in unary:
            return Op(unary[opcode], inputs, outputs, UnaryAttrs(), name)
        for t in inputs:  # a scalar constant (shape []) broadcasts as one of shape [1]
            if not self.tensors[t].shape and self.tensors[t].data is not None:
                c = self.tensors[t]
                self.tensors[t] = Tensor(c.name, (1,), c.dtype, c.quant, c.data.reshape(1))
        binary = {B.SQUARED_DIFFERENCE: "squared_difference", B.MAXIMUM: "maximum", B.MINIMUM: "minimum"}
        if opcode in binary:
            return Op(binary[opcode], inputs, outputs, BinaryAttrs(), name)
        kind = {B.ADD: "add", B.SUB: "sub", B.MUL: "mul"}[opcode]
        return Op(kind, inputs, outputs, ElementwiseAttrs(self._activation(o, where)), name)

    def _explicit_padding(self, options, x: Tensor, kernel, stride, dilation, where: str) -> tuple[int, ...]:
        """The rows above and columns left that SAME or VALID padding (options.padding) gives a window
        of `kernel` on the NHWC input x."""
        modes = {self.s.Padding.SAME: "same", self.s.Padding.VALID: "valid"}
        if options.padding not in modes:
            raise GraphError(f"{where}: padding {options.padding} is neither SAME ({self.s.Padding.SAME}) "
                             f"nor VALID ({self.s.Padding.VALID})")
        if len(x.shape) != 4 or len(kernel) != 2:
            raise GraphError(f"{where}: the input must be NHWC and the window 2-D")
        if min(*stride, *dilation) < 1:
            raise GraphError(f"{where}: strides {stride} and dilations {dilation} must be >= 1")
        return tuple(padding(modes[options.padding], size, k, s, d)[0]
                     for size, k, s, d in zip(x.shape[1:3], kernel, stride, dilation))

    def _slice(self, opcode: int, options, inputs: list[str], where: str) -> SliceAttrs:
        """SLICE (begin, size; size -1 runs to the end) or STRIDED_SLICE (begin, end, unit strides;
        negative indices count from the end; begin, end and shrink-axis masks) as a box."""
        shape = self.tensors[inputs[0]].shape
        bounds = [self._constant(name, where).reshape(-1) for name in inputs[1:]]
        if any(len(b) != len(shape) for b in bounds):
            raise GraphError(f"{where}: begin, end/size and strides must each give {len(shape)} values")
        begin = [int(b) + d if b < 0 else int(b) for b, d in zip(bounds[0], shape)]
        if opcode == self.s.BuiltinOperator.SLICE:
            return SliceAttrs(begin, [d - b if s == -1 else int(s) for s, b, d in zip(bounds[1], begin, shape)])
        if any(int(s) != 1 for s in bounds[2]):
            raise GraphError(f"{where}: only unit strides are supported")
        if options.ellipsisMask or options.newAxisMask:
            raise GraphError(f"{where}: ellipsis and new-axis masks are not supported")
        end = [int(e) + d if e < 0 else int(e) for e, d in zip(bounds[1], shape)]
        box_begin, size = [], []
        for k, (b, e, d) in enumerate(zip(begin, end, shape)):
            b = 0 if options.beginMask >> k & 1 else min(max(b, 0), d)
            e = d if options.endMask >> k & 1 else min(max(e, 0), d)
            box_begin.append(b)
            size.append(1 if options.shrinkAxisMask >> k & 1 else e - b)
        return SliceAttrs(box_begin, size)

    def _constant(self, name: str, where: str, dtype=np.int32) -> np.ndarray:
        """The data of a constant operand (axes, a permutation, paddings, slice bounds: int32; a pad
        value: int8)."""
        t = self.tensors[name]
        if t.data is None:
            raise GraphError(f"{where}: operand {short(name)} must be a constant; mcusim does not compute shapes "
                             "at run time")
        if t.dtype != np.dtype(dtype).name:
            raise GraphError(f"{where}: operand {short(name)} is {t.dtype}; expected {np.dtype(dtype).name}")
        return t.data

    def _activation(self, options, where: str) -> str:
        A = self.s.ActivationFunctionType
        value = options.fusedActivationFunction
        names = {A.NONE: "none", A.RELU: "relu", A.RELU6: "relu6"}
        if value not in names:
            raise GraphError(f"{where}: fused activation {value} is not supported (NONE, RELU, RELU6)")
        return names[value]
