"""MCUNetV2's patch-based inference (models/patching.py): the rewritten graph computes the same bits
as the plain one for every stage end and patch count, on the reference interpreter and on the board;
it lowers the measured arena; the row concatenation writes nothing (its rows are views)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from mcusim.boards import get_board
from mcusim.errors import UsageError
from mcusim.models import zoo
from mcusim.models.evaluate import random_inputs
from mcusim.models.deploy import DeployError, MemoryOptions, deploy
from mcusim.models.export import untrained_graph
from mcusim.models.interpreter import run
from mcusim.models.patching import patch_based, stages
from mcusim.models.runner import BoardRunner
from mcusim.models.tflite_import import import_tflite
from tests.models.tflite_models import small_cnn

GRAPHS = {name: untrained_graph(zoo.get(name).config) for name in ("cnn-fmnist", "tinyformer-fmnist")}


@pytest.fixture(scope="module")
def imported_cnn(tmp_path_factory):
    """conv 3x3 SAME, depthwise 3x3/2 SAME, max-pool 2x2/2 VALID: padding at both ends, odd sizes."""
    path = tmp_path_factory.mktemp("cnn") / "m.tflite"
    path.write_bytes(small_cnn(4))
    return import_tflite(path)


def test_stage_ends_are_cuts_of_the_spatial_prefix(imported_cnn):
    assert stages(imported_cnn) == [op.outputs[0] for op in imported_cnn.ops[:3]]  # conv, depthwise, pool
    cnn = stages(GRAPHS["cnn-fmnist"])
    assert cnn[0] == "stem" and "blocks.1.add" in cnn
    assert "blocks.1.expand" not in cnn  # the block's input is still read by its residual add


@settings(deadline=None)
@given(st.data())
def test_patched_graphs_compute_the_same_bits(imported_cnn, data):
    graph = data.draw(st.sampled_from([imported_cnn, *GRAPHS.values()]))
    stage = data.draw(st.sampled_from(stages(graph)))
    size = min(graph.tensors[stage].shape[1:3])
    patches = data.draw(st.integers(1, min(size, 5)))
    patched = patch_based(graph, stage, patches)
    inputs = random_inputs(graph, np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))))
    for a, b in zip(run(patched, inputs), run(graph, inputs)):
        np.testing.assert_array_equal(a, b)


def test_the_row_concatenation_writes_nothing():
    d = deploy(GRAPHS["cnn-fmnist"], MemoryOptions(patches=2, patch_stage="blocks.1.add"))
    steps = {s.name: s for s in d.steps}
    assert steps["blocks.1.add@rows"].calls == () and len(steps["blocks.1.add@row0"].calls) == 2
    rows = d.buffer("blocks.1.add")
    assert d.buffer("blocks.1.add@row1") is rows and d.offset("blocks.1.add@row1") > d.offset("blocks.1.add@row0")


@pytest.mark.toolchain
@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_patch_based_inference_on_the_board_lowers_the_measured_arena(name):
    graph = GRAPHS[name]
    inputs = random_inputs(graph, np.random.default_rng(0))
    _, plain = BoardRunner(deploy(graph), get_board("stm32f746")).run(inputs)
    runner = BoardRunner(deploy(graph, MemoryOptions(patches=-1)), get_board("stm32f746"))
    outputs, patched = runner.run(inputs)
    np.testing.assert_array_equal(outputs[0], run(graph, inputs)[0])
    assert runner.deployment.graph.metadata["patch_based"]["patches"] >= 2
    assert patched.arena_peak == runner.deployment.plan.arena_size < 0.8 * plain.arena_peak


def test_bad_stages_and_counts_are_named():
    graph = GRAPHS["cnn-fmnist"]
    head = next(i for i, op in enumerate(graph.ops) if op.outputs[0] == "head")
    with pytest.raises(DeployError, match=rf"op{head} \(fully_connected\) does not end a stage .*; stage ends: "
                                          r"op0 conv2d stem, "):
        deploy(graph, MemoryOptions(patches=2, patch_stage="head"))
    with pytest.raises(DeployError, match=r"30 x 30 patches of a 28 x 28 stage output"):
        deploy(graph, MemoryOptions(patches=30, patch_stage="stem"))


def test_the_automatic_choice_skips_infeasible_stages_and_says_what_it_took(imported_cnn):
    """The imported CNN's last stage end is 3 x 3: 4 x 4 patches of it are infeasible, which once
    aborted the whole choice (issue 20); now skipped, and the choice says what it took and why."""
    for options in (MemoryOptions(patches=-1), MemoryOptions.parse("all")):
        d = deploy(imported_cnn, options)
        choice = d.patch_choice
        assert choice.infeasible == 1 and choice.planned == 8 and "4 x 4 patches of a 3 x 3" in choice.reason
        assert choice.stage == d.graph.metadata["patch_based"]["stage"] and choice.arena < choice.plain_arena
        assert str(choice).startswith(f"patch-based: {choice.patches} x {choice.patches} patches up to "
                                      f"op{choice.stage_op} ({choice.stage}), the smallest arena of 8 feasible")
        assert "1 infeasible skipped" in str(choice)


def test_no_feasible_or_better_choice_keeps_the_plain_schedule_and_says_so(imported_cnn):
    from tests.models.test_graph import fc_graph

    d = deploy(fc_graph(), MemoryOptions(patches=-1))
    assert d.graph.metadata.get("patch_based") is None and "the graph has no stage" in str(d.patch_choice)
    pool = stages(imported_cnn)[-1]
    d = deploy(imported_cnn, MemoryOptions(patches=2, patch_stage=pool))
    assert d.patch_choice.asked and "as asked" in str(d.patch_choice)


@pytest.mark.parametrize("opts, message", [
    ("patch-based=4@op2", r"^patch-based inference: 4 x 4 patches of a 3 x 3 stage output$"),  # explicit: refused
    ("patch-based=13", r"patch-based=13: no feasible choice \(13 x 13 patches of a 12 x 12 stage output\)"),
    ("patch-based@op4", r"op4 \(fully_connected\) does not end a stage .*; stage ends: op0 conv2d "),
])
def test_infeasible_explicit_requests_are_refused(imported_cnn, opts, message):
    with pytest.raises(DeployError, match=message):
        deploy(imported_cnn, MemoryOptions.parse(opts))


def test_stage_targets_by_index_and_short_name(imported_cnn):
    by_index = deploy(imported_cnn, MemoryOptions.parse("patch-based=2@op1"))
    assert by_index.graph.metadata["patch_based"] == {"stage": imported_cnn.ops[1].outputs[0], "patches": 2}
    assert deploy(imported_cnn, MemoryOptions.parse("patch-based@1")).patch_choice.stage_op == 1
    with pytest.raises(UsageError, match=r"^--memory-opts patch-based: no op is named 'nope'; choices: op0 conv2d "
                                         r"[^,]+, op1 depthwise_conv2d [^,]+, op2 max_pool2d [^,]+$"):
        deploy(imported_cnn, MemoryOptions.parse("patch-based@nope"))
