"""depthwise_conv2d_s8: the twins (test_twins.py), and the reference equals TFLite Micro's
DEPTHWISE_CONV_2D, under fuzzing of geometry, depth multiplier, values and quantization, on both paths
(the DSP path: depth multiplier 1, four channels a step). depthwise_conv2d_inplace_s8 (output over
input) gives the same bits and reads no byte it wrote."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcusim.emulator import reads_after_writes
from mcusim.models.blob import IN, OUT
from mcusim.models.kernels import execute
from mcusim.models.ops.depthwise_conv2d import DepthwiseConv2DParams, depthwise_conv2d_call, depthwise_conv2d_s8

from .strategies import (activation_ranges, biases, emulated, int8_arrays, multipliers, oracle_quantization,
                         window_geometries)
from .twins import Case, Twin


@st.composite
def cases(draw, **limits):
    x_shape, (kh, kw), _, stride, dilation, pad, (oh, ow) = draw(window_geometries(**limits))
    m = draw(st.integers(1, 3))
    out_ch = x_shape[3] * m
    x = draw(int8_arrays(x_shape))
    w = draw(int8_arrays((1, kh, kw, out_ch), low=-127))
    multiplier, shift = draw(multipliers(out_ch))
    act_min, act_max = draw(activation_ranges())
    p = DepthwiseConv2DParams(draw(st.integers(-127, 128)), draw(st.integers(-128, 127)), multiplier, shift, oh, ow,
                              stride, pad, dilation, act_min, act_max, depth_multiplier=m)
    return x, w, draw(biases(out_ch)), p


@st.composite
def same_size_cases(draw, max_size=8, max_channels=8):
    """Cases the in-place kernel takes: depth multiplier 1, stride 1, the output the input's size
    (SAME padding above/left, the rest below/right as the output dims say)."""
    n, h, w, c = (draw(st.integers(1, m)) for m in (2, max_size, max_size, max_channels))
    kh, kw, dh, dw = (draw(st.integers(1, m)) for m in (3, 3, 2, 2))
    pad = ((kh - 1) * dh // 2, (kw - 1) * dw // 2)
    multiplier, shift = draw(multipliers(c))
    act_min, act_max = draw(activation_ranges())
    p = DepthwiseConv2DParams(draw(st.integers(-127, 128)), draw(st.integers(-128, 127)), multiplier, shift, h, w,
                              (1, 1), pad, (dh, dw), act_min, act_max)
    return draw(int8_arrays((n, h, w, c))), draw(int8_arrays((1, kh, kw, c), low=-127)), draw(biases(c)), p


@pytest.mark.toolchain
def test_hazard_check_catches_the_plain_kernel_in_place(emulated_kernels):
    """The plain depthwise kernel run in place reads neighbours it has already overwritten."""
    x, w = np.ones((1, 3, 3, 2), np.int8), np.ones((1, 3, 3, 2), np.int8)
    p = DepthwiseConv2DParams(0, 0, np.full(2, 1 << 30, np.int32), np.zeros(2, np.int32), 3, 3, pad=(1, 1))
    accesses = []
    execute(emulated_kernels, depthwise_conv2d_call(x.shape, w, None, p, y=IN), accesses, input=x)
    assert reads_after_writes(accesses)


def test_inplace_kernel_refuses_what_it_cannot_do(host_kernels):
    x, w = np.zeros((1, 4, 4, 2), np.int8), np.zeros((1, 3, 3, 2), np.int8)
    quant = (np.full(2, 1 << 30, np.int32), np.zeros(2, np.int32))
    strided = DepthwiseConv2DParams(0, 0, *quant, 2, 2, stride=(2, 2), pad=(1, 1))  # output smaller than input
    with pytest.raises(ValueError, match="status -1"):
        execute(host_kernels, depthwise_conv2d_call(x.shape, w, None, strided, y=IN, in_place=True), input=x)


@emulated(fraction=3)
@given(st.data())
def test_reference_equals_tflite_micro(data):
    from . import tflite_oracle

    x_shape, (kh, kw), mode, stride, dilation, pad, (oh, ow) = data.draw(window_geometries(max_size=8, max_channels=6))
    m = data.draw(st.integers(1, 3))
    out_ch = x_shape[3] * m
    x = data.draw(int8_arrays(x_shape))
    w = data.draw(int8_arrays((1, kh, kw, out_ch), low=-127))
    bias = np.array(data.draw(st.lists(st.integers(-50_000, 50_000), min_size=out_ch, max_size=out_ch)), np.int32)
    input_scale, input_zp, filter_scales, output_scale, output_zp = data.draw(oracle_quantization(out_ch))
    expected = tflite_oracle.depthwise_conv2d(x, w, bias, input_scale, input_zp, filter_scales, output_scale,
                                              output_zp, (x_shape[0], oh, ow, out_ch), mode, stride, dilation, m)
    multiplier, shift = tflite_oracle.effective_multipliers(input_scale, filter_scales, output_scale)
    p = DepthwiseConv2DParams(-input_zp, output_zp, multiplier, shift, oh, ow, stride, pad, dilation,
                              depth_multiplier=m)
    np.testing.assert_array_equal(depthwise_conv2d_s8(x, w, bias, p), expected)


def test_reference_by_hand():
    """Two channels, multiplier 2, 1x1 kernel: output channel o = input channel o // 2 times w[o]."""
    x = np.array([[[[3, -4]]]], np.int8)
    w = np.array([[[[1, 2, -1, 3]]]], np.int8)
    one = np.full(4, 1 << 30, np.int32)
    p = DepthwiseConv2DParams(0, 0, one, np.ones(4, np.int32), 1, 1, depth_multiplier=2)
    np.testing.assert_array_equal(depthwise_conv2d_s8(x, w, None, p)[0, 0, 0], [3, 6, 4, -12])


