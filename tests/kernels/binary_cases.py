"""What the tests of the elementwise binary kernels share (test_elementwise: add and mul; test_sub;
test_squared_difference; test_maximum_minimum): broadcasting shapes, the draw of each op's
quantization, its twin and its check against TFLite Micro.

OPS: kind -> (params from quantization, reference, call). A case is (a, b, params)."""
from __future__ import annotations

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from mcusim.models.graph import Quant, Tensor
from mcusim.models.ops.add import AddParams, add_call, add_s8
from mcusim.models.ops.common import activation_range, broadcast_axes
from mcusim.models.ops.maximum_minimum import MaximumMinimumParams, maximum_minimum_call, maximum_minimum_s8
from mcusim.models.ops.mul import MulParams, mul_call, mul_s8
from mcusim.models.ops.squared_difference import (SquaredDifferenceParams, squared_difference_call,
                                                  squared_difference_s8)
from mcusim.models.ops.sub import SubParams, sub_call, sub_s8

from .strategies import int8_arrays
from .twins import Case, Twin

OPS = {
    "add": (AddParams.from_quantization, add_s8, add_call),
    "sub": (SubParams.from_quantization, sub_s8, sub_call),
    "mul": (MulParams.from_quantization, mul_s8, mul_call),
    "squared_difference": (SquaredDifferenceParams.from_quantization, squared_difference_s8, squared_difference_call),
    "maximum": (lambda *quant: MaximumMinimumParams(1), maximum_minimum_s8, maximum_minimum_call),
    "minimum": (lambda *quant: MaximumMinimumParams(0), maximum_minimum_s8, maximum_minimum_call),
}
FUSED = ("add", "sub", "mul")  # the ops with a fused activation
# Shapes a ViT's decomposed LayerNorm and its residuals broadcast, and ones at the edges of the collapse.
EXAMPLES = [((1, 49, 32), (49, 32)), ((1, 49, 32), (1, 1, 32)), ((49, 32), (49, 1)), ((1, 49, 1), (1, 49, 32)),
            ((3, 1, 5), (1, 4, 1)), ((1,), (7,)), ((2, 1, 3, 1), (1, 3, 1, 5)), ((2, 1, 3, 1, 2), (1, 2, 1, 1, 1))]
zero_points = st.integers(-128, 127)


