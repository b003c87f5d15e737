"""The registry of named model configs (like timm's model registry), and the configs themselves as
frozen dataclasses. torch-free: listing models needs no torch.

    entry = get("vit-fmnist")       # ModelEntry: name, config, dataset, checkpoint path or None
    names()                         # registered names, in registration order

A config fixes an architecture; models/nn.py builds it (nn.build(config)). Shipped checkpoints live
in models/checkpoints/<name>.npz, made by `mcusim train` (the command is in the file's metadata).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from mcusim.errors import UsageError

CHECKPOINTS = Path(__file__).parent / "checkpoints"


@dataclass(frozen=True)
class ViTConfig:
    """A ViT in MCUFormer's search space. tokens = (image_size // patch)^2 (+1 with pool 'cls');
    rank: MCUFormer's low-rank factorization of the MLP's linear layers (None: full rank). heads and
    mlp_ratio are one value for every block, or a tuple of one per block (AutoFormer's subnets)."""

    image_size: int = 28
    channels: int = 1
    patch: int = 4
    dim: int = 64
    depth: int = 4
    heads: int | tuple[int, ...] = 4
    qkv_dim: int = 64
    mlp_ratio: float | tuple[float, ...] = 2.0
    rank: int | None = None
    pool: str = "mean"          # 'mean' over tokens, or 'cls' (class token)
    activation: str = "gelu"    # MLP activation: 'gelu' or 'relu'
    num_classes: int = 10
    family = "vit"

    def __post_init__(self):
        if self.image_size % self.patch:
            raise ValueError(f"image size {self.image_size} is not a multiple of the patch size {self.patch}")
        if self.pool not in ("mean", "cls") or self.activation not in ("gelu", "relu"):
            raise ValueError("pool must be 'mean' or 'cls' and activation 'gelu' or 'relu'")
        for name in ("heads", "mlp_ratio"):
            value = getattr(self, name)
            if isinstance(value, (tuple, list)) and len(value) != self.depth:
                raise ValueError(f"{name} has {len(value)} values for {self.depth} blocks")

    def block(self, i: int) -> tuple[int, int]:
        """(heads, MLP hidden width) of block i."""
        heads, ratio = (v[i] if isinstance(v, (tuple, list)) else v for v in (self.heads, self.mlp_ratio))
        return heads, round(self.dim * ratio)


@dataclass(frozen=True)
class Down:
    """TinyFormer's Downsample block: 'conv-maxpool' (3x3 conv + 2x2 max pool) or 'strided' (3x3/2 conv)."""

    out: int
    kind: str = "conv-maxpool"


@dataclass(frozen=True)
class MBConv:
    """MobileNetV2's inverted residual block."""

    out: int
    expansion: int = 4
    stride: int = 1


@dataclass(frozen=True)
class Transformer:
    """TinyFormer's transformer block: convs to `dim` tokens, `depth` ReLU encoder layers, conv to `out`."""

    out: int
    dim: int = 64
    heads: int = 2
    depth: int = 1
    mlp_ratio: float = 2.0


BLOCKS = {"down": Down, "mbconv": MBConv, "transformer": Transformer}


@dataclass(frozen=True)
class ConvNetConfig:
    """TinyFormer (family 'tinyformer') or the CNN baseline ('cnn', no Transformer blocks): a 3x3 stem,
    the blocks in order, then 'avg' or 'seqpool' pooling and a linear head."""

    family: str = "tinyformer"
    image_size: int = 28
    channels: int = 1
    stem: int = 16
    blocks: tuple = ()
    pool: str = "avg"
    num_classes: int = 10

    def __post_init__(self):
        if self.family not in ("tinyformer", "cnn") or self.pool not in ("avg", "seqpool"):
            raise ValueError("family must be 'tinyformer' or 'cnn' and pool 'avg' or 'seqpool'")
        if self.family == "cnn" and any(isinstance(b, Transformer) for b in self.blocks):
            raise ValueError("the cnn family has no Transformer blocks")


def config_dict(cfg) -> dict:
    """A config as plain JSON data (blocks tagged with their kind), e.g. for checkpoint metadata."""
    data = dataclasses.asdict(cfg)
    if isinstance(cfg, ConvNetConfig):
        kinds = {v: k for k, v in BLOCKS.items()}
        data["blocks"] = [{"block": kinds[type(b)], **dataclasses.asdict(b)} for b in cfg.blocks]
    return data


@dataclass(frozen=True)
class ModelEntry:
    """pruned_from: the registered model whose checkpoint this one's was pruned from (`mcusim prune`);
    its checkpoint names that model."""

    name: str
    config: ViTConfig | ConvNetConfig
    dataset: str
    description: str
    pruned_from: str | None = None

    @property
    def checkpoint(self) -> Path | None:
        path = CHECKPOINTS / f"{self.name}.npz"
        return path if path.exists() else None

    @property
    def graph(self) -> Path | None:
        """The shipped int8 graph: `mcusim export` of the shipped checkpoint (`make graphs`)."""
        path = CHECKPOINTS / f"{self.name}.graph"
        return path if path.exists() else None


_REGISTRY: dict[str, ModelEntry] = {}


def register(name: str, config, dataset: str, description: str, pruned_from: str | None = None) -> None:
    if name in _REGISTRY:
        raise ValueError(f"model {name!r} is registered twice")
    _REGISTRY[name] = ModelEntry(name, config, dataset, description, pruned_from)


def names() -> list[str]:
    return list(_REGISTRY)


def get(name: str) -> ModelEntry:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UsageError(f"unknown model {name!r}; registered: {', '.join(_REGISTRY)}") from None


register("vit-fmnist", ViTConfig(), "fashion-mnist",
         "ViT, 4x4 patches (49 tokens), dim 64, 4 blocks of 4 heads, GELU MLP x2, mean pooling")
register("vit-fmnist-lowrank", ViTConfig(patch=7, dim=96, depth=3, heads=4, qkv_dim=64, rank=32, pool="cls",
                                         activation="relu"), "fashion-mnist",
         "ViT, 7x7 patches (16 tokens + class token), dim 96, 3 blocks, ReLU MLP of rank 32")
TINYFORMER = ConvNetConfig("tinyformer", stem=16, blocks=(
    Down(24), MBConv(32, 4, 2), MBConv(32, 4, 1), Transformer(96, dim=64, heads=2, depth=2)), pool="seqpool")
register("tinyformer-fmnist", TINYFORMER, "fashion-mnist",
         "TinyFormer: stem, Downsample, 2 MobileNetV2 blocks, a 2-layer transformer at 7x7, SeqPool")
register("tinyformer-fmnist-sparse", TINYFORMER, "fashion-mnist",
         "tinyformer-fmnist block-pruned to 70 % (blocks of 4, AGP) and fine-tuned", pruned_from="tinyformer-fmnist")
register("cnn-fmnist", ConvNetConfig("cnn", stem=16, blocks=(
    MBConv(24, 4, 2), MBConv(24, 4, 1), MBConv(40, 4, 2), MBConv(40, 4, 1), MBConv(64, 4, 1))), "fashion-mnist",
    "MobileNetV2-like CNN: stem, 5 inverted residual blocks, average pooling")
register("vit-digits", ViTConfig(image_size=8, patch=2, dim=32, depth=2, heads=2, qkv_dim=32, pool="cls"), "digits",
         "a small ViT for scikit-learn's 8x8 digits: 2x2 patches, dim 32, 2 blocks, class token")
