"""fully_connected_s8 and fully_connected_inplace_s8 (token overwriting): the twins (test_twins.py)
under fuzzing of shapes (1, odd, not multiples of 4), values and quantization, the in-place kernel
for O < K (first to last) and O > K (last to first); the reference against TFLM's FULLY_CONNECTED."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcusim.emulator import reads_after_writes
from mcusim.models.blob import IN, OUT
from mcusim.models.kernels import execute
from mcusim.models.ops.fully_connected import FullyConnectedParams, fully_connected_call, fully_connected_s8

from .strategies import activation_ranges, emulated, int8_arrays, multipliers
from .twins import Case, Twin, with_dims


@st.composite
def cases(draw, max_batches=4, max_depth=70, max_channels=9):
    batches = draw(st.integers(1, max_batches))
    depth = draw(st.integers(1, max_depth))
    channels = draw(st.integers(1, max_channels))
    x = draw(int8_arrays((batches, depth)))
    w = draw(int8_arrays((channels, depth), low=-127))
    bias = draw(st.none() | st.lists(st.integers(-(1 << 30), 1 << 30), min_size=channels, max_size=channels)
                .map(lambda b: np.array(b, np.int32)))
    multiplier, shift = draw(multipliers(channels))
    act_min, act_max = draw(activation_ranges())
    params = FullyConnectedParams(draw(st.integers(-127, 128)), draw(st.integers(-128, 127)), multiplier, shift,
                                  act_min, act_max)
    return x, w, bias, params


def case(x, w, bias, p, in_place=False):
    """in_place: output over input, one buffer of rows * max(K, O) bytes."""
    call = fully_connected_call(x.shape, w, bias, p, in_place=in_place, y=IN if in_place else OUT)
    return Case(call, fully_connected_s8(x, w, bias, p), {"input": x})


def test_reference_by_hand():
    """One case worked by hand: acc = bias + sum (x + 1) * w; multiplier 0.5; output offset 3."""
    x = np.array([[1, -2, 3]], np.int8)
    w = np.array([[2, 1, -1], [0, 4, 5]], np.int8)
    p = FullyConnectedParams(1, 3, np.array([1 << 30, 1 << 30], np.int32), np.array([0, 0], np.int32))
    # channel 0: 10 + (2*2 + -1*1 + 4*-1) = 9 -> 4.5 -> 5 (+3) = 8; channel 1: -4 + (0 - 4 + 20) = 12 -> 6 (+3) = 9
    np.testing.assert_array_equal(fully_connected_s8(x, w, np.array([10, -4], np.int32), p), [[8, 9]])


def test_kernel_rejects_bad_dims(host_kernels):
    x, w = np.zeros((1, 4), np.int8), np.zeros((2, 5), np.int8)  # depth mismatch
    p = FullyConnectedParams(0, 0, np.full(2, 1 << 30, np.int32), np.zeros(2, np.int32))
    with pytest.raises(ValueError, match="status -1"):
        execute(host_kernels, with_dims(fully_connected_call((1, 5), w, None, p), 2, (1, 1, 1, 4)), input=x)


def test_reference_refuses_accumulator_overflow():
    x = np.full((1, 4), 127, np.int8)
    w = np.full((1, 4), 127, np.int8)
    p = FullyConnectedParams(128, 0, np.array([1 << 30], np.int32), np.array([0], np.int32))
    with pytest.raises(ValueError, match="overflows int32"):
        fully_connected_s8(x, w, np.array([(1 << 31) - 1000], np.int32), p)


@emulated(fraction=3)
@given(st.data())
def test_reference_equals_tflite_micro(data):
    """Independent oracle: TFLM's FULLY_CONNECTED on the same tensors, scales and zero points."""
    from . import tflite_oracle

    batches, depth, channels = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 40)), data.draw(st.integers(1, 6))
    x = data.draw(int8_arrays((batches, depth)))
    w = data.draw(int8_arrays((channels, depth), low=-127))
    bias = np.array(data.draw(st.lists(st.integers(-50_000, 50_000), min_size=channels, max_size=channels)), np.int32)
    input_scale = data.draw(st.floats(1e-3, 1.0))
    filter_scales = np.array(data.draw(st.lists(st.floats(1e-4, 0.1), min_size=channels, max_size=channels)),
                             np.float32)
    output_scale = data.draw(st.floats(1e-2, 10.0))
    input_zp, output_zp = data.draw(st.integers(-128, 127)), data.draw(st.integers(-128, 127))
    expected = tflite_oracle.fully_connected(x, w, bias, input_scale, input_zp, filter_scales, output_scale,
                                             output_zp)
    multiplier, shift = tflite_oracle.effective_multipliers(input_scale, filter_scales, output_scale)
    p = FullyConnectedParams(-input_zp, output_zp, multiplier, shift)
    np.testing.assert_array_equal(fully_connected_s8(x, w, bias, p), expected)


