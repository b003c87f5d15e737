"""Deployment (models/deploy.py) and whole graphs on the emulated boards (models/runner.py): every
registered model family and every imported .tflite test model runs bit-exact with the reference
interpreter on all three boards, with and without the memory techniques; the measured arena
high-water equals the plan; a plan or kernel that writes outside its buffers is caught."""
import dataclasses
import json

import numpy as np
import pytest

from mcusim.boards import BOARDS, get_board
from mcusim.errors import UsageError
from mcusim.models import zoo
from mcusim.models.evaluate import random_inputs
from mcusim.models.blob import KERNELS
from mcusim.models.deploy import WHOLE, DeployError, MemoryOptions, canonical, deploy, weight_storage, weight_summary
from mcusim.models.export import untrained_graph
from mcusim.models.graph import Graph
from mcusim.models.interpreter import run
from mcusim.models.names import short_names
from mcusim.models.runner import BoardRunner, report
from mcusim.models.sparse import prune_graph
from mcusim.models.tflite_import import import_tflite
from mcusim.toolchain import RUNTIME_C
from tests.models.tflite_models import MODELS

toolchain = pytest.mark.toolchain
ALL = MemoryOptions.parse("all")


def _imported(tmp_path_factory, name: str) -> Graph:
    path = tmp_path_factory.mktemp("tflite") / f"{name}.tflite"
    path.write_bytes(MODELS[name]())
    return import_tflite(path)


@pytest.fixture(scope="module")
def zoo_graphs():
    return {name: untrained_graph(zoo.get(name).config) for name in zoo.names()}


def _run_and_compare(graph: Graph, options: MemoryOptions, board: str, seed: int = 0, dsp: bool = True):
    runner = BoardRunner(deploy(graph, options), get_board(board), dsp=dsp)
    inputs = random_inputs(graph, np.random.default_rng(seed))
    outputs, measurement = runner.run(inputs)
    for got, expected in zip(outputs, run(graph, inputs), strict=True):
        np.testing.assert_array_equal(got, expected)
    return runner, measurement


def test_the_kernel_table_names_real_kernels():
    assert set(KERNELS) == {path.stem.removesuffix("_s8") for path in (RUNTIME_C / "src").glob("*_s8.c")}
    assert len({i for i, _ in KERNELS.values()}) == len(KERNELS)


def test_memory_options_parse():
    assert MemoryOptions.parse("none") == MemoryOptions()
    assert MemoryOptions.parse("token-overwrite, patch-embed=2x7") == MemoryOptions(True, patch_embed=(2, 7))
    assert MemoryOptions.parse("patch-embed,head-tail") == MemoryOptions(patch_embed=WHOLE, planner="head_tail")
    assert str(MemoryOptions.parse("patch-embed")) == "patch-embed"
    assert str(ALL) == "token-overwrite,inplace-depthwise,patch-embed=2x2,head-tail,patch-based"
    assert MemoryOptions.parse("patch-based=3@stem") == MemoryOptions(patches=3, patch_stage="stem")
    assert MemoryOptions.parse("patch-based@op3") == MemoryOptions(patches=-1, patch_stage="op3")
    assert str(MemoryOptions.parse("patch-based=2@a;b/c")) == "patch-based=2@a;b/c"
    assert str(MemoryOptions.parse("greedy-by-size")) == "greedy-by-size"
    for bad in ("fast", "patch-embed=4", "token-overwrite=1", "patch-embed=0x2", "patch-based=0", "patch-based=x",
                "patch-based@"):
        with pytest.raises(UsageError, match="--memory-opts"):
            MemoryOptions.parse(bad)


@pytest.mark.parametrize("name", ["attention_scores_plain", "attention_scores_adj_x", "multi_head_attention",
                                  "seqpool"])
