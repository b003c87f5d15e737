"""Weight-sharing supernets (AutoFormer's elastic ViT, SPOS's choice blocks), their training, and subnets
with inherited weights.

    supernet = Supernet(get("mcuformer"))
    supernet.arch = arch; logits = supernet(x)        # the candidate `arch`, computed with shared weights
    model = supernet.subnet(arch)                     # a standalone models.nn model: the same function
    train_supernet(space, "fashion-mnist", "sn.npz")  # the sandwich rule with in-place distillation

Sharing: the supernet holds the space's largest model (models/nn.py), and a candidate's parameter of
a given name is the leading corner of the largest model's parameter of that name (AutoFormer's
slicing: the first `dim` embedding channels, the first `qkv_dim` projections, the first `hidden` MLP
units, the first `rank` factors, the first `depth` blocks). A forward pass runs the candidate's own
module code (built once per arch on the meta device, no memory) with those corners as its
parameters (torch.func.functional_call), so training updates the shared weights and a subnet copied
out of the supernet computes exactly what the supernet computed for it. The convolutional spaces'
choice blocks sit at fixed positions and share channels the same way; BatchNorm statistics are
corners too, written by every candidate in training, so a subnet's are re-estimated
(`recalibrate`, SPOS) before it is scored.

Training (`SupernetTraining`): by default BigNAS's sandwich rule, each optimizer step training the
largest candidate, the smallest and `random` ones drawn uniformly, their gradients summed; the
largest learns the labels (and, given a `teacher`, a trained model's predictions: knowledge
distillation), the others the largest's predictions on the same batch (in-place distillation), so
that small candidates are trained towards what the supernet can do rather than each on its own
(the single-path rule of AutoFormer and SPOS, one uniform candidate a step, ranks candidates on a
flatter, noisier landscape). The draws are a function of the seed and the global step, so a
resumed run draws what an unbroken one would. Data: the training split less a held-out validation
set (the last `validation` images of a seeded permutation), on which the search scores candidates;
the test split is left for the final figures. A checkpoint is models/train.py's format, its config the space.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call

from mcusim.errors import UsageError
from mcusim.models import datasets
from mcusim.models.nn import Model, build
from mcusim.models.train import (CheckpointError, TrainOptions, accuracy, config_images, learning_rate, load_checkpoint,
                                 load_state, mirrors, read_checkpoint_file, save_checkpoint, train_epoch,
                                 training_device)

from .spaces import Arch, Space, from_json

CHECKPOINTS = Path(__file__).parent / "checkpoints"
SHIPPED = {name: CHECKPOINTS / f"{name}-fmnist.npz" for name in ("mcuformer", "tinyformer", "mcunetv2")}  # make supernets
VALIDATION = 5000  # held-out training images the search scores candidates on
SKELETONS = 64     # candidates' module code kept (a training run draws a new one every step)
RECALIBRATION = 1000  # training images a candidate's BatchNorm statistics are re-estimated on


@dataclass(frozen=True)
class SupernetTraining:
    """What each optimizer step trains (module docstring). sandwich False: one candidate drawn
    uniformly, on the labels (AutoFormer, SPOS; the shipped supernets before the sandwich rule)."""

    sandwich: bool = True
    random: int = 2                # candidates drawn per step beside the largest and the smallest
    inplace: bool = True           # the others learn the largest's predictions, not the labels
    teacher: str | None = None     # a trained model of the same dataset: a registered name or a checkpoint path
    teacher_weight: float = 0.5    # the largest's loss: (1 - w) cross-entropy + w distillation

    def __post_init__(self):
        if self.random < 0 or not 0 <= self.teacher_weight <= 1:
            raise UsageError(f"supernet training: {self.random} random candidates a step, teacher weight "
                             f"{self.teacher_weight}: need >= 0 and a weight in [0, 1]")


def distillation(student: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """KL(softmax(target) || softmax(student)), the batch mean: the student's logits towards the
    target's predictions (no gradient flows into the target)."""
    return F.kl_div(F.log_softmax(student, 1), F.softmax(target.detach(), 1), reduction="batchmean")


