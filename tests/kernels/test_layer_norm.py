"""layer_norm_s8: the twins (test_twins.py) under fuzzing of token and channel counts (1, odd, not multiples
of 4), values, eps, the int16 scale 2^k, the number of square-root steps and the requantization; the integer
square root is checked against math.isqrt, and the exact variant against a float LayerNorm."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcusim.models.kernels import execute
from mcusim.models.ops.layer_norm import LayerNormParams, check_range, isqrt_newton, layer_norm_call, layer_norm_s8

from .strategies import biases, int8_arrays, multipliers
from .twins import Case, Twin


@st.composite
def cases(draw, max_tokens=4, max_channels=70):
    tokens, channels = draw(st.integers(1, max_tokens)), draw(st.integers(1, max_channels))
    max_k = min(15, ((1 << 31) - 1) // (255 * channels)).bit_length() - 1 if channels > 1 else 15
    multiplier, shift = draw(multipliers(channels))
    p = LayerNormParams(draw(st.integers(-128, 127)), draw(st.sampled_from([0, 1]) | st.integers(0, (1 << 31) - 1)),
                        draw(st.integers(0, min(15, max_k))), draw(st.integers(0, 4)), multiplier, shift)
    x = draw(int8_arrays((tokens, channels)))
    return x, draw(int8_arrays(channels)), draw(biases(channels)), p


@given(st.integers(1, (1 << 62) - 1), st.integers(1, 6))
def test_newton_square_root(q, iterations):
    """To the fixed point it is floor(sqrt(q)); a fixed number of steps never undershoots it, and
    each further step is no larger."""
    assert isqrt_newton(q, 0) == math.isqrt(q)
    r = isqrt_newton(q, iterations)
    assert math.isqrt(q) <= r and isqrt_newton(q, iterations + 1) <= r


def test_by_hand():
    """Token (1, 3), C = 2, k = 4: S = 4, Q = 2 * 10 - 16 = 4, r = 2; n = (2*1 - 4) * 16 / 2 = -16 and
    +16 (the normalized -1, +1 times 2^4); gamma 3, beta 8, multiplier 1/2: (-48 + 8) / 2 = -20, (48 +
    8) / 2 = 28; output zero point 1."""
    p = LayerNormParams(1, 0, 4, 0, np.full(2, 1 << 30, np.int32), np.zeros(2, np.int32))
    out = layer_norm_s8(np.array([[1, 3]], np.int8), np.array([3, 3], np.int8), np.array([8, 8], np.int32), p)
    np.testing.assert_array_equal(out, [[-19, 29]])


def test_kernel_rejects_a_scale_that_overflows(host_kernels):
    p = LayerNormParams(0, 0, 15, 0, np.full(300, 1 << 30, np.int32), np.zeros(300, np.int32))
    with pytest.raises(ValueError, match="outside the legal range"):
        check_range(300, 15)
    with pytest.raises(ValueError, match="status -1"):
        execute(host_kernels, layer_norm_call((1, 300), np.ones(300, np.int8), None, p),
                input=np.zeros((1, 300), np.int8))


def test_exact_variant_is_within_one_lsb_of_float_layer_norm():
    """196 tokens of 192 channels, normal activations: the integer LayerNorm (exact square root)
    against float64 LayerNorm quantized to the same output, gamma and beta quantized as exported."""
    rng = np.random.default_rng(0)
    channels, sx, zx = 192, 0.05, 3
    x = np.clip(np.round(rng.normal(0, 1.5, (196, channels)) / sx) + zx, -128, 127).astype(np.int8)
    gamma, beta = rng.uniform(0.5, 1.5, channels), rng.uniform(-0.3, 0.3, channels)
    xf = sx * (x.astype(np.float64) - zx)
    yf = gamma * (xf - xf.mean(-1, keepdims=True)) / np.sqrt(xf.var(-1, keepdims=True) + 1e-5) + beta
    sy = (yf.max() - yf.min()) / 255
    zy = int(round(-128 - yf.min() / sy))
    expected = np.clip(np.round(yf / sy) + zy, -128, 127)
    sg = (gamma / 127).astype(np.float32)
    p = LayerNormParams.from_quantization(sx, sg, sy, zy, channels)
    g = np.round(gamma / sg).astype(np.int8)
    b = np.round(beta / (sg * 2.0 ** -p.scale_bits)).astype(np.int32)
    error = np.abs(layer_norm_s8(x, g, b, p) - expected)
    assert error.max() <= 1 and error.mean() < 0.02


def case(x, gamma, beta, p):
    return Case(layer_norm_call(x.shape, gamma, beta, p), layer_norm_s8(x, gamma, beta, p), {"input": x})


TWINS = [Twin("layer_norm", case, cases(), cases(max_tokens=3, max_channels=40))]
