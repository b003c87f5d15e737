"""torch definitions of mcusim's model families (ViT, TinyFormer, the CNN baseline), each written once
for two readers: torch (training, PTQ calibration, fake quantization) and the int8 Graph exporter.

A model's forward is `self.trace(ctx, x)`: a sequence of calls on a context that offers the Graph's
ops (linear, conv2d, layer_norm, gelu, add, matmul, softmax, reshape, ...). TorchContext computes
them in float, and in PTQ also observes or fake-quantizes each op's output; models/export.py's
GraphContext emits one Graph op per call. One definition, so the exported graph cannot drift from the
trained model.

Layout: images NHWC [B, H, W, C], tokens [B, T, C] (the Graph's layout, so a reshape between them
moves no byte). Shapes and axes given to a context leave out the batch axis.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.ao.quantization.observer import HistogramObserver, MinMaxObserver, PerChannelMinMaxObserver

from mcusim.errors import EX_DATAERR, McusimError

from .zoo import ConvNetConfig, Down, MBConv, Transformer, ViTConfig

SOFTMAX_QPARAMS = (1.0 / 256.0, -128)  # the int8 softmax output, fixed as in TFLite


class QuantizationError(McusimError):
    """A float model that cannot become an int8 graph; the message names the layer."""

    exit_code = EX_DATAERR


def observer(kind: str = "histogram"):
    """A torch.ao observer of an activation tensor (int8, per tensor, affine)."""
    cls = {"histogram": HistogramObserver, "minmax": MinMaxObserver}[kind]
    return cls(dtype=torch.qint8, qscheme=torch.per_tensor_affine, quant_min=-128, quant_max=127)


def weight_scales(w: torch.Tensor) -> torch.Tensor:
    """Per-output-channel (axis 0) symmetric int8 scales of a weight, values in [-127, 127]; an
    all-zero channel gets torch.ao's smallest scale (its values quantize to 0)."""
    obs = PerChannelMinMaxObserver(ch_axis=0, dtype=torch.qint8, qscheme=torch.per_channel_symmetric,
                                   quant_min=-127, quant_max=127)
    obs(w.detach().float())
    return obs.calculate_qparams()[0].double()


def fake_quantize_weight(w: torch.Tensor) -> torch.Tensor:
    scales = weight_scales(w).to(w.dtype)
    return torch.fake_quantize_per_channel_affine(w, scales, torch.zeros(len(scales), dtype=torch.int32), 0, -127, 127)


