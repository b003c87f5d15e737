"""batch_matmul_s8 (attention's Q.K^T and P.V): the twins (test_twins.py) under fuzzing of broadcast batch
shapes (ranks 2 to 6, dims of 1), sizes (1, odd, not multiples of 4), values, zero points and scales;
the reference equals TFLite Micro's int8 BATCH_MATMUL (ranks 2 to 5, batch broadcasting, every adjoint
flag)."""
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mcusim.models.kernels import execute
from mcusim.models.ops.batch_matmul import BatchMatmulParams, batch_matmul_call, batch_matmul_s8, kernel_dims

from .strategies import activation_ranges, emulated, int8_arrays
from .twins import Case, Twin, with_dims

zero_points = st.integers(-128, 127)


@st.composite
def batch_shapes(draw, max_rank=4, max_side=3):
    """The batch dims of lhs and rhs: each takes the dims of one broadcast batch shape (rank 0 to
    max_rank) or 1 in their place, and may drop leading ones; only pairs the kernel's two batch axes
    hold (kernel_dims)."""
    batch = draw(st.lists(st.integers(1, max_side), max_size=max_rank))

    def operand():
        dims = [draw(st.sampled_from([d, 1])) for d in batch]
        return tuple(dims[draw(st.integers(0, len(dims))):])

    lhs, rhs = operand(), operand()
    try:
        kernel_dims((*lhs, 1, 1), (*rhs, 1, 1))
    except ValueError:
        assume(False)
    return lhs, rhs


@st.composite
def cases(draw, max_rank=4, max_side=3, max_rows=9, max_depth=40):
    lhs_batch, rhs_batch = draw(batch_shapes(max_rank, max_side))
    m, n, k = (draw(st.integers(1, limit)) for limit in (max_rows, max_rows, max_depth))
    act_min, act_max = draw(activation_ranges())
    p = BatchMatmulParams.from_quantization(draw(st.floats(1e-3, 1.0)), draw(zero_points), draw(st.floats(1e-3, 1.0)),
                                            draw(zero_points), draw(st.floats(1e-2, 50.0)), draw(zero_points),
                                            act_min, act_max)
    return draw(int8_arrays((*lhs_batch, m, k))), draw(int8_arrays((*rhs_batch, n, k))), p


@emulated(fraction=3)
@given(st.data())
def test_reference_equals_tflite_micro(data):
    """Ranks 2 to 5 (TFLM's limit), broadcast batch dims, adj_x and adj_y: TFLM is given the operands in
    the layout its flags name; the reference takes lhs [..., M, K] and rhs_t [..., N, K]."""
    from . import tflite_oracle

    lhs_batch, rhs_batch = data.draw(batch_shapes(max_rank=3, max_side=3))
    m, n, k = (data.draw(st.integers(1, limit)) for limit in (8, 8, 32))
    lhs, rhs_t = data.draw(int8_arrays((*lhs_batch, m, k))), data.draw(int8_arrays((*rhs_batch, n, k)))
    adj_x, adj_y = data.draw(st.booleans()), data.draw(st.booleans())
    quant = [data.draw(st.floats(1e-3, 1.0)), data.draw(zero_points), data.draw(st.floats(1e-3, 1.0)),
             data.draw(zero_points), data.draw(st.floats(1e-2, 50.0)), data.draw(zero_points)]
    expected = tflite_oracle.batch_matmul(np.swapaxes(lhs, -1, -2) if adj_x else lhs,
                                          rhs_t if adj_y else np.swapaxes(rhs_t, -1, -2), *quant, adj_x=adj_x,
                                          adj_y=adj_y)
    np.testing.assert_array_equal(batch_matmul_s8(lhs, rhs_t, BatchMatmulParams.from_quantization(*quant)), expected)


@pytest.mark.parametrize("lhs, rhs_t, dims", [
    ((5, 7), (3, 7), ((1, 1, 5, 7), (1, 1, 3, 7), (1, 1, 5, 3))),                        # rank 2
    ((1, 2, 6, 4), (1, 2, 6, 4), ((1, 2, 6, 4), (1, 2, 6, 4), (1, 2, 6, 6))),             # (1, heads, tokens, dim)
    ((2, 3, 5, 4), (3, 6, 4), ((2, 3, 5, 4), (1, 3, 6, 4), (2, 3, 5, 6))),                # rhs shared along axis 0
    ((4, 5, 7), (6, 7), ((1, 1, 20, 7), (1, 1, 6, 7), (1, 1, 20, 6))),                   # innermost lhs-only: rows
    ((5, 7), (4, 6, 7), ((1, 1, 5, 7), (1, 4, 6, 7), (1, 4, 5, 6))),                      # lhs shared
    ((2, 1, 3, 5, 4), (1, 4, 1, 6, 4), ((2, 1, 15, 4), (1, 4, 6, 4), (2, 4, 15, 6))),     # 3 axes, one rows
])
def test_kernel_dims_collapse_the_batch_axes(lhs, rhs_t, dims):
    assert kernel_dims(lhs, rhs_t) == dims


def test_three_alternating_batch_axes_are_refused():
    """lhs batch (1, 3, 1) and rhs (2, 1, 3): three axes broadcasting in turn, the innermost rhs's own."""
    with pytest.raises(ValueError, match="3 alternating axes"):
        kernel_dims((1, 3, 1, 2, 2), (2, 1, 3, 2, 2))


def case(lhs, rhs_t, p):
    return Case(batch_matmul_call(lhs.shape, rhs_t.shape, p), batch_matmul_s8(lhs, rhs_t, p),
                {"input": lhs, "input2": rhs_t})


TWINS = [Twin("batch_matmul", case, cases(), cases(max_rank=3, max_side=2, max_rows=6, max_depth=24))]


def test_row_blocks_equal_reference(host_kernels):
    """More lhs rows than one block of row shares (MCUSIM_BMM_ROWS = 32 in batch_matmul_s8.c), an odd
    last row and column, K not a multiple of 4."""
    rng = np.random.default_rng(0)
    lhs, rhs_t = rng.integers(-128, 128, (2, 70, 13), np.int8), rng.integers(-128, 128, (2, 7, 13), np.int8)
    p = BatchMatmulParams.from_quantization(0.02, -128, 0.03, 127, 0.5, 3)
    c = case(lhs, rhs_t, p)
    np.testing.assert_array_equal(c.run(host_kernels), c.expected)


def test_kernel_rejects_a_batch_dim_neither_the_outputs_nor_one(host_kernels):
    lhs, rhs_t = np.zeros((2, 3, 2, 4), np.int8), np.zeros((2, 3, 5, 4), np.int8)
    call = with_dims(batch_matmul_call(lhs.shape, rhs_t.shape, BatchMatmulParams.from_quantization(
        0.1, 0, 0.1, 0, 0.1, 0)), 3, (2, 2, 5, 4))
    with pytest.raises(ValueError, match="status -1"):
        execute(host_kernels, call, input=lhs, input2=rhs_t)