@pytest.mark.toolchain
def test_hazard_check_catches_the_plain_kernel_in_place(emulated_kernels):
    """The plain kernel run in place (output over input, O < K) reads bytes it has overwritten: the
    trace shows it, so the in-place twin's check can fail."""
    x, w = np.ones((3, 8), np.int8), np.ones((4, 8), np.int8)
    p = FullyConnectedParams(0, 0, np.full(4, 1 << 30, np.int32), np.zeros(4, np.int32))
    accesses = []
    execute(emulated_kernels, fully_connected_call(x.shape, w, None, p, y=IN), accesses, input=x)
    assert reads_after_writes(accesses)


TWINS = [
    Twin("fully_connected", case, cases(), cases(max_batches=2, max_depth=40, max_channels=5)),
    Twin("fully_connected_inplace", lambda *c: case(*c, in_place=True),
         cases(max_batches=6, max_depth=20, max_channels=20), cases(max_batches=4, max_depth=12, max_channels=12),
         in_place=True),
]


@pytest.mark.parametrize("multiplier, shift, bias", [
    (1 << 30, -1, 0), (1 << 30, -3, 5), ((1 << 31) - 1, -31, 1 << 20),  # exact halves of both signs
    ((1 << 30) + 1, 0, 0),                                               # no right shift
    ((1 << 31) - 1, 12, 1 << 20), (1 << 30, 30, 1 << 16),               # the doubled left shift overflows
])
def test_requantization_forms_equal_reference(host_kernels, multiplier, shift, bias):
    """The output stage's fast and general forms (mcusim_requant in mcusim_nn_support.h): 256 rows of
    one input (every int8 value) against filters +1 and -1, so that the sums take every parity around
    the bias, and biases large enough that the general form runs."""
    x = np.arange(-128, 128).astype(np.int8).reshape(256, 1)
    w = np.array([[1], [-1]], np.int8)
    p = FullyConnectedParams(0, 0, np.full(2, multiplier, np.int32), np.full(2, shift, np.int32))
    c = case(x, w, np.array([bias, -bias], np.int32), p)
    np.testing.assert_array_equal(c.run(host_kernels), c.expected)


@pytest.mark.toolchain
@pytest.mark.parametrize("tokens, depth, channels", [(19, 330, 300), (19, 260, 300)])  # O <= K, O > K
def test_inplace_blocks_of_tokens(emulated_kernels, tokens, depth, channels):
    """Token overwriting in several blocks of tokens (fully_connected_inplace_s8.c: 2,048 bytes hold
    six tokens of 300 outputs), both directions: the reference's bits, no byte read after written."""
    rng = np.random.default_rng(0)
    x, w = rng.integers(-128, 128, (tokens, depth), np.int8), rng.integers(-127, 128, (channels, depth), np.int8)
    p = FullyConnectedParams(-3, 5, np.full(channels, 1 << 30, np.int32), np.full(channels, -9, np.int32))
    c = case(x, w, rng.integers(-5000, 5000, channels).astype(np.int32), p, in_place=True)
    accesses = []
    np.testing.assert_array_equal(c.run(emulated_kernels, accesses), c.expected)
    assert reads_after_writes(accesses) == []
