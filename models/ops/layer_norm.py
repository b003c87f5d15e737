"""layer_norm over the channel axis of int8 tokens, in integers only (MCUFormer's fixed-point square
root, TinyFormer's Scaled-LayerNorm): the numpy reference and the call of its C twin
runtime_c/src/layer_norm_s8.c. Formula and design: docs/numerics.md#layer_norm.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..kernels import call_weighted
from ..quant import output_stage, quantize_multiplier

C_FUNCTION = "mcusim_layer_norm_s8"
INT16_MIN, INT16_MAX = -(1 << 15), (1 << 15) - 1


def default_scale_bits(channels: int) -> int:
    """The largest k that keeps n * 2^k in int16 with a bit to spare: |n| <= sqrt(C - 1)."""
    return 14 - math.ceil(math.log2(channels) / 2)


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
        eps_q = round(eps * channels * channels / (s_x * s_x))
        if not 0 <= eps_q < 1 << 31:
            raise ValueError(f"eps {eps} is {eps_q} in the integer domain: outside [0, 2^31)")
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


def layer_norm_c(kernels, x: np.ndarray, gamma: np.ndarray, beta: np.ndarray | None, p: LayerNormParams) -> np.ndarray:
    tokens, channels = x.shape
    return call_weighted(kernels, C_FUNCTION, p.c_params(),
                         p.multiplier, p.shift, x, (tokens, 1, 1, channels), gamma, (1, 1, 1, channels), beta,
                         (tokens, 1, 1, channels)).reshape(tokens, channels)
