"""Small int8 .tflite models built with the TFLite flatbuffer schema (tests/kernels/tflite_oracle.Model):
a CNN, a residual block, float I/O edges, attention, ViT heads and token movement, FC -> GELU. Shared
by the import tests (tests/models/test_tflite_import.py) and the deployment tests.

Each builder returns the serialized model and is deterministic in its arguments. A builder that draws
weights takes `rng`: None draws from a fresh generator at the seed the import test uses; the import
test passes its own generator instead and goes on drawing its inputs from it."""
from __future__ import annotations

from functools import partial
from typing import Callable

import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from tests.kernels.tflite_oracle import ACTIVATIONS, Model

B = schema.BuiltinOperator
O = schema.BuiltinOptions


def _conv_options(cls, stride, mode, activation, **extra):
    o = cls()
    o.padding = schema.Padding.SAME if mode == "same" else schema.Padding.VALID
    o.strideH, o.strideW = stride, stride
    if hasattr(o, "dilationHFactor"):
        o.dilationHFactor = o.dilationWFactor = 1
    o.fusedActivationFunction = ACTIVATIONS[activation]
    for k, v in extra.items():
        setattr(o, k, v)
    return o


def small_cnn(seed: int = 0, softmax: bool = True) -> bytes:
    """[1,12,12,3] -conv3x3/1 SAME relu-> [1,12,12,8] -dw3x3/2 SAME relu6-> [1,6,6,8] -maxpool2/2->
    [1,3,3,8] -reshape-> [1,72] -FC-> [1,10] -softmax-> [1,10]."""
    rng = np.random.default_rng(seed)
    m = Model()
    x = m.tensor((1, 12, 12, 3), np.int8, 0.02, -5)
    w1s = rng.uniform(0.002, 0.02, 8).astype(np.float32)
    w1 = m.tensor((8, 3, 3, 3), np.int8, w1s, np.zeros(8), rng.integers(-127, 128, (8, 3, 3, 3), dtype=np.int8))
    b1 = m.tensor((8,), np.int32, np.float32(0.02) * w1s, np.zeros(8), rng.integers(-2000, 2000, 8).astype(np.int32))
    h1 = m.tensor((1, 12, 12, 8), np.int8, 0.05, -128)
    m.op(B.CONV_2D, O.Conv2DOptions, _conv_options(schema.Conv2DOptionsT, 1, "same", "relu"), [x, w1, b1], [h1])
    w2s = rng.uniform(0.005, 0.05, 8).astype(np.float32)
    w2 = m.tensor((1, 3, 3, 8), np.int8, w2s, np.zeros(8), rng.integers(-127, 128, (1, 3, 3, 8), dtype=np.int8), axis=3)
    b2 = m.tensor((8,), np.int32, np.float32(0.05) * w2s, np.zeros(8), rng.integers(-500, 500, 8).astype(np.int32))
    h2 = m.tensor((1, 6, 6, 8), np.int8, 0.04, -128)
    m.op(B.DEPTHWISE_CONV_2D, O.DepthwiseConv2DOptions,
         _conv_options(schema.DepthwiseConv2DOptionsT, 2, "same", "relu6", depthMultiplier=1), [h1, w2, b2], [h2])
    h3 = m.tensor((1, 3, 3, 8), np.int8, 0.04, -128)
    pool = schema.Pool2DOptionsT()
    pool.padding, pool.strideH, pool.strideW, pool.filterHeight, pool.filterWidth = schema.Padding.VALID, 2, 2, 2, 2
    m.op(B.MAX_POOL_2D, O.Pool2DOptions, pool, [h2], [h3])
    shape = m.tensor((2,), np.int32, 1.0, 0, np.array([1, 72], np.int32))
    h4 = m.tensor((1, 72), np.int8, 0.04, -128)
    reshape = schema.ReshapeOptionsT()
    reshape.newShape = [1, 72]
    m.op(B.RESHAPE, O.ReshapeOptions, reshape, [h3, shape], [h4])
    w5s = rng.uniform(0.002, 0.02, 10).astype(np.float32)
    w5 = m.tensor((10, 72), np.int8, w5s, np.zeros(10), rng.integers(-127, 128, (10, 72), dtype=np.int8))
    b5 = m.tensor((10,), np.int32, np.float32(0.04) * w5s, np.zeros(10), rng.integers(-300, 300, 10).astype(np.int32))
    h5 = m.tensor((1, 10), np.int8, 0.02, 3)
    fc = schema.FullyConnectedOptionsT()
    m.op(B.FULLY_CONNECTED, O.FullyConnectedOptions, fc, [h4, w5, b5], [h5])
    if not softmax:
        return m.serialize([x], [h5])
    y = m.tensor((1, 10), np.int8, 1 / 256, -128)
    sm = schema.SoftmaxOptionsT()
    sm.beta = 1.0
    m.op(B.SOFTMAX, O.SoftmaxOptions, sm, [h5], [y])
    return m.serialize([x], [y])


