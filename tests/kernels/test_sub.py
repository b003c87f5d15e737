"""sub_s8: the twin (test_twins.py) with broadcasting, and the reference equals TFLite Micro's int8 SUB
(fused activations included) under fuzzing of shapes, values, zero points and scales
(tests/kernels/binary_cases.py); add's kernel paths with the other sign."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcusim.models.ops.add import AddParams, add_s8
from mcusim.models.ops.sub import SubParams, sub_call, sub_s8

from .binary_cases import check_all_value_pairs, ADD_EXTREMES, check_tflite_micro, path_cases, twin
from .strategies import emulated


@emulated(fraction=3)
@given(data=st.data())
def test_reference_equals_tflite_micro(data):
    check_tflite_micro("sub", data, max_rank=6)


def test_sub_by_hand():
    """Equal scales 0.5, zero points 0: the real difference, rounded, in output scale 0.5."""
    p = SubParams.from_quantization(0.5, 0, 0.5, 0, 0.5, 0)
    np.testing.assert_array_equal(sub_s8(np.array([1, -3, 100, -100], np.int8), np.array([2, -4, -100, 100], np.int8),
                                         p), [-1, 1, 127, -128])


def test_ratios_are_divided_in_float32():
    """TFLM's SUB divides the scales in float32 (add: in double), which moves some multipliers by one."""
    scales = (0.0033, 0.0071, 0.0123)
    sub, add = SubParams.from_quantization(scales[0], 0, scales[1], 0, scales[2], 0), \
        AddParams.from_quantization(scales[0], 0, scales[1], 0, scales[2], 0)
    assert (sub.input1_multiplier, sub.output_multiplier) != (add.input1_multiplier, add.output_multiplier)


def test_sub_is_not_add_with_a_negated_multiplier():
    """requant rounds ties up: requant(a, -m) differs from -requant(a, m) at a tie (here every odd x2
    halved, left_shift 0), so sub subtracts the rescaled inputs, as TFLM does for int8."""
    p = AddParams(0, 0, 0, 0, 1 << 30, 0, 1 << 30, 0, (1 << 31) - 1, 0)
    negated = AddParams(0, 0, 0, 0, 1 << 30, 0, -(1 << 30), 0, (1 << 31) - 1, 0)
    x = np.array([-127, -1, 1, 3], np.int8)
    np.testing.assert_array_equal(sub_s8(np.zeros_like(x), x, p), [63, 0, -1, -2])
    np.testing.assert_array_equal(add_s8(np.zeros_like(x), x, negated), [64, 1, 0, -1])


@pytest.mark.parametrize("quant", [(0.0033, 0, 0.0071, 0, 0.0123, 0, "none"), (0.02, -128, 0.5, 127, 0.3, 5, "relu6"),
                                   (1.0, 3, 1e-3, -7, 0.01, -128, "relu")])
def test_all_value_pairs_equal_tflite_micro(quant):
    check_all_value_pairs("sub", quant)


TWINS = [twin("sub")]


@pytest.mark.parametrize("n", [1, 3, 4, 5, 9, 33])
@pytest.mark.parametrize("p", ADD_EXTREMES, ids=range(len(ADD_EXTREMES)))
def test_each_path_equals_reference(host_kernels, n, p):
    for case in path_cases(sub_s8, sub_call, n, p):
        np.testing.assert_array_equal(case.run(host_kernels), case.expected)


@pytest.mark.toolchain
@pytest.mark.parametrize("p", ADD_EXTREMES, ids=range(len(ADD_EXTREMES)))
def test_each_path_equals_reference_emulated(emulated_kernels, p):
    for n in (1, 3, 8, 37):
        for case in path_cases(sub_s8, sub_call, n, p):
            np.testing.assert_array_equal(case.run(emulated_kernels), case.expected)
