"""One candidate evaluated: its subnet (inherited weights), accuracy, int8 graph, and measured figures.

    evaluator = Evaluator(EvalSpec("sn.npz", "stm32f746", Budget.of(board)))
    record = evaluator.evaluate(arch)        # the journal line of DESIGN.md's `mcusim search`

Per candidate, in order:
1. the subnet with the supernet's weights (nas/supernet.py), at the candidate's resolution; pruned
   one-shot to its sparsity where the space searches one (SparseNAS); BatchNorm recalibrated;
2. its int8 graph: PTQ calibrated on `calibration` training images (models/export.py), deployed
   with the memory options and the candidate's own schedule (MCUNetV2; models/deploy.py);
3. measured on the board (nas/measure.py) on the first validation image, its output compared with
   the reference interpreter's (`bit_exact`); the budget's verdict (`fits`, `violations`);
4. if it fits: `accuracy`, the float subnet's top-1 on the validation images (what the search
   maximizes, as AutoFormer's and MCUFormer's searches), and `int8_accuracy`, the int8 graph's on the
   first `int8_images` of them (the reference interpreter, bit-exact with the board). A candidate
   that does not fit is not scored (accuracy null), as AutoFormer skips candidates over its limits;
5. the analytic estimates beside the measured SRAM peak: the space's formula (MCUFormer's for ViTs),
   MCUNet's layer-by-layer estimate (`layer_io`), the planner's arena (what a planner-based tool
   reports as the peak), and the schedule's lower bound.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from mcusim.boards import Board, get_board
from mcusim.errors import UsageError
from mcusim.models import datasets
from mcusim.models.deploy import Deployment, MemoryOptions, deploy
from mcusim.models.evaluate import DEFAULT_PREPROCESS, accuracy as int8_accuracy, differing_values, graph_inputs
from mcusim.models.export import calibrate, export
from mcusim.models.graph import Graph
from mcusim.models.interpreter import run
from mcusim.models.nn import parameter_count
from mcusim.models.planner import ITEMSIZE
from mcusim.models.prune import PruneOptions, apply_masks, compute_masks, fine_tune, prunable_layers
from mcusim.models.train import accuracy, config_images, mirrors, training_device

from .measure import Budget, Figures, measure
from .spaces import Arch, arch_hash
from .supernet import (RECALIBRATION, candidate_images, distilled_backward, load_teacher, read_supernet, recalibrate,
                       search_data, validation_split)


@dataclass(frozen=True)
class EvalSpec:
    """Everything a worker needs to build an Evaluator (picklable)."""

    supernet: str
    board: str
    budget: Budget
    dataset: str = "fashion-mnist"
    memory_opts: str = "none"
    dsp: bool = True
    val_images: int | None = None   # None: the supernet's whole validation set
    int8_images: int = 500
    calibration: int = 256
    like: str | None = None         # the shipped model whose measured figures are the budget (search --like)

    def to_json(self) -> dict:
        return {**self.__dict__, "budget": self.budget.to_json()}


def shipped_graph(name: str, dataset: str) -> Graph:
    """The int8 graph of the registered model `name`, which must be of `dataset`."""
    from mcusim.models import zoo

    entry = zoo.get(name)
    if entry.graph is None:
        raise UsageError(f"model {name} ships no graph (make graphs)")
    if entry.dataset != dataset:
        raise UsageError(f"model {name} is a {entry.dataset} model; the search is on {dataset}")
    return Graph.load(entry.graph)


def reference_figures(name: str, board: Board, dataset: str, memory_opts: str = "none", dsp: bool = True) -> Figures:
    """A shipped model's figures measured as the search measures a candidate's (deployed with the
    search's memory options, one sample run on `board`, the dataset's first test image): the budget
    `search --like` gives its candidates."""
    graph = shipped_graph(name, dataset)
    x, _ = datasets.load(dataset, "test")
    deployment = deploy(graph, MemoryOptions.parse(memory_opts))
    return measure(deployment, board, [graph_inputs(graph, x[:1])], dsp)[0]


def layer_io(graph: Graph) -> int:
    """MCUNet's analytic peak of layer-by-layer inference: the most bytes any one op's activation
    inputs and outputs take together (no liveness across ops, no stack, no static data)."""
    peak = 0
    for op in graph.ops:
        if op.kind != "reshape":
            names = {n for n in (*op.inputs, *op.outputs) if graph.tensors[n].data is None}
            peak = max(peak, sum(int(np.prod(graph.tensors[n].shape)) * ITEMSIZE[graph.tensors[n].dtype] for n in names))
    return peak


class Evaluator:
    def __init__(self, spec: EvalSpec):
        self.spec = spec
        self.supernet, self.meta, _ = read_supernet(spec.supernet)
        self.space = self.supernet.space
        self.board = get_board(spec.board)
        self.options = MemoryOptions.parse(spec.memory_opts)
        x, y = datasets.load(spec.dataset, "train")
        (x_train, _), (x_val, y_val) = validation_split(x, y, self.meta["validation"])
        if spec.val_images is not None:
            x_val, y_val = x_val[:spec.val_images], y_val[:spec.val_images]
        self.x_val, self.y_val = x_val, y_val
        what = f"the {self.space.name} space"
        self.val = config_images(self.space, x_val, what)
        pick = np.random.default_rng(0).permutation(len(x_train))[:max(spec.calibration, RECALIBRATION)]
        self.train_sample = config_images(self.space, x_train[np.sort(pick)], what)
        self._scores: dict[Arch, tuple[float, float]] = {}  # accuracies by architecture less schedule

    def images(self, arch: Arch, x: torch.Tensor) -> torch.Tensor:
        return candidate_images(self.space, arch, x)

    def subnet(self, arch: Arch) -> torch.nn.Module:
        """The candidate with inherited weights, pruned one-shot by magnitude where it is sparse
        (TinyFormer's SparseNAS evaluates its candidates so), its BatchNorm statistics then
        recalibrated."""
        model = self.supernet.subnet(arch)
        with torch.no_grad():
            apply_masks(model, compute_masks(model, self.pruning(arch, model)))
        return recalibrate(model, self.images(arch, self.train_sample[:RECALIBRATION]))

    def pruning(self, arch: Arch, model: torch.nn.Module) -> dict:
        return self.space.pruning(arch, prunable_layers(model))

    def graph(self, arch: Arch) -> tuple[torch.nn.Module, Graph]:
        """The candidate's subnet and its int8 graph."""
        model = self.subnet(arch)
        return model, self.export(model, arch)

    def export(self, model: torch.nn.Module, arch: Arch, **metadata) -> Graph:
        """The int8 graph of a model of `arch` (metadata: space, arch, preprocessing, and `metadata`)."""
        size = self.space.config(arch).image_size
        metadata = {"space": self.space.to_json(), "arch": arch.to_json(), "supernet": self.spec.supernet,
                    "dataset": self.spec.dataset, "preprocess": {"size": size, **DEFAULT_PREPROCESS}, **metadata}
        calibration = self.images(arch, self.train_sample[:self.spec.calibration])
        with torch.no_grad():
            return export(model, calibrate(model, calibration), metadata)

    def finetune(self, arch: Arch, epochs: int, lr: float = 1e-3, progress: bool = True) -> torch.nn.Module:
        """The candidate's subnet trained on its own for `epochs` from the inherited weights (the
        search's training images; AdamW, cosine decay from `lr`, no warm-up), in evaluation mode; a
        sparse candidate pruned meanwhile by AGP to its sparsity (SparseNAS's second stage). Where
        the supernet was trained with a teacher, the candidate learns from it as the supernet's
        largest did (its images resized to the teacher's size where the candidate's differ)."""
        model = self.supernet.subnet(arch).to(training_device())
        (x_train, y_train), (x_val, y_val) = search_data(self.space, self.spec.dataset, self.meta["validation"])
        x_train, x_val = self.images(arch, x_train), self.images(arch, x_val)
        options = PruneOptions(schedule="agp", epochs=epochs, lr=lr)
        training = self.meta.get("training") or {}
        backward = None
        if training.get("teacher"):
            teacher = load_teacher(training["teacher"], self.space, self.spec.dataset).to(training_device())
            backward = distilled_backward(model, teacher, training["teacher_weight"], options.label_smoothing)
        fine_tune(model, self.pruning(arch, model), x_train, y_train, x_val, y_val, options,
                  mirrors(self.spec.dataset), "fine-tune", progress, backward)
        return model.cpu().eval()

    def measure(self, graph: Graph, arch: Arch) -> tuple[Figures, bool, Deployment]:
        """(the graph's figures measured on the first validation image, whether its output there is
        the reference interpreter's, its deployment with the candidate's memory options)."""
        deployment = deploy(graph, self.space.memory_options(arch, self.options))
        sample = graph_inputs(graph, self.x_val[:1])
        figures, _, outputs = measure(deployment, self.board, [sample], self.spec.dsp)
        return figures, differing_values(outputs, run(deployment.graph, [sample])) == 0, deployment

    def float_accuracy(self, model: torch.nn.Module, arch: Arch) -> float:
        return accuracy(model, self.images(arch, self.val), self.y_val)

    def int8_accuracy(self, graph: Graph) -> float:
        n = self.spec.int8_images
        return int8_accuracy(graph, self.x_val[:n], self.y_val[:n])

    def scores(self, model: torch.nn.Module, graph: Graph, arch: Arch) -> tuple[float, float]:
        """(float, int8) accuracy, shared by candidates that differ only in their schedule."""
        key = Arch({k: v for k, v in arch.items() if k not in self.space.schedule_genes})
        if key not in self._scores:
            self._scores[key] = (self.float_accuracy(model, arch), self.int8_accuracy(graph))
        return self._scores[key]

    def evaluate(self, arch: Arch) -> dict:
        start = time.perf_counter()
        arch = self.space.check(arch)
        model, graph = self.graph(arch)
        figures, bit_exact, deployment = self.measure(graph, arch)
        violations = self.spec.budget.violations(figures)
        fits = not violations
        scores = self.scores(model, graph, arch) if fits else (None, None)
        record = {
            "hash": arch_hash(self.space, arch), "arch": arch.to_json(), "params": parameter_count(model),
            "accuracy": scores[0], "int8_accuracy": scores[1],
            "measured": figures.to_json(),
            "analytic": {**self.space.formulas(arch), "layer_io": layer_io(graph),
                         "planner": deployment.plan.arena_size, "lower_bound": deployment.lower_bound},
            "bit_exact": bit_exact, "fits": fits, "violations": violations,
        }
        record["seconds"] = round(time.perf_counter() - start, 3)
        return record
