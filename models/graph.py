"""The int8 graph: typed tensors and ops, validation, and one versioned file on disk.

    graph = Graph(tensors={...}, ops=[...], inputs=["x"], outputs=["y"])
    graph.validate()            # GraphError naming the op, the tensor and what is wrong
    graph.save("model.graph")   # numpy .npz: a JSON header plus one array per constant; no pickle
    graph = Graph.load("model.graph")

The same IR feeds the reference interpreter, the planner and the serializer. Op attributes are typed:
each op kind registers a frozen dataclass (OP_ATTRS) and the header stores its fields by name.
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

from .ops.gelu_sigmoid import GeluSigmoidParams
from .ops.layer_norm import check_range

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


@dataclass(frozen=True)
class FullyConnectedAttrs:
    activation: str = "none"


@dataclass(frozen=True)
class Conv2DAttrs:
    """Explicit padding (rows above, columns left); the output tensor's shape fixes the rest."""

    stride: tuple[int, int] = (1, 1)
    pad: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    activation: str = "none"

    def __post_init__(self):
        for name in ("stride", "pad", "dilation"):
            object.__setattr__(self, name, tuple(int(v) for v in getattr(self, name)))


@dataclass(frozen=True)
class DepthwiseConv2DAttrs(Conv2DAttrs):
    depth_multiplier: int = 1


@dataclass(frozen=True)
class Pool2DAttrs:
    filter: tuple[int, int] = (2, 2)
    stride: tuple[int, int] = (2, 2)
    pad: tuple[int, int] = (0, 0)
    activation: str = "none"

    def __post_init__(self):
        for name in ("filter", "stride", "pad"):
            object.__setattr__(self, name, tuple(int(v) for v in getattr(self, name)))


@dataclass(frozen=True)
class SoftmaxAttrs:
    beta: float = 1.0


@dataclass(frozen=True)
class ElementwiseAttrs:
    """add and mul of two same-shaped tensors."""

    activation: str = "none"


@dataclass(frozen=True)
class BatchMatmulAttrs:
    """lhs [B, M, K] (or [B, K, M] with adj_x) times rhs [B, K, N] (or [B, N, K] with adj_y)."""

    adj_x: bool = False
    adj_y: bool = False


@dataclass(frozen=True)
class MeanAttrs:
    """Mean over `axes`; keep_dims keeps them as size 1 (the output tensor's shape says the same)."""

    axes: tuple[int, ...] = ()
    keep_dims: bool = False

    def __post_init__(self):
        object.__setattr__(self, "axes", tuple(int(a) for a in self.axes))


@dataclass(frozen=True)
class TransposeAttrs:
    """Output axis k is input axis perm[k]."""

    perm: tuple[int, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "perm", tuple(int(a) for a in self.perm))


@dataclass(frozen=True)
class PadAttrs:
    """pads[k] = (before, after) for axis k; value: the int8 fill (TFLite PAD: the zero point)."""

    pads: tuple[tuple[int, int], ...] = ()
    value: int = 0

    def __post_init__(self):
        object.__setattr__(self, "pads", tuple((int(b), int(a)) for b, a in self.pads))


@dataclass(frozen=True)
class SliceAttrs:
    """The box [begin, begin + size) of the input, unit stride; the output holds its elements (axes of
    size 1 may be dropped, as STRIDED_SLICE's shrink mask does)."""

    begin: tuple[int, ...] = ()
    size: tuple[int, ...] = ()

    def __post_init__(self):
        for name in ("begin", "size"):
            object.__setattr__(self, name, tuple(int(v) for v in getattr(self, name)))


@dataclass(frozen=True)
class ConcatenationAttrs:
    axis: int = -1


@dataclass(frozen=True)
class GeluAttrs:
    """GELU through a 256-entry table; approximate: the tanh form."""

    approximate: bool = False


@dataclass(frozen=True)
class GeluSigmoidAttrs:
    """MCUFormer's integer GELU, x * sigmoid(1.702 x) in fixed point (no table)."""


@dataclass(frozen=True)
class LayerNormAttrs:
    """Integer LayerNorm over the last axis (docs/numerics.md#layer_norm). scale_bits: the int16
    normalized value's 2^k, which beta's scale (gamma_scale * 2^-k) depends on; sqrt_iterations: 0 for
    the exact square root, else that many Newton steps."""

    scale_bits: int
    eps: float = 1e-5
    sqrt_iterations: int = 0


