"""softmax, int8 -> int8 over the last axis, exactly as TFLite's reference (gemmlowp fixed point):
the numpy reference and the call of its C twin runtime_c/src/softmax_s8.c.
Formula: docs/numerics.md#softmax. The output is quantized with scale 1/256 and zero point -128.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..blob import IN, OUT, Arena, Call, i32, unary
from ..graph import Graph, Op
from ..quant import (exp_on_negative_values, one_over_one_plus_x_for_x_in_0_1, quantize_multiplier,
                     rounding_divide_by_pot, saturating_rounding_doubling_high_mul, wrap_int32)
from . import Lowering, OpDef
from .common import expect, io
from .common import unary as run_unary

SCALED_DIFF_INTEGER_BITS = 5
ACCUMULATION_INTEGER_BITS = 12


@dataclass(frozen=True)
class SoftmaxAttrs:
    beta: float = 1.0


@dataclass(frozen=True)
class SoftmaxParams:
    input_multiplier: int
    input_left_shift: int
    diff_min: int

    def c_params(self) -> list[int]:
        """mcusim_softmax_params."""
        return [self.input_multiplier, self.input_left_shift, self.diff_min]

    @classmethod
    def from_scale(cls, input_scale: float, beta: float = 1.0) -> "SoftmaxParams":
        """TFLite PreprocessSoftmaxScaling and CalculateInputRadius (float32 scale and beta, widened)."""
        real = min(float(np.float32(beta)) * float(np.float32(input_scale)) * (1 << (31 - SCALED_DIFF_INTEGER_BITS)),
                   (1 << 31) - 1.0)
        multiplier, shift = quantize_multiplier(real)
        if shift < 0:
            raise ValueError(f"softmax input scale {input_scale} times beta {beta} is too small")
        radius = math.floor(((1 << SCALED_DIFF_INTEGER_BITS) - 1) * (1 << (31 - SCALED_DIFF_INTEGER_BITS))
                            / (1 << shift))
        return cls(multiplier, shift, -radius)


def _exp_of_diffs(p: SoftmaxParams) -> np.ndarray:
    """exp of each possible int8 difference x - row max, -255..0 at index diff + 255, as Q0.31 raw
    values (0 below diff_min). Elementwise, so looking it up equals computing it per element."""
    diff = np.arange(-255, 1, dtype=np.int64)
    inside = diff >= p.diff_min
    scaled = saturating_rounding_doubling_high_mul(wrap_int32(diff << p.input_left_shift), p.input_multiplier)
    return np.where(inside, exp_on_negative_values(np.where(inside, scaled, 0)), 0)


def softmax_s8(x: np.ndarray, p: SoftmaxParams) -> np.ndarray:
    """x int8 [..., depth] -> int8 [..., depth]."""
    diff = x.astype(np.int64) - x.max(axis=-1, keepdims=True)
    inside = diff >= p.diff_min
    exps = _exp_of_diffs(p)[diff + 255]
    sum_of_exps = wrap_int32(rounding_divide_by_pot(exps, ACCUMULATION_INTEGER_BITS).sum(axis=-1, keepdims=True))
    # GetReciprocal: normalize the sum to [1, 2), take 1/x in Q0.31.
    headroom = 32 - np.frexp(sum_of_exps.astype(np.float64))[1].astype(np.int64)  # clz of a positive int32
    bits_over_unit = ACCUMULATION_INTEGER_BITS - headroom
    shifted_minus_one = wrap_int32(((sum_of_exps << headroom) & 0xFFFF_FFFF) - (1 << 31))
    scale = one_over_one_plus_x_for_x_in_0_1(shifted_minus_one)
    out = rounding_divide_by_pot(saturating_rounding_doubling_high_mul(scale, exps), bits_over_unit + 31 - 8) - 128
    return np.where(inside, np.clip(out, -128, 127), -128).astype(np.int8)


def softmax_call(x_shape, p: SoftmaxParams, *, lut: bool = False, x: Arena = IN, y: Arena = OUT) -> Call:
    """x seen as rows of its last axis. lut: TinyFormer's lazily filled exp table (softmax_lut_s8.c,
    the same bits)."""
    rows = (1, 1, int(np.prod(x_shape)) // x_shape[-1], x_shape[-1])
    return unary("softmax_lut" if lut else "softmax", i32(p.c_params()), rows, x, rows, y)


def _validate(graph: Graph, op: Op, where: str) -> None:
    x, y = io(graph, op, where, (1,))
    expect(x.shape == y.shape, where, "softmax keeps the shape")
    expect(abs(y.quant.scale[0] - 1 / 256) < 1e-9 and y.quant.zero_point[0] == -128, where,
           "the int8 softmax output has scale 1/256 and zero point -128")
    expect(0 < op.attrs.beta < math.inf, where, "beta must be positive and finite")


def _prepare(graph: Graph, op: Op) -> SoftmaxParams:
    return SoftmaxParams.from_scale(graph.tensors[op.inputs[0]].quant.scale[0], op.attrs.beta)


def _lower(lowering: Lowering) -> tuple[Call, ...]:
    x, y = lowering.tensor(0), lowering.tensor(output=True)
    return (softmax_call(x.shape, lowering.params, lut=lowering.options.scratch, x=lowering.operand(x.name),
                         y=Arena(y.name)),)


OPS = (OpDef("softmax", SoftmaxAttrs, _validate, run_unary(softmax_s8), _prepare, _lower, ("softmax", "softmax_lut")),)


SCRATCH = {"softmax_lut": lambda call: 256 * 4 + 8 * 4}  # the exp table and its bitmap
