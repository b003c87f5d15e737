"""squared_difference_s8: the twin (test_twins.py) with broadcasting, and the reference equals TFLite
Micro's int8 SQUARED_DIFFERENCE under fuzzing of shapes, values, zero points and scales (output scales
down to 1e-7: a left-shifting output multiplier; tests/kernels/binary_cases.py)."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcusim.models.ops.squared_difference import (SquaredDifferenceParams, squared_difference_call,
                                                  squared_difference_s8)

from .binary_cases import check_all_value_pairs, check_tflite_micro, path_cases, twin
from .strategies import emulated


@emulated(fraction=3)
@given(data=st.data())
def test_reference_equals_tflite_micro(data):
    check_tflite_micro("squared_difference", data, max_rank=4)


def test_squared_difference_by_hand():
    """Inputs of scale 0.5, output of scale 0.25 and zero point -128: (0.5 d)^2 / 0.25 = d^2 above -128."""
    p = SquaredDifferenceParams.from_quantization(0.5, 0, 0.5, 0, 0.25, -128)
    np.testing.assert_array_equal(squared_difference_s8(np.array([3, -4, 0, 20], np.int8),
                                                         np.array([1, 4, 0, -20], np.int8), p), [-124, -64, -128, 127])


@pytest.mark.parametrize("quant", [(0.02, -128, 0.5, 127, 0.3, 5, "none"), (1.0, 3, 1e-3, -7, 1e-6, -128, "none"),
                                   (0.05, 0, 0.05, 0, 0.01, -100, "none")])
def test_all_value_pairs_equal_tflite_micro(quant):
    check_all_value_pairs("squared_difference", quant)


TWINS = [twin("squared_difference")]

# Raw parameters: the Prepare ranges' ends, a left-shifting output (d * d << 30 wraps), input
# multipliers above 0.5 (d * d itself wraps), extreme offsets.
EXTREMES = [
    SquaredDifferenceParams(128, -127, 127, 7, 1 << 30, 0, 1 << 30, 0, (1 << 31) - 1, 30),
    SquaredDifferenceParams(-127, 128, -128, 7, (1 << 31) - 1, 0, (1 << 31) - 1, 0, 1 << 30, -31),
    SquaredDifferenceParams(0, 5, 3, 7, 1 << 30, -3, 1234567890, -1, 1518500250, -14),
    SquaredDifferenceParams(9, -9, 0, 7, 0, 0, 1 << 30, -31, (1 << 31) - 1, 3),
]


@pytest.mark.parametrize("n", [1, 4, 9, 33])
@pytest.mark.parametrize("p", EXTREMES, ids=range(len(EXTREMES)))
def test_each_path_equals_reference(host_kernels, n, p):
    for case in path_cases(squared_difference_s8, squared_difference_call, n, p):
        np.testing.assert_array_equal(case.run(host_kernels), case.expected)


@pytest.mark.toolchain
@pytest.mark.parametrize("p", EXTREMES, ids=range(len(EXTREMES)))
def test_each_path_equals_reference_emulated(emulated_kernels, p):
    for case in path_cases(squared_difference_s8, squared_difference_call, 37, p):
        np.testing.assert_array_equal(case.run(emulated_kernels), case.expected)
