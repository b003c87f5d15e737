"""Search spaces as data: what a candidate architecture may choose, and the genetic operators over it.

    space = get("mcuformer")                    # a frozen dataclass: its choices, its supernet's fixed part
    arch = space.sample(rng)                    # a frozen Arch: {gene: value}, per-layer genes as tuples
    child = space.mutate(arch, rng); space.crossover(a, b, rng)
    space.config(arch)                          # the models.zoo config the candidate is built from
    arch_hash(space, arch)                      # the cache and journal key

A space lists its genes: a gene is global (one value, e.g. the embedding width) or per layer (one
value per block, as AutoFormer's MLP ratio and head count), and a `depth` gene, listed before the
per-layer ones, says how many layers a candidate has. An Arch holds a per-layer gene as a tuple of
exactly `depth` values; the genetic operators keep it so (MCUFormer's evolution.py: mutation redraws
each global gene, the depth too, with probability `s_prob`, each layer's value with `m_prob`, new
layers drawn at random; crossover takes each gene, and each layer of a per-layer gene, from either
parent). Choices are listed growing, so that a space's last choices make its largest candidate: the
supernet (nas/supernet.py).

The spaces, for 28 x 28 images (Fashion-MNIST):
- mcuformer (MCUFormer's released code and article): AutoFormer's subnet choices -- embedding dim,
  depth, per-layer MLP ratio and heads, QKV dim -- inside a supernet whose low-rank ratio and token
  number (patch size) are fixed; MCUFormer evolves those two between supernets
  (nas/space_evolution.py). 49 tokens at patch 4, 16 at patch 7; the widest candidate comes within
  2 KB of an STM32F746's 1 MB of flash.
- tinyformer (TinyFormer's SparseNAS): single-path choices inside DoT choice blocks, and a sparsity
  and block size per block; SuperNAS picks the supernet's structure (nas/supernas.py).
- mcunetv2 (MCUNetV2's joint search): a MobileNetV2 backbone and its patch-based schedule.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

import numpy as np

from mcusim.errors import UsageError
from mcusim.models.deploy import MemoryOptions
from mcusim.models.zoo import ConvNetConfig, Down, MBConv, Transformer, ViTConfig


@dataclass(frozen=True)
class Gene:
    name: str
    choices: tuple
    per_layer: bool = False


class Arch(dict):
    """A candidate: gene name -> value (a tuple of `depth` values for a per-layer gene). Hashable and
    read-only, so it can key caches."""

    def __hash__(self):
        return hash(tuple(sorted(self.items())))

    def _readonly(self, *args, **kwargs):
        raise TypeError("an Arch is read-only; make a new one")

    __setitem__ = __delitem__ = update = pop = popitem = clear = setdefault = _readonly

    def to_json(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.items()}


def arch_hash(space, arch: Arch) -> str:
    """12 hex digits of SHA-256 over the space (its name and fixed part) and the architecture."""
    text = json.dumps({"space": space.to_json(), "arch": arch.to_json()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Space:
    """The genetic machinery shared by the spaces; a space adds its genes and config()."""

    name = ""
    schedule_genes = ()  # genes that change how a candidate runs, never what it computes

    @property
    def genes(self) -> tuple[Gene, ...]:
        raise NotImplementedError

    def gene(self, name: str) -> Gene:
        return next(g for g in self.genes if g.name == name)

    def sample(self, rng: np.random.Generator) -> Arch:
        return self._each(lambda g, layer: _pick(g.choices, rng))

    def largest(self) -> Arch:
        """Every gene at its last choice: the supernet's own model, which holds every parameter of
        every candidate at its largest shape (choices are listed so: growing, the categorical ones
        with the choice that has the most parameters last)."""
        return self._each(lambda g, layer: g.choices[-1])

    def smallest(self) -> Arch:
        return self._each(lambda g, layer: g.choices[0])

    def mutate(self, arch: Arch, rng: np.random.Generator, m_prob: float = 0.2, s_prob: float = 0.4) -> Arch:
        def value(g: Gene, layer: int | None):
            old = arch[g.name] if layer is None else arch[g.name][layer] if layer < len(arch[g.name]) else None
            keep = rng.random() >= (s_prob if layer is None else m_prob)
            return old if keep and old is not None else _pick(g.choices, rng)

        return self._each(value)

    def crossover(self, a: Arch, b: Arch, rng: np.random.Generator) -> Arch:
        def value(g: Gene, layer: int | None):
            options = [p[g.name] if layer is None else p[g.name][layer] for p in (a, b)
                       if layer is None or layer < len(p[g.name])]
            return options[rng.integers(len(options))]

        return self._each(value)

    def _each(self, value) -> Arch:
        """An Arch of value(gene, None) per global gene and value(gene, i) per layer i of a per-layer
        gene; genes in the space's order, `depth` before the per-layer genes."""
        values: dict = {}
        for g in self.genes:
            values[g.name] = tuple(value(g, i) for i in range(values["depth"])) if g.per_layer else value(g, None)
        return Arch(values)

    def check(self, arch) -> Arch:
        """arch (e.g. read from JSON) as an Arch of this space; a UsageError names what is wrong."""
        names = {g.name for g in self.genes}
        if set(arch) != names:
            raise UsageError(f"architecture {dict(arch)}: the {self.name} space has genes {', '.join(sorted(names))}")
        values = {}
        for g in self.genes:
            value = tuple(arch[g.name]) if g.per_layer else arch[g.name]
            layers = value if g.per_layer else (value,)
            if (g.per_layer and len(layers) != arch["depth"]) or any(v not in g.choices for v in layers):
                raise UsageError(f"architecture gene {g.name}={arch[g.name]!r}: choose from {list(g.choices)}"
                                 + (f", one per layer ({arch['depth']})" if g.per_layer else ""))
            values[g.name] = value
        return Arch(values)

    def formulas(self, arch: Arch) -> dict[str, int]:
        """Analytic peak-memory estimates (bytes) the space's own literature scores candidates with
        (none but the generic ones nas/evaluate.py records, unless the space overrides this)."""
        return {}

    def memory_options(self, arch: Arch, base: MemoryOptions) -> MemoryOptions:
        """How the candidate is deployed: the search's memory options, and the candidate's own
        schedule where the space searches one (MCUNetV2)."""
        return base

    def pruning(self, arch: Arch, layers) -> dict:
        """The candidate's block pruning (models/prune.py PruningConfig over its prunable `layers`):
        none unless the space searches sparsity (TinyFormer's SparseNAS)."""
        return {}

    def to_json(self) -> dict:
        return {"name": self.name, **json.loads(json.dumps(dataclasses.asdict(self)))}


