"""Training of the registered models on the offline datasets, and their checkpoint files.

    train("vit-fmnist", "fashion-mnist", epochs=30, out="ckpt.npz")   # resumable: one file per run
    model, meta = load_checkpoint("ckpt.npz")

A checkpoint is one .npz (no pickle): `meta.json` (model name and config, epoch, history, the command
that made it, the optimizer's hyperparameters), `param/<name>` for every parameter and buffer, and
while the run is unfinished `optim/<index>/<field>` (AdamW's moments) so that it can resume exactly.
It is rewritten after every epoch (to a temporary file, then renamed: a kill loses at most the epoch
in progress).
"""
from __future__ import annotations

import dataclasses
import io
import json
import math
import os
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from mcusim.errors import EX_DATAERR, McusimError, UsageError
from mcusim.files import read_npz

from . import datasets, zoo
from .graph import read_json, short
from .nn import Model, build

FORMAT, VERSION = "mcusim-checkpoint", 1


class CheckpointError(McusimError):
    exit_code = EX_DATAERR


@dataclasses.dataclass(frozen=True)
class TrainOptions:
    epochs: int = 30
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 0.05
    warmup_epochs: int = 1
    label_smoothing: float = 0.1
    seed: int = 0


def images(entry: zoo.ModelEntry, x: np.ndarray) -> torch.Tensor:
    """Dataset images (uint8 NHWC) as the model's float input: resized to its image size, in [-1, 1]."""
    return config_images(entry.config, x, f"model {entry.name}")


def config_images(cfg, x: np.ndarray, what: str) -> torch.Tensor:
    """images() for any config with image_size and channels (`what` names it in the error)."""
    if x.shape[3] != cfg.channels:
        raise UsageError(f"{what} takes {cfg.channels}-channel images; the dataset has {x.shape[3]}")
    return torch.from_numpy(datasets.normalize(datasets.resize(x, cfg.image_size)))


def augment(x: torch.Tensor, generator: torch.Generator, flip: bool) -> torch.Tensor:
    """Random translation by up to 1/14 of the image side (2 pixels at 28; none below 14) per image,
    padding with black (-1 after normalization), and a random horizontal flip when `flip`."""
    b, h, w, _ = x.shape
    shift = h // 14
    padded = F.pad(x, (0, 0, shift, shift, shift, shift), value=-1.0)
    oy, ox = (torch.randint(0, 2 * shift + 1, (b,), generator=generator) for _ in range(2))
    rows = (oy[:, None] + torch.arange(h))[:, :, None]
    cols = (ox[:, None] + torch.arange(w))[:, None, :]
    x = padded[torch.arange(b)[:, None, None], rows, cols]
    if flip:
        mask = torch.rand(b, generator=generator) < 0.5
        x = torch.where(mask[:, None, None, None], x.flip(2), x)
    return x


def accuracy(model: torch.nn.Module, x: torch.Tensor, y, batch_size: int = 500) -> float:
    """Top-1 accuracy of the float model on images x (the model's input) and labels y (array or tensor),
    computed on the device the model's parameters are on."""
    y = torch.as_tensor(y)
    device = next(model.parameters()).device
    model.eval()
    with torch.no_grad():
        correct = sum(int((model(x[i:i + batch_size].to(device)).argmax(1).cpu() == y[i:i + batch_size]).sum())
                      for i in range(0, len(x), batch_size))
    return correct / len(x)


