"""Patch embedding, undecomposed and decomposed into sub-kernels (MCUFormer), against the direct conv2d
kernel, in the emulator on the M4 and M7 boards (DSP paths): the kernel's measured stack peak (where its
int16 column and int32 partial sums live), its peak bytes (input + output + stack), and cycles.

    python benchmarks/patch_embed.py

Shapes: the 4x4 and 7x7 patches of a 28x28 Fashion-MNIST image, and a 16x16 RGB patch of an
ImageNet-style ViT (a 64x64 crop: 16 patches, each costing what a patch of a 224x224 image costs).
"""
from __future__ import annotations

import tempfile

import numpy as np

from mcusim.boards import get_board
from mcusim.models.kernels import EmulatedKernels, execute
from mcusim.models.ops.conv2d import conv2d_call
from mcusim.models.ops.patch_embed import PatchEmbedParams, patch_embed_call, patch_embed_s8, scratch_bytes

# (H, W, C, O, patch, sub-kernel sizes to try)
SHAPES = [(28, 28, 1, 64, 4, (4, 2, 1)), (28, 28, 1, 64, 7, (7, 1)), (64, 64, 3, 192, 16, (16, 8, 4, 2))]


def main() -> None:
    rng = np.random.default_rng(0)
    print(f"{'board':10} {'image > O, patch':20} {'kernel':12} {'scratch':>8} {'stack':>6} {'peak bytes':>10} "
          f"{'cycles':>11} {'cycles/MAC':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for board_name in ("stm32f427", "stm32f746"):
            kernels = EmulatedKernels(get_board(board_name), True, tmp)
            for h, w, c, o, patch, subs in SHAPES:
                x = rng.integers(-128, 128, (1, h, w, c), dtype=np.int8)
                f = rng.integers(-127, 128, (o, patch, patch, c), dtype=np.int8)
                bias = rng.integers(-1000, 1000, o, dtype=np.int32)
                p = PatchEmbedParams(3, -2, np.full(o, 1 << 30, np.int32), np.full(o, -8, np.int32))
                expected = patch_embed_s8(x, f, bias, p)
                activations = x.size + expected.size
                macs = expected.size * patch * patch * c
                calls = [("conv2d", None, conv2d_call(x.shape, f, bias, p.conv(x.shape, f.shape)))]
                calls += [(f"sub {s}x{s}", s, patch_embed_call(x.shape, f, bias, p, (s, s))) for s in subs]
                runs = [(name, sub, lambda call=call: execute(kernels, call, input=x)) for name, sub, call in calls]
                for name, sub, run in runs:
                    np.testing.assert_array_equal(run(), expected)  # bit-exact, whatever the decomposition
                    call = kernels.emulator.last_call
                    scratch = scratch_bytes((patch, patch), (sub, sub), c, o) if sub else 0
                    print(f"{board_name:10} {f'{h}x{w}x{c} > {o}, {patch}x{patch}':20} {name:12} {scratch:>8,} "
                          f"{call.stack_peak:>6,} {activations + call.stack_peak:>10,} {call.cycles:>11,} "
                          f"{call.cycles / macs:>10.2f}")


if __name__ == "__main__":
    main()
