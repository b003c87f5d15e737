"""The int8 graph: typed tensors and ops, validation, and one versioned file on disk.

    graph = Graph(tensors={...}, ops=[...], inputs=["x"], outputs=["y"])
    graph.validate()            # GraphError naming the op, the tensor and what is wrong
    graph.save("model.graph")   # numpy .npz: a JSON header plus one array per constant; no pickle
    graph = Graph.load("model.graph")

The same IR feeds the reference interpreter, the planner and the serializer. What an op kind means
(its attributes, checks, reference and lowering) is its definition in the op registry
(models/ops/__init__.py); the header stores an op's attributes by field name.

Whatever a graph comes from (this file format, models/tflite_import.py, the exporters), validate() is
its one schema, and nothing is allocated or computed before it holds: names of 1 to MAX_NAME
printable characters; shapes of rank <= MAX_RANK with dimensions >= 1; no tensor larger than the
largest board's memory, nor all constants together, nor all activations together more than
MAX_ACTIVATION_BYTES; scales positive normal float32 values; zero points in the dtype's range; each
op's attributes checked by its definition (models/ops) and its kernel parameters derivable (prepare).
The file's header is read with types checked first (read_json): an int is a JSON integer, a bool a
JSON boolean, a float a finite number.
"""
from __future__ import annotations

import dataclasses
import io
import json
import math
import operator
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mcusim.boards import BOARDS
from mcusim.errors import McusimError, EX_DATAERR
from mcusim.files import read_npz

from .ops import op_def, registry

FORMAT, VERSION = "mcusim-graph", 1
DTYPES = ("int8", "int32", "float32")
ACTIVATIONS = ("none", "relu", "relu6")

# Bounds. BOARD_BYTES, the largest board's memory (flash and RAM together: the STM32H743's 2 MB +
# 1056 KB), bounds each tensor and all constants together: no board could hold more. Activations
# together may reach four times as much (the planner reuses memory; the reference interpreter holds
# them all at once). The shipped graphs hold under 0.5 MB of either and 200 tensors.
BOARD_BYTES = max(board.flash.size + board.sram_total for board in BOARDS.values())
MAX_TENSOR_BYTES = MAX_CONSTANT_BYTES = BOARD_BYTES
MAX_ACTIVATION_BYTES = 4 * BOARD_BYTES
MAX_RANK = 6
MAX_ITEMS = 1 << 16   # tensors, ops, and values in one list of a header
MAX_NAME = 1024       # characters of a tensor or op name
MAX_FILE_BYTES = 16 << 20  # a graph file inflated, or a .tflite: the constants and the structure, with room
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
ZERO_POINTS = {"int8": (-128, 127), "int32": (INT32_MIN, INT32_MAX), "float32": (INT32_MIN, INT32_MAX)}
FLOAT32_TINY, FLOAT32_MAX = float(np.finfo(np.float32).tiny), float(np.finfo(np.float32).max)


class GraphError(McusimError):
    """A graph that is inconsistent, or a file that is not a readable graph."""

    exit_code = EX_DATAERR


@dataclass(frozen=True)
class Quant:
    """Affine quantization: real = scale * (q - zero_point), per tensor or per channel along `axis`."""

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    axis: int | None = None  # None: per tensor (one scale and zero point)

    def __post_init__(self):
        object.__setattr__(self, "scale", tuple(float(s) for s in self.scale))
        object.__setattr__(self, "zero_point", tuple(operator.index(z) for z in self.zero_point))


@dataclass
class Tensor:
    name: str
    shape: tuple[int, ...]
    dtype: str
    quant: Quant | None = None
    data: np.ndarray | None = None  # constants (weights, biases); None for activations

    def __post_init__(self):
        self.shape = tuple(operator.index(d) for d in self.shape)  # 8.7 or "1881" is no dimension


@dataclass
class Op:
    kind: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attrs: object = None
    name: str = ""

    def __post_init__(self):
        self.inputs, self.outputs = tuple(self.inputs), tuple(self.outputs)
        definition = op_def(self.kind)
        if self.attrs is None and definition is not None:
            self.attrs = definition.attrs()


