"""TFLite's integer requantization primitives in numpy: the one Python implementation.

They mirror tensorflow/lite/kernels/internal/common.h and gemmlowp's fixedpoint.h with TFLite's
default (double) rounding, vectorized over int64 arrays, and equal bit for bit the C twins in
runtime_c/include/mcusim_nn.h (tests/models/test_quant.py checks both against each other).
Formulas: docs/numerics.md.
"""
from __future__ import annotations

import math

import numpy as np

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite QuantizeMultiplier: real = m * 2^(shift - 31) with m in [2^30, 2^31) (or 0, 0).

    Raises ValueError for a negative or non-finite multiplier. A multiplier too small to represent
    (shift < -31) becomes (0, 0), as in TFLite.
    """
    if not math.isfinite(real) or real < 0:
        raise ValueError(f"multiplier must be finite and non-negative, got {real!r}")
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)  # real = q * 2^shift, q in [0.5, 1)
    q_fixed = round_half_away(q * (1 << 31))
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if shift > 30:
        raise ValueError(f"multiplier {real!r} is too large (shift {shift} > 30)")
    return q_fixed, shift


def round_half_away(x: float) -> int:
    """std::round: halves away from zero (Python's round() goes to even). Exact: x - trunc(x) is
    computed without rounding, where floor(|x| + 0.5) would round 0.49999999999999994 up."""
    t = math.trunc(x)
    frac = x - t
    return t + (1 if frac >= 0.5 else -1 if frac <= -0.5 else 0)


def round_half_away_array(x: np.ndarray) -> np.ndarray:
    """round_half_away elementwise, in x's own floating type."""
    t = np.trunc(x)
    frac = x - t
    return t + (frac >= 0.5) - (frac <= -0.5)


def integer_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b of integer arrays, exactly, as int64. Through float64 (BLAS) when every partial sum is an
    integer of magnitude below 2^53 (bounded by max|a| max|b| K): each is then exact, so the order of
    summation cannot change the result. Otherwise in int64."""
    bound = int(np.abs(a).max(initial=0)) * int(np.abs(b).max(initial=0)) * a.shape[-1]
    if bound < 1 << 53:
        return (a.astype(np.float64) @ b.astype(np.float64)).astype(np.int64)
    return a.astype(np.int64) @ b.astype(np.int64)


def wrap_int32(x):
    """Two's-complement wrap of int64 values to int32, as the C kernels' unsigned arithmetic does."""
    x = np.asarray(x, dtype=np.int64)
    return ((x + (1 << 31)) & 0xFFFF_FFFF) - (1 << 31)


def saturating_rounding_doubling_high_mul(a, b):
    """gemmlowp SaturatingRoundingDoublingHighMul on int32 values: round(a*b / 2^31), the one
    overflow case (INT32_MIN * INT32_MIN) saturating to INT32_MAX."""
    ab = np.asarray(a, dtype=np.int64) * np.asarray(b, dtype=np.int64)
    low31 = (1 << 31) - 1
    v = ab + ((1 << 30) - ((ab >> 63) & low31))  # nudge: +2^30, or 1 - 2^30 for negatives
    q = (v + ((v >> 63) & low31)) >> 31  # C division by 2^31: truncate toward zero
    # Only INT32_MIN * INT32_MIN exceeds INT32_MAX (2^62 gives 2^31): the saturation.
    return np.minimum(q, INT32_MAX)


def rounding_divide_by_pot(x, exponent):
    """gemmlowp RoundingDivideByPOT: x / 2^exponent rounded half away from zero, exponent 0..31."""
    x = np.asarray(x, dtype=np.int64)
    exponent = np.asarray(exponent, dtype=np.int64)
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def multiply_by_quantized_multiplier(x, multiplier, shift):
    """TFLite MultiplyByQuantizedMultiplier (double rounding) on int32 x; shift in [-31, 30].

    x * 2^max(shift, 0) wraps to int32 as in C (the kernels' legal ranges exclude it)."""
    shift = np.asarray(shift, dtype=np.int64)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    scaled = wrap_int32(np.asarray(x, dtype=np.int64) << left)
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(scaled, multiplier), right)


def output_stage(acc, multiplier, shift, output_offset: int, act_min: int, act_max: int, op: str) -> np.ndarray:
    """The end of every weighted op: int32 accumulators [..., O] -> int8, per output channel (last
    axis): requantize, add the output zero point (wrapping as C does), clamp to the activation range.
    Raises ValueError if an accumulator left int32 (outside the kernels' legal ranges)."""
    acc = np.asarray(acc, dtype=np.int64)
    if acc.size and (acc.min() < INT32_MIN or acc.max() > INT32_MAX):
        raise ValueError(f"{op} accumulator overflows int32: outside the kernel's legal range")
    out = multiply_by_quantized_multiplier(acc, np.asarray(multiplier, np.int64), np.asarray(shift, np.int64))
    return np.clip(wrap_int32(out + output_offset), act_min, act_max).astype(np.int8)


# ---- gemmlowp fixed-point helpers (softmax); raw int32 values in int64 arrays -------------------

def saturating_rounding_multiply_by_pot(x, exponent: int):
    """gemmlowp SaturatingRoundingMultiplyByPOT: x * 2^exponent, saturating for exponent > 0,
    rounding (RoundingDivideByPOT) for exponent < 0."""
    x = np.asarray(x, dtype=np.int64)
    if exponent < 0:
        return rounding_divide_by_pot(x, -exponent)
    threshold = (1 << (31 - exponent)) - 1
    return np.where(x > threshold, INT32_MAX, np.where(x < -threshold, INT32_MIN, x << exponent))


def rounding_half_sum(a, b):
    """gemmlowp RoundingHalfSum for int32: (a + b + sign) / 2, C division."""
    s = np.asarray(a, dtype=np.int64) + np.asarray(b, dtype=np.int64)
    v = s + np.where(s >= 0, 1, -1)
    return np.where(v >= 0, v // 2, -((-v) // 2))


def exp_on_negative_values(a, integer_bits: int = 5):
    """gemmlowp exp_on_negative_values for raw values a <= 0 of Q(integer_bits).(31 - integer_bits),
    integer_bits in [0, 5] (softmax: Q5.26; int8 logistic: Q4.27); returns Q0.31 raw values."""
    srdhm = saturating_rounding_doubling_high_mul
    a = np.asarray(a, dtype=np.int64)
    fractional_bits = 31 - integer_bits
    one_quarter = 1 << (fractional_bits - 2)
    a_mod = (a & (one_quarter - 1)) - one_quarter
    # exp on [-1/4, 0): a Taylor expansion around -1/8 (exp_on_interval_between_negative_one_quarter_and_0_excl)
    x = wrap_int32(saturating_rounding_multiply_by_pot(a_mod, integer_bits) + (1 << 28))
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    poly = rounding_divide_by_pot(wrap_int32(srdhm(wrap_int32(rounding_divide_by_pot(x4, 2) + x3), 715827883) + x2), 1)
    result = wrap_int32(1895147668 + srdhm(1895147668, wrap_int32(x + poly)))
    remainder = wrap_int32(a_mod - a)
    # the barrel shifter: one factor exp(-2^exponent) per set bit of the remainder above a quarter
    for exponent, multiplier in zip(range(-2, integer_bits),
                                    (1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242)):
        result = np.where(remainder & (1 << (fractional_bits + exponent)), srdhm(result, multiplier), result)
    return np.where(a == 0, INT32_MAX, result)


def one_over_one_plus_x_for_x_in_0_1(a):
    """gemmlowp one_over_one_plus_x_for_x_in_0_1: Q0.31 raw in [0, 1) -> Q0.31 raw 1/(1+a), by three
    Newton-Raphson steps in Q2.29."""
    return saturating_rounding_multiply_by_pot(_reciprocal_of_half_denominator(a), 1)


def one_minus_x_over_one_plus_x_for_x_in_0_1(a):
    """gemmlowp one_minus_x_over_one_plus_x_for_x_in_0_1: Q0.31 raw in [0, 1) -> Q0.31 raw
    (1 - a)/(1 + a) = 2/(1 + a) - 1, from the same Newton-Raphson steps (saturating at 1)."""
    return saturating_rounding_multiply_by_pot(wrap_int32(_reciprocal_of_half_denominator(a) - (1 << 29)), 2)


def _reciprocal_of_half_denominator(a):
    """2 / (1 + a) as Q2.29 raw values for Q0.31 raw a in [0, 1): three Newton-Raphson steps from
    48/17 - 32/17 d, d = (1 + a) / 2 rounded (gemmlowp's shared division)."""
    srdhm = saturating_rounding_doubling_high_mul
    half_denominator = rounding_half_sum(a, INT32_MAX)
    x = wrap_int32(1515870810 + srdhm(half_denominator, -1010580540))
    for _ in range(3):
        one_minus = wrap_int32((1 << 29) - srdhm(half_denominator, x))
        x = wrap_int32(x + saturating_rounding_multiply_by_pot(srdhm(x, one_minus), 2))
    return x


def logistic(a, integer_bits: int = 5):
    """gemmlowp logistic for raw values of Q(integer_bits).(31 - integer_bits) (default Q5.26):
    1 / (1 + exp(-a)) as Q0.31 raw values. For a > 0, one_over_one_plus_x(exp(-a)); for a < 0, one
    minus that of -a; exactly one half at 0."""
    a = np.asarray(a, dtype=np.int64)
    positive = one_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(-np.abs(a), integer_bits))
    return np.where(a == 0, 1 << 30, np.where(a > 0, positive, INT32_MAX - positive))


def tanh(a, integer_bits: int):
    """gemmlowp tanh for raw values of Q(integer_bits).(31 - integer_bits), integer_bits in [0, 4]:
    tanh(a) as Q0.31 raw values. With n = -|a|: t = (1 - e) / (1 + e), e = exp(2n), where 2n is the
    same raw value read with one more integer bit (ExactMulByPot<1>); -t for a < 0, exactly 0 at 0."""
    a = np.asarray(a, dtype=np.int64)
    t = one_minus_x_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(-np.abs(a), integer_bits + 1))
    return np.where(a == 0, 0, np.where(a < 0, -t, t))