def folded(conv: nn.Conv2d, bn: nn.BatchNorm2d | None) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight, bias) of conv followed by bn in evaluation mode, as one conv."""
    bias = conv.bias if conv.bias is not None else torch.zeros(conv.out_channels)
    if bn is None:
        return conv.weight, bias
    gain = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return conv.weight * gain.reshape(-1, 1, 1, 1), (bias - bn.running_mean) * gain + bn.bias


ACTIVATIONS = {"none": lambda y: y, "relu": F.relu, "relu6": F.relu6}


class TorchContext:
    """The ops in torch float. mode 'float': plain float (training, float evaluation; convolutions run
    unfolded through BatchNorm); 'observe': PTQ calibration, each op output feeds the observer of its
    name in `observers` (created on first use); 'fake': the float model of the int8 graph, weights
    and op outputs fake-quantized with the calibrated `qparams` {name: (scale, zero point)}."""

    def __init__(self, mode: str = "float", observers: dict | None = None, qparams: dict | None = None,
                 observer_kind: str = "histogram"):
        self.mode, self.observers, self.qparams, self.observer_kind = mode, observers, qparams, observer_kind

    def _point(self, name: str, y: torch.Tensor, fixed: tuple[float, int] | None = None) -> torch.Tensor:
        """y becomes the Graph's int8 tensor `name`."""
        if self.mode == "observe":
            if not torch.isfinite(y).all():
                raise QuantizationError(f"layer {name!r}: its output holds NaN or infinity; the model cannot be "
                                        "calibrated (check the checkpoint)")
            if fixed is None:
                self.observers.setdefault(name, observer(self.observer_kind))(y.detach())
        elif self.mode == "fake":
            scale, zero_point = fixed or self.qparams[name]
            y = torch.fake_quantize_per_tensor_affine(y, float(scale), int(zero_point), -128, 127)
        return y

    def _weight(self, w: torch.Tensor) -> torch.Tensor:
        return fake_quantize_weight(w) if self.mode == "fake" else w

    @staticmethod
    def shape(x: torch.Tensor) -> tuple[int, ...]:
        return tuple(x.shape[1:])

    def input(self, x: torch.Tensor) -> torch.Tensor:
        return self._point("input", x)

    def constant(self, value: torch.Tensor, name: str) -> torch.Tensor:
        return self._point(name, value.unsqueeze(0))

    def linear(self, x, layer: nn.Linear, name: str, activation: str = "none") -> torch.Tensor:
        y = F.linear(x, self._weight(layer.weight), layer.bias)
        return self._point(name, ACTIVATIONS[activation](y))

    def conv2d(self, x, conv: nn.Conv2d, bn: nn.BatchNorm2d | None, name: str, activation: str = "none"):
        """conv (plain, or depthwise when groups = in = out channels) then bn, NHWC."""
        nchw = x.permute(0, 3, 1, 2)
        if self.mode == "float":
            y = conv(nchw)
            y = bn(y) if bn is not None else y
        else:
            w, b = folded(conv, bn)
            y = F.conv2d(nchw, self._weight(w), b, conv.stride, conv.padding, conv.dilation, conv.groups)
        return self._point(name, ACTIVATIONS[activation](y.permute(0, 2, 3, 1)))

    def max_pool2d(self, x, size: int, stride: int, padding: int = 0) -> torch.Tensor:
        return F.max_pool2d(x.permute(0, 3, 1, 2), size, stride, padding).permute(0, 2, 3, 1)

    def layer_norm(self, x, norm: nn.LayerNorm, name: str) -> torch.Tensor:
        return self._point(name, F.layer_norm(x, norm.normalized_shape, norm.weight, norm.bias, norm.eps))

    def gelu(self, x, name: str) -> torch.Tensor:
        return self._point(name, F.gelu(x))

    def add(self, a, b, name: str, activation: str = "none") -> torch.Tensor:
        return self._point(name, ACTIVATIONS[activation](a + b))

    def matmul(self, a, b, name: str, transpose_b: bool = False) -> torch.Tensor:
        """[.., M, K] x [.., K, N] (or [.., N, K] with transpose_b)."""
        return self._point(name, a @ (b.transpose(-1, -2) if transpose_b else b))

    def softmax(self, x, name: str, beta: float = 1.0) -> torch.Tensor:
        return self._point(name, torch.softmax(beta * x, dim=-1), fixed=SOFTMAX_QPARAMS)

    def mean(self, x, axes: tuple[int, ...], name: str) -> torch.Tensor:
        return self._point(name, x.mean(dim=[a + 1 for a in axes]))

    def reshape(self, x, shape: tuple[int, ...]) -> torch.Tensor:
        return x.reshape(x.shape[0], *shape)

    def transpose(self, x, perm: tuple[int, ...]) -> torch.Tensor:
        return x.permute(0, *(p + 1 for p in perm))

    def pad(self, x, pads: tuple[tuple[int, int], ...]) -> torch.Tensor:
        """Zeros (the zero point) before and after each axis."""
        flat = [v for before, after in reversed(pads) for v in (before, after)]
        return F.pad(x, flat)

    def slice(self, x, begin: tuple[int, ...], size: tuple[int, ...]) -> torch.Tensor:
        return x[(slice(None), *(slice(b, b + s) for b, s in zip(begin, size)))]


# ---- building blocks ------------------------------------------------------------------------------

class Named(nn.Module):
    """A module that knows its qualified name in the model (set by Model.__init__), to name the
    Graph ops and tensors it makes."""

    name = ""

    def op_name(self, part: str) -> str:
        return f"{self.name}.{part}" if self.name else part


class Dense(Named):
    """A linear layer, or MCUFormer's low-rank factorization of one: in -> rank (no bias) -> out."""

    def __init__(self, features_in: int, features_out: int, rank: int | None = None):
        super().__init__()
        self.rank = rank
        if rank is None:
            self.full = nn.Linear(features_in, features_out)
        else:
            self.down, self.up = nn.Linear(features_in, rank, bias=False), nn.Linear(rank, features_out)

    def trace(self, ctx, x, activation: str = "none"):
        if self.rank is None:
            return ctx.linear(x, self.full, self.name, activation)
        return ctx.linear(ctx.linear(x, self.down, self.op_name("down")), self.up, self.op_name("up"), activation)


