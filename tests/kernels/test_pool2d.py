"""avg_pool2d_s8 and max_pool2d_s8: the twins (test_twins.py), and the references equal TFLite Micro's
AVERAGE_POOL_2D / MAX_POOL_2D (fused activations included), under fuzzing of geometry and values."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcusim.models.kernels import execute
from mcusim.models.ops.pool2d import Pool2DParams, avg_pool2d_s8, max_pool2d_s8, pool2d_call

from .strategies import activation_ranges, emulated, int8_arrays, window_geometries
from .twins import Case, Twin

OPS = {"avg": avg_pool2d_s8, "max": max_pool2d_s8}


@st.composite
def cases(draw, **limits):
    shape, kernel, mode, stride, _, pad, (oh, ow) = draw(window_geometries(dilated=False, **limits))
    act_min, act_max = draw(activation_ranges())
    return draw(int8_arrays(shape)), Pool2DParams(kernel, oh, ow, stride, pad, act_min, act_max), mode


@pytest.mark.parametrize("op", sorted(OPS))
@emulated(fraction=3)
@given(case=cases(max_size=8, max_channels=5), activation=st.sampled_from(["none", "relu", "relu6"]),
       scale=st.floats(1e-2, 1.0), zero_point=st.integers(-128, 127))
def test_reference_equals_tflite_micro(op, case, activation, scale, zero_point):
    from mcusim.models.graph import Quant, Tensor
    from mcusim.models.ops.common import activation_range

    from . import tflite_oracle

    x, p, mode = case
    act_min, act_max = activation_range(activation, Tensor("y", (1,), "int8", Quant((scale,), (zero_point,))))
    p = Pool2DParams(p.filter, p.out_h, p.out_w, p.stride, p.pad, act_min, act_max)
    out_shape = (x.shape[0], p.out_h, p.out_w, x.shape[3])
    expected = tflite_oracle.pool2d(op, x, scale, zero_point, out_shape, mode, p.filter, p.stride, activation)
    np.testing.assert_array_equal(OPS[op](x, p), expected)


def test_average_rounds_half_away_from_zero():
    x = np.array([1, 2, -1, -2], np.int8).reshape(1, 2, 2, 1)  # window sums: 3 -> 1.5, -3 -> -1.5
    p = Pool2DParams((1, 2), 2, 1)
    np.testing.assert_array_equal(avg_pool2d_s8(x, p).ravel(), [2, -2])


def test_window_wholly_in_padding_is_refused(host_kernels):
    x = np.zeros((1, 2, 2, 1), np.int8)
    p = Pool2DParams((1, 1), 2, 2, (1, 1), (3, 0))  # rows start 3 above the input
    with pytest.raises(ValueError, match="wholly in the padding"):
        avg_pool2d_s8(x, p)
    with pytest.raises(ValueError, match="status -1"):
        execute(host_kernels, pool2d_call("avg_pool2d", x.shape, p), input=x)


def twin(op: str) -> Twin:
    def case(x, p, _mode):
        return Case(pool2d_call(f"{op}_pool2d", x.shape, p), OPS[op](x, p), {"input": x})

    return Twin(f"{op}_pool2d", case, cases(), cases(max_size=6, max_channels=5, max_kernel=3))


TWINS = [twin(op) for op in sorted(OPS)]
