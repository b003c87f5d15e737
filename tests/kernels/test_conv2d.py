"""conv2d_s8: the twins (test_twins.py), and the reference equals TFLite Micro's CONV_2D, under fuzzing
of geometry (strides, dilation, SAME/VALID padding, sizes 1 and odd), values and quantization."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcusim.models.kernels import execute
from mcusim.models.ops.conv2d import Conv2DParams, conv2d_call, conv2d_s8, padding

from .strategies import (activation_ranges, biases, emulated, int8_arrays, multipliers, oracle_quantization,
                         window_geometries)
from .twins import Case, Twin


@st.composite
def cases(draw, **limits):
    x_shape, (kh, kw), _, stride, dilation, pad, (oh, ow) = draw(window_geometries(**limits))
    o = draw(st.integers(1, 5))
    x = draw(int8_arrays(x_shape))
    w = draw(int8_arrays((o, kh, kw, x_shape[3]), low=-127))
    multiplier, shift = draw(multipliers(o))
    act_min, act_max = draw(activation_ranges())
    p = Conv2DParams(draw(st.integers(-127, 128)), draw(st.integers(-128, 127)), multiplier, shift, oh, ow, stride,
                     pad, dilation, act_min, act_max)
    return x, w, draw(biases(o)), p


@emulated(fraction=3)
@given(st.data())
def test_reference_equals_tflite_micro(data):
    from . import tflite_oracle

    x_shape, (kh, kw), mode, stride, dilation, pad, (oh, ow) = data.draw(window_geometries(max_size=8, max_channels=6))
    o = data.draw(st.integers(1, 5))
    x = data.draw(int8_arrays(x_shape))
    w = data.draw(int8_arrays((o, kh, kw, x_shape[3]), low=-127))
    bias = np.array(data.draw(st.lists(st.integers(-50_000, 50_000), min_size=o, max_size=o)), np.int32)
    input_scale, input_zp, filter_scales, output_scale, output_zp = data.draw(oracle_quantization(o))
    out_shape = (x_shape[0], oh, ow, o)
    expected = tflite_oracle.conv2d(x, w, bias, input_scale, input_zp, filter_scales, output_scale, output_zp,
                                    out_shape, mode, stride, dilation)
    multiplier, shift = tflite_oracle.effective_multipliers(input_scale, filter_scales, output_scale)
    p = Conv2DParams(-input_zp, output_zp, multiplier, shift, oh, ow, stride, pad, dilation)
    np.testing.assert_array_equal(conv2d_s8(x, w, bias, p), expected)


def test_reference_by_hand():
    """1x3x3x1 input, 2x2 kernel of ones, stride 1, VALID: each output is a 2x2 window sum."""
    x = np.arange(9, dtype=np.int8).reshape(1, 3, 3, 1)
    w = np.ones((1, 2, 2, 1), np.int8)
    p = Conv2DParams(0, 0, np.array([1 << 30], np.int32), np.array([1], np.int32), 2, 2)  # multiplier 1.0
    np.testing.assert_array_equal(conv2d_s8(x, w, None, p)[0, :, :, 0], [[8, 12], [20, 24]])


@pytest.mark.parametrize("args, expected", [
    (("same", 7, 3, 2, 1), (1, 4)), (("valid", 7, 3, 2, 1), (0, 3)), (("same", 5, 3, 1, 2), (2, 5)),
    (("same", 1, 4, 1, 1), (1, 1)), (("valid", 5, 3, 1, 2), (0, 1)),
])
def test_padding_matches_tflite(args, expected):
    assert padding(*args) == expected


@pytest.mark.parametrize("direct", [False, True])
def test_kernel_rejects_bad_geometry(host_kernels, direct):
    x, w = np.zeros((1, 4, 4, 2), np.int8), np.zeros((1, 3, 3, 2), np.int8)
    p = Conv2DParams(0, 0, np.array([1 << 30], np.int32), np.array([0], np.int32), 2, 2, stride=(0, 1))
    with pytest.raises(ValueError, match="status -1"):
        execute(host_kernels, conv2d_call(x.shape, w, None, p, direct=direct), input=x)


def twin(direct: bool) -> Twin:
    """conv2d_s8 (pointwise, im2col or direct by shape) or conv2d_direct_s8 (no scratch)."""
    def case(x, w, bias, p):
        return Case(conv2d_call(x.shape, w, bias, p, direct=direct), conv2d_s8(x, w, bias, p), {"input": x})

    return Twin("conv2d_direct" if direct else "conv2d", case, cases(), cases(max_size=6, max_channels=6, max_kernel=3))


TWINS = [twin(False), twin(True)]


@pytest.mark.parametrize("shape, kernel, stride, pad", [
    ((2, 5, 3, 8), (1, 1), (1, 1), (0, 0)),      # pointwise: the pixels as fully connected rows
    ((1, 5, 7, 3), (3, 3), (1, 1), (1, 1)),      # im2col: an odd pixel count, an odd channel count
    ((1, 3, 4, 2050), (1, 2), (1, 1), (0, 0)),   # direct: K = 4100 taps, beyond MCUSIM_CONV_MAX_COLUMN
])
@pytest.mark.parametrize("shift, bias_base", [(-9, 0), (-24, 1 << 30)])
def test_each_path_equals_reference(host_kernels, shape, kernel, stride, pad, shift, bias_base):
    """The kernel's three paths (conv2d_s8.c), each on a shape that takes it, odd output channels; the
    output stage's fast form (small biases) and its general form (biases near 2^30: sums beyond the
    fast form's reach, a right shift that brings them back into int8)."""
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, shape, np.int8)
    w = rng.integers(-127, 128, (5, *kernel, shape[3]), np.int8)
    out_hw = [(size + 2 * p - k) // s + 1 for size, k, s, p in zip(shape[1:3], kernel, stride, pad)]
    p = Conv2DParams(-5, 3, np.full(5, 1 << 30, np.int32), np.full(5, shift, np.int32), *out_hw, stride, pad)
    bias = (rng.choice([-1, 1], 5) * (bias_base + rng.integers(0, 5000, 5))).astype(np.int32)
    case = Case(conv2d_call(x.shape, w, bias, p), conv2d_s8(x, w, bias, p), {"input": x})
    np.testing.assert_array_equal(case.run(host_kernels), case.expected)
