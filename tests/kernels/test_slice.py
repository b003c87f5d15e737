"""slice_s8: the twins (test_twins.py), and the reference equals TFLite Micro's int8 SLICE and unit-stride
STRIDED_SLICE (with begin, end and shrink-axis masks), for every rank."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcusim.models.kernels import execute
from mcusim.models.ops.common import reduced_box
from mcusim.models.ops.slice import slice_call, slice_s8

from .strategies import emulated, int8_arrays, scales, shapes
from .twins import Case, Twin


@st.composite
def cases(draw, max_side=7):
    x = draw(int8_arrays(draw(shapes(max_side=max_side))))
    begin = tuple(draw(st.integers(0, d - 1)) for d in x.shape)
    size = tuple(draw(st.integers(1, d - b)) for d, b in zip(x.shape, begin))
    return x, begin, size


def test_kernel_rejects_a_box_past_the_end(host_kernels):
    x = np.zeros((1, 1, 3, 2), np.int8)
    with pytest.raises(ValueError, match="status -1"):
        execute(host_kernels, slice_call(x.shape, (0, 0, 1, 0), x.shape), input=x)


@emulated(fraction=3)
@given(cases(max_side=5), scales(), st.integers(-128, 127), st.booleans())
def test_reference_equals_tflite_micro(case, scale, zero_point, to_end):
    from . import tflite_oracle

    x, begin, size = case
    tflite_size = [-1 if to_end and b + s == d else s for d, b, s in zip(x.shape, begin, size)]
    np.testing.assert_array_equal(slice_s8(x, begin, size), tflite_oracle.slice_(x, begin, tflite_size, scale,
                                                                                  zero_point))


@emulated(fraction=3)
@given(cases(max_side=5), scales(), st.integers(-128, 127), st.data())
def test_strided_slice_equals_tflite_micro(case, scale, zero_point, data):
    """Masks: a begin-mask bit starts the axis at 0, an end-mask bit runs it to the end, a shrink bit
    takes the one element at begin and drops the axis."""
    from . import tflite_oracle

    x, begin, size = case
    bits = [data.draw(st.sampled_from(["none", "begin", "end", "shrink"])) for _ in x.shape]
    # What TFLM is told: masked begin and end values are ignored, so they are given wrong on purpose.
    tflite_begin = [b + 1 if kind == "begin" else b for kind, b in zip(bits, begin)]
    tflite_end = [0 if kind == "end" else b + s for kind, b, s in zip(bits, begin, size)]
    # What it means: a box for slice_s8.
    begin = [0 if kind == "begin" else b for kind, b in zip(bits, begin)]
    size = [1 if kind == "shrink" else d - b if kind == "end" else e - b
            for kind, d, b, e in zip(bits, x.shape, begin, [b + s for b, s in zip(case[1], size)])]
    mask = lambda kind: sum(1 << k for k, b in enumerate(bits) if b == kind)  # noqa: E731
    out_shape = [s for s, kind in zip(size, bits) if kind != "shrink"]
    expected = tflite_oracle.strided_slice(x, tflite_begin, tflite_end, out_shape, scale, zero_point, mask("begin"),
                                           mask("end"), mask("shrink"))
    np.testing.assert_array_equal(slice_s8(x, tuple(begin), tuple(size)).reshape(expected.shape), expected)


def case(x, begin, size):
    return Case(slice_call(x.shape, begin, size), slice_s8(x, begin, size), {"input": x})


TWINS = [Twin("slice", case, cases(), cases(max_side=4))]


@st.composite
def boxes(draw):
    shape = draw(st.lists(st.sampled_from([1, 1, 2, 3, 5]), min_size=1, max_size=6))
    begin = [draw(st.integers(0, d - 1)) for d in shape]
    return tuple(shape), tuple(begin), tuple(draw(st.integers(1, d - b)) for d, b in zip(shape, begin))


@given(boxes())
def test_a_reduced_box_holds_the_same_bytes(box):
    """The lowering's reduction (size-1 axes dropped, an axis merged where the next is taken whole or
    it takes one index) of up to six axes: the same elements in the same order."""
    shape, begin, size = box
    x = np.arange(int(np.prod(shape))).reshape(shape)
    r_shape, r_begin, r_size = reduced_box(shape, begin, size)
    assert len(r_shape) <= len(shape)
    np.testing.assert_array_equal(slice_s8(x.reshape(r_shape), r_begin, r_size).ravel(),
                                  slice_s8(x, begin, size).ravel())


def test_a_converters_q_of_a_qkv_stack_is_one_run():
    assert reduced_box((3, 1, 2, 16, 16), (1, 0, 0, 0, 0), (1, 1, 2, 16, 16)) == ((1536,), (512,), (512,))
