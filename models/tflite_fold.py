"""What TFLite converters write around a model's int8 ops, rewritten before import into what the
graph holds (models/tflite_import.py calls `fold` on the decoded model).

1. Shape arithmetic is folded for the model's fixed input shape. With Keras' default dynamic batch
   the converter computes the target of every 3-D Dense's reshapes at run time: SHAPE of an
   activation, GATHER / STRIDED_SLICE of its entries, REDUCE_PROD, PACK and CONCATENATION of the
   pieces. Every such op whose inputs are known (a SHAPE's input shape, constants, values folded
   before it) on int32 / int64 values becomes a constant int32 tensor and leaves the op list.
2. Shapes the converter left unresolved are recomputed. A tensor whose recorded shape signature
   holds -1 (a dynamic dimension) was given a placeholder shape where it follows a computed reshape
   (e.g. [1, 1] for what is (16, 32)); RESHAPE, FULLY_CONNECTED, one-input activations and
   broadcasting binary ops give their outputs the shape their inputs imply. A static tensor's
   recorded shape is kept (the op's validation checks it).
3. Float islands become tables. A converter leaves float ops between a DEQUANTIZE and a QUANTIZE
   where it has no int8 kernel (its LayerNorm negates the mean in float: DEQUANTIZE -> NEG ->
   QUANTIZE). Such a chain maps each of the 256 int8 inputs to one int8 output, so it is one "table"
   op: the chain evaluated as TFLM evaluates it (Dequantize in double then float32, each float op in
   float32, AffineQuantize) on every input byte. Islands of other float ops are refused by name.

Every value is bounded before it is computed (a folded tensor holds at most MAX_FOLDED values) and
every refusal is a GraphError naming the op, its index and the rule broken.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from .graph import MAX_NAME, MAX_RANK, GraphError, short
from .ops.quantize import dequantize_s8, quantize_s8

MAX_FOLDED = 64  # values in one folded tensor: shape arithmetic handles shapes, not data

# The float ops a float island may hold, each exact in float32 as TFLM's float kernels compute it.
ISLAND_OPS = {
    "NEG": np.negative,
    "ABS": np.abs,
    "RELU": lambda x: np.maximum(x, np.float32(0)),
    "RELU6": lambda x: np.minimum(np.maximum(x, np.float32(0)), np.float32(6)),
}

# Builtin op names whose output has its (only activation) input's shape, and broadcasting binary ops.
UNARY = {"LOGISTIC", "TANH", "HARD_SWISH", "RELU", "RELU6", "LEAKY_RELU", "RSQRT", "GELU", "QUANTIZE",
         "DEQUANTIZE", "SOFTMAX", "NEG", "ABS"}
BROADCASTING = {"ADD", "SUB", "MUL", "SQUARED_DIFFERENCE", "MAXIMUM", "MINIMUM"}

TABLE = "TABLE"  # the op code of a folded island: an int8 input and a (256,) int8 table -> int8


def fold(schema, model, path):
    """The decoded model (models/tflite_import.py's _Model) with shape arithmetic folded, unresolved
    shapes recomputed and float islands made tables (the module docstring). The records are replaced,
    never changed in place."""
    return _Folder(schema, model, path).run()


class _Folder:
    def __init__(self, schema, model, path):
        self.model, self.path = model, path
        self.tensors = list(model.tensors)
        self.T = schema.TensorType
        self.names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
        self.folders = {"SHAPE": self._shape, "GATHER": self._gather, "REDUCE_PROD": self._reduce_prod,
                        "PACK": self._pack, "CONCATENATION": self._concatenation,
                        "STRIDED_SLICE": self._strided_slice}

    def run(self):
        ops = []
        for op in self.model.ops:
            name = self.names.get(op.opcode)
            where = f"{self.path}: op {op.index} ({name})"
            try:
                if name in self.folders and self._foldable(op):
                    self._set(op.outputs[0], self.folders[name](op, where), where)
                    continue
                self._resolve_shape(name, op, where)
            except (ValueError, TypeError, IndexError, ZeroDivisionError, OverflowError) as e:  # hostile options
                raise GraphError(f"{where}: its shapes cannot be computed "
                                 f"({type(e).__name__}: {short(str(e))})") from None
            ops.append(op)
        ops = self._islands(ops)
        return dataclasses.replace(self.model, tensors=self.tensors, ops=ops)

    # ---- shape arithmetic ------------------------------------------------------------------------

    def _valid(self, index) -> bool:
        return 0 <= index < len(self.tensors)

    def _integer(self, index) -> bool:
        return self._valid(index) and self.tensors[index].type in (self.T.INT32, self.T.INT64)

    def _value(self, index) -> np.ndarray | None:
        """An int32 / int64 constant (or folded) tensor's values, shaped; None where not known."""
        t = self.tensors[index]
        if not self._integer(index) or t.data is None or t.external:
            return None
        dtype = np.int32 if t.type == self.T.INT32 else np.int64
        shape = tuple(int(d) for d in t.shape)
        if len(shape) > MAX_RANK or any(d < 0 for d in shape):
            return None  # the importer refuses the shape
        if len(t.data) != int(np.prod(shape)) * np.dtype(dtype).itemsize:
            return None  # the importer reports the length mismatch
        return np.frombuffer(t.data.tobytes(), dtype).reshape(shape).astype(np.int64)

    def _foldable(self, op) -> bool:
        """All of the op's indices are valid, its output is an integer tensor without data and its
        inputs are known (a SHAPE's input is any tensor: its shape is known) and at most MAX_FOLDED
        values each (what is larger is no shape)."""
        if len(op.outputs) != 1 or not self._integer(op.outputs[0]) or not all(map(self._valid, op.inputs)):
            return False
        if self.names.get(op.opcode) == "SHAPE":
            return len(op.inputs) == 1
        values = [self._value(i) for i in op.inputs]
        return len(values) > 0 and all(v is not None and v.size <= MAX_FOLDED for v in values)

    def _set(self, index: int, value: np.ndarray, where: str) -> None:
        value = np.asarray(value)
        if value.size > MAX_FOLDED:
            raise GraphError(f"{where}: folds to {value.size:,} values; shape arithmetic holds at most {MAX_FOLDED}")
        if value.size and (value.min() < -2**31 or value.max() >= 2**31):
            raise GraphError(f"{where}: folds to a value outside int32")
        data = value.astype(np.int32)
        self.tensors[index] = dataclasses.replace(self.tensors[index], type=self.T.INT32,
                                                  shape=np.array(data.shape, np.int32),
                                                  data=np.frombuffer(data.tobytes(), np.uint8), external=False)

    def _axis(self, axis: int, rank: int, where: str) -> int:
        if not -rank <= axis < max(rank, 1):
            raise GraphError(f"{where}: axis {axis} outside a rank-{rank} input")
        return axis % max(rank, 1)

    def _shape(self, op, where):
        return np.array([int(d) for d in self.tensors[op.inputs[0]].shape], np.int64)

    def _gather(self, op, where):
        params, indices = (self._value(i) for i in op.inputs[:2])
        options = op.options
        if params.ndim == 0:
            raise GraphError(f"{where}: GATHER from a scalar")
        axis = self._axis(int(getattr(options, "axis", 0)), params.ndim, where)
        if getattr(options, "batchDims", 0):
            raise GraphError(f"{where}: batch_dims {options.batchDims} on shape values is not supported")
        if indices.size and (indices.min() < 0 or indices.max() >= params.shape[axis]):
            raise GraphError(f"{where}: indices {short(indices.tolist())} outside an axis of {params.shape[axis]}")
        return np.take(params, indices, axis=axis)

    def _reduce_prod(self, op, where):
        data, axes = (self._value(i) for i in op.inputs[:2])
        axes = tuple(sorted({self._axis(int(a), data.ndim, where) for a in axes.reshape(-1)}))
        keep = bool(getattr(op.options, "keepDims", False))
        return np.prod(data.astype(object), axis=axes, keepdims=keep)  # Python ints: _set refuses > int32

    def _pack(self, op, where):
        values = [self._value(i) for i in op.inputs]
        if len({v.shape for v in values}) != 1:
            raise GraphError(f"{where}: PACK of values of different shapes")
        axis = self._axis(int(getattr(op.options, "axis", 0)), values[0].ndim + 1, where)
        return np.stack(values, axis=axis)

    def _concatenation(self, op, where):
        values = [self._value(i) for i in op.inputs]
        axis = self._axis(int(getattr(op.options, "axis", 0)), values[0].ndim, where)
        return np.concatenate(values, axis=axis)  # shapes that do not join: a ValueError, refused by run()

    def _strided_slice(self, op, where):
        """A 1-D strided slice (what shape arithmetic takes apart), with TFLite's begin, end and
        shrink-axis masks."""
        if len(op.inputs) != 4:
            raise GraphError(f"{where}: takes 4 inputs; got {len(op.inputs)}")
        data, begin, end, strides = (self._value(i) for i in op.inputs)
        o = op.options
        if data.ndim != 1 or not begin.size == end.size == strides.size == 1:
            raise GraphError(f"{where}: a strided slice of shape values must be 1-D")
        if getattr(o, "ellipsisMask", 0) or getattr(o, "newAxisMask", 0) or strides[0] != 1:
            raise GraphError(f"{where}: a strided slice of shape values takes stride 1 and no ellipsis or new-axis mask")
        b = None if getattr(o, "beginMask", 0) & 1 else int(begin[0])
        e = None if getattr(o, "endMask", 0) & 1 else int(end[0])
        if getattr(o, "shrinkAxisMask", 0) & 1:
            index = int(begin[0])
            if not -len(data) <= index < len(data):
                raise GraphError(f"{where}: index {index} outside {len(data)} values")
            return np.array(data[index])
        return data[b:e]

    # ---- shapes the converter left unresolved ----------------------------------------------------

    def _resolve_shape(self, name: str | None, op, where: str) -> None:
        """Give a dynamic output tensor the shape its op's inputs imply (the module docstring, 2)."""
        if len(op.outputs) != 1 or not all(self._valid(i) for i in (*op.inputs, *op.outputs) if i != -1):
            return  # the importer names the bad index
        out = self.tensors[op.outputs[0]]
        if not out.dynamic:
            return
        shape = self._implied_shape(name, op, where)
        if shape is not None:
            self.tensors[op.outputs[0]] = dataclasses.replace(out, shape=np.array(shape, np.int32))

    def _implied_shape(self, name, op, where) -> tuple[int, ...] | None:
        shapes = [tuple(int(d) for d in self.tensors[i].shape) for i in op.inputs if i >= 0]
        if name == "RESHAPE":
            target = self._value(op.inputs[1]) if len(op.inputs) > 1 else None
            if target is None:
                target = np.array(getattr(op.options, "newShape", None) or [], np.int64)
                if not target.size:
                    return None
            return _reshaped(shapes[0], [int(d) for d in target.reshape(-1)], where)
        if name == "FULLY_CONNECTED" and len(shapes) >= 2 and len(shapes[1]) == 2:
            units, depth = shapes[1]
            x = shapes[0]
            if depth < 1 or int(np.prod(x)) % depth:
                raise GraphError(f"{where}: an input of {list(x)} does not divide into rows of {depth}")
            if getattr(op.options, "keepNumDims", False):
                return (*x[:-1], units)
            return (int(np.prod(x)) // depth, units)
        if name in UNARY and shapes:
            return shapes[0]
        if name in BROADCASTING and len(shapes) == 2:
            try:
                return tuple(np.broadcast_shapes(*shapes))
            except ValueError:
                raise GraphError(f"{where}: shapes {list(shapes[0])} and {list(shapes[1])} do not broadcast") from None
        return None

    # ---- float islands -------------------------------------------------------------------------------

    def _islands(self, ops: list) -> list:
        """ops with every DEQUANTIZE -> float ops -> QUANTIZE chain replaced by one TABLE op. A chain
        whose float tensors are read by more than the next op, or that holds a float op other than
        ISLAND_OPS, is refused by name; a DEQUANTIZE whose float reaches the model's outputs is an edge
        (the importer's dequantize)."""
        readers: dict[int, list[int]] = {}
        for k, op in enumerate(ops):
            for i in op.inputs:
                readers.setdefault(int(i), []).append(k)
        for i in self.model.outputs:
            readers.setdefault(int(i), []).append(-1)
        dropped, replaced = set(), {}
        for k, op in enumerate(ops):
            if self.names.get(op.opcode) != "DEQUANTIZE" or not self._island_start(op):
                continue
            chain, tensor = [k], op.outputs[0]
            while (users := readers.get(int(tensor), [])) and -1 not in users:
                chain.append(users[0])
                names = " -> ".join(str(self.names.get(ops[j].opcode)) for j in chain)
                where = f"{self.path}: ops {ops[chain[0]].index}-{ops[chain[-1]].index} ({names})"
                if len(users) != 1:
                    raise GraphError(f"{where}: a float island whose float tensor is read {len(users)} times; "
                                     "mcusim folds chains read once into a table")
                following = ops[users[0]]
                name = self.names.get(following.opcode)
                if name == "QUANTIZE":
                    break
                if name not in ISLAND_OPS or len(following.inputs) != 1 or len(following.outputs) != 1 \
                        or not self._valid(following.outputs[0]):
                    raise GraphError(f"{where}: a float island through {name}; mcusim folds only "
                                     f"{', '.join(ISLAND_OPS)} between DEQUANTIZE and QUANTIZE into a table (float "
                                     "compute between them is a QDQ model, as PT2E writes: quantize it to "
                                     "full-integer int8, README 'Your own model')")
                tensor = following.outputs[0]
            last = ops[chain[-1]]
            if len(chain) > 1 and self.names.get(last.opcode) == "QUANTIZE" and self._int8(last.outputs[0]):
                replaced[k] = self._table_op(op, [ops[j] for j in chain[1:-1]], last)
                dropped.update(chain[1:])
        return [replaced.get(k, op) for k, op in enumerate(ops) if k not in dropped]

    def _int8(self, index) -> bool:
        return self._valid(index) and self.tensors[index].type == self.T.INT8

    def _island_start(self, op) -> bool:
        return (len(op.inputs) == 1 and len(op.outputs) == 1 and self._int8(op.inputs[0])
                and self._valid(op.outputs[0]) and self.tensors[op.outputs[0]].type == self.T.FLOAT32)

    def _table_op(self, dequantize, float_ops: list, quantize):
        """The TABLE op of an island: input the DEQUANTIZE's, output the QUANTIZE's, and a new
        constant (256,) int8 tensor holding the chain evaluated on every input byte."""
        names = [self.names.get(o.opcode) for o in float_ops]
        where = f"{self.path}: ops {dequantize.index}-{quantize.index} (DEQUANTIZE -> {' -> '.join(names)} -> QUANTIZE)"
        x_in, x_out = self.tensors[dequantize.inputs[0]], self.tensors[quantize.outputs[0]]
        (s_in, z_in), (s_out, z_out) = (self._per_tensor(t, where) for t in (x_in, x_out))
        values = dequantize_s8(np.arange(-128, 128, dtype=np.int8), s_in, z_in)
        for name in names:
            values = ISLAND_OPS[name](values).astype(np.float32)
        table = quantize_s8(values, s_out, z_out)
        table = np.concatenate([table[128:], table[:128]])  # indexed by the input's byte: 0..127, then -128..-1
        name = x_out.name[:MAX_NAME - len(b"/table")] + b"/table"
        self.tensors.append(dataclasses.replace(
            x_in, name=name, type=self.T.INT8, shape=np.array([256], np.int32), scale=np.zeros(0, np.float32),
            zero_point=np.zeros(0, np.int64), axis=0, data=np.frombuffer(table.tobytes(), np.uint8),
            external=False, dynamic=False))
        return dataclasses.replace(quantize, opcode=TABLE, inputs=np.array([dequantize.inputs[0], len(self.tensors) - 1]),
                                   options=None)

    @staticmethod
    def _per_tensor(t, where: str) -> tuple[float, int]:
        if len(t.scale) != 1 or len(t.zero_point) != 1 or not np.isfinite(t.scale[0]) or not t.scale[0] > 0:
            raise GraphError(f"{where}: the island's int8 ends need one positive scale and zero point each")
        return float(t.scale[0]), int(t.zero_point[0])


def _reshaped(shape: tuple[int, ...], target: list[int], where: str) -> tuple[int, ...]:
    """TFLite's RESHAPE target with its one -1 inferred."""
    size = int(np.prod(shape))
    if target.count(-1) > 1 or any(d < -1 or d == 0 for d in target):
        raise GraphError(f"{where}: reshape target {target} has more than one -1 or a dimension < 1")
    known = int(np.prod([d for d in target if d != -1]))
    if -1 in target:
        if size % known:
            raise GraphError(f"{where}: {list(shape)} cannot be reshaped to {target}")
        target = [size // known if d == -1 else d for d in target]
    if int(np.prod(target)) != size:
        raise GraphError(f"{where}: {list(shape)} ({size} values) cannot be reshaped to {target}")
    return tuple(target)