@dataclass(frozen=True)
class EdgeAttrs:
    """quantize (float32 -> int8) and dequantize (int8 -> float32) at the graph's edges."""


@dataclass(frozen=True)
class ReshapeAttrs:
    """The new shape is the output tensor's."""


OP_ATTRS: dict[str, type] = {
    "fully_connected": FullyConnectedAttrs, "conv2d": Conv2DAttrs, "depthwise_conv2d": DepthwiseConv2DAttrs,
    "avg_pool2d": Pool2DAttrs, "max_pool2d": Pool2DAttrs, "softmax": SoftmaxAttrs, "reshape": ReshapeAttrs,
    "add": ElementwiseAttrs, "mul": ElementwiseAttrs, "quantize": EdgeAttrs, "dequantize": EdgeAttrs,
    "batch_matmul": BatchMatmulAttrs, "mean": MeanAttrs, "transpose": TransposeAttrs, "pad": PadAttrs,
    "concatenation": ConcatenationAttrs, "gelu": GeluAttrs, "gelu_sigmoid": GeluSigmoidAttrs,
    "layer_norm": LayerNormAttrs, "slice": SliceAttrs,
}


@dataclass
class Op:
    kind: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attrs: object = None
    name: str = ""

    def __post_init__(self):
        self.inputs, self.outputs = tuple(self.inputs), tuple(self.outputs)
        if self.attrs is None and self.kind in OP_ATTRS:
            self.attrs = OP_ATTRS[self.kind]()


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
            if op.kind not in OP_ATTRS:
                raise GraphError(f"{where}: unknown op kind {op.kind!r}; known: {', '.join(sorted(OP_ATTRS))}")
            if not isinstance(op.attrs, OP_ATTRS[op.kind]):
                raise GraphError(f"{where}: attributes must be {OP_ATTRS[op.kind].__name__}")
            for name in op.inputs:
                if name not in self.tensors:
                    raise GraphError(f"{where}: input {name!r} is missing")
                if name not in produced:
                    raise GraphError(f"{where}: input {name!r} is not computed before it is used")
            for name in op.outputs:
                if name not in self.tensors:
                    raise GraphError(f"{where}: output {name!r} is missing")
                produced.add(name)
            VALIDATORS[op.kind](self, op, where)
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
            attrs_cls = OP_ATTRS.get(entry["kind"])
            if attrs_cls is None:
                raise ValueError(f"unknown op kind {entry['kind']!r}")
            ops.append(Op(entry["kind"], tuple(entry["inputs"]), tuple(entry["outputs"]), attrs_cls(**entry["attrs"]),
                          entry.get("name", "")))
        return cls(tensors, ops, list(header["inputs"]), list(header["outputs"]), dict(header.get("metadata", {})))


# ---- per-op validation: shapes, dtypes, quantization ---------------------------------------------

def _expect(cond: bool, where: str, message: str) -> None:
    if not cond:
        raise GraphError(f"{where}: {message}")


def _io(graph: Graph, op: Op, where: str, inputs: tuple[int, ...]) -> list[Tensor]:
    """The op's tensors (inputs then the one output) after checking their count, int8 activations
    and per-tensor quantization of its activations."""
    _expect(len(op.inputs) in inputs and len(op.outputs) == 1, where,
            f"takes {' or '.join(map(str, inputs))} inputs and one output")
    x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    _expect(x.dtype == y.dtype == "int8", where, "input and output must be int8")
    _expect(x.quant is not None and y.quant is not None and len(x.quant.scale) == len(y.quant.scale) == 1, where,
            "input and output need per-tensor quantization")
    if hasattr(op.attrs, "activation"):
        _expect(op.attrs.activation in ACTIVATIONS, where, f"activation {op.attrs.activation!r} not in {ACTIVATIONS}")
    return [graph.tensors[n] for n in op.inputs] + [y]


