"""Evaluating candidates of the convolutional spaces: a SparseNAS candidate is pruned to its block
sparsity and stored sparse, MCUNetV2's schedule changes memory but not accuracy, every run is
bit-exact on the board; MCUNet's layer-by-layer estimate."""
import dataclasses

import numpy as np
import pytest

from mcusim.boards import get_board
from mcusim.models.graph import Graph
from mcusim.models.prune import block_sparsity
from mcusim.nas.evaluate import EvalSpec, Evaluator, layer_io
from mcusim.nas.measure import Budget
from mcusim.nas.spaces import Arch

pytestmark = pytest.mark.toolchain


def evaluator(path) -> Evaluator:
    return Evaluator(EvalSpec(str(path), "stm32f746", Budget.of(get_board("stm32f746")), "digits", int8_images=40))


def test_a_sparse_candidate_is_pruned_and_stored_sparse(tinyformer_supernet):
    ev = evaluator(tinyformer_supernet)
    dense = Arch({**ev.space.largest(), **{g.name: 0.0 for g in ev.space.genes if g.name.startswith("sparsity")}})
    sparse = Arch({**dense, **{g.name: 0.5 for g in ev.space.genes if g.name.startswith("sparsity")}})
    model = ev.subnet(sparse)
    measured = block_sparsity(model, ev.pruning(sparse, model))
    assert measured and all(abs(m.sparsity - 0.5) < 0.1 for m in measured.values())
    records = [ev.evaluate(a) for a in (dense, sparse)]
    assert all(r["bit_exact"] and r["fits"] for r in records)
    assert records[1]["measured"]["blob"] < records[0]["measured"]["blob"]
    assert ev.pruning(dense, model) == {}


def test_the_schedule_changes_memory_not_accuracy(mcunetv2_supernet):
    ev = evaluator(mcunetv2_supernet)
    base = ev.space.largest()
    layer_by_layer = ev.evaluate(Arch({**base, "patches": 1}))
    patched = ev.evaluate(Arch({**base, "patches": 2, "patch_blocks": 1}))
    assert patched["bit_exact"] and layer_by_layer["bit_exact"]
    assert patched["accuracy"] == layer_by_layer["accuracy"]  # the same function: one score
    assert patched["int8_accuracy"] == layer_by_layer["int8_accuracy"]
    assert patched["measured"]["arena_peak"] != layer_by_layer["measured"]["arena_peak"]
    options = ev.space.memory_options(Arch({**base, "patches": 2, "patch_blocks": 1}), ev.options)
    assert (options.patches, options.patch_stage) == (2, "blocks.0.add")  # stem 8 = width 8: a residual block


def test_a_candidate_at_another_resolution_is_exported_at_it(mcunetv2_supernet):
    ev = evaluator(mcunetv2_supernet)
    arch = Arch({**ev.space.smallest(), "resolution": 6})
    _, graph = ev.graph(arch)
    assert graph.tensors["input"].shape == (1, 6, 6, 1) and graph.metadata["preprocess"]["size"] == 6
    assert ev.evaluate(arch)["bit_exact"]


def test_layer_io_is_the_largest_op_footprint():
    from mcusim.models import zoo

    graph = Graph.load(zoo.get("cnn-fmnist").graph)
    sizes = {n: int(np.prod(t.shape)) for n, t in graph.tensors.items() if t.data is None}
    expected = max(sum(sizes[n] for n in {*op.inputs, *op.outputs} if n in sizes) for op in graph.ops
                   if op.kind != "reshape")
    assert layer_io(graph) == expected
    assert layer_io(dataclasses.replace(graph, ops=[])) == 0