def test_canonical_batch_matmuls_compute_the_same(tmp_path_factory, name):
    graph = _imported(tmp_path_factory, name)
    canon = canonical(graph)
    assert all(not op.attrs.adj_x and op.attrs.adj_y for op in canon.ops if op.kind == "batch_matmul")
    assert len(canon.ops) > len(graph.ops)
    inputs = random_inputs(graph, np.random.default_rng(1))
    for a, b in zip(run(canon, inputs), run(graph, inputs)):
        np.testing.assert_array_equal(a, b)


def _kernels(deployment) -> set[str]:
    return {call.kernel for step in deployment.steps for call in step.calls}


def test_memory_options_choose_kernels(zoo_graphs):
    plain, opts = deploy(zoo_graphs["vit-fmnist"]), deploy(zoo_graphs["vit-fmnist"], ALL)
    assert not {"patch_embed", "fully_connected_inplace"} & _kernels(plain)
    assert {"patch_embed", "fully_connected_inplace"} <= _kernels(opts)
    assert plain.plan.algorithm == "greedy_search" and opts.plan.algorithm == "head_tail"
    cnn = deploy(zoo_graphs["cnn-fmnist"], MemoryOptions.parse("inplace-depthwise"))
    assert {"depthwise_conv2d", "depthwise_conv2d_inplace"} <= _kernels(cnn)  # stride 2 stays out of place
    assert cnn.plan.arena_size == deploy(zoo_graphs["cnn-fmnist"]).plan.arena_size  # the peak is elsewhere


@toolchain
@pytest.mark.parametrize("board", sorted(BOARDS))
@pytest.mark.parametrize("name", zoo.names())
def test_zoo_models_run_bit_exact_and_measure_the_planned_arena(zoo_graphs, name, board):
    for options in (MemoryOptions(), ALL):
        runner, m = _run_and_compare(zoo_graphs[name], options, board)
        assert m.arena_peak == runner.deployment.plan.arena_size  # measured high-water == plan
        assert m.lower_bound <= m.arena_peak
        assert len(m.ops) == len(m.markers) == len(runner.deployment.graph.ops)
        assert all(op.stack_peak > 0 and op.sram_peak == m.static + op.stack_peak + op.arena_peak for op in m.ops)
        assert all(op.stack_peak >= op.scratch for op in m.ops)  # the stated scratch is on the measured stack
        assert m.flash_total == m.flash.total + len(runner.deployment.blob)


@toolchain
def test_scratch_is_reported_and_no_scratch_takes_none(zoo_graphs):
    """The step's scratch (the softmax table, conv columns) beside its stack in the report; the
    no-scratch option lowers to kernels that take none, the same bits."""
    graph = zoo_graphs["tinyformer-fmnist"]
    runner, m = _run_and_compare(graph, MemoryOptions(), "stm32f746")
    deployment = runner.deployment
    assert {op.kind for op in m.ops if op.scratch} >= {"softmax", "conv2d"}
    assert "scratch" in report(m, deployment).splitlines()[0]
    runner, lean = _run_and_compare(graph, MemoryOptions.parse("no-scratch"), "stm32f746")
    kernels = {call.kernel for step in runner.deployment.steps for call in step.calls}
    assert {"conv2d_direct", "softmax"} <= kernels and not {"conv2d", "softmax_lut"} & kernels
    assert all(op.scratch == 0 for op in lean.ops if op.kind in ("softmax", "conv2d"))
    assert lean.stack_peak < m.stack_peak


@toolchain
def test_the_shipped_vit_peaks_within_5_percent_of_its_bound(zoo_graphs):
    _, m = _run_and_compare(zoo_graphs["vit-fmnist"], MemoryOptions(), "stm32f746")
    assert m.total_peak <= 1.05 * (m.lower_bound + m.stack_peak + m.static)


@toolchain
@pytest.mark.parametrize("board", sorted(BOARDS))
@pytest.mark.parametrize("name", sorted(MODELS))
def test_imported_tflite_models_run_bit_exact(tmp_path_factory, name, board):
    graph = _imported(tmp_path_factory, name)
    for seed in range(2):
        _run_and_compare(graph, MemoryOptions(), board, seed)


