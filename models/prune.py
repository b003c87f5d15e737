"""Block pruning of the registered models (TinyFormer's SparseNAS): magnitude pruning of whole blocks
of weights, one-shot or by automated gradual pruning (AGP), with fine-tuning at the mask.

    model = nn.build(zoo.get("vit-digits").config)
    config = pruning_config(model, 0.5, block=4, overrides={"head.weight": LayerPruning(0.0)})
    meta = prune("vit-digits", "digits", "pruned.npz", config, options=PruneOptions(schedule="agp"))
    block_sparsity(load_checkpoint("pruned.npz")[0], config)   # {name: LayerSparsity}

Block geometry (a fixed contract with the deployment's block encoding, models/sparse.py):

    nn.Linear weight [O, K]                        blocks of `block` consecutive inputs (along K) of one
                                                   output row; needs K % block == 0
    nn.Conv2d, groups 1, weight [O, C, KH, KW]     blocks of `block` consecutive input channels (along
                                                   C) at one (o, kh, kw); needs C % block == 0
    depthwise nn.Conv2d (groups = in channels),    one block per kernel row: the KW values at one
    weight [C*M, 1, KH, KW]                        (channel, kh), whatever block size is asked for

A layer whose blocked dimension is not a multiple of its block is left dense. Biases, norms and
embeddings are never pruned. A layer is named by its weight's parameter name (`blocks.0.attn.q.weight`,
the checkpoint's `param/<name>`).

Criterion: a block's score is the sum of |w| over its values; at sparsity s the round(s * n_blocks)
lowest-scoring blocks are zeroed (Python's round, half to even; ties: the block earlier in row-major
order over [O, K], [O, KH, KW, C] or [C*M, KH, KW] goes first). Sparsity is measured as the fraction
of all-zero blocks (block_sparsity). Zeros quantize to int8 zeros, so `mcusim export` of a pruned
checkpoint keeps every block at zero.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from mcusim.errors import UsageError

from . import zoo
from .train import (TrainOptions, accuracy, learning_rate, load_checkpoint, load_data, mirrors, save_checkpoint,
                    train_epoch)

BLOCK_SIZES = (2, 4)
SCHEDULES = ("oneshot", "agp")
AGP_SPAN = 2 / 3  # AGP prunes over this fraction of the fine-tuning steps, then fine-tunes at the final mask


@dataclass(frozen=True)
class LayerPruning:
    """One layer's target: the fraction of its blocks zeroed, in [0, 1), and the block size (2 or 4;
    a depthwise conv's block is its kernel width whatever is asked)."""

    sparsity: float = 0.0
    block: int = 4

    def __post_init__(self):
        if not 0.0 <= self.sparsity < 1.0:
            raise ValueError(f"sparsity {self.sparsity} is outside [0, 1)")
        if self.block not in BLOCK_SIZES:
            raise ValueError(f"block size {self.block} is not one of {', '.join(map(str, BLOCK_SIZES))}")


PruningConfig = Mapping[str, LayerPruning]  # weight parameter name -> its target; absent layers stay dense


@dataclass(frozen=True)
class Layer:
    """A prunable weight: parameter name, kind ('linear', 'conv' or 'depthwise') and torch shape."""

    name: str
    kind: str
    shape: tuple[int, ...]

    def block(self, requested: int) -> int | None:
        """The block size the layer is pruned with; None when its blocked dimension is not a multiple
        of it (the layer stays dense)."""
        if self.kind == "depthwise":
            return self.shape[3]
        return requested if self.shape[1] % requested == 0 else None

    @property
    def order(self) -> tuple[int, ...]:
        """The axis permutation after which every block is `block` consecutive values of the flattened
        weight: conv [O, C, KH, KW] -> [O, KH, KW, C]; linear [O, K] and depthwise [C*M, 1, KH, KW]
        are already so."""
        return (0, 2, 3, 1) if self.kind == "conv" else tuple(range(len(self.shape)))


def prunable_layers(model: nn.Module) -> dict[str, Layer]:
    """Every nn.Linear and nn.Conv2d weight (plain or depthwise) of the model, in module order."""
    layers = {}
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            kind = "linear"
        elif isinstance(module, nn.Conv2d) and module.groups == 1:
            kind = "conv"
        elif isinstance(module, nn.Conv2d) and module.groups == module.in_channels:
            kind = "depthwise"
        else:
            continue
        weight = f"{name}.weight" if name else "weight"
        layers[weight] = Layer(weight, kind, tuple(module.weight.shape))
    return layers


def pruning_config(model: nn.Module, sparsity: float, block: int = 4,
                   overrides: Mapping[str, LayerPruning] | None = None) -> dict[str, LayerPruning]:
    """Every prunable layer of the model at (sparsity, block), except those in `overrides`. An
    override naming no prunable layer is a UsageError."""
    layers, overrides = prunable_layers(model), overrides or {}
    check_layers(layers, overrides)
    default = LayerPruning(sparsity, block)
    return {name: overrides.get(name, default) for name in layers}


