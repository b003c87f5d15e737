"""quantize_s8 / dequantize_s8: the twins (test_twins.py; in the emulator the hardware single-precision
FPU and software double), and the references equal TFLite Micro's QUANTIZE and
DEQUANTIZE, under fuzzing of floats (ties, huge values, signed zeros), scales and zero points."""
import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mcusim.models.ops.quantize import dequantize_s8, edge_call, quantize_s8
from mcusim.models.quant import round_half_away

from .strategies import emulated, int8_arrays
from .twins import Case, Twin

scales = st.floats(1e-4, 10.0).map(lambda s: float(np.float32(s)))
zero_points = st.integers(-128, 127)


@st.composite
def floats_for(draw, max_size=200, huge=True):
    """float32 arrays mixing ordinary values, exact quantization ties, signed zeros and, with `huge`,
    values whose quotient overflows int32 (where TFLite's conversion is undefined and ours saturates)."""
    scale = draw(scales)
    n = draw(st.integers(1, max_size))
    ties = st.integers(-300, 300).map(lambda k: np.float32((k + 0.5) * scale))
    specials = [0.0, -0.0, 3e38, -3e38] if huge else [0.0, -0.0]
    values = st.one_of(st.floats(-1e4, 1e4, width=32), ties, st.sampled_from(specials))
    return draw(hnp.arrays(np.float32, n, elements=values)), scale, draw(zero_points)


@emulated(fraction=3)
@given(floats_for(max_size=60, huge=False), st.data())
def test_references_equal_tflite_micro(case, data):
    from . import tflite_oracle

    x, scale, zp = case
    np.testing.assert_array_equal(quantize_s8(x, scale, zp), tflite_oracle.quantize(x, scale, zp))
    q = data.draw(int8_arrays(x.shape))
    np.testing.assert_array_equal(dequantize_s8(q, scale, zp), tflite_oracle.dequantize(q, scale, zp))


def test_rounding_is_exact_near_one_half():
    assert round_half_away(0.49999999999999994) == 0 and round_half_away(-0.5) == -1 and round_half_away(2.5) == 3
    x = np.array([np.nextafter(np.float32(0.5), np.float32(0)), 0.5, -0.5, 1.5], np.float32)
    np.testing.assert_array_equal(quantize_s8(x, 1.0, 0), [0, 1, -1, 2])


def twin(kind: str, reference, cases, emulated_cases) -> Twin:
    def case(x, scale, zero_point):
        return Case(edge_call(kind, x.shape, scale, zero_point), reference(x, scale, zero_point), {"input": x})

    return Twin(kind, case, cases, emulated_cases)


def int8_cases(max_size):
    return st.tuples(int8_arrays(st.integers(1, max_size)), scales, zero_points)


TWINS = [twin("quantize", quantize_s8, floats_for(), floats_for(max_size=40)),
         twin("dequantize", dequantize_s8, int8_cases(200), int8_cases(40))]