def residual_block() -> bytes:
    """A two-input graph, a [2,16] and b [2,16] -> y = relu(a + b) * a [2,16], as in a residual
    connection and a gating multiply."""
    m = Model()
    a = m.tensor((2, 16), np.int8, 0.03, 4)
    b = m.tensor((2, 16), np.int8, 0.05, -9)
    s = m.tensor((2, 16), np.int8, 0.06, -128)
    y = m.tensor((2, 16), np.int8, 0.07, 2)
    add = schema.AddOptionsT()
    add.fusedActivationFunction = ACTIVATIONS["relu"]
    m.op(B.ADD, O.AddOptions, add, [a, b], [s])
    m.op(B.MUL, O.MulOptions, schema.MulOptionsT(), [s, a], [y])
    return m.serialize([a, b], [y])


def float_edges(rng: np.random.Generator | None = None) -> bytes:
    """float32 [2,20] -> QUANTIZE -> FC -> [2,6] DEQUANTIZE -> float32 [2,6], as a converter emits for
    float I/O. rng: the weights' draws (None: default_rng(3))."""
    rng = np.random.default_rng(3) if rng is None else rng
    m = Model()
    xf = m.tensor((2, 20), np.float32, 1.0, 0)
    xq = m.tensor((2, 20), np.int8, 0.04, 1)
    ws = rng.uniform(0.005, 0.02, 6).astype(np.float32)
    w = m.tensor((6, 20), np.int8, ws, np.zeros(6), rng.integers(-127, 128, (6, 20), dtype=np.int8))
    b = m.tensor((6,), np.int32, np.float32(0.04) * ws, np.zeros(6), rng.integers(-900, 900, 6).astype(np.int32))
    yq = m.tensor((2, 6), np.int8, 0.03, -2)
    yf = m.tensor((2, 6), np.float32, 1.0, 0)
    m.op(B.QUANTIZE, 0, None, [xf], [xq])
    m.op(B.FULLY_CONNECTED, O.FullyConnectedOptions, schema.FullyConnectedOptionsT(), [xq, w, b], [yq])
    m.op(B.DEQUANTIZE, 0, None, [yq], [yf])
    return m.serialize([xf], [yf])


def attention_scores(adj_x: bool, adj_y: bool) -> bytes:
    """Q.K^T as a model: BATCH_MATMUL then SOFTMAX, with TFLite's adjoint flags. Inputs q [2,5,8]
    ([2,8,5] if adj_x) and k [2,8,6] ([2,6,8] if adj_y); output [2,5,6]."""
    m = Model()
    q = m.tensor((2, 8, 5) if adj_x else (2, 5, 8), np.int8, 0.05, 3)
    k = m.tensor((2, 6, 8) if adj_y else (2, 8, 6), np.int8, 0.04, -6)
    s = m.tensor((2, 5, 6), np.int8, 0.2, 1)
    p = m.tensor((2, 5, 6), np.int8, 1 / 256, -128)
    options = schema.BatchMatMulOptionsT()
    options.adjX, options.adjY = adj_x, adj_y
    m.op(B.BATCH_MATMUL, O.BatchMatMulOptions, options, [q, k], [s])
    sm = schema.SoftmaxOptionsT()
    sm.beta = 1.0
    m.op(B.SOFTMAX, O.SoftmaxOptions, sm, [s], [p])
    return m.serialize([q, k], [p])


