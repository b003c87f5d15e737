"""patch_embed_s8: every decomposition into sub-kernels, in C, equals the reference (conv2d with
stride = kernel) bit for bit (the twins, test_twins.py), under fuzzing of the patch
and sub-kernel sizes (1, odd, rows of sub_w * C not a multiple of 4), values and quantization. The
reference itself is conv2d's, checked against TFLM in test_conv2d.py."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcusim.models.kernels import execute
from mcusim.models.ops.patch_embed import PatchEmbedParams, patch_embed_call, patch_embed_s8, scratch_bytes

from .strategies import activation_ranges, biases, int8_arrays, multipliers
from .twins import Case, Twin


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


@st.composite
def cases(draw, max_kernel=6, max_patches=3, max_channels=5):
    kh, kw = draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel))
    sub = (draw(st.sampled_from(divisors(kh))), draw(st.sampled_from(divisors(kw))))
    # rows and columns past the last whole patch are left unread
    h = draw(st.integers(1, max_patches)) * kh + draw(st.integers(0, kh - 1))
    w = draw(st.integers(1, max_patches)) * kw + draw(st.integers(0, kw - 1))
    c, o = draw(st.integers(1, max_channels)), draw(st.integers(1, 6))
    x = draw(int8_arrays((draw(st.integers(1, 2)), h, w, c)))
    f = draw(int8_arrays((o, kh, kw, c), low=-127))
    multiplier, shift = draw(multipliers(o))
    act_min, act_max = draw(activation_ranges())
    p = PatchEmbedParams(draw(st.integers(-127, 128)), draw(st.integers(-128, 127)), multiplier, shift, act_min,
                         act_max)
    return x, f, draw(biases(o)), p, sub


def test_reference_is_a_patchwise_dot_product():
    """One 2x2 patch per output pixel of a 4x5 image (the last column unread), kernel of ones."""
    x = np.arange(20, dtype=np.int8).reshape(1, 4, 5, 1)
    w = np.ones((1, 2, 2, 1), np.int8)
    p = PatchEmbedParams(0, 0, np.array([1 << 30], np.int32), np.array([1], np.int32))  # multiplier 1.0
    np.testing.assert_array_equal(patch_embed_s8(x, w, None, p)[0, :, :, 0], [[12, 20], [52, 60]])


@pytest.mark.parametrize("sub", [(3, 2), (0, 2), (4, 3)])
def test_kernel_rejects_a_sub_kernel_that_does_not_divide_the_patch(host_kernels, sub):
    x, w = np.zeros((1, 8, 8, 1), np.int8), np.zeros((2, 4, 4, 1), np.int8)
    p = PatchEmbedParams(0, 0, np.full(2, 1 << 30, np.int32), np.zeros(2, np.int32))
    with pytest.raises(ValueError, match="status -1"):
        execute(host_kernels, patch_embed_call(x.shape, w, None, p, sub), input=x)


def test_scratch_bytes():
    assert scratch_bytes((16, 16), (16, 16), 3, 192) == 2 * 768
    assert scratch_bytes((16, 16), (4, 4), 3, 192) == 2 * 48 + 4 * 192


def case(x, f, bias, p, sub):
    return Case(patch_embed_call(x.shape, f, bias, p, sub), patch_embed_s8(x, f, bias, p), {"input": x})


TWINS = [Twin("patch_embed", case, cases(), cases(max_kernel=5, max_patches=2))]
