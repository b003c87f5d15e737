"""Search spaces as data: what a candidate architecture may choose, and the genetic operators over it.

    space = get("mcuformer")                    # a frozen dataclass: its choices, its supernet's fixed part
    arch = space.sample(rng)                    # a frozen Arch: {gene: value}, per-layer genes as tuples
    child = space.mutate(arch, rng); space.crossover(a, b, rng)
    space.config(arch)                          # the models.zoo config the candidate is built from
    arch_hash(space, arch)                      # the cache and journal key

A space lists its genes: a gene is global (one value, e.g. the embedding width) or per layer (one
value per block, as AutoFormer's MLP ratio and head count), and the `depth` gene says how many layers
a candidate has. An Arch holds a per-layer gene as a tuple of exactly `depth` values; the genetic
operators keep it so (MCUFormer's evolution.py: mutation redraws the depth and each global gene with
probability `s_prob`, each layer's value with `m_prob`, new layers drawn at random; crossover takes each
gene, and each layer of a per-layer gene, from either parent).

MCUFormer's space (its released code and article): AutoFormer's subnet choices -- embedding dim,
depth, per-layer MLP ratio and heads, QKV dim -- inside a supernet whose low-rank ratio and token
number (patch size) are fixed; MCUFormer evolves those two between supernets (nas/space_evolution.py
names the candidates). Sizes here are for 28 x 28 images (Fashion-MNIST): 49 tokens at patch 4, 16 at
patch 7; the widest candidates exceed an STM32F746's 1 MB of flash.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

import numpy as np

from mcusim.errors import UsageError
from mcusim.models.zoo import ViTConfig


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

    @property
    def genes(self) -> tuple[Gene, ...]:
        raise NotImplementedError

    def gene(self, name: str) -> Gene:
        return next(g for g in self.genes if g.name == name)

    def sample(self, rng: np.random.Generator) -> Arch:
        depth = _pick(self.gene("depth").choices, rng)
        return Arch({g.name: depth if g.name == "depth" else
                     tuple(_pick(g.choices, rng) for _ in range(depth)) if g.per_layer else _pick(g.choices, rng)
                     for g in self.genes})

    def mutate(self, arch: Arch, rng: np.random.Generator, m_prob: float = 0.2, s_prob: float = 0.4) -> Arch:
        depth = _pick(self.gene("depth").choices, rng) if rng.random() < s_prob else arch["depth"]
        child = {"depth": depth}
        for g in self.genes:
            if g.name == "depth":
                continue
            if g.per_layer:
                old = arch[g.name]
                child[g.name] = tuple(old[i] if i < len(old) and rng.random() >= m_prob else _pick(g.choices, rng)
                                      for i in range(depth))
            else:
                child[g.name] = _pick(g.choices, rng) if rng.random() < s_prob else arch[g.name]
        return Arch(child)

    def crossover(self, a: Arch, b: Arch, rng: np.random.Generator) -> Arch:
        child = {"depth": (a, b)[rng.integers(2)]["depth"]}
        for g in self.genes:
            if g.name == "depth":
                continue
            if g.per_layer:
                layers = []
                for i in range(child["depth"]):
                    options = [p[g.name][i] for p in (a, b) if i < len(p[g.name])]
                    layers.append(options[rng.integers(len(options))])
                child[g.name] = tuple(layers)
            else:
                child[g.name] = (a, b)[rng.integers(2)][g.name]
        return Arch(child)

    def check(self, arch) -> Arch:
        """arch (e.g. read from JSON) as an Arch of this space; a UsageError names what is wrong."""
        names = {g.name for g in self.genes}
        if set(arch) != names:
            raise UsageError(f"architecture {dict(arch)}: the {self.name} space has genes {', '.join(sorted(names))}")
        depth = arch["depth"]
        values = {}
        for g in self.genes:
            value = tuple(arch[g.name]) if g.per_layer else arch[g.name]
            layers = value if g.per_layer else (value,)
            if (g.per_layer and len(layers) != depth) or any(v not in g.choices for v in layers):
                raise UsageError(f"architecture gene {g.name}={arch[g.name]!r}: choose from {list(g.choices)}"
                                 + (f", one per layer ({depth})" if g.per_layer else ""))
            values[g.name] = value
        return Arch(values)

    def largest(self) -> Arch:
        """Every gene at its largest choice (the supernet's own shape)."""
        depth = max(self.gene("depth").choices)
        return Arch({g.name: depth if g.name == "depth" else (max(g.choices),) * depth if g.per_layer
                     else max(g.choices) for g in self.genes})

    def formulas(self, arch: Arch) -> dict[str, int]:
        """Analytic peak-memory estimates (bytes) the space's own literature scores candidates with."""
        raise NotImplementedError

    def to_json(self) -> dict:
        return {"name": self.name, **{k: list(v) if isinstance(v, tuple) else v
                                      for k, v in dataclasses.asdict(self).items()}}


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


SPACES = {space.name: space for space in (MCUFormerSpace(),)}


def get(name: str) -> Space:
    try:
        return SPACES[name]
    except KeyError:
        raise UsageError(f"unknown search space {name!r}; known: {', '.join(SPACES)}") from None


def from_json(data: dict) -> Space:
    """The space a to_json() record describes (a journal's or supernet checkpoint's)."""
    data = dict(data)
    cls = type(get(data.pop("name")))
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})
