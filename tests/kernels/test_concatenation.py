"""concatenation_s8: C (host, both paths; emulator on M4 and M7; one call per input) equals the numpy
reference bit for bit, and the reference equals TFLite Micro's int8 CONCATENATION, for 1 to 4
inputs along any axis, negative axes included."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcusim.models.ops.concatenation import concatenation_c, concatenation_s8

from .strategies import emulated, int8_arrays, scales, shapes


@st.composite
def cases(draw, max_side=6):
    shape = draw(shapes(max_side=max_side))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    sizes = draw(st.lists(st.integers(1, max_side), min_size=1, max_size=4))
    xs = [draw(int8_arrays(shape[:axis % len(shape)] + (size,) + shape[axis % len(shape) + 1:])) for size in sizes]
    return xs, axis


@given(cases())
def test_host_equals_reference(host_kernels, case):
    np.testing.assert_array_equal(concatenation_c(host_kernels, *case), concatenation_s8(*case))


@pytest.mark.toolchain
@emulated()
@given(cases(max_side=4))
def test_emulated_equals_reference(emulated_kernels, case):
    np.testing.assert_array_equal(concatenation_c(emulated_kernels, *case), concatenation_s8(*case))


def test_kernel_rejects_a_slab_past_the_end(host_kernels):
    with host_kernels.scratch():
        dims = host_kernels.put(np.array((1, 1, 2, 3), np.int32))
        params = host_kernels.put(np.array((2, 1), np.int32))  # axis w, offset 1: rows 1..2 of 2
        status = host_kernels.call("mcusim_concatenation_s8", params, dims, host_kernels.alloc(6), dims,
                                   host_kernels.alloc(6))
    assert status == -1


@emulated(fraction=3)
@given(cases(max_side=5), scales(), st.integers(-128, 127))
def test_reference_equals_tflite_micro(case, scale, zero_point):
    from . import tflite_oracle

    xs, axis = case
    np.testing.assert_array_equal(concatenation_s8(xs, axis), tflite_oracle.concatenation(xs, axis, scale, zero_point))