def inv_sqrt_quantized_multiplier(x: int) -> tuple[int, int]:
    """TFLite GetInvSqrtQuantizedMultiplierExp(x, kReverseShift = -1) for int32 x: (m, shift) with
    1/sqrt(x) ~ m * 2^(shift - 31), shift <= 0, m a Q0.31 raw value. x <= 1 (0 and negatives too) gives
    (INT32_MAX, 0). Otherwise x is normalized by pairs of bits into [2^27, 2^29) and read as Q3.28 / 2,
    and five Newton-Raphson steps x <- 3/2 x - (x/2) x^3 from 1 run in Q3.28, times sqrt(2)/2."""
    srdhm = saturating_rounding_doubling_high_mul
    if x <= 1:
        return INT32_MAX, 0
    shift = 11
    while x >= 1 << 29:
        x //= 4
        shift += 1
    pairs = (31 - x.bit_length()) // 2 - 1  # (clz(x) - 1) // 2 - 1
    shift -= pairs
    x <<= 2 * pairs
    half_input = saturating_rounding_multiply_by_pot(x >> 1, -1)
    r = 1 << 28  # one in Q3.28
    for _ in range(5):
        r3 = saturating_rounding_multiply_by_pot(srdhm(srdhm(r, r), r), 6)  # Rescale<3> of a Q9.22 product
        r = saturating_rounding_multiply_by_pot(wrap_int32(srdhm((1 << 28) + (1 << 27), r) - srdhm(half_input, r3)), 3)
    m = int(srdhm(r, 1518500250))
    if shift < 0:
        m = int(wrap_int32(m << -shift))
        shift = 0
    return m, -shift
