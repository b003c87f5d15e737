"""patch_embed: a ViT's patch embedding, conv2d with stride = kernel and no padding, and its C twin
runtime_c/src/patch_embed_s8.c, which runs each patch as sub-kernels accumulated in int32 (MCUFormer's
patch-embedding decomposition). The decomposition reorders an exact integer sum, so the reference is
conv2d's. The deployment chooses it for a conv2d op (conv2d.py, MemoryOptions.patch_embed). Formula:
docs/numerics.md#patch_embed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..blob import IN, OUT, Arena, Call, const, weighted
from .conv2d import Conv2DAttrs, Conv2DParams, conv2d_s8


@dataclass(frozen=True)
class PatchEmbedParams:
    """Quantization of one patch embedding (mcusim_patch_embed_params without the sub-kernel size,
    which changes the schedule, not the result)."""

    input_offset: int
    output_offset: int
    multiplier: np.ndarray
    shift: np.ndarray
    act_min: int = -128
    act_max: int = 127

    @classmethod
    def of(cls, p: Conv2DParams) -> "PatchEmbedParams":
        return cls(p.input_offset, p.output_offset, p.multiplier, p.shift, p.act_min, p.act_max)

    def c_params(self, sub: tuple[int, int]) -> list[int]:
        """mcusim_patch_embed_params for sub-kernels of sub = (sub_h, sub_w)."""
        return [self.input_offset, self.output_offset, *sub, self.act_min, self.act_max]

    def conv(self, x_shape, w_shape) -> Conv2DParams:
        """The conv2d that is this patch embedding of x_shape [N, H, W, C] by w_shape [O, KH, KW, C]."""
        (_, h, w, _), (_, kh, kw, _) = x_shape, w_shape
        return Conv2DParams(self.input_offset, self.output_offset, self.multiplier, self.shift, h // kh, w // kw,
                            stride=(kh, kw), act_min=self.act_min, act_max=self.act_max)


def patch_embed_s8(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, p: PatchEmbedParams) -> np.ndarray:
    """x int8 [N, H, W, C], w int8 [O, KH, KW, C], bias int32 [O] or None -> int8 [N, H // KH, W // KW, O]."""
    return conv2d_s8(x, w, bias, p.conv(x.shape, w.shape))


def patch_embed_call(x_shape, w: np.ndarray, bias: np.ndarray | None, p: PatchEmbedParams, sub: tuple[int, int],
                     *, x: Arena = IN, y: Arena = OUT) -> Call:
    """The kernel decomposed into sub = (sub_h, sub_w) sub-kernels (the kernel's own size: undecomposed)."""
    conv = p.conv(x_shape, w.shape)
    return weighted("patch_embed", p.c_params(sub), p, x_shape, x, w.shape, const(w), const(bias),
                    (x_shape[0], conv.out_h, conv.out_w, w.shape[0]), y)


def sub_kernel(attrs: Conv2DAttrs, kernel: tuple[int, int], sub: tuple[int, int] | None) -> tuple[int, int] | None:
    """The sub-kernel size a conv2d runs with as a patch embedding (per axis the largest divisor of the
    kernel not above the requested size `sub`), or None when it is not one (stride = kernel, no padding,
    no dilation) or no patch embedding is asked for (sub None)."""
    if sub is None or tuple(attrs.stride) != tuple(kernel) or attrs.pad != (0, 0) or attrs.dilation != (1, 1):
        return None
    return tuple(max(d for d in range(1, k + 1) if k % d == 0 and d <= max(s, 1)) for k, s in zip(kernel, sub))


def scratch_bytes(kernel: tuple[int, int], sub: tuple[int, int], channels: int, out_channels: int) -> int:
    """The kernel's working memory beyond input and output (on its stack): the int16 column of one
    sub-window, and the int32 partial sums when the patch is decomposed."""
    partial = 4 * out_channels if tuple(sub) != tuple(kernel) else 0
    return 2 * sub[0] * sub[1] * channels + partial


def _patch_embed_scratch(call: Call) -> int:
    """patch_embed_s8.c: an int16 column of one sub-kernel, and O int32 partial sums if decomposed."""
    sub_h, sub_w = call.words(0)[2:4]
    (_, _, _, c), (o, kh, kw, _) = call.words(2), call.words(4)
    return 2 * sub_h * sub_w * c + 4 * (o if (kh // sub_h) * (kw // sub_w) > 1 else 1)


SCRATCH = {"patch_embed": _patch_embed_scratch}