class Supernet(torch.nn.Module):
    def __init__(self, space: Space):
        super().__init__()
        self.space = self.cfg = space  # cfg: what save_checkpoint records (the space, as JSON)
        self.largest = build(space.config(space.largest()))
        self.arch = space.largest()
        self._skeletons: dict[Arch, Model] = {}

    def _skeleton(self, arch: Arch) -> Model:
        """The candidate's module code, parameters on the meta device (replaced at every call)."""
        if arch not in self._skeletons:
            if len(self._skeletons) >= SKELETONS:
                del self._skeletons[next(iter(self._skeletons))]
            with torch.device("meta"):
                self._skeletons[arch] = build(self.space.config(arch))
        return self._skeletons[arch]

    def shared(self, arch: Arch) -> dict[str, torch.Tensor]:
        """The candidate's parameters and buffers (BatchNorm statistics): views of the supernet's,
        so gradients and running statistics flow into them."""
        mine = {**dict(self.largest.named_parameters()), **dict(self.largest.named_buffers())}
        skeleton = self._skeleton(arch)
        views = {}
        for name, t in (*skeleton.named_parameters(), *skeleton.named_buffers()):
            big = mine[name]
            if t.dim() != big.dim() or any(n > b for n, b in zip(t.shape, big.shape)):
                raise ValueError(f"{name}: {tuple(t.shape)} is not a corner of the supernet's {tuple(big.shape)}")
            views[name] = big[tuple(slice(0, n) for n in t.shape)]
        return views

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The candidate `self.arch` on images x (NHWC, the space's resolution; resized to the
        candidate's where it has its own)."""
        x = candidate_images(self.space, self.arch, x)
        skeleton = self._skeleton(self.arch).train(self.training)  # BatchNorm: batch or running statistics
        return functional_call(skeleton, self.shared(self.arch), (x,))

    def subnet(self, arch: Arch) -> Model:
        """A standalone model of `arch` (evaluation mode) holding copies of its shared weights (and
        BatchNorm statistics: recalibrate them before scoring it)."""
        model = build(self.space.config(arch))
        with torch.no_grad():
            model.load_state_dict({k: v.detach().clone() for k, v in self.shared(arch).items()})
        return model.eval()


def recalibrate(model: Model, images: torch.Tensor, batch_size: int = 250) -> Model:
    """SPOS's BatchNorm recalibration: the model's BatchNorm statistics re-estimated on `images` (the
    model's input) as a plain average over them, since the supernet's mix every candidate's. A
    model without BatchNorm is left as it is. Returns the model, in evaluation mode."""
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    if norms:
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # cumulative average
        model.train()
        with torch.no_grad():
            for i in range(0, len(images), batch_size):
                model(images[i:i + batch_size])
        for m in norms:
            m.momentum = 0.1
    return model.eval()


def candidate_images(space: Space, arch: Arch, x: torch.Tensor) -> torch.Tensor:
    """Images at the space's image size (search_data's: the dataset's) as the candidate's input:
    resized to its own resolution where it has one, as the supernet's forward resizes them, and as
    models.evaluate.graph_inputs resizes the dataset's images for its int8 graph (one bilinear
    resize from the originals either way)."""
    return resized(x, space.config(arch).image_size)


def resized(x: torch.Tensor, size: int) -> torch.Tensor:
    """Images x (NHWC) resized to size x size (bilinear; as they are when the size is theirs)."""
    if x.shape[1] == size:
        return x
    return F.interpolate(x.permute(0, 3, 1, 2), size=(size, size), mode="bilinear",
                         align_corners=False).permute(0, 2, 3, 1).contiguous()


def validation_split(x: np.ndarray, y: np.ndarray, count: int, seed: int = 0):
    """((x_train, y_train), (x_val, y_val)): the last `count` images of a seeded permutation of a
    training split held out for validation."""
    if not 0 < count < len(x):
        raise UsageError(f"a validation set of {count} images out of {len(x)} training images")
    order = np.random.default_rng(seed).permutation(len(x))
    keep, held = np.sort(order[:-count]), np.sort(order[-count:])
    return (x[keep], y[keep]), (x[held], y[held])


def search_data(space: Space, dataset: str, validation: int):
    """((x_train, y_train), (x_val, y_val)) of `dataset`'s training split as the space's float
    images and int64 labels."""
    x, y = datasets.load(dataset, "train")
    if len(y) and (y.min() < 0 or y.max() >= space.num_classes):
        raise UsageError(f"{dataset} has labels outside 0..{space.num_classes - 1}, the classes of the {space.name} "
                         "space")
    return [(config_images(space, xs, f"the {space.name} space"), torch.from_numpy(ys))
            for xs, ys in validation_split(x, y, validation)]


def load_teacher(teacher: str | Path, space: Space, dataset: str) -> Model:
    """The model `teacher` (a registered model's name, for its shipped checkpoint, or a checkpoint's
    path) in evaluation mode, frozen, as a teacher for `space` on `dataset`: trained on that
    dataset, its images of the space's channels."""
    from mcusim.models import zoo

    path = zoo.get(teacher).checkpoint if str(teacher) in zoo.names() else teacher
    model, meta = load_checkpoint(path)
    if meta.get("dataset") != dataset:
        raise UsageError(f"teacher {path}: trained on {meta.get('dataset')}, not on {dataset}")
    if model.cfg.channels != space.channels or model.cfg.num_classes != space.num_classes:
        raise UsageError(f"teacher {path}: takes {model.cfg.channels}-channel images to {model.cfg.num_classes} "
                         f"classes; the {space.name} space {space.channels} to {space.num_classes}")
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()


def labels_loss(logits: torch.Tensor, x: torch.Tensor, y: torch.Tensor, label_smoothing: float,
                teacher: Model | None = None, teacher_weight: float = 0.5) -> torch.Tensor:
    """The cross-entropy of `logits` (a model's on images x) on the labels y, mixed with the
    distillation from `teacher`'s predictions on x where there is a teacher: (1 - w) CE + w KD."""
    loss = F.cross_entropy(logits, y, label_smoothing=label_smoothing)
    if teacher is None:
        return loss
    with torch.no_grad():
        target = teacher(resized(x, teacher.cfg.image_size))
    return (1 - teacher_weight) * loss + teacher_weight * distillation(logits, target)


def distilled_backward(model: torch.nn.Module, teacher: Model | None, teacher_weight: float, label_smoothing: float
                       ) -> Callable[[torch.Tensor, torch.Tensor], tuple[float, torch.Tensor]]:
    """train_epoch's `backward` for a model trained on the labels and its teacher's predictions
    (labels_loss): a searched candidate fine-tuned as its supernet's largest candidate was trained,
    or that largest candidate itself in a sandwich step."""

    def backward(x: torch.Tensor, y: torch.Tensor) -> tuple[float, torch.Tensor]:
        logits = model(x)
        loss = labels_loss(logits, x, y, label_smoothing, teacher, teacher_weight)
        loss.backward()
        return loss.item(), logits.detach()

    return backward


def sandwich_backward(supernet: Supernet, archs: list[Arch], training: SupernetTraining, label_smoothing: float,
                      teacher: Model | None = None) -> Callable[[torch.Tensor, torch.Tensor], tuple[float, torch.Tensor]]:
    """train_epoch's `backward` for the sandwich rule: the gradients of the candidates `archs`
    (archs[0] the largest) on a batch, summed (module docstring). Returns (the largest's loss, its
    logits)."""

    largest = distilled_backward(supernet, teacher, training.teacher_weight, label_smoothing)

    def backward(x: torch.Tensor, y: torch.Tensor) -> tuple[float, torch.Tensor]:
        supernet.arch = archs[0]
        loss, logits = largest(x, y)
        for arch in archs[1:]:
            supernet.arch = arch
            out = supernet(x)
            (distillation(out, logits) if training.inplace
             else F.cross_entropy(out, y, label_smoothing=label_smoothing)).backward()
        return loss, logits

    return backward


def train_supernet(space: Space, dataset: str, out: str | Path, options: TrainOptions = TrainOptions(epochs=10),
                   resume: bool = False, command: str = "", progress: bool = True,
                   validation: int = VALIDATION, train_images: int | None = None,
                   training: SupernetTraining = SupernetTraining()) -> dict:
    """Train the supernet of `space` on `dataset` by `training`'s rule, writing the checkpoint `out`
    after every epoch; returns its metadata. train_images: the first N training images only (None:
    all but the validation set). Each epoch's record holds the validation accuracy of the largest
    and the smallest candidate."""
    out = Path(out)
    if out.exists() and not resume:
        raise UsageError(f"{out} exists; pass --resume to continue that run, or choose another path")
    meta = {"supernet": space.name, "space": space.to_json(), "dataset": dataset, "epoch": 0,
            "options": dataclasses.asdict(options), "training": dataclasses.asdict(training),
            "validation": validation, "train_images": train_images, "history": [], "command": command}
    optimizer_state = None
    if resume and out.exists():
        supernet, meta, optimizer_state = read_supernet(out)
        if optimizer_state is None:
            raise UsageError(f"{out} is a finished run ({meta['epoch']} epochs); nothing to resume")
        if supernet.space != space or meta["dataset"] != dataset:
            raise UsageError(f"{out} is a {meta['supernet']} supernet on {meta['dataset']} with other choices; "
                             f"not the one asked for")
        options = TrainOptions(**meta["options"])
        training = SupernetTraining(**meta.get("training", {"sandwich": False, "inplace": False}))
    else:
        torch.manual_seed(options.seed)
        supernet = Supernet(space)
    supernet.to(training_device())
    optimizer = torch.optim.AdamW(supernet.parameters(), lr=options.lr, weight_decay=options.weight_decay)
    if optimizer_state is not None:
        optimizer.load_state_dict(optimizer_state)
    (x_train, y_train), (x_val, y_val) = search_data(space, dataset, meta["validation"])
    if meta["train_images"] is not None:
        x_train, y_train = x_train[:meta["train_images"]], y_train[:meta["train_images"]]
    steps = math.ceil(len(x_train) / options.batch_size)
    teacher = load_teacher(training.teacher, space, dataset).to(training_device()) if training.teacher else None
    archs: list[Arch] = []  # the step's candidates (sandwich rule)

    def draw(step: int) -> None:
        rng = np.random.default_rng([options.seed, step])
        if training.sandwich:
            archs[:] = [space.largest(), space.smallest(), *(space.sample(rng) for _ in range(training.random))]
        else:
            supernet.arch = space.sample(rng)

    def evaluate() -> dict:
        scores = {}
        for label, arch in (("largest", space.largest()), ("smallest", space.smallest())):
            model = recalibrate(supernet.subnet(arch), candidate_images(space, arch, x_train[:RECALIBRATION]))
            scores[f"{label}_accuracy"] = accuracy(model, candidate_images(space, arch, x_val), y_val)
        return scores

    for epoch in range(meta["epoch"], options.epochs):
        record = train_epoch(supernet, optimizer, x_train, y_train, x_val, y_val, epoch, options,
                             lambda step: learning_rate(options, step, steps), flip=mirrors(dataset),
                             desc=f"{space.name} supernet epoch {epoch + 1}/{options.epochs}", progress=progress,
                             before_step=draw, evaluate=evaluate,
                             backward=sandwich_backward(supernet, archs, training, options.label_smoothing, teacher)
                             if training.sandwich else None)
        meta["history"].append(record)
        meta["epoch"] = epoch + 1
        save_checkpoint(out, supernet, meta, optimizer if epoch + 1 < options.epochs else None)
    return meta


def read_supernet(path: str | Path) -> tuple[Supernet, dict, dict | None]:
    """(supernet in evaluation mode, metadata, optimizer state of an unfinished run or None)."""
    meta, state, optimizer_state = read_checkpoint_file(path)
    if "supernet" not in meta:
        raise CheckpointError(f"{path}: a checkpoint of model {meta.get('model')!r}, not a supernet")
    try:
        space = from_json(meta["space"])
    except (UsageError, TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: its search space is not one this version knows ({e})") from None
    supernet = Supernet(space)
    load_state(supernet, state, path, f"the {space.name} supernet")
    return supernet, meta, optimizer_state
