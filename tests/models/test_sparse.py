"""Block run-length encoding (models/sparse.py): round trips under fuzzing, the format byte by byte,
adaptive storage, and TinyFormer's compression ratio."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mcusim.models.sparse import (SparseWeights, choose, compression_ratio, decode, decode_filter, encode,
                                  encoded_size, filter_rows)


@st.composite
def block_sparse_rows(draw):
    """int8 rows [R, K] whose zero blocks (of a drawn size) come in runs, some longer than 255 blocks."""
    block = draw(st.sampled_from([1, 2, 3, 4, 16]))
    rows, blocks_per_row = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    values = draw(hnp.arrays(np.int8, (rows * blocks_per_row, block), elements=st.integers(-128, 127)))
    runs = draw(st.lists(st.tuples(st.booleans(), st.integers(1, 600)), max_size=8))
    keep = np.concatenate([np.full(n, k) for k, n in runs] + [np.ones(len(values), bool)])[:len(values)]
    values[~keep] = 0
    return values.reshape(rows, blocks_per_row * block), block


@given(block_sparse_rows())
def test_round_trip(case):
    matrix, block = case
    sparse = encode(matrix, block)
    np.testing.assert_array_equal(decode(sparse), matrix)
    assert len(sparse.stream) == encoded_size(matrix, block) == sparse.blocks * (block + 1)


@given(st.sampled_from(["fully_connected", "conv2d", "depthwise_conv2d"]), st.data())
def test_filter_layouts_round_trip(kind, data):
    shape = {"fully_connected": (3, 8), "conv2d": (3, 2, 3, 4), "depthwise_conv2d": (1, 3, 3, 5)}[kind]
    weights = data.draw(hnp.arrays(np.int8, shape, elements=st.integers(-127, 127)))
    block = 3 if kind == "depthwise_conv2d" else 2
    np.testing.assert_array_equal(decode_filter(kind, encode(filter_rows(kind, weights), block), shape), weights)


def test_format_by_hand():
    """Blocks of 2; rows [0 0 | 5 6] and [0 0 | 0 0]: one stored block, gap 1 (the zero block before it)."""
    sparse = encode(np.array([[0, 0, 5, 6], [0, 0, 0, 0]], np.int8), 2)
    assert sparse.stream == bytes([1, 5, 6]) and sparse.blocks == 1


def test_gaps_beyond_255_are_bridged_by_zero_blocks():
    """A block at position 600: gap 600 = 255 + 1 (a zero block) + 255 + 1 (another) + 88."""
    matrix = np.zeros((1, 601), np.int8)
    matrix[0, 600] = -1
    sparse = encode(matrix, 1)
    assert sparse.stream == bytes([255, 0, 255, 0, 88, 255])


def test_depthwise_rows_are_kernel_rows_per_channel():
    """Depthwise [1, KH, KW, C]: row c holds channel c's taps in (ky, kx) order, blocks along kx."""
    weights = np.arange(18, dtype=np.int8).reshape(1, 3, 3, 2)
    np.testing.assert_array_equal(filter_rows("depthwise_conv2d", weights)[1], weights[0, :, :, 1].reshape(-1))


def test_adaptive_storage():
    """A dense filter stays dense; a block-pruned one is stored sparse with its block size where the
    stream is smaller, and by default only where it also keeps few enough blocks to be faster."""
    rng = np.random.default_rng(0)
    weights = rng.integers(1, 127, (16, 64)).astype(np.int8)
    assert choose("fully_connected", weights) is None
    weights.reshape(-1, 4)[rng.random(256) < 0.7] = 0
    assert choose("fully_connected", weights) is None  # 30 % of the blocks kept: slower than dense
    sparse = choose("fully_connected", weights, for_speed=False)
    assert sparse is not None and sparse.block == 4 and len(sparse.stream) < weights.size
    weights.reshape(-1, 4)[rng.random(256) < 0.9] = 0  # about 3 % kept
    assert choose("fully_connected", weights).block == 4


def test_compression_ratio_matches_the_encoder_without_padding():
    rng = np.random.default_rng(1)
    for sparsity, block in [(0.5, 2), (0.7, 4), (0.9, 4)]:
        matrix = rng.integers(1, 127, (64, 256)).astype(np.int8)
        grid = matrix.reshape(-1, block)
        grid[rng.permutation(len(grid))[:round(sparsity * len(grid))]] = 0
        assert matrix.size / encoded_size(matrix, block) == pytest.approx(compression_ratio(sparsity, block), rel=1e-3)


def test_malformed_streams_are_refused():
    with pytest.raises(ValueError, match="does not hold"):
        decode(SparseWeights(b"\x00\x01", 1, 2, 1, 4))
    with pytest.raises(ValueError, match="runs past"):
        decode(SparseWeights(bytes([5, 1, 1]), 1, 2, 1, 4))
    with pytest.raises(ValueError, match="divide the row length"):
        encode(np.zeros((2, 5), np.int8), 2)
