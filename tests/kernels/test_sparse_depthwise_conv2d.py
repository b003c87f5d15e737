"""sparse_depthwise_conv2d_s8: C on the block run-length stream equals depthwise_conv2d's reference on
the decoded filter, bit for bit (the twins, test_twins.py), under fuzzing of geometry,
depth multiplier, block sizes along the kernel rows, sparsity, values and quantization."""
from hypothesis import given
from hypothesis import strategies as st

from mcusim.models.ops.depthwise_conv2d import DepthwiseConv2DParams
from mcusim.models.ops.sparse_depthwise_conv2d import sparse_depthwise_conv2d_call, sparse_depthwise_conv2d_s8

from .strategies import activation_ranges, biases, int8_arrays, multipliers, sparse_filters, window_geometries
from .twins import Case, Twin


@st.composite
def cases(draw, **limits):
    x_shape, (kh, kw), _, stride, dilation, pad, (oh, ow) = draw(window_geometries(**limits))
    m = draw(st.integers(1, 3))
    shape = (1, kh, kw, x_shape[3] * m)
    x = draw(int8_arrays(x_shape))
    w = draw(sparse_filters("depthwise_conv2d", draw(int8_arrays(shape, low=-127))))
    multiplier, shift = draw(multipliers(shape[3]))
    act_min, act_max = draw(activation_ranges())
    p = DepthwiseConv2DParams(draw(st.integers(-127, 128)), draw(st.integers(-128, 127)), multiplier, shift, oh, ow,
                              stride, pad, dilation, act_min, act_max, depth_multiplier=m)
    return x, w, shape, draw(biases(shape[3])), p


def case(x, w, shape, bias, p):
    return Case(sparse_depthwise_conv2d_call(x.shape, w, shape, bias, p),
                sparse_depthwise_conv2d_s8(x, w, shape, bias, p), {"input": x})


TWINS = [Twin("sparse_depthwise_conv2d", case, cases(), cases(max_size=6, max_channels=6, max_kernel=3))]