def multi_head_attention(rng: np.random.Generator | None = None) -> bytes:
    """A ViT's self-attention as a converter emits it, 2 heads over 5 tokens of 8 (input and output
    [5,8]): Q, K, V projections (FULLY_CONNECTED), RESHAPE + TRANSPOSE to heads, Q.K^T (BATCH_MATMUL
    adj_y), SOFTMAX, P.V (BATCH_MATMUL), TRANSPOSE + RESHAPE back, the output projection.
    rng: the weights' draws (None: default_rng(21))."""
    rng = np.random.default_rng(21) if rng is None else rng
    tokens, dim, heads = 5, 8, 2
    m = Model()
    x = m.tensor((tokens, dim), np.int8, 0.05, -3)

    def linear(inp, scale, zp):
        ws = rng.uniform(0.005, 0.02, dim).astype(np.float32)
        w = m.tensor((dim, dim), np.int8, ws, np.zeros(dim), rng.integers(-127, 128, (dim, dim), dtype=np.int8))
        b = m.tensor((dim,), np.int32, np.float32(0.05) * ws, np.zeros(dim),
                     rng.integers(-500, 500, dim).astype(np.int32))
        out = m.tensor((tokens, dim), np.int8, scale, zp)
        m.op(B.FULLY_CONNECTED, O.FullyConnectedOptions, schema.FullyConnectedOptionsT(), [inp, w, b], [out])
        return out

    def to_heads(t, scale, zp):
        r = m.tensor((tokens, heads, dim // heads), np.int8, scale, zp)
        shape = m.tensor((3,), np.int32, 1.0, 0, np.array([tokens, heads, dim // heads], np.int32))
        m.op(B.RESHAPE, O.ReshapeOptions, schema.ReshapeOptionsT(), [t, shape], [r])
        h = m.tensor((heads, tokens, dim // heads), np.int8, scale, zp)
        m.op(B.TRANSPOSE, O.TransposeOptions, schema.TransposeOptionsT(),
             [r, m.tensor((3,), np.int32, 1.0, 0, np.array([1, 0, 2], np.int32))], [h])
        return h

    q, k, v = (to_heads(linear(x, s, z), s, z) for s, z in ((0.04, 2), (0.05, -1), (0.03, 0)))
    scores = m.tensor((heads, tokens, tokens), np.int8, 0.1, 5)
    adj = schema.BatchMatMulOptionsT()
    adj.adjX, adj.adjY = False, True
    m.op(B.BATCH_MATMUL, O.BatchMatMulOptions, adj, [q, k], [scores])
    probs = m.tensor((heads, tokens, tokens), np.int8, 1 / 256, -128)
    sm = schema.SoftmaxOptionsT()
    sm.beta = 1.0
    m.op(B.SOFTMAX, O.SoftmaxOptions, sm, [scores], [probs])
    context = m.tensor((heads, tokens, dim // heads), np.int8, 0.02, -4)
    m.op(B.BATCH_MATMUL, O.BatchMatMulOptions, schema.BatchMatMulOptionsT(), [probs, v], [context])
    back = m.tensor((tokens, heads, dim // heads), np.int8, 0.02, -4)
    m.op(B.TRANSPOSE, O.TransposeOptions, schema.TransposeOptionsT(),
         [context, m.tensor((3,), np.int32, 1.0, 0, np.array([1, 0, 2], np.int32))], [back])
    merged = m.tensor((tokens, dim), np.int8, 0.02, -4)
    m.op(B.RESHAPE, O.ReshapeOptions, schema.ReshapeOptionsT(),
         [back, m.tensor((2,), np.int32, 1.0, 0, np.array([tokens, dim], np.int32))], [merged])
    y = linear(merged, 0.06, 1)
    return m.serialize([x], [y])


def seqpool(rng: np.random.Generator | None = None) -> bytes:
    """TinyFormer's SeqPool head over 9 tokens of 12 (input [9,12], output [1,4]): a score per token
    (FULLY_CONNECTED to 1), SOFTMAX over the tokens, the tokens' weighted sum (BATCH_MATMUL [1, T] x
    [T, C]), then the classifier. rng: the weights' draws (None: default_rng(8))."""
    rng = np.random.default_rng(8) if rng is None else rng
    tokens, dim, classes = 9, 12, 4
    m = Model()
    x = m.tensor((tokens, dim), np.int8, 0.05, 2)
    gs = np.float32(0.01)
    g = m.tensor((1, dim), np.int8, [gs], [0], rng.integers(-127, 128, (1, dim), dtype=np.int8))
    scores = m.tensor((tokens, 1), np.int8, 0.08, -3)
    m.op(B.FULLY_CONNECTED, O.FullyConnectedOptions, schema.FullyConnectedOptionsT(), [x, g], [scores])
    row = m.tensor((1, 1, tokens), np.int8, 0.08, -3)
    m.op(B.RESHAPE, O.ReshapeOptions, schema.ReshapeOptionsT(),
         [scores, m.tensor((3,), np.int32, 1.0, 0, np.array([1, 1, tokens], np.int32))], [row])
    weights = m.tensor((1, 1, tokens), np.int8, 1 / 256, -128)
    sm = schema.SoftmaxOptionsT()
    sm.beta = 1.0
    m.op(B.SOFTMAX, O.SoftmaxOptions, sm, [row], [weights])
    x3 = m.tensor((1, tokens, dim), np.int8, 0.05, 2)
    m.op(B.RESHAPE, O.ReshapeOptions, schema.ReshapeOptionsT(),
         [x, m.tensor((3,), np.int32, 1.0, 0, np.array([1, tokens, dim], np.int32))], [x3])
    pooled = m.tensor((1, 1, dim), np.int8, 0.03, 1)
    m.op(B.BATCH_MATMUL, O.BatchMatMulOptions, schema.BatchMatMulOptionsT(), [weights, x3], [pooled])
    flat = m.tensor((1, dim), np.int8, 0.03, 1)
    m.op(B.RESHAPE, O.ReshapeOptions, schema.ReshapeOptionsT(),
         [pooled, m.tensor((2,), np.int32, 1.0, 0, np.array([1, dim], np.int32))], [flat])
    ws = rng.uniform(0.005, 0.02, classes).astype(np.float32)
    w = m.tensor((classes, dim), np.int8, ws, np.zeros(classes), rng.integers(-127, 128, (classes, dim), dtype=np.int8))
    y = m.tensor((1, classes), np.int8, 0.05, 0)
    m.op(B.FULLY_CONNECTED, O.FullyConnectedOptions, schema.FullyConnectedOptionsT(), [flat, w], [y])
    return m.serialize([x], [y])


def class_token_head(strided: bool, rng: np.random.Generator | None = None) -> bytes:
    """Over 6 tokens of 10 (input [6,10], output [1,3]): a class token prepended (CONCATENATION with a
    constant), a token-wise FC, the class token taken back out (SLICE, or if strided STRIDED_SLICE with
    an end mask and a shrink bit), the classifier. rng: the weights' draws (None: default_rng(12))."""
    rng = np.random.default_rng(12) if rng is None else rng
    tokens, dim, classes = 6, 10, 3
    m = Model()
    x = m.tensor((tokens, dim), np.int8, 0.05, 2)
    cls = m.tensor((1, dim), np.int8, 0.05, 2, rng.integers(-128, 128, (1, dim), dtype=np.int8))
    seq = m.tensor((tokens + 1, dim), np.int8, 0.05, 2)
    cat = schema.ConcatenationOptionsT()
    cat.axis = 0
    m.op(B.CONCATENATION, O.ConcatenationOptions, cat, [cls, x], [seq])
    ws = rng.uniform(0.005, 0.02, dim).astype(np.float32)
    w = m.tensor((dim, dim), np.int8, ws, np.zeros(dim), rng.integers(-127, 128, (dim, dim), dtype=np.int8))
    h = m.tensor((tokens + 1, dim), np.int8, 0.04, -5)
    m.op(B.FULLY_CONNECTED, O.FullyConnectedOptions, schema.FullyConnectedOptionsT(), [seq, w], [h])
    first = m.tensor((1, dim) if not strided else (dim,), np.int8, 0.04, -5)
    if strided:
        options = schema.StridedSliceOptionsT()
        options.endMask, options.shrinkAxisMask = 2, 1
        consts = [m.tensor((2,), np.int32, 1.0, 0, np.array(v, np.int32)) for v in ([0, 0], [1, -3], [1, 1])]
        m.op(B.STRIDED_SLICE, O.StridedSliceOptions, options, [h, *consts], [first])
        row = m.tensor((1, dim), np.int8, 0.04, -5)
        m.op(B.RESHAPE, O.ReshapeOptions, schema.ReshapeOptionsT(),
             [first, m.tensor((2,), np.int32, 1.0, 0, np.array([1, dim], np.int32))], [row])
    else:
        consts = [m.tensor((2,), np.int32, 1.0, 0, np.array(v, np.int32)) for v in ([0, 0], [1, -1])]
        m.op(B.SLICE, O.SliceOptions, schema.SliceOptionsT(), [h, *consts], [first])
        row = first
    wcs = rng.uniform(0.005, 0.02, classes).astype(np.float32)
    wc = m.tensor((classes, dim), np.int8, wcs, np.zeros(classes),
                  rng.integers(-127, 128, (classes, dim), dtype=np.int8))
    y = m.tensor((1, classes), np.int8, 0.05, 0)
    m.op(B.FULLY_CONNECTED, O.FullyConnectedOptions, schema.FullyConnectedOptionsT(), [row, wc], [y])
    return m.serialize([x], [y])


def token_ops() -> bytes:
    """The data movement around a ViT's tokens: [1,6,8] -TRANSPOSE(0,2,1)-> [1,8,6] -PAD-> [1,9,8]
    -CONCATENATION with a second input [1,9,3] along the channels-> [1,9,11] -MEAN over tokens-> [1,11]."""
    m = Model()
    x = m.tensor((1, 6, 8), np.int8, 0.05, -3)
    t = m.tensor((1, 8, 6), np.int8, 0.05, -3)
    m.op(B.TRANSPOSE, O.TransposeOptions, schema.TransposeOptionsT(),
         [x, m.tensor((3,), np.int32, 1.0, 0, np.array([0, 2, 1], np.int32))], [t])
    p = m.tensor((1, 9, 8), np.int8, 0.05, -3)
    m.op(B.PAD, O.PadOptions, schema.PadOptionsT(),
         [t, m.tensor((3, 2), np.int32, 1.0, 0, np.array([[0, 0], [1, 0], [0, 2]], np.int32))], [p])
    c = m.tensor((1, 9, 3), np.int8, 0.05, -3)
    cat = m.tensor((1, 9, 11), np.int8, 0.05, -3)
    options = schema.ConcatenationOptionsT()
    options.axis = -1
    m.op(B.CONCATENATION, O.ConcatenationOptions, options, [p, c], [cat])
    y = m.tensor((1, 11), np.int8, 0.02, 7)
    reducer = schema.ReducerOptionsT()
    reducer.keepDims = False
    m.op(B.MEAN, O.ReducerOptions, reducer, [cat, m.tensor((1,), np.int32, 1.0, 0, np.array([1], np.int32))], [y])
    return m.serialize([x, c], [y])


def fc_gelu(approximate: bool, rng: np.random.Generator | None = None) -> bytes:
    """[3,16] -FC-> [3,12] -GELU (tanh form if approximate)-> [3,12], the ViT MLP's first half. TFLM
    has no GELU, so LiteRT's reference kernels judge it. Power-of-two input and filter scales: LiteRT
    multiplies them in float32, TFLM in double, and only where the product is exact do the two FCs
    agree to the bit. rng: the weights' draws (None: default_rng(9))."""
    rng = np.random.default_rng(9) if rng is None else rng
    m = Model()
    x = m.tensor((3, 16), np.int8, 2.0 ** -5, 2)
    ws = (2.0 ** -rng.integers(6, 9, 12)).astype(np.float32)
    w = m.tensor((12, 16), np.int8, ws, np.zeros(12), rng.integers(-127, 128, (12, 16), dtype=np.int8))
    h = m.tensor((3, 12), np.int8, 0.04, -10)
    y = m.tensor((3, 12), np.int8, 0.02, -100)
    m.op(B.FULLY_CONNECTED, O.FullyConnectedOptions, schema.FullyConnectedOptionsT(), [x, w], [h])
    gelu = schema.GeluOptionsT()
    gelu.approximate = approximate
    m.op(B.GELU, O.GeluOptions, gelu, [h], [y])
    return m.serialize([x], [y])


def broadcast_ops(rng: np.random.Generator | None = None) -> bytes:
    """The binary ops a converted Keras LayerNorm and its neighbours use, broadcasting: x [1,7,8] -MEAN
    over channels-> m [1,7,1]; d = SUB(x, m); s = SQUARED_DIFFERENCE(x, m); MUL(d, gamma [8]) then ADD
    of s, ADD of beta [1,1,8] (relu), SUB of a scalar constant [] (relu6); MAXIMUM with a second input
    z [8] and MINIMUM with a constant cap [1,7,1] -> [1,7,8]. rng: the constants' draws (None:
    default_rng(11))."""
    rng = np.random.default_rng(11) if rng is None else rng
    m = Model()
    x = m.tensor((1, 7, 8), np.int8, 0.05, 3)
    mean = m.tensor((1, 7, 1), np.int8, 0.04, 1)
    reducer = schema.ReducerOptionsT()
    reducer.keepDims = True
    m.op(B.MEAN, O.ReducerOptions, reducer, [x, m.tensor((1,), np.int32, 1.0, 0, np.array([2], np.int32))], [mean])

    def binary(opcode, options_type, options_class, a, b, scale, zero_point, activation="none"):
        shape = np.broadcast_shapes(tuple(m.tensors[a].shape), tuple(m.tensors[b].shape))
        y = m.tensor(shape, np.int8, scale, zero_point)
        options = options_class()
        if hasattr(options, "fusedActivationFunction"):
            options.fusedActivationFunction = ACTIVATIONS[activation]
        m.op(opcode, options_type, options, [a, b], [y])
        return y

    def constant(shape, scale, zero_point):
        return m.tensor(shape, np.int8, scale, zero_point, rng.integers(-128, 128, shape, dtype=np.int8))

    add, sub = (B.ADD, O.AddOptions, schema.AddOptionsT), (B.SUB, O.SubOptions, schema.SubOptionsT)
    d = binary(*sub, x, mean, 0.06, -2)
    s = binary(B.SQUARED_DIFFERENCE, O.SquaredDifferenceOptions, schema.SquaredDifferenceOptionsT, x, mean, 0.02, -128)
    g = binary(B.MUL, O.MulOptions, schema.MulOptionsT, d, constant((8,), 0.01, 0), 0.03, 0)
    h = binary(*add, g, s, 0.05, -10)
    h = binary(*add, h, constant((1, 1, 8), 0.02, 5), 0.05, -10, "relu")
    h = binary(*sub, h, constant((), 0.03, -7), 0.05, -10, "relu6")
    z = m.tensor((8,), np.int8, 0.05, -10)
    maximum = (B.MAXIMUM, O.MaximumMinimumOptions, schema.MaximumMinimumOptionsT)
    h = binary(*maximum, h, z, 0.05, -10)
    y = binary(B.MINIMUM, O.MaximumMinimumOptions, schema.MaximumMinimumOptionsT, h, constant((1, 7, 1), 0.05, -10),
               0.05, -10)
    return m.serialize([x, z], [y])


def _fc(m: Model, rng: np.random.Generator, x: int, x_shape, units: int, scale: float, zp: int,
        keep_num_dims: bool) -> int:
    """A FULLY_CONNECTED over the last dim of tensor x (per-channel weights, a bias): output
    (*x_shape[:-1], units) with keep_num_dims, else (rows, units)."""
    depth = x_shape[-1]
    in_scale = float(m.tensors[x].quantization.scale[0])
    ws = rng.uniform(0.005, 0.02, units).astype(np.float32)
    w = m.tensor((units, depth), np.int8, ws, np.zeros(units), rng.integers(-127, 128, (units, depth), dtype=np.int8))
    b = m.tensor((units,), np.int32, np.float32(in_scale) * ws, np.zeros(units),
                 rng.integers(-500, 500, units).astype(np.int32))
    shape = (*x_shape[:-1], units) if keep_num_dims else (int(np.prod(x_shape[:-1])), units)
    y = m.tensor(shape, np.int8, scale, zp)
    options = schema.FullyConnectedOptionsT()
    options.keepNumDims = keep_num_dims
    m.op(B.FULLY_CONNECTED, O.FullyConnectedOptions, options, [x, w, b], [y])
    return y


def fc_tokens(keep_num_dims: bool, rng: np.random.Generator | None = None) -> bytes:
    """A token-wise FULLY_CONNECTED on [1, 7, 12] -> [1, 7, 10] (keep_num_dims) or [7, 10], as a
    converter emits a Keras Dense on a sequence. rng: the weights' draws (None: default_rng(14))."""
    rng = np.random.default_rng(14) if rng is None else rng
    m = Model()
    x = m.tensor((1, 7, 12), np.int8, 0.05, -3)
    y = _fc(m, rng, x, (1, 7, 12), 10, 0.04, 6, keep_num_dims)
    return m.serialize([x], [y])


def multi_head_attention_4d(rng: np.random.Generator | None = None) -> bytes:
    """A ViT's self-attention in the 4-D form converters emit, 2 heads over 6 tokens of 8 (input and
    output [1, 6, 8]): Q, K, V projections (FULLY_CONNECTED keep_num_dims), RESHAPE to [1, 6, 2, 4] and
    TRANSPOSE to heads [1, 2, 6, 4], Q.K^T (BATCH_MATMUL adj_y, [1, 2, 6, 6]), SOFTMAX, P.V
    (BATCH_MATMUL, [1, 2, 6, 4]), TRANSPOSE + RESHAPE back, the output projection.
    rng: the weights' draws (None: default_rng(22))."""
    rng = np.random.default_rng(22) if rng is None else rng
    tokens, dim, heads = 6, 8, 2
    m = Model()
    x = m.tensor((1, tokens, dim), np.int8, 0.05, -3)
    swap = m.tensor((4,), np.int32, 1.0, 0, np.array([0, 2, 1, 3], np.int32))

    def to_heads(t, scale, zp):
        r = m.tensor((1, tokens, heads, dim // heads), np.int8, scale, zp)
        shape = m.tensor((4,), np.int32, 1.0, 0, np.array([1, tokens, heads, dim // heads], np.int32))
        m.op(B.RESHAPE, O.ReshapeOptions, schema.ReshapeOptionsT(), [t, shape], [r])
        h = m.tensor((1, heads, tokens, dim // heads), np.int8, scale, zp)
        m.op(B.TRANSPOSE, O.TransposeOptions, schema.TransposeOptionsT(), [r, swap], [h])
        return h

    q, k, v = (to_heads(_fc(m, rng, x, (1, tokens, dim), dim, s, z, True), s, z)
               for s, z in ((0.04, 2), (0.05, -1), (0.03, 0)))
    scores = m.tensor((1, heads, tokens, tokens), np.int8, 0.1, 5)
    adj = schema.BatchMatMulOptionsT()
    adj.adjX, adj.adjY = False, True
    m.op(B.BATCH_MATMUL, O.BatchMatMulOptions, adj, [q, k], [scores])
    probs = m.tensor((1, heads, tokens, tokens), np.int8, 1 / 256, -128)
    sm = schema.SoftmaxOptionsT()
    sm.beta = 1.0
    m.op(B.SOFTMAX, O.SoftmaxOptions, sm, [scores], [probs])
    context = m.tensor((1, heads, tokens, dim // heads), np.int8, 0.02, -4)
    m.op(B.BATCH_MATMUL, O.BatchMatMulOptions, schema.BatchMatMulOptionsT(), [probs, v], [context])
    back = m.tensor((1, tokens, heads, dim // heads), np.int8, 0.02, -4)
    m.op(B.TRANSPOSE, O.TransposeOptions, schema.TransposeOptionsT(), [context, swap], [back])
    merged = m.tensor((1, tokens, dim), np.int8, 0.02, -4)
    m.op(B.RESHAPE, O.ReshapeOptions, schema.ReshapeOptionsT(),
         [back, m.tensor((3,), np.int32, 1.0, 0, np.array([1, tokens, dim], np.int32))], [merged])
    y = _fc(m, rng, merged, (1, tokens, dim), dim, 0.06, 1, True)
    return m.serialize([x], [y])


def broadcast_matmul(adj_x: bool) -> bytes:
    """BATCH_MATMUL with broadcast batch dims and operands of different ranks: a [2, 1, 5, 8] ([2, 1, 8, 5]
    if adj_x) times b [3, 8, 6] -> [2, 3, 5, 6] (a read for each of b's 3 batches, b for each of a's 2)."""
    m = Model()
    a = m.tensor((2, 1, 8, 5) if adj_x else (2, 1, 5, 8), np.int8, 0.05, 3)
    b = m.tensor((3, 8, 6), np.int8, 0.04, -6)
    y = m.tensor((2, 3, 5, 6), np.int8, 0.2, 1)
    options = schema.BatchMatMulOptionsT()
    options.adjX, options.adjY = adj_x, False
    m.op(B.BATCH_MATMUL, O.BatchMatMulOptions, options, [a, b], [y])
    return m.serialize([a, b], [y])


def gather_tokens(scalar: bool) -> bytes:
    """Tokens picked by GATHER, then SQUEEZE and EXPAND_DIMS around a token-wise FC, over 6 tokens of 10
    (input [1, 6, 10]): GATHER along axis 1 of the constant indices [[0, 5], [3, 3]] -> [1, 2, 2, 10], or
    of the scalar index 0 along axis -2 (the class token, the axis dropped) -> [1, 10]; SQUEEZE of
    axis 0; FC -> 4; EXPAND_DIMS at axis 0 -> [1, 2, 2, 4] or [1, 4]."""
    rng = np.random.default_rng(16)
    m = Model()
    x = m.tensor((1, 6, 10), np.int8, 0.05, 2)
    index = np.array(0 if scalar else [[0, 5], [3, 3]], np.int32)
    picked_shape = (1, 10) if scalar else (1, 2, 2, 10)
    picked = m.tensor(picked_shape, np.int8, 0.05, 2)
    gather = schema.GatherOptionsT()
    gather.axis = -2 if scalar else 1
    m.op(B.GATHER, O.GatherOptions, gather, [x, m.tensor(index.shape, np.int32, 1.0, 0, index)], [picked])
    squeezed = m.tensor(picked_shape[1:], np.int8, 0.05, 2)
    squeeze = schema.SqueezeOptionsT()
    squeeze.squeezeDims = [0]
    m.op(B.SQUEEZE, O.SqueezeOptions, squeeze, [picked], [squeezed])
    h = _fc(m, rng, squeezed, picked_shape[1:], 4, 0.04, -5, True)
    y = m.tensor((1, *picked_shape[1:-1], 4), np.int8, 0.04, -5)
    m.op(B.EXPAND_DIMS, O.ExpandDimsOptions, schema.ExpandDimsOptionsT(),
         [h, m.tensor((), np.int32, 1.0, 0, np.array(0, np.int32))], [y])
    return m.serialize([x], [y])


# Each distinct model by name, as a zero-argument builder (weights at the import tests' seeds).
MODELS: dict[str, Callable[[], bytes]] = {
    "small_cnn": small_cnn,
    "small_cnn_logits": partial(small_cnn, softmax=False),
    "residual_block": residual_block,
    "float_edges": float_edges,
    "attention_scores_plain": partial(attention_scores, False, False),
    "attention_scores_adj_y": partial(attention_scores, False, True),
    "attention_scores_adj_x": partial(attention_scores, True, False),
    "multi_head_attention": multi_head_attention,
    "seqpool": seqpool,
    "class_token_head": partial(class_token_head, False),
    "class_token_head_strided": partial(class_token_head, True),
    "broadcast_ops": broadcast_ops,
    "token_ops": token_ops,
    "fc_gelu": partial(fc_gelu, False),
    "fc_gelu_tanh": partial(fc_gelu, True),
    "fc_tokens": partial(fc_tokens, False),
    "fc_tokens_keep_num_dims": partial(fc_tokens, True),
    "multi_head_attention_4d": multi_head_attention_4d,
    "broadcast_matmul": partial(broadcast_matmul, False),
    "broadcast_matmul_adj_x": partial(broadcast_matmul, True),
    "gather_tokens": partial(gather_tokens, False),
    "gather_class_token": partial(gather_tokens, True),
}