def _pick(choices: tuple, rng: np.random.Generator):
    return choices[rng.integers(len(choices))]


@dataclass(frozen=True)
class MCUFormerSpace(Space):
    """AutoFormer's elastic ViT inside one MCUFormer supernet: patch (token number) and rank_ratio
    (low-rank MLP factorization, rank = round(ratio * dim); 1.0 = full rank) are the supernet's."""

    name = "mcuformer"
    patch: int = 4
    rank_ratio: float = 0.5
    dims: tuple[int, ...] = (48, 64, 96, 128)
    depths: tuple[int, ...] = (3, 4, 5, 6)
    mlp_ratios: tuple[float, ...] = (2.0, 3.0, 4.0)
    head_counts: tuple[int, ...] = (2, 4)
    qkv_dims: tuple[int, ...] = (64, 96, 128)
    image_size: int = 28
    channels: int = 1
    num_classes: int = 10
    description = ("MCUFormer: AutoFormer's elastic ViT (embed dim, depth, per-layer MLP ratio and heads, QKV dim) "
                   "in a supernet of fixed low-rank ratio and patch size")

    def __post_init__(self):
        if self.image_size % self.patch:
            raise ValueError(f"patch {self.patch} does not divide the image size {self.image_size}")
        if not 0 < self.rank_ratio <= 1:
            raise ValueError(f"rank ratio {self.rank_ratio} is outside (0, 1]")
        if any(q % h for q in self.qkv_dims for h in self.head_counts):
            raise ValueError("every QKV dim must be a multiple of every head count")

    @property
    def genes(self) -> tuple[Gene, ...]:
        return (Gene("dim", self.dims), Gene("depth", self.depths), Gene("mlp_ratio", self.mlp_ratios, True),
                Gene("heads", self.head_counts, True), Gene("qkv_dim", self.qkv_dims))

    @property
    def tokens(self) -> int:
        return (self.image_size // self.patch) ** 2

    def rank(self, dim: int) -> int | None:
        return None if self.rank_ratio >= 1 else max(1, round(self.rank_ratio * dim))

    def formulas(self, arch: Arch) -> dict[str, int]:
        """MCUFormer's released estimate of a candidate's peak memory (bytes, int8), D*((N+1)(1+mlp) +
        D*mlp*r): the token activations of the widest MLP and its low-rank weights, without the
        attention maps, and with a class token whether or not the model has one."""
        d, n, mlp = arch["dim"], self.tokens, max(arch["mlp_ratio"])
        return {"mcuformer": round(d * ((n + 1) * (1 + mlp) + d * mlp * self.rank_ratio))}

    def config(self, arch: Arch) -> ViTConfig:
        return ViTConfig(image_size=self.image_size, channels=self.channels, patch=self.patch, dim=arch["dim"],
                         depth=arch["depth"], heads=arch["heads"], qkv_dim=arch["qkv_dim"],
                         mlp_ratio=arch["mlp_ratio"], rank=self.rank(arch["dim"]), pool="mean", activation="gelu",
                         num_classes=self.num_classes)


@dataclass(frozen=True)
class TinyFormerSpace(Space):
    """TinyFormer's single-path supernet of DoT choice blocks: each DoT is a Downsample block, MobileNetV2
    blocks and optionally a Transformer block, all at the DoT's width; the supernet fixes how many
    MobileNetV2 blocks each DoT has and which DoTs end in a transformer (SuperNAS's choice), a
    candidate chooses inside every block (SPOS): the downsampling, the widths, each MobileNetV2 block's
    expansion, each transformer's token dim, heads and encoder depth, and the pooling."""

    name = "tinyformer"
    mbconvs: tuple[int, ...] = (2, 2)
    transformers: tuple[bool, ...] = (False, True)
    stems: tuple[int, ...] = (8, 12, 16)
    widths: tuple[tuple[int, ...], ...] = ((16, 24, 32), (32, 48, 64))
    expansions: tuple[int, ...] = (2, 3, 4)
    token_dims: tuple[int, ...] = (32, 48, 64)
    head_counts: tuple[int, ...] = (1, 2)
    encoder_depths: tuple[int, ...] = (1, 2)
    sparsities: tuple[float, ...] = (0.0, 0.3, 0.5, 0.7)  # per choice block (SparseNAS); (0.0,): dense
    block_sizes: tuple[int, ...] = (2, 4)
    image_size: int = 28
    channels: int = 1
    num_classes: int = 10
    description = ("TinyFormer: SPOS over DoT choice blocks (Downsample, MobileNetV2, Transformer) in a supernet of "
                   "fixed block counts, with SparseNAS's sparsity and block size per block")

    def __post_init__(self):
        if not len(self.mbconvs) == len(self.transformers) == len(self.widths):
            raise ValueError("mbconvs, transformers and widths need one entry per DoT")
        if any(d % h for d in self.token_dims for h in self.head_counts):
            raise ValueError("every token dim must be a multiple of every head count")

    @property
    def genes(self) -> tuple[Gene, ...]:
        genes = [Gene("stem", self.stems)]
        for k, (blocks, transformer, widths) in enumerate(zip(self.mbconvs, self.transformers, self.widths)):
            genes += [Gene(f"down{k}", ("strided", "conv-maxpool")), Gene(f"width{k}", widths)]
            genes += [Gene(f"expansion{k}.{j}", self.expansions) for j in range(blocks)]
            if transformer:
                genes += [Gene(f"tokens{k}", self.token_dims), Gene(f"heads{k}", self.head_counts),
                          Gene(f"encoders{k}", self.encoder_depths)]
        if len(self.sparsities) > 1:
            for i in range(sum(self.mbconvs) + len(self.mbconvs) + sum(self.transformers)):
                genes += [Gene(f"sparsity{i}", self.sparsities), Gene(f"block{i}", self.block_sizes)]
        return (*genes, Gene("pool", ("avg", "seqpool")))

    def memory_options(self, arch: Arch, base: MemoryOptions) -> MemoryOptions:
        """SparseNAS searches sparsity for flash: every filter whose stream is smaller is stored
        sparse (sparse-flash), faster than dense or not."""
        return dataclasses.replace(base, sparse_for_flash=True)

    def pruning(self, arch: Arch, layers) -> dict:
        """SparseNAS's configuration of a candidate: each choice block's prunable layers (models/prune.py
        `prunable_layers` of its model) at the block's sparsity and block size."""
        from mcusim.models.prune import LayerPruning

        config = {}
        for name in layers:
            if name.startswith("blocks.") and f"sparsity{name.split('.')[1]}" in arch:
                i = name.split(".")[1]
                if arch[f"sparsity{i}"] > 0:
                    config[name] = LayerPruning(arch[f"sparsity{i}"], arch[f"block{i}"])
        return config

    def config(self, arch: Arch) -> ConvNetConfig:
        blocks = []
        for k, (count, transformer) in enumerate(zip(self.mbconvs, self.transformers)):
            width = arch[f"width{k}"]
            blocks.append(Down(width, arch[f"down{k}"]))
            blocks += [MBConv(width, arch[f"expansion{k}.{j}"], 1) for j in range(count)]
            if transformer:
                blocks.append(Transformer(width, dim=arch[f"tokens{k}"], heads=arch[f"heads{k}"],
                                          depth=arch[f"encoders{k}"]))
        return ConvNetConfig("tinyformer", self.image_size, self.channels, arch["stem"], tuple(blocks), arch["pool"],
                             self.num_classes)


@dataclass(frozen=True)
class MCUNetV2Space(Space):
    """MCUNetV2's joint search of a MobileNetV2 backbone and its inference schedule: the input
    resolution, stem and stage widths, each block's expansion, and the schedule -- `patches` x
    `patches` patch-based inference of the first `patch_blocks` blocks (after the stem), or layer by
    layer (1). The schedule changes memory and cycles, never the result (bit-exact), so candidates
    that differ only in it share one accuracy."""

    name = "mcunetv2"
    resolutions: tuple[int, ...] = (24, 28, 32)
    stems: tuple[int, ...] = (8, 16)
    strides: tuple[int, ...] = (2, 2, 1)          # one stage each, fixed by the supernet
    blocks: tuple[int, ...] = (2, 2, 2)
    widths: tuple[tuple[int, ...], ...] = ((16, 24), (24, 32, 40), (40, 48, 64))
    expansions: tuple[int, ...] = (3, 4, 6)
    patch_counts: tuple[int, ...] = (1, 2, 3)
    patch_blocks: tuple[int, ...] = (1, 2, 3)
    image_size: int = 28  # the dataset's: a candidate's images are resized from it, once, to its resolution
    channels: int = 1
    num_classes: int = 10
    description = "MCUNetV2: a MobileNetV2 backbone (resolution, widths, expansions) and its patch-based schedule"
    schedule_genes = ("patches", "patch_blocks")

    def __post_init__(self):
        if not len(self.strides) == len(self.blocks) == len(self.widths):
            raise ValueError("strides, blocks and widths need one entry per stage")

    @property
    def genes(self) -> tuple[Gene, ...]:
        genes = [Gene("resolution", self.resolutions), Gene("stem", self.stems)]
        for k, (count, widths) in enumerate(zip(self.blocks, self.widths)):
            genes += [Gene(f"width{k}", widths)] + [Gene(f"expansion{k}.{j}", self.expansions) for j in range(count)]
        return (*genes, Gene("patches", self.patch_counts), Gene("patch_blocks", self.patch_blocks))

    def config(self, arch: Arch) -> ConvNetConfig:
        blocks = []
        for k, (stride, count) in enumerate(zip(self.strides, self.blocks)):
            blocks += [MBConv(arch[f"width{k}"], arch[f"expansion{k}.{j}"], stride if j == 0 else 1)
                       for j in range(count)]
        return ConvNetConfig("cnn", arch["resolution"], self.channels, arch["stem"], tuple(blocks), "avg",
                             self.num_classes)

    def memory_options(self, arch: Arch, base: MemoryOptions) -> MemoryOptions:
        """The candidate's schedule over `base`: its patch stage ends at block patch_blocks - 1."""
        if arch["patches"] == 1:
            return dataclasses.replace(base, patches=0, patch_stage=None)
        return dataclasses.replace(base, patches=arch["patches"],
                                   patch_stage=_block_output(self.config(arch), arch["patch_blocks"] - 1))


def _block_output(cfg: ConvNetConfig, i: int) -> str:
    """The tensor a ConvNet's block i ends at (models/nn.py names: its residual add, else its last conv)."""
    spec, cin = cfg.blocks[i], (cfg.stem if i == 0 else cfg.blocks[i - 1].out)
    return f"blocks.{i}.add" if spec.stride == 1 and cin == spec.out else f"blocks.{i}.project"


SPACES = {space.name: space for space in (MCUFormerSpace(), TinyFormerSpace(), MCUNetV2Space())}


def get(name: str) -> Space:
    try:
        return SPACES[name]
    except KeyError:
        raise UsageError(f"unknown search space {name!r}; known: {', '.join(SPACES)}") from None


def from_json(data: dict) -> Space:
    """The space a to_json() record describes (a journal's or supernet checkpoint's)."""
    data = dict(data)
    cls = type(get(data.pop("name")))
    return cls(**{k: _tuples(v) for k, v in data.items()})


def _tuples(value):
    return tuple(map(_tuples, value)) if isinstance(value, list) else value
