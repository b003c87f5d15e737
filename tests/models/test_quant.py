"""The requantization primitives: numpy (models/quant.py) against C (mcusim_nn.h), bit for bit,
and both against hand-worked values from the definitions."""
import ctypes
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcusim.models.quant import (INT32_MAX, INT32_MIN, multiply_by_quantized_multiplier, quantize_multiplier,
                                 rounding_divide_by_pot, saturating_rounding_doubling_high_mul)
from mcusim.toolchain import build_host_library

int32 = st.one_of(st.integers(INT32_MIN, INT32_MAX), st.sampled_from([INT32_MIN, INT32_MIN + 1, -1, 0, 1, INT32_MAX]))
multipliers = st.one_of(st.integers(1 << 30, INT32_MAX), st.sampled_from([0, 1 << 30, INT32_MAX]))
shifts = st.integers(-31, 30)


@pytest.fixture(scope="module")
def shim():
    lib = ctypes.CDLL(str(build_host_library([Path(__file__).with_name("quant_shim.c")])))
    for name, nargs in (("shim_srdhm", 2), ("shim_rounding_divide_by_pot", 2), ("shim_requantize", 3)):
        getattr(lib, name).argtypes = [ctypes.c_int32] * nargs
        getattr(lib, name).restype = ctypes.c_int32
    return lib


def test_hand_worked_values():
    assert saturating_rounding_doubling_high_mul(INT32_MIN, INT32_MIN) == INT32_MAX
    assert saturating_rounding_doubling_high_mul(1 << 30, 1 << 30) == 1 << 29
    assert saturating_rounding_doubling_high_mul(3, 1 << 30) == 2    # 1.5 rounds up
    assert saturating_rounding_doubling_high_mul(-3, 1 << 30) == -1  # -1.5: gemmlowp's nudge rounds a negative tie toward zero
    assert rounding_divide_by_pot(5, 1) == 3 and rounding_divide_by_pot(-5, 1) == -3
    assert rounding_divide_by_pot(-4, 1) == -2 and rounding_divide_by_pot(7, 0) == 7
    assert multiply_by_quantized_multiplier(100, 1 << 30, 0) == 50
    assert multiply_by_quantized_multiplier(100, 1 << 30, 2) == 200
    # Double rounding: 101 * 0.5 = 50.5 -> 51, then 51 / 2 = 25.5 -> 26 (one rounding of 25.25 gives 25).
    assert multiply_by_quantized_multiplier(101, 1 << 30, -1) == 26


@given(int32, int32)
def test_srdhm_c_equals_numpy(shim, a, b):
    assert shim.shim_srdhm(a, b) == saturating_rounding_doubling_high_mul(a, b)


@given(int32, st.integers(0, 31))
def test_rounding_divide_by_pot_c_equals_numpy(shim, x, exponent):
    assert shim.shim_rounding_divide_by_pot(x, exponent) == rounding_divide_by_pot(x, exponent)


@given(int32, multipliers, shifts)
def test_requantize_c_equals_numpy(shim, x, multiplier, shift):
    assert shim.shim_requantize(x, multiplier, shift) == multiply_by_quantized_multiplier(x, multiplier, shift)


def test_numpy_primitives_vectorize():
    rng = np.random.default_rng(1)
    x = rng.integers(INT32_MIN, INT32_MAX, 1000)
    m = rng.integers(1 << 30, INT32_MAX, 1000)
    s = rng.integers(-31, 31, 1000)
    vector = multiply_by_quantized_multiplier(x, m, s)
    assert [int(v) for v in vector[:50]] == [int(multiply_by_quantized_multiplier(*t)) for t in zip(x[:50], m[:50], s[:50])]


@given(st.floats(1e-9, 1e9, allow_nan=False))
def test_quantize_multiplier_reconstructs(real):
    m, shift = quantize_multiplier(real)
    assert (1 << 30) <= m <= INT32_MAX and -31 <= shift <= 30
    assert abs(m * 2.0 ** (shift - 31) - real) <= real * 2.0 ** -31


def test_quantize_multiplier_edges():
    assert quantize_multiplier(0.0) == (0, 0)
    assert quantize_multiplier(0.5) == (1 << 30, 0)
    assert quantize_multiplier(1.0) == (1 << 30, 1)
    assert quantize_multiplier(1 - 2.0 ** -40) == (1 << 30, 1)  # rounds up to 2^31: folded
    assert quantize_multiplier(2.0 ** -40) == (0, 0)             # shift < -31: zero, as TFLite
    for bad in (-1.0, float("nan"), float("inf"), 2.0 ** 40):
        with pytest.raises(ValueError):
            quantize_multiplier(bad)