def _check_weights(where: str, w: Tensor, bias: Tensor | None, channels: int, axis: int) -> None:
    _expect(w.dtype == "int8" and w.data is not None, where, f"weights {w.name!r} must be a constant int8 tensor")
    _expect(w.quant is not None and all(z == 0 for z in w.quant.zero_point) and
            (w.quant.axis is None or w.quant.axis % len(w.shape) == axis), where,
            f"weights must be symmetric (zero point 0), per tensor or per output channel (axis {axis})")
    if bias is not None:
        _expect(bias.dtype == "int32" and bias.shape == (channels,) and bias.data is not None, where,
                f"bias must be a constant int32 [{channels}]")


def _validate_fully_connected(graph: Graph, op: Op, where: str) -> None:
    x, w, *rest = _io(graph, op, where, (2, 3))
    y = rest[-1]
    _expect(len(w.shape) == 2, where, "weights must be 2-D [O, K]")
    channels, depth = w.shape
    size = int(np.prod(x.shape))
    _expect(size % depth == 0, where, f"input of {size} elements is not a whole number of rows of {depth}")
    _expect(int(np.prod(y.shape)) == size // depth * channels and y.shape[-1] == channels, where,
            f"output shape {y.shape} does not hold {size // depth} rows of {channels}")
    _check_weights(where, w, rest[0] if len(rest) == 2 else None, channels, 0)


def _validate_window(where: str, x: Tensor, y: Tensor, stride, pad, dilation) -> None:
    _expect(len(x.shape) == 4 and len(y.shape) == 4 and x.shape[0] == y.shape[0], where,
            "input and output must be NHWC with the same batch")
    _expect(min(*stride, *dilation) >= 1 and min(pad) >= 0, where, "strides and dilations >= 1, padding >= 0")
    for axis, (size, out, s, p) in enumerate(zip(x.shape[1:3], y.shape[1:3], stride, pad)):
        # Every window starts above the input's last row (column), as SAME and VALID padding give.
        _expect((out - 1) * s - p <= size - 1, where,
                f"{'height' if axis == 0 else 'width'}: {out} outputs at stride {s} overrun an input of {size}")


def _validate_conv2d(graph: Graph, op: Op, where: str) -> None:
    x, w, *rest = _io(graph, op, where, (2, 3))
    y = rest[-1]
    _expect(len(w.shape) == 4 and w.shape[3] == x.shape[-1] and y.shape[-1] == w.shape[0], where,
            "weights must be [O, KH, KW, C] for an NHWC input of C channels and an output of O")
    _check_weights(where, w, rest[0] if len(rest) == 2 else None, w.shape[0], 0)
    a = op.attrs
    _validate_window(where, x, y, a.stride, a.pad, a.dilation)


def _validate_depthwise_conv2d(graph: Graph, op: Op, where: str) -> None:
    x, w, *rest = _io(graph, op, where, (2, 3))
    y = rest[-1]
    channels = x.shape[-1] * op.attrs.depth_multiplier
    _expect(op.attrs.depth_multiplier >= 1, where, "depth multiplier must be >= 1")
    _expect(len(w.shape) == 4 and w.shape[0] == 1 and w.shape[3] == channels and y.shape[-1] == channels, where,
            f"weights must be [1, KH, KW, {channels}] and the output {channels} channels")
    _check_weights(where, w, rest[0] if len(rest) == 2 else None, channels, 3)
    a = op.attrs
    _validate_window(where, x, y, a.stride, a.pad, a.dilation)


def _validate_pool2d(graph: Graph, op: Op, where: str) -> None:
    x, y = _io(graph, op, where, (1,))
    _expect(x.quant == y.quant, where, "pooling keeps the input's scale and zero point")
    _expect(y.shape[-1] == x.shape[-1], where, "pooling keeps the channel count")
    a = op.attrs
    _expect(min(a.filter) >= 1, where, "filter must be at least 1x1")
    _validate_window(where, x, y, a.stride, a.pad, (1, 1))


def _validate_softmax(graph: Graph, op: Op, where: str) -> None:
    x, y = _io(graph, op, where, (1,))
    _expect(x.shape == y.shape, where, "softmax keeps the shape")
    _expect(abs(y.quant.scale[0] - 1 / 256) < 1e-9 and y.quant.zero_point[0] == -128, where,
            "the int8 softmax output has scale 1/256 and zero point -128")
    _expect(op.attrs.beta > 0, where, "beta must be positive")


