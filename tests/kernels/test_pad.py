"""pad_s8: C (host, both paths; emulator on M4 and M7) equals the numpy reference bit for bit, and
the reference equals TFLite Micro's int8 PAD (fill: the zero point) and PADV2 (fill: a constant)."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcusim.models.ops.pad import pad_c, pad_s8

from .strategies import emulated, int8_arrays, scales, shapes


@st.composite
def cases(draw, max_side=6, max_pad=3):
    x = draw(int8_arrays(draw(shapes(max_side=max_side))))
    pads = tuple((draw(st.integers(0, max_pad)), draw(st.integers(0, max_pad))) for _ in x.shape)
    return x, pads, draw(st.integers(-128, 127))


@given(cases())
def test_host_equals_reference(host_kernels, case):
    np.testing.assert_array_equal(pad_c(host_kernels, *case), pad_s8(*case))


@pytest.mark.toolchain
@emulated()
@given(cases(max_side=4, max_pad=2))
def test_emulated_equals_reference(emulated_kernels, case):
    np.testing.assert_array_equal(pad_c(emulated_kernels, *case), pad_s8(*case))


def test_kernel_rejects_an_output_too_small(host_kernels):
    from mcusim.models.kernels import call_unary

    with pytest.raises(ValueError, match="status -1"):
        call_unary(host_kernels, "mcusim_pad_s8", [0, 1, 0, 0, 0], np.zeros((1, 2, 2, 3), np.int8), (1, 2, 2, 3))


@emulated(fraction=3)
@given(cases(max_side=5), scales(), st.booleans())
def test_reference_equals_tflite_micro(case, scale, v2):
    from . import tflite_oracle

    x, pads, value = case
    zero_point = value if not v2 else -value - 1  # PAD fills with the zero point; PADV2 with its own value
    expected = tflite_oracle.pad(x, pads, scale, zero_point, value if v2 else None)
    np.testing.assert_array_equal(pad_s8(x, pads, value), expected)
