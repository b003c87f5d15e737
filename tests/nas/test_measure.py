"""Measured figures: composed from per-op measurements they equal a full run's (SRAM and flash
exactly, cycles within a few percent); a model too large for a board is measured on its roomy twin
and rejected by the budget, not by the loader."""
import numpy as np
import pytest

from mcusim.boards import get_board
from mcusim.models import zoo
from mcusim.models.deploy import MemoryOptions, deploy
from mcusim.models.evaluate import random_inputs
from mcusim.models.export import untrained_graph
from mcusim.models.graph import Graph
from mcusim.nas.measure import Budget, compose, measure, step_key

pytestmark = pytest.mark.toolchain

CASES = [("vit-fmnist", "none"), ("vit-fmnist-lowrank", "token-overwrite"), ("tinyformer-fmnist-sparse", "none"),
         ("cnn-fmnist", "inplace-depthwise,patch-based=2")]


@pytest.mark.parametrize("name, opts", CASES)
def test_composed_figures_equal_a_full_run(name, opts):
    graph = Graph.load(zoo.get(name).graph)
    deployment = deploy(graph, MemoryOptions.parse(opts))
    board = get_board("stm32f746")
    full, m, _ = measure(deployment, board, random_inputs(graph, np.random.default_rng(0)))
    cache = {}
    composed = compose(deployment, board, cache)
    assert composed.flash == full.flash and composed.static == full.static
    assert composed.stack_peak == full.stack_peak
    if "patch-based" not in opts:  # a patch stage's output is live before its rows are written (docs/search.md)
        assert composed.sram_peak == full.sram_peak and composed.arena_peak == full.arena_peak
    else:
        assert composed.sram_peak >= full.sram_peak
    assert abs(composed.cycles - full.cycles) <= 0.05 * full.cycles
    keys = [step_key(deployment, i, board, True) for i in range(len(deployment.steps))]
    assert len(cache) == len(set(keys)) < len(keys)  # repeated layers were run once
    for op, key in zip(m.ops, keys):
        assert cache[key].stack_peak == op.stack_peak, op.name


def test_a_full_run_fills_the_cache_a_composition_then_needs_no_emulation():
    graph = Graph.load(zoo.get("vit-digits").graph)
    deployment = deploy(graph)
    board = get_board("stm32f427")
    cache = {}
    full, _, _ = measure(deployment, board, random_inputs(graph, np.random.default_rng(0)), cache=cache)
    assert compose(deployment, board, dict(cache)) == compose(deployment, board, cache)
    assert compose(deployment, board, cache).sram_peak == full.sram_peak


def test_a_model_too_large_for_the_board_is_measured_on_its_roomy_twin():
    from mcusim.models.zoo import ViTConfig

    graph = untrained_graph(ViTConfig(patch=2, dim=32, depth=1, heads=4, qkv_dim=32))  # 196 tokens: 4 x 196^2 maps
    board = get_board("stm32f427")
    deployment = deploy(graph)
    figures, _, _ = measure(deployment, board, random_inputs(graph, np.random.default_rng(0)))
    assert figures.board == "stm32f427-roomy" and figures.sram_peak > board.ram.size
    found = Budget.of(board).violations(figures)
    assert any(v.startswith("SRAM") for v in found) and any("does not run on stm32f427" in v for v in found)
    assert compose(deployment, board, {}).sram_peak == figures.sram_peak
    assert Budget.of(get_board("stm32h743")).violations(measure(deployment, get_board("stm32h743"),
                                                                random_inputs(graph, np.random.default_rng(0)))[0]) == []


def test_the_roomy_twin_measures_what_the_board_measures():
    from mcusim.models.runner import BoardRunner
    from mcusim.nas.measure import figures_of, roomy

    graph = Graph.load(zoo.get("vit-digits").graph)
    deployment = deploy(graph)
    x = random_inputs(graph, np.random.default_rng(1))
    board = get_board("stm32f746")
    on_board = figures_of(BoardRunner(deployment, board).run(x)[1])
    on_twin = figures_of(BoardRunner(deployment, roomy(board)).run(x)[1])
    assert on_twin == type(on_twin)(**{**on_board.to_json(), "board": "stm32f746-roomy"})


def test_budget_limits():
    board = get_board("stm32f746")
    b = Budget.of(board, sram_kb=64, latency_ms=10)
    assert (b.sram, b.flash, b.latency_ms) == (65536, board.flash.size, 10)
    from mcusim.nas.measure import Figures

    f = Figures("stm32f746", 70000, 100, 300, 69600, 2 << 20, 1 << 20, 4_320_000, 20.0)
    assert [v.split()[0] for v in b.violations(f)] == ["SRAM", "flash", "latency"]