def _validate_reshape(graph: Graph, op: Op, where: str) -> None:
    x, y = _io(graph, op, where, (1,))
    _expect(int(np.prod(x.shape)) == int(np.prod(y.shape)), where, f"cannot reshape {x.shape} to {y.shape}")
    _expect(x.quant == y.quant, where, "reshape keeps the scale and zero point")


def _validate_elementwise(graph: Graph, op: Op, where: str) -> None:
    a, b, y = _io(graph, op, where, (2,))
    _expect(b.dtype == "int8" and b.quant is not None and len(b.quant.scale) == 1, where,
            "both inputs must be int8 with per-tensor quantization")
    _expect(a.shape == b.shape == y.shape, where, f"shapes {a.shape}, {b.shape} -> {y.shape} must be equal "
            "(broadcasting is not supported)")


def _validate_batch_matmul(graph: Graph, op: Op, where: str) -> None:
    a, b, y = _io(graph, op, where, (2,))
    _expect(b.dtype == "int8" and b.quant is not None and len(b.quant.scale) == 1, where,
            "both operands must be int8 with per-tensor quantization")
    _expect(len(a.shape) == len(b.shape) == len(y.shape) == 3 and a.shape[0] == b.shape[0] == y.shape[0], where,
            "operands and output must be 3-D with one batch size (broadcasting is not supported)")
    m, k = a.shape[2:0:-1] if op.attrs.adj_x else a.shape[1:]
    k2, n = b.shape[2:0:-1] if op.attrs.adj_y else b.shape[1:]
    _expect(k == k2 and y.shape[1:] == (m, n), where, f"[{m}x{k}] times [{k2}x{n}] cannot give {list(y.shape[1:])}")


def _check_rank(where: str, *tensors: Tensor) -> None:
    _expect(all(1 <= len(t.shape) <= 4 for t in tensors), where, "tensors must have rank 1 to 4 (the kernels' NHWC)")


def _validate_mean(graph: Graph, op: Op, where: str) -> None:
    x, y = _io(graph, op, where, (1,))
    _check_rank(where, x)
    axes = {a % len(x.shape) for a in op.attrs.axes if -len(x.shape) <= a < len(x.shape)}
    _expect(len(axes) == len(op.attrs.axes) >= 1, where, f"axes {op.attrs.axes} are not distinct axes of {x.shape}")
    kept = tuple(1 if k in axes else d for k, d in enumerate(x.shape))
    expected = kept if op.attrs.keep_dims else tuple(d for k, d in enumerate(x.shape) if k not in axes)
    _expect(y.shape == expected, where,
            f"the mean of {x.shape} over {op.attrs.axes} has shape {expected}, not {y.shape}")
    _expect(int(np.prod([x.shape[a] for a in axes])) <= 1 << 23, where, "at most 2^23 elements per mean")


def _validate_data_movement(graph: Graph, op: Op, where: str, inputs=(1,)) -> list[Tensor]:
    """transpose, pad and concatenation: ranks 1 to 4, one scale and zero point throughout."""
    tensors = _io(graph, op, where, inputs)
    _check_rank(where, *tensors)
    _expect(all(t.dtype == "int8" and t.quant == tensors[-1].quant for t in tensors), where,
            "inputs and output must be int8 with one scale and zero point (no requantization, as TFLM)")
    return tensors


def _validate_transpose(graph: Graph, op: Op, where: str) -> None:
    x, y = _validate_data_movement(graph, op, where)
    perm = op.attrs.perm
    _expect(sorted(perm) == list(range(len(x.shape))), where,
            f"perm {perm} is not a permutation of {len(x.shape)} axes")
    _expect(y.shape == tuple(x.shape[p] for p in perm), where, f"{x.shape} permuted by {perm} is not {y.shape}")


def _validate_pad(graph: Graph, op: Op, where: str) -> None:
    x, y = _validate_data_movement(graph, op, where)
    pads = op.attrs.pads
    _expect(len(pads) == len(x.shape) and all(b >= 0 and a >= 0 for b, a in pads), where,
            f"pads {pads} must give (before, after) >= 0 for each of {len(x.shape)} axes")
    _expect(-128 <= op.attrs.value <= 127, where, f"pad value {op.attrs.value} is not int8")
    _expect(y.shape == tuple(d + b + a for d, (b, a) in zip(x.shape, pads)), where, f"{x.shape} padded by {pads} "
            f"is not {y.shape}")