def check_layers(layers: Mapping[str, Layer], names: Iterable[str]) -> None:
    """A UsageError naming the first of `names` that is no prunable layer."""
    unknown = [name for name in names if name not in layers]
    if unknown:
        raise UsageError(f"unknown layer {unknown[0]!r}; the prunable layers are {', '.join(layers)}")


def blocks(w: torch.Tensor, layer: Layer, block: int) -> torch.Tensor:
    """The weight's blocks [n_blocks, block], in layout order."""
    return w.permute(layer.order).reshape(-1, block)


def block_mask(w: torch.Tensor, layer: Layer, block: int, sparsity: float) -> torch.Tensor:
    """A 0/1 mask of w's shape zeroing the round(sparsity * n_blocks) blocks of least L1 norm."""
    scores = blocks(w.detach(), layer, block).abs().sum(1)
    keep = torch.ones_like(scores)
    keep[torch.sort(scores, stable=True).indices[:round(sparsity * len(scores))]] = 0
    permuted = [w.shape[axis] for axis in layer.order]
    inverse = torch.argsort(torch.tensor(layer.order)).tolist()
    return keep.repeat_interleave(block).reshape(permuted).permute(inverse).contiguous()


def compute_masks(model: nn.Module, config: PruningConfig, fraction: float = 1.0) -> dict[str, torch.Tensor]:
    """The block masks of the config's layers at `fraction` of their target sparsities, by magnitude of
    the current weights; layers left dense get none."""
    layers, params = prunable_layers(model), dict(model.named_parameters())
    masks = {}
    for name, target in config.items():
        block = layers[name].block(target.block)
        if block is not None:
            masks[name] = block_mask(params[name], layers[name], block, target.sparsity * fraction)
    return masks


def apply_masks(model: nn.Module, masks: Mapping[str, torch.Tensor]) -> None:
    """Zero the masked weights in place."""
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, mask in masks.items():
            params[name].mul_(mask)


@dataclass(frozen=True)
class LayerSparsity:
    """A layer's measured block sparsity; block None: left dense (its dimension is not a multiple)."""

    name: str
    kind: str
    shape: tuple[int, ...]
    block: int | None
    blocks: int
    zero_blocks: int

    @property
    def sparsity(self) -> float:
        return self.zero_blocks / self.blocks if self.blocks else 0.0


def block_sparsity(model: nn.Module, config: PruningConfig) -> dict[str, LayerSparsity]:
    """The fraction of all-zero blocks of each layer of the config, in its block geometry."""
    layers, params = prunable_layers(model), dict(model.named_parameters())
    result = {}
    for name, target in config.items():
        layer = layers[name]
        block = layer.block(target.block)
        zero = total = 0
        if block is not None:
            grid = blocks(params[name].detach(), layer, block)
            zero, total = int((grid == 0).all(1).sum()), len(grid)
        result[name] = LayerSparsity(name, layer.kind, layer.shape, block, total, zero)
    return result


def agp_sparsity(t: float, n: float, final: float, initial: float = 0.0) -> float:
    """Zhu & Gupta's automated gradual pruning: s_t = s_f + (s_i - s_f) (1 - t/n)^3 for t in [0, n],
    s_f from n on."""
    return final + (initial - final) * (1.0 - min(t, n) / n) ** 3


