"""pad_s8: the twins (test_twins.py), and the reference equals TFLite Micro's int8 PAD (fill: the zero
point) and PADV2 (fill: a constant)."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcusim.models.kernels import execute
from mcusim.models.ops.pad import pad_call, pad_s8

from .strategies import emulated, int8_arrays, scales, shapes
from .twins import Case, Twin, with_dims


@st.composite
def cases(draw, max_side=6, max_pad=3):
    x = draw(int8_arrays(draw(shapes(max_side=max_side))))
    pads = tuple((draw(st.integers(0, max_pad)), draw(st.integers(0, max_pad))) for _ in x.shape)
    return x, pads, draw(st.integers(-128, 127))


def test_kernel_rejects_an_output_too_small(host_kernels):
    """Dims of an output that cannot hold the padded input (the call as a broken blob would give it)."""
    call = with_dims(pad_call((1, 2, 2, 3), ((0, 0), (1, 0), (0, 0), (0, 0)), 0), -2, (1, 2, 2, 3))
    with pytest.raises(ValueError, match="status -1"):
        execute(host_kernels, call, input=np.zeros((1, 2, 2, 3), np.int8))


@emulated(fraction=3)
@given(cases(max_side=5), scales(), st.booleans())
def test_reference_equals_tflite_micro(case, scale, v2):
    from . import tflite_oracle

    x, pads, value = case
    zero_point = value if not v2 else -value - 1  # PAD fills with the zero point; PADV2 with its own value
    expected = tflite_oracle.pad(x, pads, scale, zero_point, value if v2 else None)
    np.testing.assert_array_equal(pad_s8(x, pads, value), expected)


def case(x, pads, value):
    return Case(pad_call(x.shape, pads, value), pad_s8(x, pads, value), {"input": x})


TWINS = [Twin("pad", case, cases(), cases(max_side=4, max_pad=2))]
