"""gelu_sigmoid, int8: MCUFormer's integer GELU, x * sigmoid(1.702 x), with no float at run time
(gemmlowp's fixed-point logistic): the numpy reference and the call of its C twin
runtime_c/src/gelu_sigmoid_s8.c. Formula: docs/numerics.md#gelu_sigmoid.
"""
from __future__ import annotations

from dataclasses import astuple, dataclass

import numpy as np

from ..blob import IN, OUT, Arena, Call, i32, unary
from ..graph import Graph, Op
from ..quant import INT32_MAX, INT32_MIN, logistic, multiply_by_quantized_multiplier, quantize_multiplier, \
    rounding_divide_by_pot
from . import Lowering, OpDef
from .common import check_same_shape, checked, operand_quantization
from .common import unary as run_unary

PRODUCT_FRACTION_BITS = 23  # x * sigmoid held with 23 fractional bits: |x| * 2^23 < 2^31


@dataclass(frozen=True)
class GeluSigmoidAttrs:
    """MCUFormer's integer GELU, x * sigmoid(1.702 x) in fixed point (no table)."""


@dataclass(frozen=True)
class GeluSigmoidParams:
    """mcusim_gelu_sigmoid_params, field for field."""

    input_offset: int       # -input zero point
    output_offset: int      # output zero point
    input_multiplier: int   # (M, L): 1.702 * input_scale * 2^26 = M * 2^L / 2^31, L in [0, 31]
    input_shift: int
    output_multiplier: int  # QM(input_scale / output_scale * 2^-23); the ratio >= 2^-8 keeps the shift >= -31
    output_shift: int

    @classmethod
    def from_quantization(cls, input_scale: float, input_zp: int, output_scale: float,
                          output_zp: int) -> "GeluSigmoidParams":
        s_in, s_out = float(np.float32(input_scale)), float(np.float32(output_scale))
        multiplier, shift = quantize_multiplier(1.702 * s_in * (1 << 26))
        out_multiplier, out_shift = quantize_multiplier(s_in / s_out * 2.0 ** -PRODUCT_FRACTION_BITS)
        if not (0 <= shift <= 31 and 2.0 ** -8 <= s_in / s_out):
            raise ValueError(f"gelu_sigmoid: scales {input_scale} -> {output_scale} outside the legal range "
                             "(input scale in [2^-20, 18], input / output scale >= 2^-8)")
        return cls(-input_zp, output_zp, multiplier, shift, out_multiplier, out_shift)


def gelu_sigmoid_s8(x: np.ndarray, p: GeluSigmoidParams) -> np.ndarray:
    """x int8 -> int8 of the same shape."""
    v = x.astype(np.int64) + p.input_offset
    a = np.clip(rounding_divide_by_pot(v * p.input_multiplier, 31 - p.input_shift), INT32_MIN, INT32_MAX)  # Q5.26
    product = rounding_divide_by_pot(v * logistic(a), 31 - PRODUCT_FRACTION_BITS)  # v * sigmoid, Q23
    out = multiply_by_quantized_multiplier(product, p.output_multiplier, p.output_shift) + p.output_offset
    return np.clip(out, -128, 127).astype(np.int8)


def gelu_sigmoid_call(shape, p: GeluSigmoidParams, *, x: Arena = IN, y: Arena = OUT) -> Call:
    flat = (1, 1, 1, int(np.prod(shape)))
    return unary("gelu_sigmoid", i32(astuple(p)), flat, x, flat, y)


def _prepare(graph: Graph, op: Op) -> GeluSigmoidParams:
    return GeluSigmoidParams.from_quantization(*operand_quantization(graph, op))


def _validate(graph: Graph, op: Op, where: str) -> None:
    check_same_shape(graph, op, where)
    checked(where, _prepare, graph, op)


def _lower(lowering: Lowering) -> tuple[Call, ...]:
    x = lowering.tensor(0)
    return (gelu_sigmoid_call(x.shape, lowering.params, x=lowering.operand(x.name),
                              y=Arena(lowering.op.outputs[0])),)


OPS = (OpDef("gelu_sigmoid", GeluSigmoidAttrs, _validate, run_unary(gelu_sigmoid_s8), _prepare, _lower,
             ("gelu_sigmoid",)),)
