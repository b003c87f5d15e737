"""The arena planner: lifetimes from a graph (reshapes share their input's buffer), the lower bound,
and plans that never give two live buffers the same byte, whatever the lifetimes and sizes."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcusim.models import zoo
from mcusim.models.graph import Graph, Op, Quant, Tensor
from mcusim.models.planner import (Buffer, activation_buffers, greedy_by_size, greedy_search, head_tail, lower_bound,
                                   overlaps, sources)

from .test_nn_export import quantized


@st.composite
def schedules(draw):
    """Random buffers over a chain of ops: sizes (multiples of 4, from 4), lifetimes, and a source
    for each buffer among those written before it."""
    count = draw(st.integers(1, 12))
    buffers, source = [], {}
    for i in range(count):
        first = draw(st.integers(0, 10))
        b = Buffer((f"t{i}",), 4 * draw(st.integers(1, 64)), first, first + draw(st.integers(0, 6)))
        earlier = [o.names for o in buffers if o.first < b.first]
        source[b.names] = draw(st.sampled_from(earlier)) if earlier and draw(st.booleans()) else None
        buffers.append(b)
    return buffers, source


@given(schedules())
def test_plans_are_valid_and_above_the_bound(schedule):
    buffers, source = schedule
    bound = lower_bound(buffers)
    greedy = greedy_by_size(buffers)
    searched = greedy_search(buffers, trials=20)
    assert searched.arena_size <= greedy.arena_size
    for plan in (greedy, searched, head_tail(buffers, source)):
        assert overlaps(buffers, plan) == []
        assert all(0 <= plan.offsets[b.names] and plan.offsets[b.names] + b.size <= plan.arena_size
                   for b in buffers)
        assert plan.arena_size >= bound


def test_lower_bound_by_hand():
    buffers = [Buffer(("a",), 100, 0, 1), Buffer(("b",), 40, 1, 2), Buffer(("c",), 80, 2, 3)]
    assert lower_bound(buffers) == 140  # op 1: a and b
    assert greedy_by_size(buffers).arena_size == 140  # c reuses a's bytes


def test_a_chain_alternates_ends():
    """x -> y -> z: y goes to the tail (x at the head), z back to the head over x's bytes."""
    buffers = [Buffer(("x",), 64, 0, 0), Buffer(("y",), 32, 0, 1), Buffer(("z",), 64, 1, 2)]
    plan = head_tail(buffers, {("x",): None, ("y",): ("x",), ("z",): ("y",)})
    assert plan.arena_size == 96 and plan.offsets == {("x",): 0, ("y",): 64, ("z",): 0}


def fc_chain(tokens: int, widths: list[int]) -> Graph:
    """a0 [T, widths[0]] -> FC -> a1 [T, widths[1]] -> FC -> ..."""
    names = [f"a{i}" for i in range(len(widths))]
    tensors = {n: Tensor(n, (tokens, w), "int8", Quant((0.05,), (0,))) for n, w in zip(names, widths)}
    ops = []
    for i, (k, o) in enumerate(zip(widths, widths[1:])):
        tensors[f"w{i}"] = Tensor(f"w{i}", (o, k), "int8", Quant((0.01,), (0,)), np.ones((o, k), np.int8))
        ops.append(Op("fully_connected", (names[i], f"w{i}"), (names[i + 1],)))
    return Graph(tensors, ops, [names[0]], [names[-1]])


def test_token_overwriting_shares_the_input_buffer():
    """a0 [4, 8] -> a1 [4, 24] -> a2 [4, 8]: plainly a0 and a1, then a1 and a2, are live together
    (32 + 96 bytes); overwriting, one buffer of max(32, 96, 32) bytes holds all three."""
    graph = fc_chain(4, [8, 24, 8])
    assert lower_bound(activation_buffers(graph)) == 128
    buffers = activation_buffers(graph, token_overwrite=True)
    assert [(b.names, b.size, b.first, b.last) for b in buffers] == [(("a0", "a1", "a2"), 96, 0, 2)]


def test_token_overwriting_keeps_an_input_read_later():
    """A residual: a0 feeds the FC and a later add, so the FC may not overwrite it."""
    graph = fc_chain(4, [8, 8])
    graph.tensors["s"] = Tensor("s", (4, 8), "int8", Quant((0.05,), (0,)))
    graph.ops.append(Op("add", ("a0", "a1"), ("s",)))
    graph.outputs = ["s"]
    assert len(activation_buffers(graph, token_overwrite=True)) == 3


@pytest.mark.parametrize("token_overwrite", [False, True])
@pytest.mark.parametrize("name", zoo.names())
def test_exported_graphs_plan_without_overlap(name, token_overwrite):
    graph = quantized(name, count=4)[3]
    buffers = activation_buffers(graph, token_overwrite=token_overwrite)
    named = {n for b in buffers for n in b.names}
    activations = {n for n, t in graph.tensors.items() if t.data is None}
    assert named == activations  # every activation has a buffer, reshapes share theirs
    reshapes = [op for op in graph.ops if op.kind == "reshape"]
    by_name = {n: b for b in buffers for n in b.names}
    assert all(by_name[op.inputs[0]] is by_name[op.outputs[0]] for op in reshapes)
    for plan in (greedy_by_size(buffers), greedy_search(buffers), head_tail(buffers, sources(graph, buffers))):
        assert overlaps(buffers, plan) == []
        assert plan.arena_size >= lower_bound(buffers)
        # the graph output lives to the end; the input from the start
        assert by_name[graph.outputs[0]].last == len(graph.ops) and by_name[graph.inputs[0]].first == 0
    assert np.all([b.size % 4 == 0 for b in buffers])
    if token_overwrite:
        assert lower_bound(buffers) <= lower_bound(activation_buffers(graph))
