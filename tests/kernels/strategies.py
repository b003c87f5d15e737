"""Hypothesis strategies shared by the kernel tests: int8 tensors with their extremes, quantization
parameters with theirs."""
import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

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
