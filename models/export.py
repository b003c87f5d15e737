"""Post-training int8 quantization of a models/nn.py model and its export to the Graph.

    qparams = calibrate(model, images)     # torch.ao observers on every op output, real data
    graph = export(model, qparams)         # the int8 Graph: weights per channel, BatchNorm folded
    logits = fake_quantized(model, qparams, images)   # torch's float model of that graph

Quantization follows docs/numerics.md: activations int8 per tensor (affine, from a HistogramObserver
by default), weights int8 symmetric per output channel in [-127, 127] (PerChannelMinMaxObserver),
biases int32 at input_scale * weight_scale, softmax outputs at 1/256 and -128, LayerNorm's gamma per
channel and its beta at gamma_scale * 2^-k. Ops that move bytes (reshape, transpose, pad, slice, max
pool) keep their input's quantization.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .graph import Graph, Op, Quant, Tensor
from .ops.batch_matmul import BatchMatmulAttrs
from .ops.common import ElementwiseAttrs
from .ops.conv2d import Conv2DAttrs
from .ops.depthwise_conv2d import DepthwiseConv2DAttrs
from .ops.fully_connected import FullyConnectedAttrs
from .ops.layer_norm import LayerNormAttrs
from .ops.lookup import GeluAttrs
from .ops.mean import MeanAttrs
from .ops.pad import PadAttrs
from .ops.pool2d import Pool2DAttrs
from .ops.slice import SliceAttrs
from .ops.softmax import SoftmaxAttrs
from .ops.transpose import TransposeAttrs
from .nn import SOFTMAX_QPARAMS, Model, QuantizationError, TorchContext, build, folded, weight_scales
from .ops.layer_norm import default_scale_bits


def calibrate(model: Model, images: torch.Tensor, batch_size: int = 64, observer: str = "histogram"
              ) -> dict[str, tuple[float, int]]:
    """{op output name: (scale, zero point)} from running the float model on `images` (NHWC, the
    model's input) with a torch.ao observer on every op output."""
    observers: dict = {}
    ctx = TorchContext("observe", observers, observer_kind=observer)
    model.eval()
    with torch.no_grad():
        for i in range(0, len(images), batch_size):
            model.trace(ctx, images[i:i + batch_size])
    qparams = {}
    for name, obs in observers.items():
        scale, zero_point = obs.calculate_qparams()
        qparams[name] = (float(scale.reshape(-1)[0]), int(zero_point.reshape(-1)[0]))
    return qparams


def fake_quantized(model: Model, qparams: dict, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """The float logits of the fake-quantized model (weights and every op output rounded to int8)."""
    ctx = TorchContext("fake", qparams=qparams)
    model.eval()
    with torch.no_grad():
        return torch.cat([model.trace(ctx, images[i:i + batch_size]) for i in range(0, len(images), batch_size)])


@dataclass(frozen=True)
class Sym:
    """A tensor of the graph being built: its name and its shape without the batch axis (the Graph's
    tensor is [1, *shape])."""

    name: str
    shape: tuple[int, ...]


class GraphContext:
    """The ops of models/nn.py's contexts, emitting Graph ops and tensors (see TorchContext)."""

    def __init__(self, qparams: dict[str, tuple[float, int]]):
        self.qparams = qparams
        self.tensors: dict[str, Tensor] = {}
        self.ops: list[Op] = []
        self.modules: set[int] = set()  # ids of the torch modules whose parameters were exported

    # ---- tensors ----------------------------------------------------------------------------------

    def _unique(self, name: str) -> str:
        candidate, k = name, 1
        while candidate in self.tensors:
            k += 1
            candidate = f"{name}#{k}"
        return candidate

    def _add(self, t: Tensor) -> Tensor:
        self.tensors[t.name] = t
        return t

    def _activation(self, name: str, shape: tuple[int, ...], qparams: tuple[float, int] | None = None) -> Sym:
        """A new int8 activation tensor, quantized as calibrated for `name` (or as given)."""
        if qparams is None:
            if name not in self.qparams:
                raise QuantizationError(f"layer {name!r} has no calibration: calibrate and export the same model")
            qparams = self.qparams[name]
        scale, zero_point = qparams
        name = self._unique(name)
        self._add(Tensor(name, (1, *shape), "int8", Quant((scale,), (zero_point,))))
        return Sym(name, tuple(shape))

    def _like(self, x: Sym, suffix: str, shape: tuple[int, ...]) -> Sym:
        """A new activation with x's quantization (ops that move bytes)."""
        name = self._unique(f"{x.name}:{suffix}")
        self._add(Tensor(name, (1, *shape), "int8", self.tensors[x.name].quant))
        return Sym(name, tuple(shape))

    def _op(self, kind: str, inputs, output: Sym, attrs=None, name: str = "") -> Sym:
        self.ops.append(Op(kind, tuple(inputs), (output.name,), attrs, name or output.name))
        return output

    def _weights(self, name: str, w: torch.Tensor, layout: tuple[int, ...], axis: int) -> tuple[str, np.ndarray]:
        """Constant int8 weights: per-channel symmetric scales over torch's axis 0, values permuted by
        `layout` into the graph's layout (channel axis `axis` there; a 1-D w is a vector of channels)."""
        w = w.detach().double()
        scales = weight_scales(w.reshape(len(w), -1))
        q = torch.clamp(torch.round(w / scales.reshape(-1, *[1] * (w.dim() - 1))), -127, 127)
        data = q.permute(*layout).numpy().astype(np.int8)
        self._add(Tensor(name, data.shape, "int8", Quant(tuple(scales.tolist()), (0,) * len(scales), axis), data))
        return name, scales.numpy()

    def _bias(self, name: str, b: torch.Tensor | None, scale: np.ndarray) -> list[str]:
        """An int32 bias at `scale` per channel (none when b is None)."""
        if b is None:
            return []
        q = np.round(b.detach().double().numpy() / scale)
        if np.abs(q).max(initial=0) >= 1 << 31:
            raise QuantizationError(f"layer {name!r}: the bias does not fit int32 at its scale")
        data = q.astype(np.int32)
        self._add(Tensor(name, data.shape, "int32", Quant(tuple(scale.tolist()), (0,) * len(scale), 0), data))
        return [name]

    def _input_scale(self, x: Sym) -> float:
        return float(np.float32(self.tensors[x.name].quant.scale[0]))

    # ---- the ops ------------------------------------------------------------------------------------

    @staticmethod
    def shape(x: Sym) -> tuple[int, ...]:
        return x.shape

    def input(self, x: Sym) -> Sym:
        return self._activation(x.name, x.shape)

    def constant(self, value: torch.Tensor, name: str) -> Sym:
        scale, zero_point = self.qparams[name]
        q = torch.clamp(torch.round(value.detach().double() / scale) + zero_point, -128, 127)
        data = q.numpy().astype(np.int8)[None]
        self._add(Tensor(name, data.shape, "int8", Quant((scale,), (zero_point,)), data))
        return Sym(name, tuple(value.shape))

    def linear(self, x: Sym, layer, name: str, activation: str = "none") -> Sym:
        self.modules.add(id(layer))
        w, scales = self._weights(f"{name}.weight", layer.weight, (0, 1), 0)
        bias = self._bias(f"{name}.bias", layer.bias, self._input_scale(x) * scales.astype(np.float32))
        y = self._activation(name, (*x.shape[:-1], layer.out_features))
        return self._op("fully_connected", [x.name, w, *bias], y, FullyConnectedAttrs(activation))

    def conv2d(self, x: Sym, conv, bn, name: str, activation: str = "none") -> Sym:
        self.modules.update({id(conv), id(bn)})
        h, w, _ = x.shape
        weight, b = folded(conv, bn)
        depthwise = conv.groups > 1
        if depthwise and conv.groups != conv.in_channels:
            raise QuantizationError(f"layer {name!r}: grouped convolution ({conv.groups} groups of "
                                    f"{conv.in_channels} channels) has no int8 kernel; only depthwise")
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = conv.kernel_size, conv.stride, conv.padding, conv.dilation
        out_h, out_w = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1, (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
        if depthwise:  # torch [C*M, 1, KH, KW] -> [1, KH, KW, C*M]
            wname, scales = self._weights(f"{name}.weight", weight, (1, 2, 3, 0), 3)
            attrs = DepthwiseConv2DAttrs((sh, sw), (ph, pw), (dh, dw), activation,
                                         conv.out_channels // conv.in_channels)
        else:  # torch [O, C, KH, KW] -> [O, KH, KW, C]
            wname, scales = self._weights(f"{name}.weight", weight, (0, 2, 3, 1), 0)
            attrs = Conv2DAttrs((sh, sw), (ph, pw), (dh, dw), activation)
        bias = self._bias(f"{name}.bias", b, self._input_scale(x) * scales.astype(np.float32))
        y = self._activation(name, (out_h, out_w, conv.out_channels))
        return self._op("depthwise_conv2d" if depthwise else "conv2d", [x.name, wname, *bias], y, attrs)

    def max_pool2d(self, x: Sym, size: int, stride: int, padding: int = 0) -> Sym:
        h, w, c = x.shape
        y = self._like(x, "max_pool", ((h + 2 * padding - size) // stride + 1, (w + 2 * padding - size) // stride + 1,
                                       c))
        return self._op("max_pool2d", [x.name], y, Pool2DAttrs((size, size), (stride, stride), (padding, padding)))

    def layer_norm(self, x: Sym, norm, name: str) -> Sym:
        self.modules.add(id(norm))
        channels = x.shape[-1]
        k = default_scale_bits(channels)
        gamma, scales = self._weights(f"{name}.weight", norm.weight, (0,), 0)
        beta = self._bias(f"{name}.bias", norm.bias, scales.astype(np.float32) * 2.0 ** -k)
        y = self._activation(name, x.shape)
        return self._op("layer_norm", [x.name, gamma, *beta], y, LayerNormAttrs(k, float(norm.eps)))

    def gelu(self, x: Sym, name: str) -> Sym:
        return self._op("gelu", [x.name], self._activation(name, x.shape), GeluAttrs())

    def add(self, a: Sym, b: Sym, name: str, activation: str = "none") -> Sym:
        return self._op("add", [a.name, b.name], self._activation(name, a.shape), ElementwiseAttrs(activation))

    def _matrices(self, x: Sym) -> str:
        """x as the 3-D [B, M, K] that batch_matmul takes (a reshape: no bytes move)."""
        batch = int(np.prod(x.shape[:-2], dtype=np.int64))
        y = self._like(x, "3d", x.shape)
        self.tensors[y.name].shape = (batch, *x.shape[-2:])
        self._op("reshape", [x.name], y)
        return y.name

    def matmul(self, a: Sym, b: Sym, name: str, transpose_b: bool = False) -> Sym:
        """batch_matmul over the leading axes, between reshapes to and from its 3-D operands."""
        shape = (*a.shape[:-1], b.shape[-2] if transpose_b else b.shape[-1])
        product = self._activation(f"{name}:3d", shape, self.qparams[name])
        self.tensors[product.name].shape = (int(np.prod(shape[:-2], dtype=np.int64)), *shape[-2:])
        self._op("batch_matmul", [self._matrices(a), self._matrices(b)], product, BatchMatmulAttrs(adj_y=transpose_b),
                 name=name)
        return self._op("reshape", [product.name], self._activation(name, shape), name=f"{name}:reshape")

    def softmax(self, x: Sym, name: str, beta: float = 1.0) -> Sym:
        return self._op("softmax", [x.name], self._activation(name, x.shape, SOFTMAX_QPARAMS), SoftmaxAttrs(beta))

    def mean(self, x: Sym, axes: tuple[int, ...], name: str) -> Sym:
        y = self._activation(name, tuple(d for k, d in enumerate(x.shape) if k not in axes))
        return self._op("mean", [x.name], y, MeanAttrs(tuple(a + 1 for a in axes)))

    def reshape(self, x: Sym, shape: tuple[int, ...]) -> Sym:
        return self._op("reshape", [x.name], self._like(x, "reshape", tuple(shape)))

    def transpose(self, x: Sym, perm: tuple[int, ...]) -> Sym:
        y = self._like(x, "transpose", tuple(x.shape[p] for p in perm))
        return self._op("transpose", [x.name], y, TransposeAttrs((0, *(p + 1 for p in perm))))

    def pad(self, x: Sym, pads: tuple[tuple[int, int], ...]) -> Sym:
        y = self._like(x, "pad", tuple(d + b + a for d, (b, a) in zip(x.shape, pads)))
        value = self.tensors[x.name].quant.zero_point[0]
        return self._op("pad", [x.name], y, PadAttrs(((0, 0), *pads), value))

    def slice(self, x: Sym, begin: tuple[int, ...], size: tuple[int, ...]) -> Sym:
        y = self._like(x, "slice", tuple(size))
        return self._op("slice", [x.name], y, SliceAttrs((0, *begin), (1, *size)))


def export(model: Model, qparams: dict[str, tuple[float, int]], metadata: dict | None = None) -> Graph:
    """The int8 Graph of `model` quantized with `qparams` (from calibrate). Input: `input` int8
    [1, H, W, C]; output: the int8 logits [1, classes]."""
    cfg = model.cfg
    ctx = GraphContext(dict(qparams))
    logits = model.trace(ctx, Sym("input", (cfg.image_size, cfg.image_size, cfg.channels)))
    for name, module in model.named_modules():
        owns = any(True for _ in module.parameters(recurse=False))
        if owns and not any(True for _ in module.children()) and id(module) not in ctx.modules:
            raise QuantizationError(f"layer {name!r} ({type(module).__name__}) is not part of the exported graph: "
                                    "its op has no int8 export")
    graph = Graph(ctx.tensors, ctx.ops, ["input"], [logits.name], dict(metadata or {}))
    graph.validate()
    return graph


def untrained_graph(cfg, samples: int = 8, seed: int = 0) -> Graph:
    """The int8 graph of a freshly initialized model of `cfg` (models.zoo), calibrated on uniform
    random inputs: enough where only shapes matter (arena plans, interpreter speed)."""
    torch.manual_seed(seed)
    model = build(cfg).eval()
    x = torch.rand(samples, cfg.image_size, cfg.image_size, cfg.channels) * 2 - 1
    return export(model, calibrate(model, x, observer="minmax"))
