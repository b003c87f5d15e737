"""sparse_conv2d_s8: C on the block run-length stream equals conv2d's reference on the decoded filter,
bit for bit (the twins, test_twins.py), under fuzzing of geometry (strides, dilation,
SAME/VALID padding, sizes 1 and odd), block sizes, sparsity, values and quantization."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcusim.models.ops.conv2d import Conv2DParams
from mcusim.models.kernels import execute
from mcusim.models.ops.sparse_conv2d import sparse_conv2d_call, sparse_conv2d_s8

from .strategies import activation_ranges, biases, int8_arrays, multipliers, sparse_filters, window_geometries
from .twins import Case, Twin


@st.composite
def cases(draw, **limits):
    x_shape, (kh, kw), _, stride, dilation, pad, (oh, ow) = draw(window_geometries(**limits))
    shape = (draw(st.integers(1, 6)), kh, kw, x_shape[3])
    x = draw(int8_arrays(x_shape))
    w = draw(sparse_filters("conv2d", draw(int8_arrays(shape, low=-127))))
    multiplier, shift = draw(multipliers(shape[0]))
    act_min, act_max = draw(activation_ranges())
    p = Conv2DParams(draw(st.integers(-127, 128)), draw(st.integers(-128, 127)), multiplier, shift, oh, ow, stride,
                     pad, dilation, act_min, act_max)
    return x, w, shape, draw(biases(shape[0])), p


def test_kernel_refuses_a_column_beyond_its_limit(host_kernels):
    """KH * KW * C above MCUSIM_SPARSE_MAX_COLUMN (4096 bytes of stack) is refused."""
    from mcusim.models.sparse import encode

    x = np.zeros((1, 3, 3, 512), np.int8)
    shape = (1, 3, 3, 512)
    p = Conv2DParams(0, 0, np.full(1, 1 << 30, np.int32), np.zeros(1, np.int32), 1, 1)
    call = sparse_conv2d_call(x.shape, encode(np.ones((1, 9 * 512), np.int8), 4), shape, None, p)
    with pytest.raises(ValueError, match="status -1"):
        execute(host_kernels, call, input=x)


def case(x, w, shape, bias, p):
    return Case(sparse_conv2d_call(x.shape, w, shape, bias, p), sparse_conv2d_s8(x, w, shape, bias, p), {"input": x})


TWINS = [Twin("sparse_conv2d", case, cases(), cases(max_size=6, max_channels=6, max_kernel=3))]
