"""gather_s8: the twins (test_twins.py) under fuzzing of shapes (ranks 1 to 6, sides of 1), axes
(negative too) and index tensors (scalar to 3-D, repeats, first and last); the reference equals TFLite
Micro's int8 GATHER; indices outside the axis are refused by the op's validation and by the kernel."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcusim.models.graph import Graph, GraphError, Op, Quant, Tensor
from mcusim.models.kernels import execute
from mcusim.models.ops.gather import GatherAttrs, gather_call, gather_s8

from .strategies import emulated, int8_arrays, scales, shapes
from .twins import Case, Twin


@st.composite
def cases(draw, max_rank=6, max_side=5):
    """(x, indices, axis): an index tensor of rank 0 to 3 whose values lean to the axis' ends."""
    x = draw(int8_arrays(draw(shapes(max_rank=max_rank, max_side=max_side))))
    axis = draw(st.integers(-x.ndim, x.ndim - 1))
    size = x.shape[axis]
    index = st.one_of(st.integers(0, size - 1), st.sampled_from([0, size - 1]))
    indices_shape = tuple(draw(st.lists(st.integers(1, 4), max_size=max(0, min(3, 6 - x.ndim + 1)))))
    flat = draw(st.lists(index, min_size=int(np.prod(indices_shape)), max_size=int(np.prod(indices_shape))))
    return x, np.array(flat, np.int32).reshape(indices_shape), axis


def test_gather_by_hand():
    x = np.arange(24, dtype=np.int8).reshape(2, 3, 4)
    np.testing.assert_array_equal(gather_s8(x, np.array([2, 0, 2]), 1)[1, :, 0], [20, 12, 20])
    assert gather_s8(x, np.array([[3, 0]]), -1).shape == (2, 3, 1, 2)
    assert gather_s8(x, np.array(1), 0).shape == (3, 4)


@emulated(fraction=3)
@given(cases(max_rank=4, max_side=4), scales(), st.integers(-128, 127))
def test_reference_equals_tflite_micro(case, scale, zero_point):
    from . import tflite_oracle

    x, indices, axis = case
    expected = tflite_oracle.gather(x, indices, axis, scale, zero_point)
    np.testing.assert_array_equal(gather_s8(x, indices, axis), expected)


def _graph(indices, axis, x_shape=(2, 3), y_shape=(2, 2)) -> Graph:
    q = Quant((0.1,), (3,))
    tensors = {"x": Tensor("x", x_shape, "int8", q), "y": Tensor("y", y_shape, "int8", q)}
    attrs = GatherAttrs(axis, tuple(np.reshape(indices, -1)), np.shape(indices))
    return Graph(tensors, [Op("gather", ["x"], ["y"], attrs, "g")], ["x"], ["y"], {})


@pytest.mark.parametrize("indices, axis, message", [
    ([0, 3], 1, r"indices \[0, 3\] outside \[0, 3\)"),
    ([-1, 0], 1, r"outside \[0, 3\)"),
    ([0, 1], 2, "axis 2 outside a rank-2 input"),
    ([0, 1], -3, "axis -3 outside"),
])
def test_validation_refuses(indices, axis, message):
    with pytest.raises(GraphError, match=message):
        _graph(indices, axis).validate()


def test_validation_takes_a_negative_axis():
    _graph([2, 0], -1).validate()


def test_kernel_rejects_an_index_outside_the_axis(host_kernels):
    x = np.zeros((2, 3), np.int8)
    with pytest.raises(ValueError, match="status -1"):
        execute(host_kernels, gather_call(x.shape, np.array([1, 3]), 1), input=x)


def case(x, indices, axis):
    return Case(gather_call(x.shape, indices, axis), gather_s8(x, indices, axis), {"input": x})


TWINS = [Twin("gather", case, cases(), cases(max_rank=4, max_side=3))]
