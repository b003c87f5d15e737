"""The int8 unary ops of TFLite, each a pure function of one int8 input and therefore computed exactly
by a 256-entry table (lookup.py's lookup_s8, C twin runtime_c/src/lookup_s8.c): logistic, tanh,
hard_swish, relu, relu6, leaky_relu, rsqrt and requantize (int8 -> int8 QUANTIZE). Each table holds,
for every input byte, the integer TFLite Micro's int8 reference kernel computes for it from the
parameters its Prepare derives; "table" is the generic op whose second input is the table itself.
Formulas: docs/numerics.md#int8-unary-ops-as-tables.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from ..blob import Arena
from ..graph import Graph, Op
from ..quant import (INT32_MAX, inv_sqrt_quantized_multiplier, logistic, multiply_by_quantized_multiplier,
                     quantize_multiplier, round_half_away, rounding_divide_by_pot, tanh)
from . import Lowering, OpDef
from .common import check_same_shape, expect, io, operand_quantization
from .common import unary as run_unary
from .lookup import lookup_call, lookup_s8

_F = np.float32
INPUTS = np.arange(-128, 128, dtype=np.int64)  # every int8 input, in the order the tables are built
LOGISTIC_OUTPUT = (1 / 256, -128)  # the (scale, zero point) TFLM's int8 LOGISTIC writes
TANH_OUTPUT = (1 / 128, 0)         # and TANH


def _as_table(values: np.ndarray) -> np.ndarray:
    """The read-only table of the outputs for INPUTS: entry (uint8)q holds the output for q."""
    lut = np.empty(256, np.int8)
    lut[INPUTS.astype(np.int8).view(np.uint8)] = np.clip(values, -128, 127)
    lut.flags.writeable = False
    return lut


def _mbqm(x, real: float) -> np.ndarray:
    """MultiplyByQuantizedMultiplier(x, QuantizeMultiplier(real)): ValueError for a multiplier that is
    negative, not finite or 2^30 or more (shift > 30; the kernel's left shift would leave int32)."""
    return multiply_by_quantized_multiplier(x, *quantize_multiplier(real))


# ---- logistic and tanh: gemmlowp fixed point on a Q4.27 input -----------------------------------------

def _q4_input(input_scale: float) -> tuple[int, int, int]:
    """TFLM's CalculateArithmeticOpDataLogistic / Tanh for int8: (multiplier, left shift, radius) with
    (q, L) = frexp(s_in * 2^27) in double, multiplier = round(q * 2^31), radius = floor(15 * 2^27 / 2^L).
    Legal: L in [0, 30] (s_in in [2^-28, 8)): beyond, TFLM's shifts are undefined."""
    fraction, shift = math.frexp(float(_F(input_scale)) * (1 << 27))
    if not 0 <= shift <= 30:
        raise ValueError(f"input scale {input_scale} outside the legal range [2^-28, 8) (left shift {shift})")
    return round_half_away(fraction * (1 << 31)), shift, (15 << 27) >> shift


def _saturated(v: np.ndarray, radius: int, inside: np.ndarray) -> np.ndarray:
    """-128 where v <= -radius, 127 where v >= radius, `inside` between."""
    return np.where(v <= -radius, -128, np.where(v >= radius, 127, inside))


@functools.lru_cache(maxsize=256)
def logistic_table(input_scale: float, input_zp: int) -> np.ndarray:
    """TFLM's reference_integer_ops::Logistic: with v = q - zp_in, a = MBQM(v, multiplier, L) (Q4.27),
    out = clamp(RoundingDivideByPOT(logistic(a), 23) - 128) (Q0.31 -> scale 1/256, zero point -128)."""
    multiplier, shift, radius = _q4_input(input_scale)
    v = INPUTS - input_zp
    inside = np.abs(v) < radius
    a = multiply_by_quantized_multiplier(np.where(inside, v, 0), multiplier, shift)
    return _as_table(_saturated(v, radius, rounding_divide_by_pot(logistic(a, 4), 23) - 128))


@functools.lru_cache(maxsize=256)
def tanh_table(input_scale: float, input_zp: int) -> np.ndarray:
    """TFLM's reference_integer_ops::Tanh: a as for logistic, out = clamp(RoundingDivideByPOT(tanh(a), 24))
    (Q0.31 -> scale 1/128, zero point 0)."""
    multiplier, shift, radius = _q4_input(input_scale)
    v = INPUTS - input_zp
    inside = np.abs(v) < radius
    a = multiply_by_quantized_multiplier(np.where(inside, v, 0), multiplier, shift)
    return _as_table(_saturated(v, radius, rounding_divide_by_pot(tanh(a, 4), 24)))


# ---- hard_swish: TFLite's int16 fixed point -----------------------------------------------------------

def _int16(x):
    """Two's-complement wrap to int16 (C's conversion of an int to int16_t)."""
    return ((np.asarray(x, np.int64) + (1 << 15)) & 0xFFFF) - (1 << 15)


def _srdhm16(a, b):
    """gemmlowp SaturatingRoundingDoublingHighMul on int16: (a*b + nudge) / 2^15 truncated toward zero,
    nudge 2^14 (1 - 2^14 for a negative product); -32768 * -32768 saturates to 32767."""
    ab = np.asarray(a, np.int64) * b
    n = ab + np.where(ab >= 0, 1 << 14, 1 - (1 << 14))
    q = np.where(n >= 0, n >> 15, -((-n) >> 15))
    return np.where((a == -32768) & (b == -32768), 32767, _int16(q))


def _sdhm16(a, b):
    """TFLite's SaturatingDoublingHighMul on int16: a*b / 2^15 truncated toward zero, no nudge."""
    ab = np.asarray(a, np.int64) * b
    q = np.where(ab >= 0, ab >> 15, -((-ab) >> 15))
    return np.where((a == -32768) & (b == -32768), 32767, _int16(q))


def _rdbpot16(x, exponent: int):
    """gemmlowp RoundingDivideByPOT on int16, exponent in [0, 31], with C's int16 arithmetic: the mask
    (2^exponent - 1) is truncated to int16, so an exponent of 16 or more makes it -1."""
    x = np.asarray(x, np.int64)
    mask = int(_int16((1 << exponent) - 1))
    threshold = (mask >> 1) + (x < 0)
    return _int16((x >> exponent) + ((x & mask) > threshold))


def _saturating_left_shift16(x, amount: int):
    return np.clip(np.asarray(x, np.int64) << amount, -32768, 32767)


def _int16_multiplier(real: float) -> tuple[int, int]:
    """QuantizeMultiplier, then DownScaleInt32ToInt16Multiplier: (m32 + 2^15) >> 16, 32767 where m32 >=
    2^31 - 1 - 2^15."""
    m32, exponent = quantize_multiplier(real)
    return (32767 if m32 >= INT32_MAX - (1 << 15) else (m32 + (1 << 15)) >> 16), exponent


@functools.lru_cache(maxsize=256)
def hard_swish_table(input_scale: float, input_zp: int, output_scale: float, output_zp: int) -> np.ndarray:
    """TFLM's HardSwishPrepare and reference_ops::HardSwish for int8. Float32 scales: hires = s_in / 128,
    (mo, eo) = QM16(hires / s_out) with eo <= 0 (TFLM refuses more: ValueError), (mr, er) = QM16(hires /
    (3 / 32768)). With v = q - zp_in (int16):
        h = 128 v;  pre = SRDHM16(h, mo)
        r = h, saturating << (er - 1) if er > 0;  r = SRDHM16(r, mr);  saturating << 1 if er > 0;
        RoundingDivideByPOT16(r, -er) if er < 0;  r = (r + 2^15) >> 1        # relu6(x + 3) / 6 in Q0.15
        out = clamp(RoundingDivideByPOT16(SDHM16(r, pre), -eo) + zp_out)"""
    hires = _F(1.0 / 128.0) * _F(input_scale)
    out_m, out_e = _int16_multiplier(float(hires / _F(output_scale)))
    if out_e > 0:
        raise ValueError(f"input scale {input_scale} / (128 * output scale {output_scale}) must be below 1 "
                         "(TFLM's HardSwishPrepare refuses it)")
    rel_m, rel_e = _int16_multiplier(float(hires / (_F(3.0) / _F(32768.0))))
    h = (INPUTS - input_zp) * 128
    pre = _srdhm16(h, out_m)
    r = _saturating_left_shift16(h, rel_e - 1) if rel_e > 0 else h
    r = _srdhm16(r, rel_m)
    if rel_e > 0:
        r = _saturating_left_shift16(r, 1)
    if rel_e < 0:
        r = _rdbpot16(r, -rel_e)
    r = (r + (1 << 15)) >> 1
    return _as_table(_rdbpot16(_sdhm16(r, pre), -out_e) + output_zp)


# ---- relu, relu6, leaky_relu, requantize: one or two requantizations ----------------------------------

@functools.lru_cache(maxsize=256)
def relu_table(input_scale: float, input_zp: int, output_scale: float, output_zp: int) -> np.ndarray:
    """TFLM's CalculateReluOpData and ReluQuantized: (M, S) = QM(s_in / s_out) in double,
    out = min(max(MBQM(q - zp_in, M, S) + zp_out, zp_out), 127) (act_min = zp_out + roundf(0 / s_out))."""
    y = _mbqm(INPUTS - input_zp, float(_F(input_scale)) / float(_F(output_scale))) + output_zp
    return _as_table(np.maximum(y, output_zp))


def relu6_six(input_scale: float, input_zp: int) -> int:
    """TFLM's Relu6Prepare: six = clamp(round(6.0f / s_in) + zp_in) (float32 division, halves away from
    zero). Legal: 6 / s_in below 2^31 (TFLM's conversion to int32 is undefined beyond)."""
    quotient = float(_F(6.0) / _F(input_scale))
    if not quotient < 2.0 ** 31:
        raise ValueError(f"input scale {input_scale} too small for relu6 (6 / scale must be below 2^31)")
    return min(max(round_half_away(quotient) + input_zp, -128), 127)


@functools.lru_cache(maxsize=256)
def relu6_table(input_scale: float, input_zp: int) -> np.ndarray:
    """TFLM's Relu6Quantized: out = six if q > six, else zp_in if q < zp_in, else q; the output keeps
    the input's quantization (TFLM reads no output scale)."""
    six = relu6_six(input_scale, input_zp)
    return _as_table(np.where(INPUTS > six, six, np.where(INPUTS < input_zp, input_zp, INPUTS)))


@functools.lru_cache(maxsize=256)
def leaky_relu_table(input_scale: float, input_zp: int, output_scale: float, output_zp: int,
                     alpha: float) -> np.ndarray:
    """TFLM's CalculateOpDataLeakyRelu and QuantizeLeakyRelu: identity = QM(s_in / s_out), alpha' =
    QM(s_in * alpha / s_out), both products and quotients in float32; with v = q - zp_in,
    out = clamp(zp_out + MBQM(v, identity)) for v >= 0, clamp(zp_out + MBQM(v, alpha')) for v < 0.
    Legal: alpha >= 0 (a negative multiplier is outside QuantizeMultiplier's range here)."""
    s_in, s_out = _F(input_scale), _F(output_scale)
    with np.errstate(over="ignore"):  # an infinite multiplier is refused by quantize_multiplier
        alpha_real = float(s_in * _F(alpha) / s_out)
    v = INPUTS - input_zp
    positive = _mbqm(v, float(s_in / s_out))
    negative = _mbqm(v, alpha_real)
    return _as_table(output_zp + np.where(v >= 0, positive, negative))


@functools.lru_cache(maxsize=256)
def requantize_table(input_scale: float, input_zp: int, output_scale: float, output_zp: int) -> np.ndarray:
    """TFLM's PrepareQuantizeReference and reference_ops::Requantize, int8 -> int8:
    out = clamp(MBQM(q - zp_in, QM(s_in / s_out)) + zp_out), the quotient in double."""
    return _as_table(_mbqm(INPUTS - input_zp, float(_F(input_scale)) / float(_F(output_scale))) + output_zp)


# ---- rsqrt -----------------------------------------------------------------------------------------------

RSQRT_SHIFT = 20  # TFLM's kShift: 1/sqrt(v) is held as an integer times 2^20


@functools.lru_cache(maxsize=256)
def rsqrt_table(input_scale: float, input_zp: int, output_scale: float, output_zp: int) -> np.ndarray:
    """TFLM's PrepareAbsRsqrt and RsqrtEvalQuantized for int8: (M, S) = QM(1 / (sqrt(s_in) * s_out)) in
    double; with v = q - zp_in, out = 127 where v = 0, else with (m, e) = GetInvSqrtQuantizedMultiplierExp(v),
    d = MBQM(1, m, e + 20) and out = clamp(MBQM(d, M, S - 20) + zp_out). TFLM stops with an error on an
    input below the zero point; those entries hold what the formula gives (v <= 1 reads as 1).
    Legal: S >= -11 (the second right shift at most 31)."""
    multiplier, shift = quantize_multiplier(1.0 / (math.sqrt(float(_F(input_scale))) * float(_F(output_scale))))
    if shift - RSQRT_SHIFT < -31:
        raise ValueError(f"scales {input_scale} -> {output_scale} outside rsqrt's legal range "
                         "(1 / (sqrt(input scale) * output scale) below 2^-12)")
    out = []
    for v in (INPUTS - input_zp).tolist():
        if v == 0:
            out.append(127)
            continue
        inv, inv_shift = inv_sqrt_quantized_multiplier(v)
        d = multiply_by_quantized_multiplier(1, inv, inv_shift + RSQRT_SHIFT)
        out.append(int(multiply_by_quantized_multiplier(d, multiplier, shift - RSQRT_SHIFT)) + output_zp)
    return _as_table(np.array(out, np.int64))


# ---- the op definitions ------------------------------------------------------------------------------

@dataclass(frozen=True)
class UnaryAttrs:
    """logistic, tanh, hard_swish, relu, relu6, rsqrt, requantize and table: no attributes."""


@dataclass(frozen=True)
class LeakyReluAttrs:
    """leaky_relu: out = x for x >= 0, alpha * x below (TFLite's LeakyReluOptions.alpha, float32)."""

    alpha: float = 0.2


def _quantization(graph: Graph, op: Op) -> tuple:
    """(s_in, zp_in, s_out, zp_out) as Python float and int (hashable, for the table caches)."""
    s_in, zp_in, s_out, zp_out = operand_quantization(graph, op)
    return float(s_in), int(zp_in), float(s_out), int(zp_out)


def _fixed_output(output: tuple[float, int], name: str):
    """validate() of logistic and tanh: TFLM writes a fixed output quantization (it checks the zero
    point of LOGISTIC and nothing of TANH); any other output scale or zero point would mislabel the
    results, so it is refused."""
    def validate(graph: Graph, op: Op, where: str) -> None:
        check_same_shape(graph, op, where)
        y = graph.tensors[op.outputs[0]]
        expect(_F(y.quant.scale[0]) == _F(output[0]) and y.quant.zero_point[0] == output[1], where,
               f"{name}'s output must have scale 1/{round(1 / output[0])} and zero point {output[1]} (as TFLite)")
    return validate


def _validate_relu6(graph: Graph, op: Op, where: str) -> None:
    """TFLM's RELU6 clamps the input's integers to [zp_in, round(6 / s_in) + zp_in] and reads no
    output quantization; mcusim computes the same integers whatever the output's quantization says
    (LiteRT's RELU6 requantizes to it: the two runtimes differ where a converter gives the output a
    scale of its own, and mcusim follows TFLM)."""
    check_same_shape(graph, op, where)


def _validate_leaky_relu(graph: Graph, op: Op, where: str) -> None:
    check_same_shape(graph, op, where)
    alpha = op.attrs.alpha
    expect(isinstance(alpha, (int, float)) and not isinstance(alpha, bool) and math.isfinite(alpha) and alpha >= 0
           and abs(alpha) <= float(np.finfo(np.float32).max), where,
           f"alpha must be a finite float32 >= 0; got {alpha!r}")


def _validate_table(graph: Graph, op: Op, where: str) -> None:
    """table: x and the output int8 of one shape, the second input a constant int8 [256] indexed by
    the input's byte."""
    x, t, y = io(graph, op, where, (2,))
    expect(x.shape == y.shape, where, f"input {x.shape} and output {y.shape} must have one shape")
    expect(t.dtype == "int8" and t.data is not None and t.shape == (256,), where,
           f"the table {t.name!r} must be a constant int8 [256]")


def _lower(lowering: Lowering):
    x = lowering.tensor(0)
    return (lookup_call(x.shape, lowering.params, x=lowering.operand(x.name), y=Arena(lowering.op.outputs[0])),)


def _op(kind: str, validate, prepare, attrs=UnaryAttrs) -> OpDef:
    return OpDef(kind, attrs, validate, run_unary(lookup_s8), prepare, _lower, ("lookup",))


OPS = (
    _op("logistic", _fixed_output(LOGISTIC_OUTPUT, "logistic"), lambda g, op: logistic_table(*_quantization(g, op)[:2])),
    _op("tanh", _fixed_output(TANH_OUTPUT, "tanh"), lambda g, op: tanh_table(*_quantization(g, op)[:2])),
    _op("hard_swish", check_same_shape, lambda g, op: hard_swish_table(*_quantization(g, op))),
    _op("relu", check_same_shape, lambda g, op: relu_table(*_quantization(g, op))),
    _op("relu6", _validate_relu6, lambda g, op: relu6_table(*_quantization(g, op)[:2])),
    _op("leaky_relu", _validate_leaky_relu,
        lambda g, op: leaky_relu_table(*_quantization(g, op), float(op.attrs.alpha)), LeakyReluAttrs),
    _op("rsqrt", check_same_shape, lambda g, op: rsqrt_table(*_quantization(g, op))),
    _op("requantize", check_same_shape, lambda g, op: requantize_table(*_quantization(g, op))),
    _op("table", _validate_table, lambda g, op: g.tensors[op.inputs[1]].data),
)