@toolchain
def test_the_plain_c_path_is_bit_exact_too(zoo_graphs):
    _run_and_compare(zoo_graphs["tinyformer-fmnist"], ALL, "stm32f427", dsp=False)


@toolchain
def test_a_model_that_does_not_fit_fails_before_running(zoo_graphs):
    """Every resource it overflows is named with its figures and the board's size, in one line."""
    d = deploy(zoo_graphs["vit-digits"])
    big = dataclasses.replace(d, plan=dataclasses.replace(d.plan, arena_size=300 * 1024))
    with pytest.raises(DeployError, match=r"^model does not fit stm32f427: SRAM: arena 307,200 B > [\d,]+ B free "
                                          r"\([\d,]+ B RAM - static [\d,]+ B - stack and guard [\d,]+ B\)$"):
        BoardRunner(big, get_board("stm32f427"))
    huge = dataclasses.replace(d, blob=d.blob + bytes(1024 * 1024))
    with pytest.raises(DeployError, match=r"^model does not fit stm32f746: flash: firmware [\d,]+ B \+ model blob "
                                          r"[\d,]+ B = [\d,]+ B > 1,048,576 B$"):
        BoardRunner(huge, get_board("stm32f746"))
    both = dataclasses.replace(huge, plan=dataclasses.replace(d.plan, arena_size=400 * 1024))
    with pytest.raises(DeployError, match=r"^model does not fit stm32f746: flash: .* > 1,048,576 B; SRAM: arena "
                                          r"409,600 B > [\d,]+ B free \(327,680 B RAM"):
        BoardRunner(both, get_board("stm32f746"))


@toolchain
def test_the_report_names_each_op_its_weights_and_the_patch_choice(tmp_path_factory):
    """Each row: the step's index and short name beside its kind, its filter's storage; then the weight
    storage and the patch-based choice in words."""
    graph = prune_graph(_imported(tmp_path_factory, "small_cnn"), 0.95)
    runner, m = _run_and_compare(graph, MemoryOptions(patches=-1), "stm32f746")
    text = report(m, runner.deployment)
    header, *rows = text.splitlines()
    assert header.split()[:4] == ["#", "op", "kind", "weights"]
    names = short_names(runner.deployment.graph)
    for i, step in enumerate(m.ops):
        row = next(r for r in rows if r.split()[:1] == [str(i)])
        assert row.split()[1:3] == [names[i], step.kind]
    assert any(" rle b" in r for r in rows) and any(" dense " in r for r in rows)
    assert "`--memory-opts dense-weights` stores every layer dense" in text
    assert f"patches  {runner.deployment.patch_choice}" in text


@toolchain
def test_a_write_outside_the_plan_is_caught(zoo_graphs):
    """The blob says where each kernel writes; if the plan the runner checks against disagrees (a
    kernel or planner bug), the step that wrote outside its buffers is named."""
    d = deploy(zoo_graphs["cnn-fmnist"])
    last = d.buffer(d.graph.outputs[0])
    moved = dict(d.plan.offsets)
    moved[last.names] = d.plan.arena_size  # the runner looks for the output past the arena's end
    wrong = dataclasses.replace(d, plan=dataclasses.replace(d.plan, offsets=moved, arena_size=d.plan.arena_size + 64))
    with pytest.raises(DeployError, match=rf"step {len(d.steps) - 1} \({d.steps[-1].name}, .*\) wrote arena bytes "
                                          r"\d+\.\.\d+ outside its output buffers"):
        BoardRunner(wrong, get_board("stm32f746")).run(random_inputs(d.graph, np.random.default_rng(0)))