@st.composite
def broadcast_shapes(draw, max_rank: int = 6, max_size: int = 300):
    """(a_shape, b_shape) that broadcast (NumPy's rule, ranks 1 to max_rank) into at most max_size
    elements and collapse to at most 4 axes: equal shapes (flat, up to max_size), the EXAMPLES, and
    drawn ones (dims from 1, odd sizes, either operand broadcast along any axis, lower ranks)."""
    kind = draw(st.sampled_from(["flat", "example", "drawn", "drawn"]))
    if kind == "flat":
        shape = (draw(st.integers(1, max_size)),)
        return shape, shape
    if kind == "example":
        a, b = draw(st.sampled_from([e for e in EXAMPLES if len(np.broadcast_shapes(*e)) <= max_rank]))
        return (a, b) if draw(st.booleans()) else (b, a)
    y, size = [], 1
    for _ in range(draw(st.integers(1, max_rank))):
        y.append(draw(st.integers(1, max(1, min(9, max_size // size)))))
        size *= y[-1]
    keep = [draw(st.sampled_from(["a", "b", "both"])) for _ in y]
    a = [d if k != "b" else 1 for d, k in zip(y, keep)]
    b = [d if k != "a" else 1 for d, k in zip(y, keep)]
    a, b = tuple(a[draw(st.integers(0, len(a) - 1)):]), tuple(b[draw(st.integers(0, len(b) - 1)):])
    assume(np.broadcast_shapes(a, b) == tuple(y) and len(broadcast_axes(a, b, y)) <= 4)
    return a, b


@st.composite
def quantization(draw, op: str):
    """(scale1, zp1, scale2, zp2, scale_out, zp_out, activation) for `op`: scales from 1e-3 (the output's
    of squared_difference from 1e-7: its multiplier shifts left), one quantization throughout for
    maximum and minimum."""
    if op in ("maximum", "minimum"):
        s, zp = draw(st.floats(1e-3, 1.0)), draw(zero_points)
        return s, zp, s, zp, s, zp, "none"
    s1, s2 = draw(st.floats(1e-3, 1.0)), draw(st.floats(1e-3, 1.0))
    so = draw(st.floats(1e-7, 2.0) if op == "squared_difference" else st.floats(1e-2, 2.0))
    activation = draw(st.sampled_from(["none", "relu", "relu6"])) if op in FUSED else "none"
    return s1, draw(zero_points), s2, draw(zero_points), so, draw(zero_points), activation


def params(op: str, quant):
    *scales, activation = quant
    act = activation_range(activation, Tensor("y", (1,), "int8", Quant((scales[4],), (scales[5],))))
    return OPS[op][0](*scales, *act)


@st.composite
def cases(draw, op: str, max_size: int = 300):
    a_shape, b_shape = draw(broadcast_shapes(max_size=max_size))
    return draw(int8_arrays(a_shape)), draw(int8_arrays(b_shape)), params(op, draw(quantization(op)))


def twin(op: str, kernel: str | None = None) -> Twin:
    """The twin of `op`'s kernel (default: the op's name)."""
    _, reference, call = OPS[op]
    return Twin(kernel or op, lambda a, b, p: Case(call(a.shape, b.shape, p), reference(a, b, p),
                                                  {"input": a, "input2": b}),
                cases(op), cases(op, max_size=64))


def check_tflite_micro(op: str, data, max_rank: int) -> None:
    """The reference equals TFLM's op on drawn broadcasting shapes, values and quantization."""
    from . import tflite_oracle

    a_shape, b_shape = data.draw(broadcast_shapes(max_rank=max_rank, max_size=120))
    a, b = data.draw(int8_arrays(a_shape)), data.draw(int8_arrays(b_shape))
    quant = data.draw(quantization(op))
    expected = tflite_oracle.binary(op, a, b, *quant)
    np.testing.assert_array_equal(OPS[op][1](a, b, params(op, quant)), expected)


# Raw add parameters at the ends of the legal ranges (and a few beyond the fast form: a negative
# multiplier, an output shift > 0), for the paths of add_s8.c and sub_s8.c: the four-at-a-time DSP
# step, the n % 4 tail, the plain step, the runs against a broadcast element, the direct formula.
ADD_EXTREMES = [
    AddParams(128, 128, 127, 20, (1 << 31) - 1, 0, (1 << 31) - 1, 0, (1 << 31) - 1, 0),
    AddParams(-127, -127, -128, 20, 1 << 30, 0, 1 << 30, -1, (1 << 31) - 1, -31, -100, 100),
    AddParams(3, -7, 1, 20, 1 << 30, -1, 1234567890, -31, 1 << 30, -17, 0, 127),
    AddParams(-128 + 1, 128, 5, 0, 1, 0, (1 << 31) - 1, -3, (1 << 31) - 1, 0),
    AddParams(17, -3, -20, 15, 1 << 30, 0, 1 << 30, -2, 1 << 30, -13, -5, 5),
    AddParams(0, 0, 0, 16, 0, 0, 1 << 30, 0, 0, 0),
    AddParams(64, -64, 0, 20, 1 << 30, 0, 1 << 30, 0, 1 << 30, -20),
    AddParams(64, -64, 3, 20, -(1 << 30), 0, 1 << 30, 0, -(1 << 31), 2),  # the direct formula
]


def path_cases(reference, call, n: int, p) -> list[Case]:
    """`n` elements against `n` (a flat run), against one (broadcast in input 2) and one against `n`
    (input 1), extreme values first."""
    rng = np.random.default_rng(n)
    a, b = rng.integers(-128, 128, n, np.int8), rng.integers(-128, 128, n, np.int8)
    a[:2], b[:2] = (-128, 127)[: min(n, 2)], (127, -128)[: min(n, 2)]
    return [Case(call(x.shape, y.shape, p), reference(x, y, p), {"input": x, "input2": y})
            for x, y in ((a, b), (a, b[:1]), (a[1:2] if n > 1 else a, b))]


def check_all_value_pairs(op: str, quant) -> None:
    """The reference equals TFLM's op on all 65,536 pairs of int8 values, a [256, 1] against a [256]
    operand (broadcast both ways)."""
    from . import tflite_oracle

    a, b = np.arange(-128, 128, dtype=np.int8).reshape(256, 1), np.arange(-128, 128, dtype=np.int8)
    np.testing.assert_array_equal(OPS[op][1](a, b, params(op, quant)), tflite_oracle.binary(op, a, b, *quant))
