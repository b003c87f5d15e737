"""layer_norm over the channel axis of int8 tokens, in integers only (MCUFormer's fixed-point square
root, TinyFormer's Scaled-LayerNorm): the numpy reference and the call of its C twin
runtime_c/src/layer_norm_s8.c. Formula and design: docs/numerics.md#layer_norm.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..blob import IN, OUT, Arena, Call, const, weighted
from ..graph import Graph, Op
from ..quant import output_stage, quantize_multiplier
from . import Lowering, OpDef
from .common import check_weights, checked, constant, expect, io

INT16_MIN, INT16_MAX = -(1 << 15), (1 << 15) - 1


def default_scale_bits(channels: int) -> int:
    """The largest k that keeps n * 2^k in int16 with a bit to spare: |n| <= sqrt(C - 1)."""
    return 14 - math.ceil(math.log2(channels) / 2)


@dataclass(frozen=True)
class LayerNormAttrs:
    """Integer LayerNorm over the last axis (docs/numerics.md#layer_norm). scale_bits: the int16
    normalized value's 2^k, which beta's scale (gamma_scale * 2^-k) depends on; sqrt_iterations: 0 for
    the exact square root, else that many Newton steps."""

    scale_bits: int
    eps: float = 1e-5
    sqrt_iterations: int = 0


@dataclass(frozen=True)
class LayerNormParams:
    """mcusim_layer_norm_params + per-channel requantization (multiplier[c], shift[c]) of
    gamma_scale[c] * 2^-scale_bits / output_scale."""

    output_offset: int     # output zero point, [-128, 127]
    eps: int               # eps * C^2 / input_scale^2, rounded: [0, 2^31 - 1]
    scale_bits: int        # k: the normalized value is held as n * 2^k in int16
    sqrt_iterations: int   # 0: exact floor square root; n >= 1: n Newton steps
    multiplier: np.ndarray  # int32 [C]
    shift: np.ndarray       # int32 [C]

    def c_params(self) -> list[int]:
        """mcusim_layer_norm_params."""
        return [self.output_offset, self.eps, self.scale_bits, self.sqrt_iterations]

    @classmethod
    def from_quantization(cls, input_scale: float, gamma_scales, output_scale: float, output_zp: int, channels: int,
                          eps: float = 1e-5, scale_bits: int | None = None, sqrt_iterations: int = 0):
        """eps moves into the integer domain of Q below (variance * C^2 / input_scale^2); the multipliers
        fold the 2^-k of the normalized value into gamma's scale, in double from float32 scales."""
        k = default_scale_bits(channels) if scale_bits is None else scale_bits
        s_x, s_y = float(np.float32(input_scale)), float(np.float32(output_scale))
        eps_real = eps * channels * channels / (s_x * s_x)
        if not 0 <= eps_real < (1 << 31) - 0.5:  # NaN and infinity fail too
            raise ValueError(f"eps {eps} is {eps_real} in the integer domain: outside [0, 2^31)")
        eps_q = round(eps_real)
        gammas = np.broadcast_to(np.asarray(gamma_scales, np.float32), channels)
        pairs = [quantize_multiplier(float(g) * 2.0 ** -k / s_y) for g in gammas]
        return cls(output_zp, eps_q, k, sqrt_iterations, np.array([m for m, _ in pairs], np.int32),
                   np.array([s for _, s in pairs], np.int32))


def isqrt_newton(q: int, iterations: int) -> int:
    """sqrt(q) for q >= 1 by integer Newton steps from the power of two above it: r <- min(r,
    (r + q // r) // 2). The steps never go below floor(sqrt(q)) (AM-GM) and never rise; iterations 0
    runs them to the fixed point, which is floor(sqrt(q))."""
    r = 1 << ((q.bit_length() + 1) // 2)
    for _ in range(iterations if iterations > 0 else 64):
        nxt = min(r, (r + q // r) // 2)
        if nxt == r:
            break
        r = nxt
    return r


def check_range(channels: int, scale_bits: int) -> None:
    """The kernels' legal range: C in [1, 4096], and 255 * C * 2^k < 2^31 so C (x - mean) 2^k fits int32."""
    if not (1 <= channels <= 4096 and 0 <= scale_bits <= 15 and (255 * channels) << scale_bits < 1 << 31):
        raise ValueError(f"layer_norm of {channels} channels at scale_bits {scale_bits}: outside the legal range")


def layer_norm_s8(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray | None, p: LayerNormParams) -> np.ndarray:
    """x int8 [T, C] (any zero point: the mean removes it), gamma int8 [C], beta int32 [C] or None
    (scale gamma_scale[c] * 2^-k) -> int8 [T, C]."""
    xs = x.astype(np.int64)
    channels = xs.shape[-1]
    check_range(channels, p.scale_bits)
    total = xs.sum(axis=-1, keepdims=True)
    d = channels * xs - total                                   # C * (x - mean), exact
    q = channels * (xs * xs).sum(axis=-1, keepdims=True) - total * total + p.eps  # C^2 var / s_x^2 + eps
    r = np.array([[isqrt_newton(max(int(v), 1), p.sqrt_iterations)] for v in q[:, 0]], np.int64)
    num = d << p.scale_bits
    n = np.sign(num) * ((np.abs(num) + r // 2) // r)            # n * 2^k, halves away from zero
    n = np.clip(n, INT16_MIN, INT16_MAX)
    acc = n * gamma.astype(np.int64) + (0 if beta is None else beta.astype(np.int64))
    return output_stage(acc, p.multiplier, p.shift, p.output_offset, -128, 127, "layer_norm")


def layer_norm_call(x_shape, gamma: np.ndarray, beta: np.ndarray | None, p: LayerNormParams, *, x: Arena = IN,
                    y: Arena = OUT) -> Call:
    """x seen as tokens of its last axis."""
    channels = x_shape[-1]
    rows = (int(np.prod(x_shape)) // channels, 1, 1, channels)
    return weighted("layer_norm", p.c_params(), p, rows, x, (1, 1, 1, channels), const(gamma), const(beta), rows, y)


def _validate(graph: Graph, op: Op, where: str) -> None:
    x, gamma, *rest = io(graph, op, where, (2, 3))
    y, channels = rest[-1], x.shape[-1]
    expect(y.shape == x.shape, where, f"input {x.shape} and output {y.shape} must have one shape")
    expect(gamma.shape == (channels,), where, f"gamma must be [{channels}]")
    check_weights(where, gamma, rest[0] if len(rest) == 2 else None, channels, 0, reach=-INT16_MIN)
    checked(where, check_range, channels, op.attrs.scale_bits)
    expect(op.attrs.sqrt_iterations >= 0 and op.attrs.eps >= 0, where, "sqrt_iterations and eps must be >= 0")


def _prepare(graph: Graph, op: Op) -> LayerNormParams:
    x, gamma, y = graph.tensors[op.inputs[0]], graph.tensors[op.inputs[1]], graph.tensors[op.outputs[0]]
    a = op.attrs
    return LayerNormParams.from_quantization(x.quant.scale[0], gamma.quant.scale, y.quant.scale[0],
                                             y.quant.zero_point[0], x.shape[-1], a.eps, a.scale_bits,
                                             a.sqrt_iterations)


def _run(graph: Graph, op: Op, p: LayerNormParams, values: dict) -> None:
    x, gamma, y = graph.tensors[op.inputs[0]], graph.tensors[op.inputs[1]], graph.tensors[op.outputs[0]]
    rows = values[op.inputs[0]].reshape(-1, x.shape[-1])
    values[op.outputs[0]] = layer_norm_s8(rows, gamma.data, constant(graph, op, 2), p).reshape(-1, *y.shape[1:])


def _lower(lowering: Lowering) -> tuple[Call, ...]:
    x = lowering.tensor(0)
    return (layer_norm_call(x.shape, lowering.tensor(1).data, constant(lowering.graph, lowering.op, 2),
                            lowering.params, x=lowering.operand(x.name), y=Arena(lowering.op.outputs[0])),)


OPS = (OpDef("layer_norm", LayerNormAttrs, _validate, _run, _prepare, _lower, ("layer_norm",)),)
