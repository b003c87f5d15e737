"""add_s8 and mul_s8: the twins (test_twins.py), and the references equal TFLite Micro's int8 ADD and MUL
(fused activations included), under fuzzing of shapes, values, zero points and scales."""
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mcusim.models.graph import Quant, Tensor
from mcusim.models.ops.add import AddParams, add_call, add_s8
from mcusim.models.ops.common import activation_range
from mcusim.models.ops.mul import MulParams, mul_call, mul_s8

from .strategies import emulated, int8_arrays
from .twins import Case, Twin

OPS = {"add": (AddParams, add_s8, add_call), "mul": (MulParams, mul_s8, mul_call)}
zero_points = st.integers(-128, 127)


@st.composite
def cases(draw, op: str, max_size=300):
    shape = draw(st.sampled_from([(1,), (7,), (3, 5), (2, 3, 4)]) | st.tuples(st.integers(1, max_size)))
    a, b = draw(int8_arrays(shape)), draw(int8_arrays(shape))
    s1, s2 = draw(st.floats(1e-3, 1.0)), draw(st.floats(1e-3, 1.0))
    so = draw(st.floats(1e-3, 2.0))
    if op == "add":
        assume(2 * max(s1, s2) / so < (1 << 20))
    act = activation_range(draw(st.sampled_from(["none", "relu", "relu6"])),
                           Tensor("y", (1,), "int8", Quant((so,), (zp_out := draw(zero_points),))))
    p = OPS[op][0].from_quantization(s1, draw(zero_points), s2, draw(zero_points), so, zp_out, *act)
    return a, b, p


@pytest.mark.parametrize("op", sorted(OPS))
@emulated(fraction=3)
@given(data=st.data(), activation=st.sampled_from(["none", "relu", "relu6"]))
def test_reference_equals_tflite_micro(op, data, activation):
    from . import tflite_oracle

    shape = data.draw(st.tuples(st.integers(1, 3), st.integers(1, 40)))
    a, b = data.draw(int8_arrays(shape)), data.draw(int8_arrays(shape))
    s1, s2, so = data.draw(st.floats(1e-3, 1.0)), data.draw(st.floats(1e-3, 1.0)), data.draw(st.floats(1e-2, 2.0))
    zp1, zp2, zpo = data.draw(zero_points), data.draw(zero_points), data.draw(zero_points)
    act = activation_range(activation, Tensor("y", (1,), "int8", Quant((so,), (zpo,))))
    p = OPS[op][0].from_quantization(s1, zp1, s2, zp2, so, zpo, *act)
    expected = tflite_oracle.binary(op, a, b, s1, zp1, s2, zp2, so, zpo, activation)
    np.testing.assert_array_equal(OPS[op][1](a, b, p), expected)


def test_add_by_hand():
    """Equal scales 0.5, zero points 0: the real sum, rounded, in output scale 0.5."""
    p = AddParams.from_quantization(0.5, 0, 0.5, 0, 0.5, 0)
    np.testing.assert_array_equal(add_s8(np.array([1, -3, 100], np.int8), np.array([2, -4, 100], np.int8), p),
                                  [3, -7, 127])


def test_mul_by_hand():
    p = MulParams.from_quantization(0.5, 0, 0.5, 0, 0.25, 0)  # real multiplier 1
    np.testing.assert_array_equal(mul_s8(np.array([3, -4, 20], np.int8), np.array([5, 6, 20], np.int8), p),
                                  [15, -24, 127])


def test_mismatched_shapes_are_refused(host_kernels):
    p = MulParams.from_quantization(0.5, 0, 0.5, 0, 0.25, 0)
    with host_kernels.scratch():
        dims = [host_kernels.put(np.array(d, np.int32)) for d in ((1, 1, 1, 4), (1, 1, 1, 5))]
        buf = host_kernels.alloc(8)
        params = host_kernels.put(np.array(list(p.__dict__.values()), np.int32))
        assert host_kernels.call("mcusim_mul_s8", params, dims[0], buf, dims[1], buf, dims[0], buf) == -1


def twin(op: str) -> Twin:
    _, reference, call = OPS[op]
    return Twin(op, lambda a, b, p: Case(call(a.shape, p), reference(a, b, p), {"input": a, "input2": b}),
                cases(op), cases(op, max_size=64))


TWINS = [twin(op) for op in sorted(OPS)]


# Raw add parameters at the ends of the legal ranges (and a few beyond the fast form of add_s8.c:
# a negative multiplier, an output shift > 0), for the kernel's paths: the four-at-a-time DSP step,
# the n % 4 tail, the plain step, the direct loop.
_ADD_EXTREMES = [
    AddParams(128, 128, 127, 20, (1 << 31) - 1, 0, (1 << 31) - 1, 0, (1 << 31) - 1, 0),
    AddParams(-127, -127, -128, 20, 1 << 30, 0, 1 << 30, -1, (1 << 31) - 1, -31, -100, 100),
    AddParams(3, -7, 1, 20, 1 << 30, -1, 1234567890, -31, 1 << 30, -17, 0, 127),
    AddParams(-128 + 1, 128, 5, 0, 1, 0, (1 << 31) - 1, -3, (1 << 31) - 1, 0),
    AddParams(17, -3, -20, 15, 1 << 30, 0, 1 << 30, -2, 1 << 30, -13, -5, 5),
    AddParams(0, 0, 0, 16, 0, 0, 1 << 30, 0, 0, 0),
    AddParams(64, -64, 0, 20, 1 << 30, 0, 1 << 30, 0, 1 << 30, -20),
    AddParams(64, -64, 3, 20, -(1 << 30), 0, 1 << 30, 0, -(1 << 31), 2),  # the direct loop
]


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 16, 33, 1001])
@pytest.mark.parametrize("p", _ADD_EXTREMES, ids=range(len(_ADD_EXTREMES)))
def test_add_each_path_equals_reference(host_kernels, n, p):
    """add_s8.c's paths on every element count mod 4, extreme offsets, multipliers and shifts."""
    rng = np.random.default_rng(n)
    a, b = rng.integers(-128, 128, n, np.int8), rng.integers(-128, 128, n, np.int8)
    a[:2], b[:2] = (-128, 127)[: min(n, 2)], (127, -128)[: min(n, 2)]
    case = Case(add_call(a.shape, p), add_s8(a, b, p), {"input": a, "input2": b})
    np.testing.assert_array_equal(case.run(host_kernels), case.expected)


@pytest.mark.toolchain
@pytest.mark.parametrize("p", _ADD_EXTREMES, ids=range(len(_ADD_EXTREMES)))
def test_add_each_path_equals_reference_emulated(emulated_kernels, p):
    """The same on the cores (SMMLAR, SXTAB16 and the word store on the DSP path), 4k + 0..3 elements."""
    for n in (1, 3, 8, 37):
        rng = np.random.default_rng(n)
        a, b = rng.integers(-128, 128, n, np.int8), rng.integers(-128, 128, n, np.int8)
        case = Case(add_call(a.shape, p), add_s8(a, b, p), {"input": a, "input2": b})
        np.testing.assert_array_equal(case.run(emulated_kernels), case.expected)