def training_device() -> torch.device:
    """Where training runs: the first CUDA GPU when there is one, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def learning_rate(options: TrainOptions, step: int, steps_per_epoch: int) -> float:
    """Linear warm-up, then cosine decay to zero at the last step."""
    warmup, total = options.warmup_epochs * steps_per_epoch, options.epochs * steps_per_epoch
    if step < warmup:
        return options.lr * (step + 1) / warmup
    return options.lr * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


def train(name: str, dataset: str, out: str | Path, options: TrainOptions = TrainOptions(), resume: bool = False,
          command: str = "", progress: bool = True) -> dict:
    """Train model `name` on `dataset`, writing the checkpoint `out` after every epoch; returns its
    metadata. With resume, continue the unfinished run in `out`."""
    entry, out = zoo.get(name), Path(out)
    if out.exists() and not resume:
        raise UsageError(f"{out} exists; pass --resume to continue that run, or choose another path")
    meta = {"model": name, "dataset": dataset, "epoch": 0, "options": dataclasses.asdict(options), "history": [],
            "command": command}
    if resume and out.exists():
        model, meta, optimizer_state = read_checkpoint(out)
        if meta["model"] != name or meta["dataset"] != dataset:
            raise UsageError(f"{out} is a run of {meta['model']} on {meta['dataset']}, not {name} on {dataset}")
        if optimizer_state is None:
            raise UsageError(f"{out} is a finished run ({meta['epoch']} epochs); nothing to resume")
        options = TrainOptions(**meta["options"])
    else:
        torch.manual_seed(options.seed)
        model, optimizer_state = build(entry.config), None
    model.to(training_device())
    optimizer = torch.optim.AdamW(model.parameters(), lr=options.lr, weight_decay=options.weight_decay)
    if optimizer_state is not None:
        optimizer.load_state_dict(optimizer_state)
    (x_train, y_train), (x_test, y_test) = load_data(entry, dataset)
    steps = math.ceil(len(x_train) / options.batch_size)
    for epoch in range(meta["epoch"], options.epochs):
        record = train_epoch(model, optimizer, x_train, y_train, x_test, y_test, epoch, options,
                             lambda step: learning_rate(options, step, steps), flip=mirrors(dataset),
                             desc=f"{name} epoch {epoch + 1}/{options.epochs}", progress=progress)
        meta["history"].append(record)
        meta["epoch"] = epoch + 1
        save_checkpoint(out, model, meta, optimizer if epoch + 1 < options.epochs else None)
    return meta


def load_data(entry: zoo.ModelEntry, dataset: str, train_samples: int | None = None
              ) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """((x_train, y_train), (x_test, y_test)): the model's float images and int64 label tensors;
    train_samples: the first N training images only (None: all). Labels outside the model's classes
    are a UsageError."""
    splits = []
    for split in ("train", "test"):
        x, y = datasets.load(dataset, split)
        if split == "train" and train_samples is not None:
            x, y = x[:train_samples], y[:train_samples]
        if len(y) and (y.min() < 0 or y.max() >= entry.config.num_classes):
            raise UsageError(f"{dataset} has labels outside 0..{entry.config.num_classes - 1}, the classes of "
                             f"{entry.name}")
        splits.append((images(entry, x), torch.from_numpy(y)))
    return splits


def mirrors(dataset: str) -> bool:
    """Whether training flips the dataset's images horizontally: clothes mirror, digits do not."""
    return dataset == "fashion-mnist"


def train_epoch(model: torch.nn.Module, optimizer: torch.optim.Optimizer, x_train: torch.Tensor, y_train: torch.Tensor,
                x_test: torch.Tensor, y_test: torch.Tensor, epoch: int, options, lr_at: Callable[[int], float], *,
                flip: bool, desc: str, progress: bool, before_step: Callable[[int], None] | None = None,
                after_step: Callable[[], None] | None = None,
                evaluate: Callable[[], dict] | None = None,
                backward: Callable[[torch.Tensor, torch.Tensor], tuple[float, torch.Tensor]] | None = None) -> dict:
    """One epoch over the training images in a seeded order, augmented (flip: mirrored too), at the
    learning rate lr_at(global step) with `options`' batch size, seed and label smoothing, on the
    device of the model's parameters; the hooks run around each optimizer step (pruning masks, a
    supernet's sampled subnet). `backward(x, y)`, where given, computes a step's gradients instead
    of the model's cross-entropy on the batch (a supernet's several subnets) and returns (the loss
    to report, the logits to score). Returns and prints the epoch's record: loss, train accuracy,
    and test accuracy, or what `evaluate()` returns instead (a supernet's subnets)."""
    on = next(model.parameters()).device
    steps = math.ceil(len(x_train) / options.batch_size)
    generator = torch.Generator().manual_seed(options.seed * 1000 + epoch)
    order = torch.randperm(len(x_train), generator=generator)
    model.train()
    total_loss, correct = 0.0, 0
    for step in tqdm(range(steps), desc=desc, disable=not progress, unit="batch", leave=False):
        if before_step is not None:
            before_step(epoch * steps + step)
        index = order[step * options.batch_size:(step + 1) * options.batch_size]
        x, y = augment(x_train[index], generator, flip).to(on), y_train[index].to(on)
        for group in optimizer.param_groups:
            group["lr"] = lr_at(epoch * steps + step)
        optimizer.zero_grad()
        if backward is None:
            logits = model(x)
            loss = F.cross_entropy(logits, y, label_smoothing=options.label_smoothing)
            loss.backward()
            value = loss.item()
        else:
            value, logits = backward(x, y)
        optimizer.step()
        if after_step is not None:
            after_step()
        total_loss += value * len(y)
        correct += int((logits.argmax(1) == y).sum())
    record = {"epoch": epoch + 1, "loss": total_loss / len(x_train), "train_accuracy": correct / len(x_train),
              **(evaluate() if evaluate is not None else {"test_accuracy": accuracy(model, x_test, y_test)})}
    if progress:
        scores = ", ".join(f"{k.replace('_', ' ')} {v:.4f}" for k, v in record.items() if k != "epoch")
        print(f"{desc}: {scores}", flush=True)
    return record