@toolchain
def test_a_kernel_error_names_the_step(zoo_graphs):
    d = deploy(zoo_graphs["vit-digits"])
    blob = bytearray(d.blob)
    record = int.from_bytes(blob[20:24], "little")  # step 0, a conv2d: its first call's kernel id
    blob[record + 8:record + 12] = (99).to_bytes(4, "little")
    with pytest.raises(DeployError, match=r"step 0 \(patch_embed, conv2d\) on stm32f746: status -3, a kernel id"):
        BoardRunner(dataclasses.replace(d, blob=bytes(blob)), get_board("stm32f746")).run(
            random_inputs(d.graph, np.random.default_rng(0)))


@toolchain
def test_trace_has_a_slice_per_op_with_sram(zoo_graphs, tmp_path):
    _, m = _run_and_compare(zoo_graphs["vit-digits"], MemoryOptions(), "stm32h743")
    m.write_trace(tmp_path / "t.json")
    events = json.loads((tmp_path / "t.json").read_text())["traceEvents"]
    slices = [e for e in events if e["ph"] == "X"]
    assert [e["name"] for e in slices] == [op.name for op in m.ops]
    assert sum(e["args"]["cycles"] for e in slices) == m.cycles  # each slice carries its op's measurement
    clock_mhz = get_board("stm32h743").clock_hz / 1e6
    assert sum(e["dur"] for e in slices) * clock_mhz == pytest.approx(m.end_cycles - m.markers[0].cycles)
    assert {e["name"] for e in events if e["ph"] == "C"} == {"SRAM peak (B)", "arena (B)"}


@toolchain
def test_export_c_builds_with_make_and_computes_the_same(tmp_path, capsys):
    """The exported C project builds with its own Makefile, and its firmware, run from reset, prints
    the reference interpreter's output for its sample input; DWT's count of the whole run agrees with
    the sum of the runner's per-op measurements."""
    import subprocess

    from mcusim.cli import main
    from mcusim.elf import ElfImage
    from mcusim.emulator import Emulator

    shipped = zoo.get("vit-digits").graph
    graph = Graph.load(shipped)
    x = random_inputs(graph, np.random.default_rng(5))[0]
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "project"
    assert main(["export-c", str(shipped), "--board", "stm32f427", "-o", str(out), "--input", str(tmp_path / "x.npy"),
                 "--memory-opts", "all"]) == 0
    assert "make -C" in capsys.readouterr().out
    subprocess.run(["make", "-C", str(out)], check=True, capture_output=True)
    result = Emulator(get_board("stm32f427"), ElfImage(out / "model.elf")).run()
    assert result.exit_code == 0
    lines = dict(line.split(":", 1) if ":" in line else line.split(" ", 1) for line in result.output.splitlines())
    expected = run(graph, [x])[0]
    np.testing.assert_array_equal(np.array(lines[graph.outputs[0]].split(), np.int8), expected.reshape(-1))
    _, m = BoardRunner(deploy(graph, ALL), get_board("stm32f427")).run([x])
    assert int(lines["cycles"]) == pytest.approx(m.cycles, rel=0.02)


SPARSE_FLASH = MemoryOptions.parse("sparse-flash")


def test_sparse_weights_are_stored_only_where_smaller(zoo_graphs):
    """Dense filters stay dense; block-pruned ones run the sparse kernels from a smaller blob where
    they are also faster (by default) or wherever smaller (sparse-flash), and dense-weights turns
    that off."""
    graph = zoo_graphs["tinyformer-fmnist"]
    dense = deploy(graph)
    assert not any(kernel.startswith("sparse_") for kernel in _kernels(dense))
    pruned = prune_graph(graph, 0.7)
    assert not any(k.startswith("sparse_") for k in _kernels(deploy(pruned)))  # 70 %: slower than dense
    assert "sparse_fully_connected" in _kernels(deploy(prune_graph(graph, 0.95)))
    sparse = deploy(pruned, SPARSE_FLASH)
    assert {"sparse_fully_connected", "sparse_conv2d", "sparse_depthwise_conv2d"} <= _kernels(sparse)
    assert len(sparse.blob) < 0.6 * len(dense.blob)
    assert not any(k.startswith("sparse_") for k in _kernels(deploy(pruned, MemoryOptions.parse("dense-weights"))))
    assert str(MemoryOptions.parse("dense-weights,token-overwrite")) == "token-overwrite,dense-weights"
    assert str(MemoryOptions.parse("no-scratch,sparse-flash")) == "sparse-flash,no-scratch"


