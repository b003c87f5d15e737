"""gelu_sigmoid_s8 (MCUFormer's x * sigmoid(1.702 x) in fixed point): the twins (test_twins.py) under
fuzzing of values and scales; the fixed-point logistic tracks the real one; the result stays within
one LSB of the float formula."""
import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from mcusim.models.ops.gelu_sigmoid import GeluSigmoidParams, gelu_sigmoid_call, gelu_sigmoid_s8
from mcusim.models.quant import logistic

from .strategies import int8_arrays, shapes
from .twins import Case, Twin

ALL_INT8 = np.arange(-128, 128, dtype=np.int8)


@st.composite
def params(draw):
    input_scale = draw(st.floats(1e-3, 4.0))
    output_scale = draw(st.floats(input_scale / 200, input_scale * 200))
    return GeluSigmoidParams.from_quantization(input_scale, draw(st.integers(-128, 127)), output_scale,
                                               draw(st.integers(-128, 127)))


@given(st.integers(-(1 << 31), (1 << 31) - 1))
def test_logistic_tracks_the_real_function(a):
    """gemmlowp's logistic is good to about 2^-24 (7e-8 at worst over a dense sweep of Q5.26)."""
    expected = 1 / (1 + math.exp(-a / 2 ** 26))
    assert abs(int(logistic(a)) / 2 ** 31 - expected) < 1e-7


@given(st.floats(1e-3, 4.0), st.integers(-128, 127), st.floats(0.2, 5.0), st.integers(-128, 127))
def test_within_one_lsb_of_the_float_formula(input_scale, input_zp, ratio, output_zp):
    s_in, s_out = float(np.float32(input_scale)), float(np.float32(input_scale * ratio))
    x = s_in * (ALL_INT8.astype(np.float64) - input_zp)
    with np.errstate(over="ignore"):  # exp of large -1.702 x: the sigmoid is 0 there
        expected = np.clip(np.round(x / (1 + np.exp(-1.702 * x)) / s_out) + output_zp, -128, 127)
    got = gelu_sigmoid_s8(ALL_INT8, GeluSigmoidParams.from_quantization(s_in, input_zp, s_out, output_zp))
    assert np.abs(got - expected).max() <= 1


def test_by_hand():
    """Scale 1/16 in and out, zero points 0: 0 -> 0; 16 (x = 1) -> sigmoid(1.702) = 0.8458 -> 13.53 -> 14;
    -16 -> -0.1542 * 16 = -2.47 -> -2; 127 -> 127 (saturated sigmoid ~1)."""
    p = GeluSigmoidParams.from_quantization(1 / 16, 0, 1 / 16, 0)
    np.testing.assert_array_equal(gelu_sigmoid_s8(np.array([0, 16, -16, 127], np.int8), p), [0, 14, -2, 127])


def case(x, p):
    return Case(gelu_sigmoid_call(x.shape, p), gelu_sigmoid_s8(x, p), {"input": x})


TWINS = [Twin("gelu_sigmoid", case, st.tuples(st.just(ALL_INT8) | int8_arrays(shapes(max_side=7)), params()),
              st.tuples(st.just(ALL_INT8), params()))]
