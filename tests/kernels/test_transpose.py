"""transpose_s8: the twins (test_twins.py), and the reference equals TFLite Micro's int8 TRANSPOSE, for
every rank and permutation."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcusim.models.kernels import execute
from mcusim.models.ops.common import reduced_transpose
from mcusim.models.ops.transpose import transpose_call, transpose_s8

from .strategies import emulated, int8_arrays, scales, shapes
from .twins import Case, Twin


@st.composite
def cases(draw, max_side=6):
    x = draw(int8_arrays(draw(shapes(max_side=max_side))))
    return x, tuple(draw(st.permutations(range(x.ndim))))


def case(x, perm):
    return Case(transpose_call(x.shape, perm), transpose_s8(x, perm), {"input": x})


TWINS = [Twin("transpose", case, cases(), cases(max_side=4))]


def test_kernel_rejects_a_repeated_axis(host_kernels):
    x = np.zeros((1, 2, 2, 3), np.int8)
    with pytest.raises(ValueError, match="status -1"):
        execute(host_kernels, transpose_call(x.shape, (0, 1, 1, 3)), input=x)


@emulated(fraction=3)
@given(cases(max_side=5), scales(), st.integers(-128, 127))
def test_reference_equals_tflite_micro(case, scale, zero_point):
    from . import tflite_oracle

    x, perm = case
    np.testing.assert_array_equal(transpose_s8(x, perm), tflite_oracle.transpose(x, perm, scale, zero_point))


@given(st.lists(st.sampled_from([1, 1, 2, 3, 5]), min_size=1, max_size=6).flatmap(
    lambda shape: st.tuples(st.just(tuple(shape)), st.permutations(range(len(shape))))))
def test_a_reduced_move_moves_the_same_bytes(case):
    """The lowering's reduction (size-1 axes dropped, neighbours merged) of up to six axes: the same
    output bytes from the same input bytes, on at most as many axes."""
    shape, perm = case
    x = np.arange(int(np.prod(shape))).reshape(shape)
    reduced, reduced_perm = reduced_transpose(shape, tuple(perm))
    assert len(reduced) <= len(shape)
    np.testing.assert_array_equal(np.transpose(x.reshape(reduced), reduced_perm).ravel(), np.transpose(x, perm).ravel())


def test_a_converters_qkv_split_reduces_to_three_axes():
    assert reduced_transpose((1, 16, 3, 2, 16), (2, 0, 3, 1, 4)) == ((16, 6, 16), (1, 0, 2))
