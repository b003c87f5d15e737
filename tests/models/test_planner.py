"""The arena planner: lifetimes from a graph (reshapes share their input's buffer), the lower bound,
and plans that never give two live buffers the same byte, whatever the lifetimes and sizes."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcusim.models import zoo
from mcusim.models.planner import (Buffer, activation_buffers, greedy_by_size, head_tail, lower_bound, overlaps,
                                   sources)

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
    for plan in (greedy_by_size(buffers), head_tail(buffers, source)):
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


@pytest.mark.parametrize("name", zoo.names())
def test_exported_graphs_plan_without_overlap(name):
    graph = quantized(name, count=4)[3]
    buffers = activation_buffers(graph)
    named = {n for b in buffers for n in b.names}
    activations = {n for n, t in graph.tensors.items() if t.data is None}
    assert named == activations  # every activation has a buffer, reshapes share theirs
    reshapes = [op for op in graph.ops if op.kind == "reshape"]
    by_name = {n: b for b in buffers for n in b.names}
    assert all(by_name[op.inputs[0]] is by_name[op.outputs[0]] for op in reshapes)
    for plan in (greedy_by_size(buffers), head_tail(buffers, sources(graph, buffers))):
        assert overlaps(buffers, plan) == []
        assert plan.arena_size >= lower_bound(buffers)
        # the graph output lives to the end; the input from the start
        assert by_name[graph.outputs[0]].last == len(graph.ops) and by_name[graph.inputs[0]].first == 0
    assert np.all([b.size % 4 == 0 for b in buffers])
