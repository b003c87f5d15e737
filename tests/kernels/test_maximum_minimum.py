"""maximum_minimum_s8 (MAXIMUM and MINIMUM): the twins (test_twins.py) with broadcasting, and the
reference equals TFLite Micro's int8 MAXIMUM and MINIMUM under fuzzing of shapes and values
(tests/kernels/binary_cases.py); the op's quantization rule."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcusim.models.graph import Graph, GraphError, Op, Quant, Tensor
from mcusim.models.ops.common import BinaryAttrs
from mcusim.models.ops.maximum_minimum import MaximumMinimumParams, maximum_minimum_call, maximum_minimum_s8

from .binary_cases import check_tflite_micro, path_cases, twin
from .strategies import emulated


@pytest.mark.parametrize("op", ["maximum", "minimum"])
@emulated(fraction=3)
@given(data=st.data())
def test_reference_equals_tflite_micro(op, data):
    check_tflite_micro(op, data, max_rank=5)


def test_by_hand():
    a, b = np.array([[-128, 0, 127]], np.int8), np.array([[5], [-1]], np.int8)
    np.testing.assert_array_equal(maximum_minimum_s8(a, b, MaximumMinimumParams(1)), [[5, 5, 127], [-1, 0, 127]])
    np.testing.assert_array_equal(maximum_minimum_s8(a, b, MaximumMinimumParams(0)), [[-128, 0, 5], [-128, -1, -1]])


def test_other_quantization_is_refused():
    q, other = Quant((0.1,), (0,)), Quant((0.1,), (3,))
    tensors = {"a": Tensor("a", (4,), "int8", q), "b": Tensor("b", (4,), "int8", other), "y": Tensor("y", (4,), "int8", q)}
    graph = Graph(tensors, [Op("maximum", ["a", "b"], ["y"], BinaryAttrs(), "max")], ["a", "b"], ["y"])
    with pytest.raises(GraphError, match="max.*share one scale and zero point"):
        graph.validate()


TWINS = [twin("maximum", "maximum_minimum"), twin("minimum", "maximum_minimum")]


@pytest.mark.parametrize("maximum", [0, 1])
@pytest.mark.parametrize("n", [1, 3, 4, 5, 8, 33])
def test_each_path_equals_reference(host_kernels, maximum, n):
    """The word step (SSUB8 + SEL on the DSP path) against a word, a broadcast element in every lane, and
    the tail."""
    for case in path_cases(maximum_minimum_s8, maximum_minimum_call, n, MaximumMinimumParams(maximum)):
        np.testing.assert_array_equal(case.run(host_kernels), case.expected)
