"""mean_s8: the twins (test_twins.py), and the reference equals TFLite Micro's int8 MEAN, under fuzzing of
ranks, reduced axes (the 4-D H, W case TFLM special-cases among them), values, scales and zero points."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcusim.models.kernels import execute
from mcusim.models.ops.mean import MeanParams, mean_call, mean_s8

from .strategies import emulated, int8_arrays, scales, shapes
from .twins import Case, Twin, with_dims

zero_points = st.integers(-128, 127)


@st.composite
def cases(draw, max_side=6):
    x = draw(int8_arrays(draw(shapes(max_side=max_side))))
    axes = tuple(sorted(draw(st.sets(st.integers(0, x.ndim - 1), min_size=1))))
    count = int(np.prod([x.shape[a] for a in axes]))
    p = MeanParams.from_quantization(draw(scales()), draw(zero_points), draw(scales()), draw(zero_points), count)
    return x, axes, p


def test_count_folds_into_the_multiplier():
    """Mean of 7 values at equal scales: multiplier 2^30 (0.5), shift 1, count 7: s = 2, the
    multiplier (2^30 << 2) // 7, the shift -1. sum = 7 * 100 + 1 -> 100.14 -> 100."""
    p = MeanParams.from_quantization(0.5, 0, 0.5, 0, 7)
    assert (p.multiplier, p.shift) == ((1 << 32) // 7, -1)
    x = np.array([100] * 6 + [101], np.int8)
    np.testing.assert_array_equal(mean_s8(x, (0,), p), [100])


def test_kernel_rejects_an_output_dim_that_is_neither_kept_nor_reduced(host_kernels):
    x = np.zeros((1, 1, 4, 3), np.int8)
    call = with_dims(mean_call(x.shape, (2,), MeanParams(0, 0, 1 << 30, 1)), -2, (1, 1, 2, 3))
    with pytest.raises(ValueError, match="status -1"):
        execute(host_kernels, call, input=x)


@emulated(fraction=3)
@given(st.data())
def test_reference_equals_tflite_micro(data):
    from . import tflite_oracle

    x = data.draw(int8_arrays(data.draw(shapes(max_side=5))))
    axes = sorted(data.draw(st.sets(st.integers(0, x.ndim - 1), min_size=1)))
    if x.ndim == 4 and data.draw(st.booleans()):
        axes = [1, 2]  # TFLM's special case (keep_dims, 4-D, H and W)
    keep_dims = data.draw(st.booleans())
    quant = [data.draw(scales()), data.draw(zero_points), data.draw(scales()), data.draw(zero_points)]
    if data.draw(st.booleans()):
        quant[2:] = quant[:2]  # equal input and output quantization: another TFLM branch
    expected = tflite_oracle.mean(x, axes, keep_dims, *quant)
    p = MeanParams.from_quantization(*quant, int(np.prod([x.shape[a] for a in axes])))
    np.testing.assert_array_equal(mean_s8(x, tuple(axes), p).reshape(expected.shape), expected)


def case(x, axes, p):
    return Case(mean_call(x.shape, axes, p), mean_s8(x, axes, p), {"input": x})


TWINS = [Twin("mean", case, cases(), cases(max_side=4))]
