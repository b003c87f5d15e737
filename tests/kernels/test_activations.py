"""The int8 unary ops of models/ops/activations.py: each table equals TFLite Micro's int8 reference
kernel (LOGISTIC, TANH, HARD_SWISH, RELU, RELU6, LEAKY_RELU, RSQRT, QUANTIZE int8 -> int8) on all 256
inputs under fuzzed scales, zero points and alpha; worked examples; the quantizations TFLM refuses (and
those outside the legal ranges) refused with a GraphError. The lookup kernel that runs the tables is
twin-tested in test_lookup.py."""
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mcusim.models.blob import Arena, Const
from mcusim.models.graph import Graph, GraphError, Op, Quant, Tensor
from mcusim.models.interpreter import run
from mcusim.models.ops import activations as act
from mcusim.models.ops import Lowering, op_def
from mcusim.models.ops.lookup import lookup_s8

from . import tflite_oracle

ALL_INT8 = np.arange(-128, 128, dtype=np.int8)
zero_points = st.integers(-128, 127)
scales = st.floats(-16.0, 3.0).map(lambda e: float(np.float32(2.0 ** e)))  # 2^-16 .. 8, log-uniform
oracle_settings = settings(max_examples=max(20, settings.default.max_examples // 3), deadline=None)


def graph(kind: str, in_q, out_q, attrs=None, shape=(2, 3), table=None) -> Graph:
    """One op of `kind` from x to y, (scale, zero point) in and out; `table`: the table op's constant."""
    tensors = {"x": Tensor("x", shape, "int8", Quant((in_q[0],), (in_q[1],))),
               "y": Tensor("y", shape, "int8", Quant((out_q[0],), (out_q[1],)))}
    inputs = ["x"]
    if table is not None:
        tensors["t"] = Tensor("t", table.shape, str(table.dtype), None, table)
        inputs.append("t")
    return Graph(tensors, [Op(kind, inputs, ["y"], attrs)], ["x"], ["y"])


def table_of(g: Graph) -> np.ndarray:
    g.validate()
    return op_def(g.ops[0].kind).prepare(g, g.ops[0])


def assert_equals_tflm(kind, table, in_q, out_q, alpha=0.2, inputs=ALL_INT8):
    expected = tflite_oracle.activation(kind, inputs, *in_q, *out_q, alpha=alpha)
    np.testing.assert_array_equal(lookup_s8(inputs, table), expected)


# ---- each op against TFLM --------------------------------------------------------------------------------

@oracle_settings
@given(scales, zero_points)
def test_logistic_equals_tflm(s_in, zp_in):
    assume(s_in < 8)  # the legal range; 8 and more: test_outside_the_legal_ranges
    assert_equals_tflm("logistic", table_of(graph("logistic", (s_in, zp_in), act.LOGISTIC_OUTPUT)),
                       (s_in, zp_in), act.LOGISTIC_OUTPUT)


@oracle_settings
@given(scales, zero_points)
def test_tanh_equals_tflm(s_in, zp_in):
    assume(s_in < 8)
    assert_equals_tflm("tanh", table_of(graph("tanh", (s_in, zp_in), act.TANH_OUTPUT)), (s_in, zp_in), act.TANH_OUTPUT)


@oracle_settings
@given(scales, zero_points, scales, zero_points)
def test_hard_swish_equals_tflm(s_in, zp_in, s_out, zp_out):
    assume(np.float32(s_in) / np.float32(128) / np.float32(s_out) < 1)  # TFLM refuses the rest
    t = table_of(graph("hard_swish", (s_in, zp_in), (s_out, zp_out)))
    assert_equals_tflm("hard_swish", t, (s_in, zp_in), (s_out, zp_out))


@oracle_settings
@given(scales, zero_points, scales, zero_points)
def test_relu_equals_tflm(s_in, zp_in, s_out, zp_out):
    t = table_of(graph("relu", (s_in, zp_in), (s_out, zp_out)))
    assert_equals_tflm("relu", t, (s_in, zp_in), (s_out, zp_out))


@oracle_settings
@given(scales, zero_points, st.one_of(st.none(), st.tuples(scales, zero_points)))
def test_relu6_equals_tflm(s_in, zp_in, out_q):
    """TFLM reads no output quantization: one of the output's own gives the same integers."""
    out_q = out_q or (s_in, zp_in)
    t = table_of(graph("relu6", (s_in, zp_in), out_q))
    assert_equals_tflm("relu6", t, (s_in, zp_in), out_q)


@oracle_settings
@given(scales, zero_points, scales, zero_points, st.floats(0.0, 4.0).map(lambda a: float(np.float32(a))))
def test_leaky_relu_equals_tflm(s_in, zp_in, s_out, zp_out, alpha):
    t = table_of(graph("leaky_relu", (s_in, zp_in), (s_out, zp_out), act.LeakyReluAttrs(alpha)))
    assert_equals_tflm("leaky_relu", t, (s_in, zp_in), (s_out, zp_out), alpha)


@oracle_settings
@given(scales, zero_points, scales, zero_points)
def test_rsqrt_equals_tflm(s_in, zp_in, s_out, zp_out):
    """On the inputs at or above the zero point: TFLM stops with an error on the others."""
    assume(1 / (math.sqrt(s_in) * s_out) >= 2.0 ** -12)  # the legal range
    t = table_of(graph("rsqrt", (s_in, zp_in), (s_out, zp_out)))
    assert_equals_tflm("rsqrt", t, (s_in, zp_in), (s_out, zp_out), inputs=ALL_INT8[ALL_INT8 >= zp_in])


@oracle_settings
@given(scales, zero_points, scales, zero_points)
def test_requantize_equals_tflm(s_in, zp_in, s_out, zp_out):
    assume(s_in / s_out < 2.0 ** 30)  # the legal range of QuantizeMultiplier
    t = table_of(graph("requantize", (s_in, zp_in), (s_out, zp_out)))
    assert_equals_tflm("requantize", t, (s_in, zp_in), (s_out, zp_out))


@pytest.mark.parametrize("s_in", [2.0 ** -28, 2.0 ** -27 * 0.999, 7.99, 2.0 ** -20, 1 / 3])
@pytest.mark.parametrize("kind", ["logistic", "tanh"])
def test_logistic_and_tanh_at_the_ends_of_the_legal_range(kind, s_in):
    s_in = float(np.float32(s_in))
    out_q = act.LOGISTIC_OUTPUT if kind == "logistic" else act.TANH_OUTPUT
    for zp_in in (-128, 0, 127):
        assert_equals_tflm(kind, table_of(graph(kind, (s_in, zp_in), out_q)), (s_in, zp_in), out_q)


# ---- worked examples --------------------------------------------------------------------------------------

def lookup(kind, in_q, out_q, xs, attrs=None):
    return lookup_s8(np.array(xs, np.int8), table_of(graph(kind, in_q, out_q, attrs))).tolist()


def test_examples_by_hand():
    # logistic, s_in 1/16: x = 0 -> 0.5 -> 128 - 128 = 0; x = 1 -> 0.7311 * 256 = 187.2 -> 59; q = 127 is
    # past the radius floor(15 * 2^27 / 2^24) = 120 -> 127; q = -128 -> -128
    assert lookup("logistic", (1 / 16, 0), act.LOGISTIC_OUTPUT, [0, 16, 127, -128]) == [0, 59, 127, -128]
    # tanh, s_in 1/16: tanh(+-1) * 128 = +-97.5 -> +-97 (the fixed point is a hair below the half)
    assert lookup("tanh", (1 / 16, 0), act.TANH_OUTPUT, [0, 16, -16]) == [0, 97, -97]
    # relu, equal scales 0.1, zero points -10: below the zero point -> -10, above unchanged
    assert lookup("relu", (0.1, -10), (0.1, -10), [-20, -10, 5, 127]) == [-10, -10, 5, 127]
    # relu: scale 0.1 -> 0.2 halves (x - zp) with rounding half away: 15 -> 7.5 -> 8
    assert lookup("relu", (0.1, 0), (0.2, 3), [15, -15]) == [11, 3]
    # relu6, s 0.05, zp -100: six = round(6 / 0.05) - 100 = 20
    assert lookup("relu6", (0.05, -100), (0.05, -100), [50, 20, 0, -120]) == [20, 20, 0, -100]
    # leaky_relu alpha 0.5, scales 1/8: -8 -> -4; -3 -> -1.5 -> -1 (SRDHM rounds a negative tie toward zero)
    assert lookup("leaky_relu", (1 / 8, 0), (1 / 8, 0), [-8, -3, 5], act.LeakyReluAttrs(0.5)) == [-4, -1, 5]
    # rsqrt, s_in 1/4, s_out 1/64, zp_out -128: x = 1 -> 1 -> 64 - 128 = -64; x = 4 -> 0.5 -> -96; x = 0 -> 127
    assert lookup("rsqrt", (1 / 4, 0), (1 / 64, -128), [4, 16, 0]) == [-64, -96, 127]
    # requantize 0.5 -> 0.25, zp 0 -> 10: 3 -> 6 + 10 = 16; 100 -> 210 -> 127
    assert lookup("requantize", (0.5, 0), (0.25, 10), [3, 100, -128]) == [16, 127, -128]
    # hard_swish, scales 1/16: x = 4 -> 4 (64); x = -4 -> 0; x = 1 -> 1 * 4 / 6 = 0.667 -> 10.67 -> 11;
    # x = -1 -> -1 * 2 / 6 = -0.333 -> -5.33 -> -5
    assert lookup("hard_swish", (1 / 16, 0), (1 / 16, 0), [64, -64, 16, -16]) == [64, 0, 11, -5]


def test_table_op_and_the_interpreter():
    """table: the second input is the table, indexed by the input's byte; the interpreter runs every
    kind through lookup_s8."""
    lut = (255 - np.arange(256)).astype(np.uint8).view(np.int8)
    g = graph("table", (0.1, 0), (0.3, 7), table=lut)
    x = np.array([[0, 1, -1], [127, -128, 5]], np.int8)
    np.testing.assert_array_equal(run(g, [x])[0], lut[x.view(np.uint8)])
    g = graph("tanh", (1 / 16, 0), act.TANH_OUTPUT)
    np.testing.assert_array_equal(run(g, [x])[0], lookup_s8(x, act.tanh_table(1 / 16, 0)))


def test_lowering_is_one_lookup_of_the_table():
    g = graph("hard_swish", (0.05, 3), (0.04, -7))
    g.validate()
    definition = op_def("hard_swish")
    params = definition.prepare(g, g.ops[0])
    (call,) = definition.lower(Lowering(g, g.ops[0], params, None))
    assert call.kernel == "lookup" and call.args[0] == Const(params.tobytes())
    assert call.args[2] == Arena("x") and call.output == Arena("y")


# ---- refusals ------------------------------------------------------------------------------------------

def test_refused_where_tflm_refuses():
    """LOGISTIC with an output zero point other than -128 and HARD_SWISH with s_in / (128 s_out) >= 1:
    TFLM's Prepare fails, and so does validate."""
    with pytest.raises(Exception):
        tflite_oracle.activation("logistic", ALL_INT8, 0.1, 0, 1 / 256, 0)
    with pytest.raises(GraphError, match="logistic's output must have scale 1/256 and zero point -128"):
        graph("logistic", (0.1, 0), (1 / 256, 0)).validate()
    with pytest.raises(Exception):
        tflite_oracle.activation("hard_swish", ALL_INT8, 1.0, 0, 1 / 128, 0)
    with pytest.raises(GraphError, match="HardSwishPrepare refuses"):
        graph("hard_swish", (1.0, 0), (1 / 128, 0)).validate()


@pytest.mark.parametrize("kind, in_q, out_q, attrs, message", [
    ("logistic", (0.1, 0), (1 / 128, -128), None, "scale 1/256"),        # TFLM reads no output scale
    ("tanh", (0.1, 0), (1 / 128, 5), None, "scale 1/128 and zero point 0"),
    ("logistic", (8.0, 0), act.LOGISTIC_OUTPUT, None, r"legal range \[2\^-28, 8\)"),
    ("tanh", (2.0 ** -29, 0), act.TANH_OUTPUT, None, r"legal range \[2\^-28, 8\)"),
    ("relu6", (1e-9, 0), (1e-9, 0), None, "6 / scale must be below 2"),
    ("leaky_relu", (0.1, 0), (0.1, 0), act.LeakyReluAttrs(-0.1), "alpha must be a finite float32 >= 0"),
    ("leaky_relu", (0.1, 0), (0.1, 0), act.LeakyReluAttrs(float("nan")), "alpha must be"),
    ("rsqrt", (4.0, 0), (5000.0, 0), None, "outside rsqrt's legal range"),
    ("requantize", (1.0, 0), (2.0 ** -31, 0), None, "too large"),
    ("relu", (1.0, 0), (2.0 ** -31, 0), None, "too large"),
])
def test_outside_the_legal_ranges(kind, in_q, out_q, attrs, message):
    with pytest.raises(GraphError, match=message):
        graph(kind, in_q, out_q, attrs).validate()


@pytest.mark.parametrize("table, message", [
    (np.zeros(255, np.int8), r"constant int8 \[256\]"),
    (np.zeros(256, np.int32), r"constant int8 \[256\]"),
])
def test_table_must_be_a_constant_int8_256(table, message):
    with pytest.raises(GraphError, match=message):
        graph("table", (0.1, 0), (0.1, 0), table=table).validate()
