"""lookup_s8 and the GELU tables: the twins (test_twins.py), and the reference's GELU (exact and
tanh-approximate) equals LiteRT's int8 GELU on all 256 inputs, under fuzzing of scales and zero points.
The C kernel is also fuzzed through mcusim's own pytest plugin, as a user would (mcusim/pytest_plugin.py)."""
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from mcusim.models.ops.lookup import gelu_table, lookup_call, lookup_s8
from mcusim.testing import In, Int, Out, Struct

from .strategies import emulated, int8_arrays, shapes
from .twins import Case, Twin, fuzzed_by_the_plugin

ALL_INT8 = np.arange(-128, 128, dtype=np.int8)
zero_points = st.integers(-128, 127)
scales = st.floats(1e-3, 1.0).map(lambda s: float(np.float32(s)))


@st.composite
def cases(draw, max_side=8):
    return draw(int8_arrays(draw(shapes(max_side=max_side)))), draw(int8_arrays(256))


def test_table_is_indexed_by_the_input_byte():
    lut = np.arange(256).astype(np.uint8).view(np.int8)
    np.testing.assert_array_equal(lookup_s8(np.array([0, 1, -1, -128, 127], np.int8), lut).view(np.uint8),
                                  [0, 1, 255, 128, 127])


def test_gelu_table_by_hand():
    """Scales 1/16 in and out, zero points 0: gelu(0) = 0, gelu(1) = 0.8413 -> 13.46 -> 13,
    gelu(-8) ~ -1e-14 -> 0, gelu(7.9375) = 7.9375 -> 127."""
    t = gelu_table(1 / 16, 0, 1 / 16, 0)
    np.testing.assert_array_equal(lookup_s8(np.array([0, 16, -128, 127], np.int8), t), [0, 13, 0, 127])


@emulated(fraction=3)
@given(scales, zero_points, scales, zero_points, st.booleans())
def test_gelu_equals_litert(input_scale, input_zp, output_scale, output_zp, approximate):
    from . import tflite_oracle

    expected = tflite_oracle.gelu(ALL_INT8, input_scale, input_zp, output_scale, output_zp, approximate)
    table = gelu_table(input_scale, input_zp, output_scale, output_zp, approximate)
    np.testing.assert_array_equal(lookup_s8(ALL_INT8, table), expected)


def case(x, lut):
    return Case(lookup_call(x.shape, lut), lookup_s8(x, lut), {"input": x})


TWINS = [Twin("lookup", case, cases(), cases(max_side=5))]


def mcusim_lookup_s8(table: In[np.int8, 256], input_dims: Struct[1, Int["h", 1, 5], 1, Int["c", 1, 70]],
                     x: In[np.int8, "h", "c"], output_dims: Struct[1, "h", 1, "c"], y: Out[np.int8, "h", "c"]) -> int:
    """The C signature (runtime_c/include/mcusim_nn.h) annotated for the plugin; MCUSIM_OK is 0."""
    y[:] = lookup_s8(x, table)
    return 0


test_fuzzed_by_the_pytest_plugin = fuzzed_by_the_plugin(mcusim_lookup_s8)
