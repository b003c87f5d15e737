"""softmax_s8 and softmax_lut_s8 (TinyFormer's lazily filled exp table): the twins (test_twins.py),
and the reference equals TFLite Micro's int8 SOFTMAX, under fuzzing of rows, depths (1, odd, up to
300), values (extremes, ties, whole rows equal) and input scales."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcusim.models.ops.softmax import SoftmaxParams, softmax_call, softmax_s8
from mcusim.models.quant import exp_on_negative_values, one_over_one_plus_x_for_x_in_0_1

from .strategies import emulated, int8_arrays
from .twins import Case, Twin

scales = st.floats(1e-3, 2.0)


@st.composite
def cases(draw, max_rows=4, max_depth=300):
    shape = (draw(st.integers(1, max_rows)), draw(st.integers(1, max_depth)))
    return draw(int8_arrays(shape)), SoftmaxParams.from_scale(draw(scales), draw(st.sampled_from([1.0, 0.5, 2.0])))


@emulated(fraction=3)
@given(x=int8_arrays(st.tuples(st.integers(1, 3), st.integers(1, 200))), scale=scales,
       zero_point=st.integers(-128, 127), beta=st.sampled_from([1.0, 0.5, 2.0]))
def test_reference_equals_tflite_micro(x, scale, zero_point, beta):
    from . import tflite_oracle

    np.testing.assert_array_equal(softmax_s8(x, SoftmaxParams.from_scale(scale, beta)),
                                  tflite_oracle.softmax(x, scale, zero_point, beta))


def test_fixed_point_helpers_against_floats():
    a = np.array([0, -1, -(1 << 24), -(1 << 26), -(5 << 26), -(31 << 26)])  # Q5.26: 0, tiny, -1/4, -1, -5, -31
    got = exp_on_negative_values(a) / 2.0 ** 31
    np.testing.assert_allclose(got, np.exp(a / 2.0 ** 26), atol=5e-7)  # the 4th-order polynomial's error
    x = np.array([0, 1 << 29, 1 << 30, (1 << 31) - 1])  # Q0.31: 0, 1/4, 1/2, ~1
    np.testing.assert_allclose(one_over_one_plus_x_for_x_in_0_1(x) / 2.0 ** 31, 1 / (1 + x / 2.0 ** 31), atol=1e-8)


def test_uniform_row_and_one_hot():
    p = SoftmaxParams.from_scale(0.5)
    out = softmax_s8(np.array([[5, 5, 5, 5], [127, -128, -128, -128]], np.int8), p)
    np.testing.assert_array_equal(out[0], [-64] * 4)  # 1/4 = 64/256
    assert out[1, 0] == 127 and (out[1, 1:] == -128).all()


def test_params_from_scale_match_tflite():
    p = SoftmaxParams.from_scale(0.1)  # 0.1 * 2^26, computed with the float32 scale
    assert (p.input_multiplier, p.input_left_shift, p.diff_min) == (1717986944, 23, -248)
    with pytest.raises(ValueError, match="too small"):
        SoftmaxParams.from_scale(1e-12)


def twin(lut: bool) -> Twin:
    def case(x, p):
        return Case(softmax_call(x.shape, p, lut=lut), softmax_s8(x, p), {"input": x})

    return Twin("softmax_lut" if lut else "softmax", case, cases(), cases(max_rows=2, max_depth=80))


TWINS = [twin(False), twin(True)]