def schedule_points(schedule: str, steps: int, updates: int = 10) -> dict[int, float]:
    """{step: fraction of each layer's target sparsity}: the masks are recomputed by magnitude before
    fine-tuning step `step` (0-based, of `steps`; `steps` itself: after the last one, as with no
    fine-tuning). oneshot: the target at step 0. agp: n = min(updates, span) points i = 1..n at step
    floor(i * span / n) with fraction agp_sparsity(i, n, 1), span = floor(2/3 steps); the last is the
    whole target (1.0 exactly)."""
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}; one of {', '.join(SCHEDULES)}")
    span = math.floor(AGP_SPAN * steps)
    if schedule == "oneshot" or span == 0:
        return {0: 1.0}
    n = min(updates, span)
    return {i * span // n: agp_sparsity(i, n, 1.0) for i in range(1, n + 1)}


@dataclass(frozen=True)
class PruneOptions:
    """Fine-tuning: AdamW at lr with cosine decay to zero (no warm-up), label smoothing and the
    training augmentation; `agp_updates` mask recomputations; `train_samples`: the first N training
    images only (None: all)."""

    schedule: str = "agp"
    epochs: int = 2
    lr: float = 2e-4
    batch_size: int = 128
    weight_decay: float = 0.05
    label_smoothing: float = 0.1
    seed: int = 0
    agp_updates: int = 10
    train_samples: int | None = None

    def __post_init__(self):
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; one of {', '.join(SCHEDULES)}")
        if self.epochs < 0 or self.batch_size < 1 or self.agp_updates < 1:
            raise ValueError("epochs must be >= 0, batch_size and agp_updates >= 1")
        if not self.lr > 0:
            raise ValueError(f"learning rate {self.lr} is not positive")


def prune(model: str, dataset: str, out: str | Path, config: PruningConfig, checkpoint: str | Path | None = None,
          options: PruneOptions = PruneOptions(), command: str = "", progress: bool = True) -> dict:
    """Prune the checkpoint of `model` (default: its shipped one) to `config`, fine-tune it on
    `dataset` by `options`, and write the finished checkpoint `out`; returns its metadata: that of
    models/train.py (history: one record per fine-tuning epoch) plus
    "pruning": {"schedule", "source", "source_accuracy", "accuracy", "layers": {name: {"sparsity", "block"}}}
    (measured fractions of zero blocks; block None: left dense)."""
    entry, out = zoo.get(model), Path(out)
    checkpoint = checkpoint or entry.checkpoint
    if checkpoint is None:
        raise UsageError(f"{model} has no shipped checkpoint; train one (mcusim train) and pass --checkpoint")
    if out.exists():
        raise UsageError(f"{out} exists; choose another path")
    if not out.parent.is_dir():
        raise UsageError(f"{out}: no such directory {out.parent}")
    net, source_meta = load_checkpoint(checkpoint)
    if source_meta["model"] != model:
        raise UsageError(f"{checkpoint} holds {source_meta['model']}, not {model}")
    check_layers(prunable_layers(net), config)
    (x_train, y_train), (x_test, y_test) = load_data(entry, dataset, options.train_samples)
    source_accuracy = accuracy(net, x_test, y_test)
    history = fine_tune(net, config, x_train, y_train, x_test, y_test, options, mirrors(dataset),
                         f"prune {model}", progress)
    final = history[-1]["test_accuracy"] if history else accuracy(net, x_test, y_test)
    layers = {name: {"sparsity": s.sparsity, "block": s.block} for name, s in block_sparsity(net, config).items()}
    meta = {"model": model, "dataset": dataset, "epoch": options.epochs, "options": dataclasses.asdict(options),
            "history": history, "command": command,
            "pruning": {"schedule": options.schedule, "source": str(checkpoint), "source_accuracy": source_accuracy,
                        "accuracy": final, "layers": layers}}
    try:
        save_checkpoint(out, net, meta, None)
    except OSError as e:
        raise UsageError(f"{out}: cannot write: {e.strerror}") from None
    return meta


def fine_tune(model: nn.Module, config: PruningConfig, x_train: torch.Tensor, y_train: torch.Tensor,
               x_test: torch.Tensor, y_test: torch.Tensor, options: PruneOptions, flip: bool, desc: str,
               progress: bool, backward=None) -> list[dict]:
    """Prune by the schedule while fine-tuning (the weights re-masked after every optimizer step);
    with no steps, prune to the target only. `backward`: train_epoch's, for a loss other than the
    cross-entropy (distillation). Returns one history record per epoch."""
    steps_per_epoch = math.ceil(len(x_train) / options.batch_size)
    total = options.epochs * steps_per_epoch
    points = schedule_points(options.schedule, total, options.agp_updates)
    rates = TrainOptions(epochs=options.epochs, lr=options.lr, warmup_epochs=0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=options.lr, weight_decay=options.weight_decay)
    masks: dict[str, torch.Tensor] = {}

    def update(step: int) -> None:
        nonlocal masks
        if step in points:
            masks = compute_masks(model, config, points[step])
            apply_masks(model, masks)

    history = [train_epoch(model, optimizer, x_train, y_train, x_test, y_test, epoch, options,
                           lambda step: learning_rate(rates, step, steps_per_epoch), flip=flip,
                           desc=f"{desc} epoch {epoch + 1}/{options.epochs}", progress=progress, before_step=update,
                           after_step=lambda: apply_masks(model, masks), backward=backward)
               for epoch in range(options.epochs)]
    update(total)
    model.eval()
    return history


def checkpoint_sparsity(path: str | Path) -> float:
    """The share of zero weights over the layers a checkpoint's pruning record lists (dense ones
    included); 0 for a checkpoint that was never pruned."""
    model, meta = load_checkpoint(path)
    names = list(meta.get("pruning", {}).get("layers", {}))
    if not names:
        return 0.0
    params = dict(model.named_parameters())
    return sum(int((params[n] == 0).sum()) for n in names) / sum(params[n].numel() for n in names)
