"""One candidate evaluated: its subnet (inherited weights), accuracy, int8 graph, and measured figures.

    evaluator = Evaluator(EvalSpec("sn.npz", "stm32f746", Budget.of(board)))
    record = evaluator.evaluate(arch)        # the journal line of DESIGN.md's `mcusim search`

Per candidate, in order:
1. the subnet with the supernet's weights (nas/supernet.py);
2. its int8 graph: PTQ calibrated on `calibration` training images (models/export.py), deployed
   with the memory options (models/deploy.py);
3. measured on the board (nas/measure.py) on the first validation image, its output compared with
   the reference interpreter's (`bit_exact`); the budget's verdict (`fits`, `violations`);
4. if it fits: `accuracy`, the float subnet's top-1 on the validation images (what the search
   maximizes, as AutoFormer's and MCUFormer's searches), and `int8_accuracy`, the int8 graph's on the
   first `int8_images` of them (the reference interpreter, bit-exact with the board). A candidate
   that does not fit is not scored (accuracy null), as AutoFormer skips candidates over its limits;
5. the analytic estimates beside the measured SRAM peak: the space's formula (MCUFormer's for ViTs)
   and the planner's arena (what a planner-based tool reports as the peak), and the schedule's lower
   bound.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from mcusim.boards import get_board
from mcusim.models import datasets
from mcusim.models.deploy import MemoryOptions, deploy
from mcusim.models.evaluate import DEFAULT_PREPROCESS, accuracy as int8_accuracy, differing_values, graph_inputs
from mcusim.models.export import calibrate, export
from mcusim.models.graph import Graph
from mcusim.models.interpreter import run
from mcusim.models.nn import parameter_count
from mcusim.models.train import accuracy, config_images

from .measure import Budget, measure
from .spaces import Arch, arch_hash
from .supernet import read_supernet, validation_split


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

    def to_json(self) -> dict:
        return {**self.__dict__, "budget": self.budget.to_json()}


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
        pick = np.random.default_rng(0).permutation(len(x_train))[:spec.calibration]
        self.calibration = config_images(self.space, x_train[np.sort(pick)], what)

    def graph(self, arch: Arch) -> tuple[torch.nn.Module, Graph]:
        """The candidate's subnet and its int8 graph (metadata: space, arch, preprocessing)."""
        model = self.supernet.subnet(arch)
        metadata = {"space": self.space.to_json(), "arch": arch.to_json(), "supernet": self.spec.supernet,
                    "dataset": self.spec.dataset, "preprocess": {"size": self.space.image_size, **DEFAULT_PREPROCESS}}
        with torch.no_grad():
            return model, export(model, calibrate(model, self.calibration), metadata)

    def evaluate(self, arch: Arch) -> dict:
        start = time.perf_counter()
        arch = self.space.check(arch)
        model, graph = self.graph(arch)
        deployment = deploy(graph, self.options)
        sample = graph_inputs(graph, self.x_val[:1])
        figures, _, outputs = measure(deployment, self.board, [sample], self.spec.dsp)
        violations = self.spec.budget.violations(figures)
        fits = not violations
        record = {
            "hash": arch_hash(self.space, arch), "arch": arch.to_json(), "params": parameter_count(model),
            "accuracy": accuracy(model, self.val, self.y_val) if fits else None,
            "int8_accuracy": (int8_accuracy(graph, self.x_val[:self.spec.int8_images], self.y_val[:self.spec.int8_images])
                              if fits else None),
            "measured": figures.to_json(),
            "analytic": {**self.space.formulas(arch), "planner": deployment.plan.arena_size,
                         "lower_bound": deployment.lower_bound},
            "bit_exact": differing_values(outputs, run(deployment.graph, [sample])) == 0,
            "fits": fits, "violations": violations,
        }
        record["seconds"] = round(time.perf_counter() - start, 3)
        return record
