"""lookup, int8 -> int8 through a 256-entry table, and the tables of the activations built on it
(GELU, as TFLite builds it; the op kind "gelu"): the numpy reference and the call of its C twin
runtime_c/src/lookup_s8.c.
Formula: docs/numerics.md#lookup-and-gelu.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from ..blob import IN, OUT, Arena, Call, Const, unary
from ..graph import Graph, Op
from ..quant import round_half_away
from . import Lowering, OpDef
from .common import check_same_shape, operand_quantization
from .common import unary as run_unary


@dataclass(frozen=True)
class GeluAttrs:
    """GELU through a 256-entry table; approximate: the tanh form."""

    approximate: bool = False

_F = np.float32


def _gelu(x: np.float32) -> np.float32:
    """TFLite's GeluTransform in float32: 0.5f * x * erfc(x * -(float)M_SQRT1_2)."""
    erfc = _F(math.erfc(float(x * _F(-math.sqrt(0.5)))))
    return _F(0.5) * x * erfc


def _gelu_tanh(x: np.float32) -> np.float32:
    """TFLite's GeluTransformApproximate: 0.5f x (1 + tanh(sqrt(2/pi) (x + 0.044715f x^3)))."""
    inner = _F(math.sqrt(2.0 / math.pi)) * (x + _F(0.044715) * x * x * x)
    return _F(0.5) * x * (_F(1.0) + _F(math.tanh(float(inner))))


def table(transform, input_scale: float, input_zp: int, output_scale: float, output_zp: int) -> np.ndarray:
    """TFLite's LUTPopulate for int8, step for step in float32: entry (uint8)q holds
    clamp(round(f(input_scale * (q - input_zp)) * (1 / output_scale)) + output_zp), rounding halves
    away from zero. Legal range: |f(x) / output_scale| < 2^31 (TFLite's float-to-int conversion is
    undefined beyond); ValueError outside it."""
    out = np.empty(256, np.int8)
    with np.errstate(over="ignore", invalid="ignore"):  # float32 overflow is checked below
        inverse = _F(1.0) / _F(output_scale)
        for q in range(-128, 128):
            value = float(transform(_F(input_scale) * _F(q - input_zp)) * inverse)
            if not abs(value) < 2.0 ** 31:  # NaN fails too
                raise ValueError(f"lookup: scales {input_scale} -> {output_scale} outside the legal range "
                                 "(|f(x) / output_scale| < 2^31)")
            out[q & 0xFF] = min(max(round_half_away(value) + output_zp, -128), 127)
    return out


@functools.lru_cache(maxsize=256)
def gelu_table(input_scale: float, input_zp: int, output_scale: float, output_zp: int,
               approximate: bool = False) -> np.ndarray:
    """The table of one quantization, built once (256 float evaluations in Python) and read-only
    after: the interpreter asks for it on every run of the op."""
    lut = table(_gelu_tanh if approximate else _gelu, input_scale, input_zp, output_scale, output_zp)
    lut.flags.writeable = False
    return lut


def lookup_s8(x: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """out = lut[(uint8)x]: the table is indexed by the input's two's complement byte."""
    return lut[x.astype(np.int8).view(np.uint8)]


def lookup_call(shape, lut: np.ndarray, *, x: Arena = IN, y: Arena = OUT) -> Call:
    flat = (1, 1, 1, int(np.prod(shape)))
    return unary("lookup", Const(np.asarray(lut, np.int8).tobytes()), flat, x, flat, y)


def _prepare(graph: Graph, op: Op) -> np.ndarray:
    """The 256-entry table."""
    return gelu_table(*operand_quantization(graph, op), op.attrs.approximate)


def _lower(lowering: Lowering) -> tuple[Call, ...]:
    x = lowering.tensor(0)
    return (lookup_call(x.shape, lowering.params, x=lowering.operand(x.name), y=Arena(lowering.op.outputs[0])),)


OPS = (OpDef("gelu", GeluAttrs, check_same_shape, run_unary(lookup_s8), _prepare, _lower, ("lookup",)),)
