"""batch_matmul_s8 (attention's Q.K^T and P.V): the twins (test_twins.py) under fuzzing of batch, sizes (1,
odd, not multiples of 4), values, zero points and scales; the reference equals TFLite Micro's int8
BATCH_MATMUL (adj_y)."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcusim.models.ops.batch_matmul import BatchMatmulParams, batch_matmul_call, batch_matmul_s8

from .strategies import activation_ranges, emulated, int8_arrays
from .twins import Case, Twin

zero_points = st.integers(-128, 127)


@st.composite
def cases(draw, max_batch=3, max_rows=9, max_depth=40):
    b, m, n, k = (draw(st.integers(1, limit)) for limit in (max_batch, max_rows, max_rows, max_depth))
    act_min, act_max = draw(activation_ranges())
    p = BatchMatmulParams.from_quantization(draw(st.floats(1e-3, 1.0)), draw(zero_points), draw(st.floats(1e-3, 1.0)),
                                            draw(zero_points), draw(st.floats(1e-2, 50.0)), draw(zero_points),
                                            act_min, act_max)
    return draw(int8_arrays((b, m, k))), draw(int8_arrays((b, n, k))), p


@emulated(fraction=3)
@given(st.data())
def test_reference_equals_tflite_micro(data):
    from . import tflite_oracle

    b, m, n, k = (data.draw(st.integers(1, limit)) for limit in (2, 8, 8, 32))
    lhs, rhs_t = data.draw(int8_arrays((b, m, k))), data.draw(int8_arrays((b, n, k)))
    quant = [data.draw(st.floats(1e-3, 1.0)), data.draw(zero_points), data.draw(st.floats(1e-3, 1.0)),
             data.draw(zero_points), data.draw(st.floats(1e-2, 50.0)), data.draw(zero_points)]
    expected = tflite_oracle.batch_matmul(lhs, rhs_t, *quant)
    np.testing.assert_array_equal(batch_matmul_s8(lhs, rhs_t, BatchMatmulParams.from_quantization(*quant)), expected)


def case(lhs, rhs_t, p):
    return Case(batch_matmul_call(lhs.shape, rhs_t.shape, p), batch_matmul_s8(lhs, rhs_t, p),
                {"input": lhs, "input2": rhs_t})


TWINS = [Twin("batch_matmul", case, cases(), cases(max_batch=2, max_rows=6, max_depth=24))]


def test_row_blocks_equal_reference(host_kernels):
    """More lhs rows than one block of row shares (MCUSIM_BMM_ROWS = 32 in batch_matmul_s8.c), an odd
    last row and column, K not a multiple of 4."""
    rng = np.random.default_rng(0)
    lhs, rhs_t = rng.integers(-128, 128, (2, 70, 13), np.int8), rng.integers(-128, 128, (2, 7, 13), np.int8)
    p = BatchMatmulParams.from_quantization(0.02, -128, 0.03, 127, 0.5, 3)
    c = case(lhs, rhs_t, p)
    np.testing.assert_array_equal(c.run(host_kernels), c.expected)