@toolchain
@pytest.mark.parametrize("board, dsp", [("stm32f427", False), ("stm32f427", True), ("stm32f746", True)])
@pytest.mark.parametrize("name", ["tinyformer-fmnist", "cnn-fmnist", "vit-fmnist-lowrank"])
def test_block_pruned_models_run_bit_exact_on_the_sparse_kernels(zoo_graphs, name, board, dsp):
    runner, m = _run_and_compare(prune_graph(zoo_graphs[name], 0.7, block=2), SPARSE_FLASH, board, dsp=dsp)
    assert any(kernel.startswith("sparse_") for kernel in _kernels(runner.deployment))
    assert m.arena_peak == runner.deployment.plan.arena_size


def test_the_weight_storage_of_each_layer_is_stated():
    """Per layer: dense or block-RLE sparse, its bytes and why; the summary says how to turn sparse
    storage off, or on for the layers where it is smaller but slower."""
    pruned = prune_graph(untrained_graph(zoo.get("tinyformer-fmnist").config), 0.95)
    d = deploy(pruned)
    layers = weight_storage(d)
    weighted = [i for i, op in enumerate(d.graph.ops) if op.kind in ("fully_connected", "conv2d", "depthwise_conv2d")]
    assert [layer.step for layer in layers] == weighted
    for layer in layers:
        kernels = {call.kernel for call in d.steps[layer.step].calls}
        assert (layer.storage == "sparse") == any(k.startswith("sparse_") for k in kernels)
        assert layer.bytes < layer.dense_bytes if layer.storage == "sparse" else layer.bytes == layer.dense_bytes
    sparse = [x for x in layers if x.storage == "sparse"]
    assert sparse and all(x.why == "smaller and faster" for x in sparse)
    assert {x.why for x in layers if x.storage == "dense"} >= {"a {:,} B stream is smaller but slower (sparse-flash "
                                                               "stores it)".format(x.stream) for x in layers
                                                               if x.kind == "depthwise_conv2d"}
    summary = weight_summary(layers, d.options)
    assert summary.startswith(f"{len(sparse)} of {len(layers)} layers stored block-RLE sparse (")
    assert "`--memory-opts sparse-flash` stores them so" in summary and "`--memory-opts dense-weights`" in summary
    dense = deploy(pruned, MemoryOptions.parse("dense-weights"))
    assert {x.storage for x in weight_storage(dense)} == {"dense"}
    assert {x.why for x in weight_storage(dense)} == {"dense-weights", "no block-RLE stream is smaller"}
    assert weight_summary(weight_storage(dense), dense.options).endswith("; dense-weights is on")
    assert weight_summary(weight_storage(deploy(untrained_graph(zoo.get("tinyformer-fmnist").config))),
                          MemoryOptions()).endswith("layers stored dense: no block-RLE stream is smaller")


def test_the_shipped_pruned_tinyformer_is_stored_sparse():
    """The shipped block-pruned TinyFormer deploys its pruned layers as streams under sparse-flash: a
    far smaller blob."""
    dense, pruned = (deploy(Graph.load(zoo.get(name).graph), SPARSE_FLASH) for name in ("tinyformer-fmnist",
                                                                                          "tinyformer-fmnist-sparse"))
    assert {"sparse_fully_connected", "sparse_conv2d", "sparse_depthwise_conv2d"} <= _kernels(pruned)
    assert len(pruned.blob) < 0.6 * len(dense.blob)
