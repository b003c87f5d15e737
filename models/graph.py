"""The int8 graph: typed tensors and ops, validation, and one versioned file on disk.

    graph = Graph(tensors={...}, ops=[...], inputs=["x"], outputs=["y"])
    graph.validate()            # GraphError naming the op, the tensor and what is wrong
    graph.save("model.graph")   # numpy .npz: a JSON header plus one array per constant; no pickle
    graph = Graph.load("model.graph")

The same IR feeds the reference interpreter, the planner and the serializer. What an op kind means
(its attributes, checks, reference and lowering) is its definition in the op registry
(models/ops/__init__.py); the header stores an op's attributes by field name.
"""
from __future__ import annotations

import dataclasses
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mcusim.errors import McusimError, EX_DATAERR
from mcusim.files import read_npz

from .ops import op_def, registry

FORMAT, VERSION = "mcusim-graph", 1
DTYPES = ("int8", "int32", "float32")
ACTIVATIONS = ("none", "relu", "relu6")


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
        object.__setattr__(self, "zero_point", tuple(int(z) for z in self.zero_point))


@dataclass
class Tensor:
    name: str
    shape: tuple[int, ...]
    dtype: str
    quant: Quant | None = None
    data: np.ndarray | None = None  # constants (weights, biases); None for activations

    def __post_init__(self):
        self.shape = tuple(int(d) for d in self.shape)


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
        """Raise GraphError for the first inconsistency found."""
        for name, t in self.tensors.items():
            where = f"tensor {name!r}"
            if name != t.name:
                raise GraphError(f"{where}: registered under a different name ({t.name!r})")
            if t.dtype not in DTYPES:
                raise GraphError(f"{where}: dtype {t.dtype!r} is not one of {', '.join(DTYPES)}")
            if any(d < 1 for d in t.shape):
                raise GraphError(f"{where}: shape {t.shape} has a dimension < 1")
            if t.data is not None and (t.data.shape != t.shape or t.data.dtype != np.dtype(t.dtype)):
                raise GraphError(f"{where}: data is {t.data.dtype}{list(t.data.shape)}, declared {t.dtype}{list(t.shape)}")
            if t.quant is not None:
                self._validate_quant(where, t)
        for name in (*self.inputs, *self.outputs):
            if name not in self.tensors:
                raise GraphError(f"graph input/output {name!r} is not a tensor")
        produced = set(self.inputs) | {n for n, t in self.tensors.items() if t.data is not None}
        for i, op in enumerate(self.ops):
            where = f"op {i} ({op.name or op.kind})"
            definition = op_def(op.kind)
            if definition is None:
                raise GraphError(f"{where}: unknown op kind {op.kind!r}; known: {', '.join(registry())}")
            if not isinstance(op.attrs, definition.attrs):
                raise GraphError(f"{where}: attributes must be {definition.attrs.__name__}")
            for name in op.inputs:
                if name not in self.tensors:
                    raise GraphError(f"{where}: input {name!r} is missing")
                if name not in produced:
                    raise GraphError(f"{where}: input {name!r} is not computed before it is used")
            for name in op.outputs:
                if name not in self.tensors:
                    raise GraphError(f"{where}: output {name!r} is missing")
                produced.add(name)
            definition.validate(self, op, where)
        for name in self.outputs:
            if name not in produced:
                raise GraphError(f"graph output {name!r} is never computed")

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
        if not all(np.isfinite(s) and s > 0 for s in q.scale):
            raise GraphError(f"{where}: scales must be finite and positive")
        lo, hi = {"int8": (-128, 127), "int32": (-(1 << 31), (1 << 31) - 1)}.get(t.dtype, (None, None))
        if lo is not None and not all(lo <= z <= hi for z in q.zero_point):
            raise GraphError(f"{where}: zero point outside {t.dtype}")

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
        """Read a graph written by save(). Any unreadable file is a one-line GraphError."""
        path = Path(path)
        arrays = read_npz(path, GraphError, "mcusim graph file")
        try:
            header = json.loads(arrays.pop("graph.json").tobytes())
        except KeyError:
            raise GraphError(f"{path}: not an mcusim graph (no graph.json header)") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise GraphError(f"{path}: corrupt graph header ({e})") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise GraphError(f"{path}: not an mcusim graph (format {header.get('format') if isinstance(header, dict) else None!r})")
        if header.get("version") != VERSION:
            raise GraphError(f"{path}: graph format version {header.get('version')!r}; this mcusim reads {VERSION}")
        try:
            graph = cls._from_header(header, arrays)
        except (KeyError, TypeError, ValueError) as e:
            raise GraphError(f"{path}: malformed graph header ({type(e).__name__}: {e})") from None
        graph.validate()
        return graph

    @classmethod
    def _from_header(cls, header: dict, arrays: dict) -> "Graph":
        tensors = {}
        for entry in header["tensors"]:
            quant = Quant(**entry["quant"]) if "quant" in entry else None
            data = arrays[entry["data"]] if "data" in entry else None
            tensors[entry["name"]] = Tensor(entry["name"], tuple(entry["shape"]), entry["dtype"], quant, data)
        ops = []
        for entry in header["ops"]:
            definition = op_def(entry["kind"])
            if definition is None:
                raise ValueError(f"unknown op kind {entry['kind']!r}")
            ops.append(Op(entry["kind"], tuple(entry["inputs"]), tuple(entry["outputs"]),
                          definition.attrs(**entry["attrs"]), entry.get("name", "")))
        return cls(tensors, ops, list(header["inputs"]), list(header["outputs"]), dict(header.get("metadata", {})))