def save_checkpoint(path: str | Path, model: Model, meta: dict, optimizer: torch.optim.Optimizer | None) -> None:
    """Write the checkpoint atomically; optimizer None leaves out its state (a finished run)."""
    arrays = {f"param/{k}": v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    meta = {**meta, "format": FORMAT, "version": VERSION, "config": zoo.config_dict(model.cfg)}
    if optimizer is not None:
        state = optimizer.state_dict()
        meta["optimizer"] = state["param_groups"]
        for index, fields in state["state"].items():
            for field, value in fields.items():
                arrays[f"optim/{index}/{field}"] = torch.as_tensor(value).cpu().numpy()
    else:
        meta.pop("optimizer", None)
    arrays["meta.json"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(buffer.getvalue())
    os.replace(tmp, path)


def load_checkpoint(path: str | Path) -> tuple[Model, dict]:
    """The model of a checkpoint (in evaluation mode) and its metadata. Anything unreadable is a
    one-line CheckpointError."""
    model, meta, _ = read_checkpoint(path)
    return model, meta


def read_checkpoint(path: str | Path) -> tuple[Model, dict, dict | None]:
    """load_checkpoint plus the optimizer's state_dict of an unfinished run (None for a finished one)."""
    meta, state, optimizer_state = read_checkpoint_file(path)
    if "model" not in meta:
        raise CheckpointError(f"{path}: a supernet's checkpoint ({short(meta.get('supernet'))}), not a model's")
    entry = zoo.get(meta["model"])
    if meta["config"] != zoo.config_dict(entry.config):
        raise CheckpointError(f"{path}: made for a different configuration of {entry.name} than the one "
                              f"registered now")
    model = build(entry.config)
    load_state(model, state, path, entry.name)
    params, layers = dict(model.named_parameters()), meta.get("pruning", {}).get("layers", {})
    if not isinstance(layers, dict) or any(name not in params for name in layers):
        raise CheckpointError(f"{path}: its pruning record names layers {entry.name} does not have")
    if optimizer_state is not None:
        check_optimizer_state(model, optimizer_state, path)
    return model, meta, optimizer_state


# The metadata a checkpoint's readers use, by type (graph.read_json's hints): a model's checkpoint
# names its model and config, a supernet's its supernet and space.
_META = {"dataset": str, "epoch": int, "history": tuple[dict, ...], "options": dict, "command": str,
         "config": dict, "space": dict, "optimizer": tuple[dict, ...], "pruning": dict,
         "validation": int | None, "train_images": int | None}


def read_checkpoint_file(path: str | Path) -> tuple[dict, dict[str, torch.Tensor], dict | None]:
    """(metadata, parameters and buffers, the optimizer's state_dict or None) of a checkpoint file in
    this format, whatever model it holds (supernets too). The metadata's fields are typed (_META),
    arrays are plain numbers, optimizer entries are optim/<index>/<field>; CheckpointError otherwise."""
    path = Path(path)
    arrays = read_npz(path, CheckpointError, "mcusim checkpoint")
    try:
        meta = json.loads(arrays.pop("meta.json").tobytes())
    except RecursionError:  # the C decoder's limit on nesting
        raise CheckpointError(f"{path}: not an mcusim checkpoint (its metadata nests too deeply)") from None
    except (KeyError, ValueError) as e:  # no metadata; not JSON or not UTF-8
        raise CheckpointError(f"{path}: not an mcusim checkpoint ({short(str(e))})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise CheckpointError(f"{path}: not an mcusim checkpoint of format {FORMAT} version {VERSION}")
    if ("model" in meta) == ("supernet" in meta) or not isinstance(meta.get("model", meta.get("supernet")), str):
        raise CheckpointError(f"{path}: its metadata must name a model or a supernet")
    for key, hint in _META.items():
        if key in meta:
            read_json(hint, meta[key], f"{path}: meta.{key}", CheckpointError)
    if "optimizer" in meta:  # an unfinished run, resumed with its own options
        options = read_json(TrainOptions, meta.get("options"), f"{path}: meta.options", CheckpointError)
        if min(options.epochs, options.warmup_epochs, options.batch_size - 1, meta.get("epoch", -1)) < 0 or \
                options.lr <= 0 or not isinstance(meta.get("history"), list):
            raise CheckpointError(f"{path}: an unfinished run needs epoch >= 0, a history, and options of epochs and "
                                  "warmup >= 0, batch size >= 1, lr > 0")
    for key, value in arrays.items():
        if value.dtype.kind not in "biuf" or not value.dtype.isnative:
            raise CheckpointError(f"{path}: array {short(key)} is {value.dtype}; parameters are native numbers")
    state = {k.removeprefix("param/"): torch.from_numpy(v) for k, v in arrays.items() if k.startswith("param/")}
    if "optimizer" not in meta:
        return meta, state, None
    optimizer_state: dict[int, dict] = {}
    for key, value in arrays.items():
        if key.startswith("optim/"):
            _, index, field = (key.split("/") + ["", ""])[:3]
            if not index.isdigit() or not field or key.count("/") != 2:
                raise CheckpointError(f"{path}: array {short(key)} is not optim/<index>/<field>")
            optimizer_state.setdefault(int(index), {})[field] = torch.from_numpy(value)
    return meta, state, {"state": optimizer_state, "param_groups": meta["optimizer"]}


def check_optimizer_state(model: torch.nn.Module, optimizer_state: dict, path: str | Path) -> None:
    """CheckpointError unless `optimizer_state` (read_checkpoint_file's) is AdamW's over `model`: one
    group of AdamW's hyperparameters (of their types; an older torch's may lack some, which torch fills
    in) holding each parameter once, each parameter's moments of its shape, its step one number."""
    params = list(model.parameters())
    defaults = torch.optim.AdamW(params).state_dict()["param_groups"][0]
    groups = optimizer_state["param_groups"]
    if len(groups) != 1 or not set(groups[0]) <= set(defaults) or groups[0].get("params") != list(range(len(params))):
        raise CheckpointError(f"{path}: its optimizer state is not AdamW's over the {len(params)} parameters")
    for key, value in groups[0].items():
        kinds = (int, float) if isinstance(defaults[key], float) else (list,) if isinstance(defaults[key], tuple) \
            else (type(defaults[key]),)
        if type(value) not in kinds or key == "betas" and not (len(value) == 2 and all(type(b) in (int, float)
                                                                                         for b in value)):
            raise CheckpointError(f"{path}: optimizer hyperparameter {key} is {short(value)}")
    for index, fields in optimizer_state["state"].items():
        if index >= len(params) or {k: v.shape for k, v in fields.items()} != \
                {"step": (), "exp_avg": params[index].shape, "exp_avg_sq": params[index].shape}:
            raise CheckpointError(f"{path}: optimizer state {index} does not fit the parameter it belongs to")


def load_state(model: torch.nn.Module, state: dict[str, torch.Tensor], path: str | Path, what: str) -> None:
    """Load a checkpoint's parameters into `model` (then in evaluation mode); a mismatch is a
    one-line CheckpointError naming the file and `what` it should hold."""
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise CheckpointError(f"{path}: parameters do not fit {what} ({str(e).splitlines()[0]})") from None
    model.eval()
