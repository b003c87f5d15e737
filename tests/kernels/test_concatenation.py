"""concatenation_s8: the twins (test_twins.py; one call per input), and the reference equals TFLite Micro's
int8 CONCATENATION, for 1 to 4 inputs along any axis, negative axes included."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcusim.models.ops.concatenation import concatenation_calls, concatenation_s8

from .strategies import emulated, int8_arrays, scales, shapes
from .twins import Case, Twin


@st.composite
def cases(draw, max_side=6):
    shape = draw(shapes(max_side=max_side))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    sizes = draw(st.lists(st.integers(1, max_side), min_size=1, max_size=4))
    xs = [draw(int8_arrays(shape[:axis % len(shape)] + (size,) + shape[axis % len(shape) + 1:])) for size in sizes]
    return xs, axis


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


def case(xs, axis):
    return Case(concatenation_calls([x.shape for x in xs], axis), concatenation_s8(xs, axis),
                {f"input{k}": x for k, x in enumerate(xs)})


TWINS = [Twin("concatenation", case, cases(), cases(max_side=4))]