def _validate_slice(graph: Graph, op: Op, where: str) -> None:
    x, y = _validate_data_movement(graph, op, where)
    begin, size = op.attrs.begin, op.attrs.size
    _expect(len(begin) == len(size) == len(x.shape) and
            all(b >= 0 and s >= 1 and b + s <= d for b, s, d in zip(begin, size, x.shape)), where,
            f"the box at {begin} of size {size} does not lie inside {x.shape}")
    kept = tuple(s for s in size if s != 1)
    _expect(tuple(d for d in y.shape if d != 1) == kept, where, f"a box of size {size} cannot give {y.shape}")


def _validate_concatenation(graph: Graph, op: Op, where: str) -> None:
    *xs, y = _validate_data_movement(graph, op, where, tuple(range(1, len(op.inputs) + 1)))
    rank = len(y.shape)
    _expect(-rank <= op.attrs.axis < rank, where, f"axis {op.attrs.axis} outside rank {rank}")
    axis = op.attrs.axis % rank
    others = [d for k, d in enumerate(y.shape) if k != axis]
    _expect(all(len(x.shape) == rank and [d for k, d in enumerate(x.shape) if k != axis] == others for x in xs) and
            sum(x.shape[axis] for x in xs) == y.shape[axis], where,
            f"{[x.shape for x in xs]} do not concatenate along axis {op.attrs.axis} to {y.shape}")


def _validate_gelu(graph: Graph, op: Op, where: str) -> None:
    x, y = _io(graph, op, where, (1,))
    _expect(x.shape == y.shape, where, f"input {x.shape} and output {y.shape} must have one shape")


def _validate_layer_norm(graph: Graph, op: Op, where: str) -> None:
    x, gamma, *rest = _io(graph, op, where, (2, 3))
    y, channels = rest[-1], x.shape[-1]
    _expect(y.shape == x.shape, where, f"input {x.shape} and output {y.shape} must have one shape")
    _expect(gamma.shape == (channels,), where, f"gamma must be [{channels}]")
    _check_weights(where, gamma, rest[0] if len(rest) == 2 else None, channels, 0)
    try:
        check_range(channels, op.attrs.scale_bits)
    except ValueError as e:
        raise GraphError(f"{where}: {e}") from None
    _expect(op.attrs.sqrt_iterations >= 0 and op.attrs.eps >= 0, where, "sqrt_iterations and eps must be >= 0")


def _validate_gelu_sigmoid(graph: Graph, op: Op, where: str) -> None:
    _validate_gelu(graph, op, where)
    x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    try:
        GeluSigmoidParams.from_quantization(x.quant.scale[0], x.quant.zero_point[0], y.quant.scale[0],
                                            y.quant.zero_point[0])
    except ValueError as e:
        raise GraphError(f"{where}: {e}") from None


def _validate_edge(graph: Graph, op: Op, where: str) -> None:
    _expect(len(op.inputs) == 1 and len(op.outputs) == 1, where, "takes one input and one output")
    x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    q, f = (y, x) if op.kind == "quantize" else (x, y)
    _expect(f.dtype == "float32" and q.dtype == "int8", where,
            f"{op.kind} maps {'float32 to int8' if op.kind == 'quantize' else 'int8 to float32'}")
    _expect(q.quant is not None and len(q.quant.scale) == 1, where, "the int8 side needs per-tensor quantization")
    _expect(x.shape == y.shape, where, f"{op.kind} keeps the shape")


VALIDATORS = {
    "fully_connected": _validate_fully_connected, "conv2d": _validate_conv2d,
    "depthwise_conv2d": _validate_depthwise_conv2d, "avg_pool2d": _validate_pool2d, "max_pool2d": _validate_pool2d,
    "softmax": _validate_softmax, "reshape": _validate_reshape, "add": _validate_elementwise,
    "mul": _validate_elementwise, "quantize": _validate_edge, "dequantize": _validate_edge,
    "batch_matmul": _validate_batch_matmul, "mean": _validate_mean, "transpose": _validate_transpose,
    "pad": _validate_pad, "concatenation": _validate_concatenation, "gelu": _validate_gelu,
    "layer_norm": _validate_layer_norm, "gelu_sigmoid": _validate_gelu_sigmoid, "slice": _validate_slice,
}