@dataclass
class Graph:
    tensors: dict[str, Tensor]
    ops: list[Op]
    inputs: list[str]
    outputs: list[str]
    metadata: dict = field(default_factory=dict)

    # ---- validation -----------------------------------------------------------------------------

    def validate(self) -> None:
        """Raise GraphError for the first inconsistency found (the schema: the module's docstring)."""
        if not (1 <= len(self.inputs) and 1 <= len(self.outputs) and len(self.tensors) <= MAX_ITEMS and
                len(self.ops) <= MAX_ITEMS):
            raise GraphError(f"a graph has at least one input and one output, and at most {MAX_ITEMS} tensors and ops")
        constants = activations = 0
        for name, t in self.tensors.items():
            where = f"tensor {short(name)}"
            check_name(name, where)
            if name != t.name:
                raise GraphError(f"{where}: registered under a different name ({short(t.name)})")
            if t.dtype not in DTYPES:
                raise GraphError(f"{where}: dtype {short(t.dtype)} is not one of {', '.join(DTYPES)}")
            nbytes = check_shape(t.shape, t.dtype, where)
            if t.data is not None and (t.data.shape != t.shape or t.data.dtype != np.dtype(t.dtype)):
                raise GraphError(f"{where}: data is {t.data.dtype}{list(t.data.shape)}, declared {t.dtype}{list(t.shape)}")
            if t.quant is not None:
                self._validate_quant(where, t)
            constants += nbytes if t.data is not None else 0
            activations += nbytes if t.data is None else 0
        if constants > MAX_CONSTANT_BYTES or activations > MAX_ACTIVATION_BYTES:
            raise GraphError(f"{constants:,} bytes of constants and {activations:,} of activations; the bounds are "
                             f"{MAX_CONSTANT_BYTES:,} (the largest board's memory) and {MAX_ACTIVATION_BYTES:,}")
        for name in (*self.inputs, *self.outputs):
            if name not in self.tensors:
                raise GraphError(f"graph input/output {short(name)} is not a tensor")
        if len(set(self.inputs)) != len(self.inputs):
            raise GraphError("a graph input is given twice")
        for name in (*self.inputs, *self.outputs):
            if self.tensors[name].data is not None or not self.tensors[name].shape:
                raise GraphError(f"graph input/output {short(name)}: a constant or a scalar (rank 0)")
        produced = set(self.inputs) | {n for n, t in self.tensors.items() if t.data is not None}
        for i, op in enumerate(self.ops):
            check_name(op.name, f"op {i}", empty=True)
            definition = op_def(op.kind)
            if definition is None:
                raise GraphError(f"op {i}: unknown op kind {short(op.kind)}; known: {', '.join(registry())}")
            where = f"op {i} ({op.name or op.kind})"
            if not isinstance(op.attrs, definition.attrs):
                raise GraphError(f"{where}: attributes must be {definition.attrs.__name__}")
            for name in op.inputs:
                if name not in self.tensors:
                    raise GraphError(f"{where}: input {short(name)} is missing")
                if name not in produced:
                    raise GraphError(f"{where}: input {short(name)} is not computed before it is used")
            for name in op.outputs:
                if name not in self.tensors:
                    raise GraphError(f"{where}: output {short(name)} is missing")
                if name in produced:
                    raise GraphError(f"{where}: output {short(name)} is already a graph input, a constant or computed")
                produced.add(name)
            definition.validate(self, op, where)
            try:
                definition.prepare(self, op)
            except ValueError as e:  # prepare's contract: a parameter outside the kernels' legal range
                raise GraphError(f"{where}: {e}") from None
        for name in self.outputs:
            if name not in produced:
                raise GraphError(f"graph output {short(name)} is never computed")

    @staticmethod
    def _validate_quant(where: str, t: Tensor) -> None:
        q = t.quant
        if len(q.scale) != len(q.zero_point):
            raise GraphError(f"{where}: {len(q.scale)} scales but {len(q.zero_point)} zero points")
        channels = 1 if q.axis is None else t.shape[q.axis] if -len(t.shape) <= q.axis < len(t.shape) else None
        if channels is None:
            raise GraphError(f"{where}: quantization axis {q.axis} outside shape {t.shape}")
        if len(q.scale) != channels:
            raise GraphError(f"{where}: {len(q.scale)} scales for {channels} channels")
        if not all(FLOAT32_TINY <= s <= FLOAT32_MAX for s in q.scale):  # NaN fails too
            raise GraphError(f"{where}: scales must be finite and positive float32 normal values "
                             f"({FLOAT32_TINY:.4g} to {FLOAT32_MAX:.4g}); got {short(q.scale)}")
        lo, hi = ZERO_POINTS[t.dtype]
        if not all(lo <= z <= hi for z in q.zero_point):
            raise GraphError(f"{where}: zero point outside {t.dtype} ({lo} to {hi})")

    # ---- files ----------------------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write the graph as one compressed .npz file: `graph.json` (the header) and one array per constant."""
        self.validate()
        arrays = {}
        tensors = []
        for name, t in self.tensors.items():
            entry = {"name": name, "shape": list(t.shape), "dtype": t.dtype}
            if t.quant is not None:
                entry["quant"] = dataclasses.asdict(t.quant)
            if t.data is not None:
                entry["data"] = key = f"t{len(arrays)}"
                arrays[key] = t.data
            tensors.append(entry)
        ops = [{"kind": op.kind, "name": op.name, "inputs": list(op.inputs), "outputs": list(op.outputs),
                "attrs": dataclasses.asdict(op.attrs)} for op in self.ops]
        header = {"format": FORMAT, "version": VERSION, "tensors": tensors, "ops": ops, "inputs": self.inputs,
                  "outputs": self.outputs, "metadata": self.metadata}
        arrays["graph.json"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        Path(path).write_bytes(buffer.getvalue())

    @classmethod
    def load(cls, path: str | Path) -> "Graph":
        """Read a graph written by save(). Any unreadable or invalid file is a one-line GraphError
        naming the file and what is wrong where."""
        path = Path(path)
        arrays = read_npz(path, GraphError, "mcusim graph file", MAX_FILE_BYTES)
        raw = arrays.pop("graph.json", None)
        if raw is None:
            raise GraphError(f"{path}: not an mcusim graph (no graph.json header)")
        try:
            header = json.loads(raw.tobytes())
        except RecursionError:  # the C decoder's own limit on nesting; no header nests more than 5 deep
            raise GraphError(f"{path}: corrupt graph header (nested too deeply)") from None
        except ValueError as e:  # not JSON, not UTF-8, or an integer of more than 4300 digits
            raise GraphError(f"{path}: corrupt graph header ({short(str(e))})") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise GraphError(f"{path}: not an mcusim graph (format {short(header.get('format') if isinstance(header, dict) else None)})")
        if header.get("version") != VERSION:
            raise GraphError(f"{path}: graph format version {short(header.get('version'))}; this mcusim reads {VERSION}")
        try:
            graph = cls._from_header(read_json(_Header, header, "header"), arrays)
            graph.validate()
        except GraphError as e:
            raise GraphError(f"{path}: {e}") from None
        return graph

    @classmethod
    def _from_header(cls, header: "_Header", arrays: dict) -> "Graph":
        tensors = {}
        for entry in header.tensors:
            if entry.name in tensors:
                raise GraphError(f"two tensors are named {short(entry.name)}")
            if entry.data is not None and entry.data not in arrays:
                raise GraphError(f"tensor {short(entry.name)}: its data {short(entry.data)} is not in the file")
            data = arrays[entry.data] if entry.data is not None else None
            tensors[entry.name] = Tensor(entry.name, entry.shape, entry.dtype, entry.quant, data)
        ops = []
        for i, entry in enumerate(header.ops):
            definition = op_def(entry.kind)
            if definition is None:
                raise GraphError(f"ops[{i}]: unknown op kind {short(entry.kind)}; known: {', '.join(registry())}")
            attrs = read_json(definition.attrs, entry.attrs, f"ops[{i}] ({short(entry.name or entry.kind)}).attrs")
            ops.append(Op(entry.kind, entry.inputs, entry.outputs, attrs, entry.name))
        check_metadata(header.metadata)
        return cls(tensors, ops, list(header.inputs), list(header.outputs), header.metadata)


# ---- the schema's pieces, shared with the importers and the ops --------------------------------------

def short(value, limit: int = 60) -> str:
    """repr(value), cut to `limit` characters: what an error message quotes of a hostile value."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def check_name(name, where: str, empty: bool = False) -> None:
    """A tensor's (or, empty allowed, an op's) name: a str of at most MAX_NAME printable characters."""
    if not (isinstance(name, str) and (empty or name) and len(name) <= MAX_NAME and name.isprintable()):
        raise GraphError(f"{where}: a name is 1 to {MAX_NAME} printable characters; got {short(name)}")


def check_shape(shape, dtype: str, where: str) -> int:
    """The bytes of a tensor of `shape` and `dtype` (one of DTYPES), after checking that the shape is a
    tuple of at most MAX_RANK ints >= 1 and the tensor at most MAX_TENSOR_BYTES."""
    if not (isinstance(shape, tuple) and len(shape) <= MAX_RANK and
            all(type(d) is int and d >= 1 for d in shape)):
        raise GraphError(f"{where}: shape {short(shape)} is not at most {MAX_RANK} integers >= 1")
    nbytes = math.prod(shape) * np.dtype(dtype).itemsize
    if nbytes > MAX_TENSOR_BYTES:
        raise GraphError(f"{where}: {dtype}{list(shape)} is {nbytes:,} bytes; the largest board's memory is "
                         f"{MAX_TENSOR_BYTES:,}")
    return nbytes


# What of a graph's metadata mcusim reads (models/evaluate.py, models/pipeline.py), by type; the rest is free.
_METADATA = {"model": str, "checkpoint": str, "dataset": str, "preprocess": {"size": int, "mean": float, "std": float}}


def check_metadata(metadata: dict) -> None:
    for key, hint in _METADATA.items():
        if key in metadata:
            value = metadata[key]
            if isinstance(hint, dict):
                read_json(dict, value, f"metadata.{key}")
                for k, h in hint.items():
                    if k in value:
                        read_json(h, value[k], f"metadata.{key}.{k}")
            else:
                read_json(hint, value, f"metadata.{key}")
    if metadata.get("preprocess", {}).get("std") == 0:
        raise GraphError("metadata.preprocess.std: must not be 0")


@dataclass(frozen=True)
class _TensorEntry:
    name: str
    shape: tuple[int, ...]
    dtype: str
    quant: Quant | None = None
    data: str | None = None  # the key of its array in the file


@dataclass(frozen=True)
class _OpEntry:
    kind: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attrs: dict
    name: str = ""


@dataclass(frozen=True)
class _Header:
    format: str
    version: int
    tensors: tuple[_TensorEntry, ...]
    ops: tuple[_OpEntry, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    metadata: dict = field(default_factory=dict)


def read_json(hint, value, where: str, error: type[McusimError] = GraphError):
    """`value` decoded from JSON as the type `hint`, every part's type checked, or `error` naming
    `where` in it. hint: int (a JSON integer, not a float, string or boolean, in int32), float (a
    finite number), bool (true or false), str, dict (any object), X | None, tuple[X, ...] (a list of at
    most MAX_ITEMS), tuple[X, Y] (a list of two), or a dataclass (an object of its fields; a missing
    field takes its default, an unknown one is an error)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (hint,) = (a for a in args if a is not type(None))
        return read_json(hint, value, where, error)
    if origin is tuple:
        if not isinstance(value, list):
            raise error(f"{where}: expected a list, got {short(value)}")
        hints = (args[0],) * len(value) if args[-1] is Ellipsis else args
        if len(value) != len(hints) or len(value) > MAX_ITEMS:
            raise error(f"{where}: expected {len(hints) if args[-1] is not Ellipsis else f'at most {MAX_ITEMS}'} "
                        f"values, got {len(value)}")
        return tuple(read_json(h, v, f"{where}[{i}]", error) for i, (h, v) in enumerate(zip(hints, value)))
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise error(f"{where}: expected an object, got {short(value)}")
        fields = {f.name: f for f in dataclasses.fields(hint)}
        unknown = [k for k in value if k not in fields]
        missing = [n for n, f in fields.items() if n not in value and
                   f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
        if unknown or missing:
            raise error(f"{where}: {'unknown field ' + short(unknown[0]) if unknown else 'missing ' + missing[0]}")
        hints = typing.get_type_hints(hint)
        return hint(**{k: read_json(hints[k], v, f"{where}.{k}", error) for k, v in value.items()})
    checks = {int: lambda v: type(v) is int and INT32_MIN <= v <= INT32_MAX,
              float: lambda v: type(v) in (int, float) and math.isfinite(v),
              bool: lambda v: type(v) is bool, str: lambda v: type(v) is str, dict: lambda v: type(v) is dict}
    if not checks[hint](value):
        raise error(f"{where}: {short(value)} is not {_TYPE_NAMES[hint]}")
    return float(value) if hint is float else value


_TYPE_NAMES = {int: "a 32-bit integer", float: "a finite number", bool: "true or false", str: "a string",
               dict: "an object"}
