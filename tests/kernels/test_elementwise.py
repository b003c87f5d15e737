"""add_s8 and mul_s8: the twins (test_twins.py) with broadcasting, and the references equal TFLite Micro's
int8 ADD and MUL (fused activations included), under fuzzing of shapes, values, zero points and scales
(tests/kernels/binary_cases.py). Also the broadcast collapse and refusals shared by every binary op,
and mul_s8 fuzzed through mcusim's own pytest plugin, as a user would (mcusim/pytest_plugin.py)."""
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mcusim.models.graph import Graph, GraphError, Op, Quant, Tensor
from mcusim.models.ops.add import AddParams, add_call, add_s8
from mcusim.models.ops.common import ElementwiseAttrs, broadcast_dims
from mcusim.models.ops.mul import MulParams, mul_call, mul_s8
from mcusim.testing import In, Int, Multiplier, Out, Shift, Struct, ZeroPoint

from .binary_cases import ADD_EXTREMES, check_tflite_micro, path_cases, twin
from .strategies import emulated
from .twins import Case, fuzzed_by_the_plugin, with_dims


@pytest.mark.parametrize("op", ["add", "mul"])
@emulated(fraction=3)
@given(data=st.data())
def test_reference_equals_tflite_micro(op, data):
    check_tflite_micro(op, data, max_rank=6)


def test_add_by_hand():
    """Equal scales 0.5, zero points 0: the real sum, rounded, in output scale 0.5."""
    p = AddParams.from_quantization(0.5, 0, 0.5, 0, 0.5, 0)
    np.testing.assert_array_equal(add_s8(np.array([1, -3, 100], np.int8), np.array([2, -4, 100], np.int8), p),
                                  [3, -7, 127])


def test_mul_by_hand():
    p = MulParams.from_quantization(0.5, 0, 0.5, 0, 0.25, 0)  # real multiplier 1
    np.testing.assert_array_equal(mul_s8(np.array([3, -4, 20], np.int8), np.array([5, 6, 20], np.int8), p),
                                  [15, -24, 127])


def test_broadcast_by_hand(host_kernels):
    """A row vector times a column vector: (2, 1) * (1, 3), on the host build."""
    p = MulParams.from_quantization(0.5, 0, 0.5, 0, 0.25, 0)
    a, b = np.array([[2], [-3]], np.int8), np.array([[1, 5, -7]], np.int8)
    case = Case(mul_call(a.shape, b.shape, p), mul_s8(a, b, p), {"input": a, "input2": b})
    np.testing.assert_array_equal(case.expected, [[2, 10, -14], [-3, -15, 21]])
    np.testing.assert_array_equal(case.run(host_kernels), case.expected)


@pytest.mark.parametrize("a, b, dims", [
    ((1, 49, 32), (49, 32), ((1, 1, 1, 1568), (1, 1, 1, 1568), (1, 1, 1, 1568))),  # one flat run
    ((1, 49, 32), (1, 1, 32), ((1, 1, 49, 32), (1, 1, 1, 32), (1, 1, 49, 32))),     # 49 flat runs of 32
    ((49, 32), (49, 1), ((1, 1, 49, 32), (1, 1, 49, 1), (1, 1, 49, 32))),           # vector against scalar
    ((2, 3, 1, 5, 7, 1), (1, 1, 4, 5, 7, 1), ((1, 6, 1, 35), (1, 1, 4, 35), (1, 6, 4, 35))),  # rank 6
    ((1,), (1, 1, 1), ((1, 1, 1, 1),) * 3),
])
def test_broadcast_collapses_adjacent_axes(a, b, dims):
    assert broadcast_dims(a, b, np.broadcast_shapes(a, b)) == dims


def _graph(a_shape, b_shape, y_shape) -> Graph:
    q = Quant((0.1,), (0,))
    tensors = {n: Tensor(n, s, "int8", q) for n, s in (("a", a_shape), ("b", b_shape), ("y", y_shape))}
    return Graph(tensors, [Op("add", ["a", "b"], ["y"], ElementwiseAttrs(), "sum")], ["a", "b"], ["y"])


@pytest.mark.parametrize("a, b, y, message", [
    ((2, 1, 2, 1, 2), (1, 2, 1, 2, 1), (2, 2, 2, 2, 2), "5 alternating axes; the kernels take at most 4"),
    ((3, 4), (5, 4), (5, 4), "do not broadcast"),
    ((1, 4), (3, 1), (3, 5), "do not broadcast"),
])
def test_unbroadcastable_shapes_are_refused(a, b, y, message):
    with pytest.raises(GraphError, match=f"sum.*{message}"):
        _graph(a, b, y).validate()


@pytest.mark.parametrize("a, b, y", [((1, 4), (1, 5), (1, 5)), ((2, 4), (1, 4), (1, 4)), ((2, 4), (1, 4), (2, 5))])
def test_mismatched_dims_are_refused(host_kernels, a, b, y):
    """The kernels check the broadcast rule themselves: an input dim other than 1 and the output's, or
    an output dim that no input has, is status -1."""
    p = MulParams.from_quantization(0.5, 0, 0.5, 0, 0.25, 0)
    call = with_dims(with_dims(mul_call((1, 4), (1, 4), p), 1, a), 3, b)
    case = Case(with_dims(call, -2, y), np.zeros(y, np.int8), {"input": np.zeros(a, np.int8),
                                                               "input2": np.zeros(b, np.int8)})
    with pytest.raises(ValueError):
        case.run(host_kernels)


TWINS = [twin("add"), twin("mul")]


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 16, 33, 1001])
@pytest.mark.parametrize("p", ADD_EXTREMES, ids=range(len(ADD_EXTREMES)))
def test_add_each_path_equals_reference(host_kernels, n, p):
    """add_s8.c's paths on every element count mod 4, extreme offsets, multipliers and shifts."""
    for case in path_cases(add_s8, add_call, n, p):
        np.testing.assert_array_equal(case.run(host_kernels), case.expected)


@pytest.mark.toolchain
@pytest.mark.parametrize("p", ADD_EXTREMES, ids=range(len(ADD_EXTREMES)))
def test_add_each_path_equals_reference_emulated(emulated_kernels, p):
    """The same on the cores (SMMLAR, SXTAB16 and the word store on the DSP path), 4k + 0..3 elements."""
    for n in (1, 3, 8, 37):
        for case in path_cases(add_s8, add_call, n, p):
            np.testing.assert_array_equal(case.run(emulated_kernels), case.expected)


def mcusim_mul_s8(params: Struct[ZeroPoint[-127, 128], ZeroPoint[-127, 128], ZeroPoint, Multiplier, Shift,
                                 ZeroPoint, ZeroPoint],
                  input1_dims: Struct[1, Int["h", 1, 6], Int["w", 1, 6], Int["c", 1, 20]],
                  input1: In[np.int8, "h", "w", "c"], input2_dims: Struct[1, 1, 1, "c"], input2: In[np.int8, "c"],
                  output_dims: Struct[1, "h", "w", "c"], output: Out[np.int8, "h", "w", "c"]) -> int:
    """The C signature annotated for the plugin: input2 one row of channels broadcast over input1's
    pixels, the params as mcusim_mul_params orders them; act_min <= act_max is the contract."""
    p = MulParams(*map(int, params))
    assume(p.act_min <= p.act_max)
    output[:] = mul_s8(input1, input2, p)
    return 0


test_mul_fuzzed_by_the_pytest_plugin = fuzzed_by_the_plugin(mcusim_mul_s8)
