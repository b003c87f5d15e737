"""Hypothesis strategies shared by the kernel tests: int8 tensors with their extremes, quantization
parameters with theirs."""
import numpy as np
from hypothesis import assume, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mcusim.models.ops.conv2d import padding
from mcusim.models.quant import INT32_MAX, quantize_multiplier


def int8_arrays(shape, low: int = -128, high: int = 127):
    """int8 arrays whose elements lean to the extremes as well as covering the range."""
    element = st.one_of(st.integers(low, high), st.sampled_from([low, high, 0]))
    return hnp.arrays(np.int8, shape, elements=element)


def multipliers(n: int):
    """(multiplier, shift) pairs for n channels: from real scales, and the representable extremes."""
    from_real = st.floats(1e-7, 1.9).map(quantize_multiplier)
    extreme = st.tuples(st.sampled_from([0, 1 << 30, INT32_MAX]), st.integers(-31, 30))
    pairs = st.lists(st.one_of(from_real, extreme), min_size=n, max_size=n)
    return pairs.map(lambda ps: (np.array([m for m, _ in ps], np.int32), np.array([s for _, s in ps], np.int32)))


def activation_ranges():
    return st.tuples(st.integers(-128, 127), st.integers(-128, 127)).map(sorted).map(tuple)


def emulated(fraction: int = 5):
    """Settings for tests that run in the emulator: a fifth of the profile's examples (ci: 40,
    heavy: 1000), the emulator being slower than the host build."""
    return settings(max_examples=max(20, settings.default.max_examples // fraction))


@st.composite
def window_geometries(draw, max_size=9, max_channels=9, max_kernel=4, dilated=True):
    """A sliding-window geometry: (input shape NHWC, (KH, KW), padding mode, stride, dilation,
    explicit (pad_h, pad_w), (out_h, out_w)), sizes from 1 and odd, TFLite's SAME/VALID padding."""
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, max_size)), draw(st.integers(1, max_size)),
             draw(st.integers(1, max_channels)))
    kernel = (draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilated else (1, 1)
    mode = draw(st.sampled_from(["same", "valid"]))
    (ph, oh), (pw, ow) = (padding(mode, size, k, s, d) for size, k, s, d in
                          zip(shape[1:3], kernel, stride, dilation))
    assume(oh >= 1 and ow >= 1)
    return shape, kernel, mode, stride, dilation, (ph, pw), (oh, ow)


def biases(n: int, bound: int = 1 << 28):
    return st.none() | st.lists(st.integers(-bound, bound), min_size=n, max_size=n).map(lambda b: np.array(b, np.int32))


@st.composite
def oracle_quantization(draw, channels: int):
    """Real scales and zero points for a TFLM oracle model: (input scale, zp, filter scales [channels],
    output scale, zp)."""
    filter_scales = np.array(draw(st.lists(st.floats(1e-4, 0.1), min_size=channels, max_size=channels)), np.float32)
    return (draw(st.floats(1e-3, 1.0)), draw(st.integers(-128, 127)), filter_scales, draw(st.floats(1e-2, 10.0)),
            draw(st.integers(-128, 127)))


def shapes(max_rank: int = 4, max_side: int = 6):
    """Tensor shapes of rank 1..max_rank, sides from 1 (and odd)."""
    return st.lists(st.integers(1, max_side), min_size=1, max_size=max_rank).map(tuple)


def scales():
    """Quantization scales over four decades, as float32 values."""
    return st.floats(1e-3, 10.0).map(lambda s: float(np.float32(s)))


@st.composite
def sparse_filters(draw, kind: str, weights: np.ndarray):
    """`weights` pruned into blocks and encoded (models/sparse.py): a block size dividing the rows, a
    share of zero blocks from none to all, in runs long enough for gaps beyond 255 where the filter
    is large. Returns the SparseWeights."""
    from mcusim.models.sparse import encode, filter_rows

    matrix = filter_rows(kind, weights).copy()
    block = draw(st.sampled_from([b for b in (1, 2, 3, 4) if matrix.shape[1] % b == 0]))
    grid = matrix.reshape(-1, block)
    density = draw(st.sampled_from([0.0, 0.05, 0.3, 0.7, 1.0]))
    keep = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).random(len(grid)) < density
    grid[~keep] = 0
    return encode(matrix, block)