class Attention(Named):
    """Multi-head self-attention over [T, D] tokens: Q, K, V projections to heads x head_dim, softmax of
    Q K^T / sqrt(head_dim) (the scale is softmax's beta), P V, heads concatenated, output projection."""

    def __init__(self, dim: int, heads: int, qkv_dim: int):
        super().__init__()
        if qkv_dim % heads:
            raise ValueError(f"qkv_dim {qkv_dim} is not a multiple of heads {heads}")
        self.heads, self.head_dim = heads, qkv_dim // heads
        self.q, self.k, self.v = nn.Linear(dim, qkv_dim), nn.Linear(dim, qkv_dim), nn.Linear(dim, qkv_dim)
        self.proj = nn.Linear(qkv_dim, dim)

    def trace(self, ctx, x):
        tokens, h, d = ctx.shape(x)[0], self.heads, self.head_dim

        def heads(layer, part):  # [T, D] -> [H, T, d]
            return ctx.transpose(ctx.reshape(ctx.linear(x, layer, self.op_name(part)), (tokens, h, d)), (1, 0, 2))

        q, k, v = heads(self.q, "q"), heads(self.k, "k"), heads(self.v, "v")
        p = ctx.softmax(ctx.matmul(q, k, self.op_name("scores"), transpose_b=True), self.op_name("softmax"), d ** -0.5)
        o = ctx.transpose(ctx.matmul(p, v, self.op_name("context")), (1, 0, 2))
        return ctx.linear(ctx.reshape(o, (tokens, h * d)), self.proj, self.op_name("proj"))


class EncoderBlock(Named):
    """Pre-norm transformer encoder layer: x + attn(LN(x)), then x + MLP(LN(x)); MLP activation GELU
    (a table in the graph) or ReLU (fused into the first linear layer)."""

    def __init__(self, dim: int, heads: int, qkv_dim: int, hidden: int, activation: str, rank: int | None):
        super().__init__()
        self.activation = activation
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, qkv_dim)
        self.fc1, self.fc2 = Dense(dim, hidden, rank), Dense(hidden, dim, rank)

    def trace(self, ctx, x):
        x = ctx.add(x, self.attn.trace(ctx, ctx.layer_norm(x, self.norm1, self.op_name("norm1"))), self.op_name("add1"))
        h = ctx.layer_norm(x, self.norm2, self.op_name("norm2"))
        if self.activation == "gelu":
            h = ctx.gelu(self.fc1.trace(ctx, h), self.op_name("gelu"))
        else:
            h = self.fc1.trace(ctx, h, "relu")
        return ctx.add(x, self.fc2.trace(ctx, h), self.op_name("add2"))


