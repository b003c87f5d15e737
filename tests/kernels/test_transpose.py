"""transpose_s8: C (host, both paths; emulator on M4 and M7) equals the numpy reference bit for bit,
and the reference equals TFLite Micro's int8 TRANSPOSE, for every rank and permutation."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcusim.models.ops.transpose import transpose_c, transpose_s8

from .strategies import emulated, int8_arrays, scales, shapes


@st.composite
def cases(draw, max_side=6):
    x = draw(int8_arrays(draw(shapes(max_side=max_side))))
    return x, tuple(draw(st.permutations(range(x.ndim))))


@given(cases())
def test_host_equals_reference(host_kernels, case):
    np.testing.assert_array_equal(transpose_c(host_kernels, *case), transpose_s8(*case))


@pytest.mark.toolchain
@emulated()
@given(cases(max_side=4))
def test_emulated_equals_reference(emulated_kernels, case):
    np.testing.assert_array_equal(transpose_c(emulated_kernels, *case), transpose_s8(*case))


def test_kernel_rejects_a_repeated_axis(host_kernels):
    from mcusim.models.kernels import call_unary

    with pytest.raises(ValueError, match="status -1"):
        call_unary(host_kernels, "mcusim_transpose_s8", [0, 1, 1, 3], np.zeros((1, 2, 2, 3), np.int8), (1, 2, 2, 3))


@emulated(fraction=3)
@given(cases(max_side=5), scales(), st.integers(-128, 127))
def test_reference_equals_tflite_micro(case, scale, zero_point):
    from . import tflite_oracle

    x, perm = case
    np.testing.assert_array_equal(transpose_s8(x, perm), tflite_oracle.transpose(x, perm, scale, zero_point))