def test_kernel_rejects_bad_multiplier(host_kernels):
    x, w = np.zeros((1, 3, 3, 2), np.int8), np.zeros((1, 1, 1, 2), np.int8)
    p = DepthwiseConv2DParams(0, 0, np.full(2, 1 << 30, np.int32), np.zeros(2, np.int32), 3, 3, depth_multiplier=0)
    with pytest.raises(ValueError, match="status -1"):
        execute(host_kernels, depthwise_conv2d_call(x.shape, w, None, p), input=x)


def case(x, w, bias, p, in_place=False):
    call = depthwise_conv2d_call(x.shape, w, bias, p, y=IN if in_place else OUT, in_place=in_place)
    return Case(call, depthwise_conv2d_s8(x, w, bias, p), {"input": x})


TWINS = [
    Twin("depthwise_conv2d", case, cases(), cases(max_size=6, max_channels=6, max_kernel=3)),
    Twin("depthwise_conv2d_inplace", lambda *c: case(*c, in_place=True), same_size_cases(),
         same_size_cases(max_size=5, max_channels=5), in_place=True),
]


@pytest.mark.parametrize("shape, kernel, stride, dilation, mult", [
    ((1, 6, 7, 9), (3, 3), (1, 1), (1, 1), 1),   # 3 x 3: whole windows inside (unrolled), border windows, a tail
    ((2, 7, 6, 8), (3, 3), (2, 2), (1, 1), 1),   # strided
    ((1, 7, 7, 4), (3, 3), (1, 1), (2, 2), 1),   # dilated: no unrolled window
    ((1, 6, 5, 5), (5, 3), (1, 1), (1, 1), 1),   # another kernel size
    ((1, 5, 5, 3), (3, 3), (1, 1), (1, 1), 2),   # depth multiplier 2: the plain loop
])
@pytest.mark.parametrize("shift, bias_base", [(-9, 0), (-24, 1 << 30)])
def test_each_path_equals_reference(host_kernels, shape, kernel, stride, dilation, mult, shift, bias_base):
    """The DSP path's pixel cores (depthwise_conv2d_s8.c), each on a shape that takes it, SAME padding;
    the output stage's fast form (small biases) and its general form (biases near 2^30: sums beyond
    the fast form's reach, a right shift that brings them back into int8)."""
    rng = np.random.default_rng(0)
    out_ch = shape[3] * mult
    x = rng.integers(-128, 128, shape, np.int8)
    w = rng.integers(-127, 128, (1, *kernel, out_ch), np.int8)
    pad = tuple((k - 1) * d // 2 for k, d in zip(kernel, dilation))
    out_hw = [(size + 2 * p - (k - 1) * d - 1) // s + 1 for size, k, s, d, p in zip(shape[1:3], kernel, stride,
                                                                                     dilation, pad)]
    p = DepthwiseConv2DParams(-5, 3, rng.integers(1 << 30, (1 << 31) - 1, out_ch).astype(np.int32),
                              np.full(out_ch, shift, np.int32), *out_hw, stride, pad, dilation, depth_multiplier=mult)
    bias = (rng.choice([-1, 1], out_ch) * (bias_base + rng.integers(0, 5000, out_ch))).astype(np.int32)
    case = Case(depthwise_conv2d_call(x.shape, w, bias, p), depthwise_conv2d_s8(x, w, bias, p), {"input": x})
    np.testing.assert_array_equal(case.run(host_kernels), case.expected)