class ConvBN(Named):
    """conv (depthwise when depthwise=True) + BatchNorm + activation; BN folds into the conv in PTQ."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, activation: str = "relu",
                 depthwise: bool = False):
        super().__init__()
        self.activation = activation
        self.conv = nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=cin if depthwise else 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def trace(self, ctx, x):
        return ctx.conv2d(x, self.conv, self.bn, self.name, self.activation)


class InvertedResidual(Named):
    """MobileNetV2's block: 1x1 expand (ReLU6), 3x3 depthwise (ReLU6), 1x1 project; + input when the
    shape is kept."""

    def __init__(self, cin: int, spec: MBConv):
        super().__init__()
        hidden = cin * spec.expansion
        self.expand = ConvBN(cin, hidden, 1, activation="relu6") if spec.expansion != 1 else None
        self.depthwise = ConvBN(hidden, hidden, 3, spec.stride, "relu6", depthwise=True)
        self.project = ConvBN(hidden, spec.out, 1, activation="none")
        self.residual = spec.stride == 1 and cin == spec.out

    def trace(self, ctx, x):
        h = self.expand.trace(ctx, x) if self.expand is not None else x
        h = self.project.trace(ctx, self.depthwise.trace(ctx, h))
        return ctx.add(x, h, self.op_name("add")) if self.residual else h


class Downsample(Named):
    """Halves the resolution: 'conv-maxpool' (3x3 conv, then 2x2 max pool) or 'strided' (3x3 conv, stride 2)."""

    def __init__(self, cin: int, spec: Down):
        super().__init__()
        self.pool = spec.kind == "conv-maxpool"
        self.conv = ConvBN(cin, spec.out, 3, 1 if self.pool else 2)

    def trace(self, ctx, x):
        x = self.conv.trace(ctx, x)
        return ctx.max_pool2d(x, 2, 2) if self.pool else x


class TransformerStage(Named):
    """TinyFormer's transformer block on a feature map: 3x3 conv and 1x1 conv to the token dim, encoder
    layers over the H*W tokens (ReLU MLP), then a 1x1 conv to the output channels."""

    def __init__(self, cin: int, spec: Transformer):
        super().__init__()
        self.local = ConvBN(cin, cin, 3)
        self.to_tokens = ConvBN(cin, spec.dim, 1, activation="none")
        hidden = round(spec.dim * spec.mlp_ratio)
        self.layers = nn.ModuleList(EncoderBlock(spec.dim, spec.heads, spec.dim, hidden, "relu", None)
                                    for _ in range(spec.depth))
        self.from_tokens = ConvBN(spec.dim, spec.out, 1)

    def trace(self, ctx, x):
        h, w, _ = ctx.shape(x)
        x = self.to_tokens.trace(ctx, self.local.trace(ctx, x))
        dim = ctx.shape(x)[-1]
        x = ctx.reshape(x, (h * w, dim))
        for layer in self.layers:
            x = layer.trace(ctx, x)
        return self.from_tokens.trace(ctx, ctx.reshape(x, (h, w, dim)))


class Model(Named):
    """The base of the families: names its submodules, forward = trace in a float TorchContext."""

    def _name_modules(self) -> None:
        for name, module in self.named_modules():
            if isinstance(module, Named):
                module.name = name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.trace(TorchContext(), x)


class ViT(Model):
    """A ViT in MCUFormer's search space: patch embedding (conv, kernel = stride = patch), learned
    position embedding (the class token folded into its first row), encoder blocks, LayerNorm, mean or
    class-token pooling, linear head."""

    def __init__(self, cfg: ViTConfig):
        super().__init__()
        self.cfg = cfg
        side = cfg.image_size // cfg.patch
        self.tokens = side * side + (cfg.pool == "cls")
        self.patch_embed = nn.Conv2d(cfg.channels, cfg.dim, cfg.patch, cfg.patch)
        self.pos = nn.Parameter(torch.randn(self.tokens, cfg.dim) * 0.02)
        self.cls = nn.Parameter(torch.zeros(cfg.dim)) if cfg.pool == "cls" else None
        blocks = []
        for i in range(cfg.depth):
            heads, hidden = cfg.block(i)
            blocks.append(EncoderBlock(cfg.dim, heads, cfg.qkv_dim, hidden, cfg.activation, cfg.rank))
        self.blocks = nn.ModuleList(blocks)
        self.norm = nn.LayerNorm(cfg.dim)
        self.head = nn.Linear(cfg.dim, cfg.num_classes)
        self._name_modules()

    def trace(self, ctx, x):
        x = ctx.conv2d(ctx.input(x), self.patch_embed, None, "patch_embed")
        h, w, dim = ctx.shape(x)
        x = ctx.reshape(x, (h * w, dim))
        pos = self.pos
        if self.cls is not None:  # concat(cls, x) + pos == pad(x, one zero token before) + (pos + cls in row 0)
            x = ctx.pad(x, ((1, 0), (0, 0)))
            pos = pos + F.pad(self.cls.unsqueeze(0), (0, 0, 0, self.tokens - 1))
        x = ctx.add(x, ctx.constant(pos, "pos_embed"), "pos_add")
        for block in self.blocks:
            x = block.trace(ctx, x)
        x = ctx.layer_norm(x, self.norm, "norm")
        if self.cls is not None:
            x = ctx.reshape(ctx.slice(x, (0, 0), (1, dim)), (dim,))
        else:
            x = ctx.mean(x, (0,), "pool")
        return ctx.linear(x, self.head, "head")


class ConvNet(Model):
    """TinyFormer's DoT backbones (Downsample, MobileNetV2 and Transformer blocks) and, without
    transformer blocks, the CNN baseline; then average or SeqPool pooling and a linear head."""

    def __init__(self, cfg: ConvNetConfig):
        super().__init__()
        self.cfg = cfg
        self.stem = ConvBN(cfg.channels, cfg.stem, 3)
        blocks, cin = [], cfg.stem
        for spec in cfg.blocks:
            block = {Down: Downsample, MBConv: InvertedResidual, Transformer: TransformerStage}[type(spec)](cin, spec)
            blocks.append(block)
            cin = spec.out
        self.blocks = nn.ModuleList(blocks)
        self.pool_score = nn.Linear(cin, 1) if cfg.pool == "seqpool" else None
        self.head = nn.Linear(cin, cfg.num_classes)
        self._name_modules()

    def trace(self, ctx, x):
        x = self.stem.trace(ctx, ctx.input(x))
        for block in self.blocks:
            x = block.trace(ctx, x)
        h, w, c = ctx.shape(x)
        if self.pool_score is None:
            x = ctx.mean(x, (0, 1), "pool")
        else:  # SeqPool: softmax over tokens of a learned score, then the score-weighted token sum
            tokens = ctx.reshape(x, (h * w, c))
            score = ctx.reshape(ctx.linear(tokens, self.pool_score, "pool_score"), (1, h * w))
            x = ctx.reshape(ctx.matmul(ctx.softmax(score, "pool_softmax"), tokens, "pool"), (c,))
        return ctx.linear(x, self.head, "head")


def build(cfg) -> Model:
    """The torch model of a config (models.zoo), freshly initialized."""
    model = ViT(cfg) if isinstance(cfg, ViTConfig) else ConvNet(cfg)
    init_weights(model)
    return model


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def init_weights(model: nn.Module) -> None:
    """Truncated-normal linear weights (std 0.02) and zero biases, as timm's ViTs; convs keep torch's."""
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
