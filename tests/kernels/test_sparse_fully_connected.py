"""sparse_fully_connected_s8: C on the block run-length stream equals fully_connected's reference on the
decoded filter, bit for bit (the twins, test_twins.py), under fuzzing of shapes, block
sizes, sparsity (none to all, gaps beyond 255), values and quantization."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcusim.models.ops.fully_connected import FullyConnectedParams
from mcusim.models.kernels import execute
from mcusim.models.ops.sparse_fully_connected import sparse_fully_connected_call, sparse_fully_connected_s8
from mcusim.models.sparse import SparseWeights, encode

from .strategies import activation_ranges, biases, int8_arrays, multipliers, sparse_filters
from .twins import Case, Twin


@st.composite
def cases(draw, max_batches=3, max_depth=70, max_channels=9):
    batches, depth, channels = (draw(st.integers(1, m)) for m in (max_batches, max_depth, max_channels))
    x = draw(int8_arrays((batches, depth)))
    w = draw(sparse_filters("fully_connected", draw(int8_arrays((channels, depth), low=-127))))
    multiplier, shift = draw(multipliers(channels))
    act_min, act_max = draw(activation_ranges())
    p = FullyConnectedParams(draw(st.integers(-127, 128)), draw(st.integers(-128, 127)), multiplier, shift,
                             act_min, act_max)
    return x, w, draw(biases(channels, bound=1 << 30)), p


def make(x, w, bias, p):
    return Case(sparse_fully_connected_call(x.shape, w, bias, p), sparse_fully_connected_s8(x, w, bias, p),
                {"input": x})


def long_gap_case():
    """Two non-zero blocks 526 zero blocks apart (positions 176 and 703 of 704): two padding blocks
    (gap 255, zero values) bridge the gap."""
    w = np.zeros((8, 352), np.int8)
    w[2, 0:4] = [5, -7, 127, -127]
    w[7, 348:352] = [1, 2, 3, 4]
    p = FullyConnectedParams(-3, 4, np.full(8, 1 << 30, np.int32), np.zeros(8, np.int32))
    x = np.random.default_rng(0).integers(-128, 128, (2, 352)).astype(np.int8)
    return x, encode(w, 4), np.arange(8, dtype=np.int32) * 1000, p


def test_long_gaps_on_host(host_kernels):
    case = long_gap_case()
    assert case[1].blocks == 2 + 2
    np.testing.assert_array_equal(make(*case).run(host_kernels), sparse_fully_connected_s8(*case))


@pytest.mark.toolchain
def test_long_gaps_emulated(emulated_kernels):
    case = long_gap_case()
    np.testing.assert_array_equal(make(*case).run(emulated_kernels), sparse_fully_connected_s8(*case))


def test_kernel_refuses_a_stream_past_the_filter(host_kernels):
    """A gap that runs past the last row is refused before any output is written."""
    x, w, bias, p = long_gap_case()
    bad = SparseWeights(bytes([255, 0, 0, 0, 0]) * 3, 3, 4, w.rows, w.row_length)  # 768 > 704 positions
    with pytest.raises(ValueError, match="status -1"):
        execute(host_kernels, sparse_fully_connected_call(x.shape, bad, bias, p), input=x)


TWINS = [Twin("sparse_fully_connected", make, cases(), cases(max_batches=2, max_depth=40, max_channels=5))]
