"""`mcusim import`: an int8 .tflite of conv -> depthwise -> pool -> reshape -> FC -> softmax, built with
the flatbuffers schema, imported and run by the reference interpreter, equals TFLite Micro bit for
bit; unsupported and hostile files get one-line errors."""
import numpy as np
import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from mcusim.cli import main
from mcusim.models.graph import Graph, GraphError
from mcusim.models.interpreter import run
from mcusim.models.ops.conv2d import padding
from mcusim.models.tflite_import import import_tflite
from tests.kernels import tflite_oracle
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


def test_padding_used_by_the_model():
    assert padding("same", 12, 3, 2, 1) == (0, 6)  # TFLite puts the odd padding row below


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("softmax", [True, False], ids=["probabilities", "logits"])
def test_imported_cnn_equals_tflite_micro(tmp_path, seed, softmax, capsys):
    model = small_cnn(seed, softmax)
    (tmp_path / "m.tflite").write_bytes(model)
    assert main(["import", str(tmp_path / "m.tflite"), "-o", str(tmp_path / "m.graph")]) == 0
    assert f"{5 + softmax} ops" in capsys.readouterr().out
    graph = Graph.load(tmp_path / "m.graph")
    assert [op.kind for op in graph.ops] == ["conv2d", "depthwise_conv2d", "max_pool2d", "reshape",
                                            "fully_connected", "softmax"][:5 + softmax]
    rng = np.random.default_rng(100 + seed)
    for _ in range(5):
        x = rng.integers(-128, 128, (1, 12, 12, 3), dtype=np.int8)
        np.testing.assert_array_equal(run(graph, [x])[0], tflite_oracle.run(model, x))


def test_residual_block_equals_tflite_micro(tmp_path):
    """A two-input graph: y = relu(a + b) * a, as in a residual connection and a gating multiply."""
    m = Model()
    a = m.tensor((2, 16), np.int8, 0.03, 4)
    b = m.tensor((2, 16), np.int8, 0.05, -9)
    s = m.tensor((2, 16), np.int8, 0.06, -128)
    y = m.tensor((2, 16), np.int8, 0.07, 2)
    add = schema.AddOptionsT()
    add.fusedActivationFunction = ACTIVATIONS["relu"]
    m.op(B.ADD, O.AddOptions, add, [a, b], [s])
    m.op(B.MUL, O.MulOptions, schema.MulOptionsT(), [s, a], [y])
    model = m.serialize([a, b], [y])
    (tmp_path / "res.tflite").write_bytes(model)
    graph = import_tflite(tmp_path / "res.tflite")
    rng = np.random.default_rng(7)
    for _ in range(5):
        xa, xb = (rng.integers(-128, 128, (2, 16), dtype=np.int8) for _ in range(2))
        np.testing.assert_array_equal(run(graph, [xa, xb])[0], tflite_oracle.run(model, xa, xb))


def test_float_edges_equal_tflite_micro(tmp_path, capsys):
    """float32 in -> QUANTIZE -> FC -> DEQUANTIZE -> float32 out, as a converter emits for float I/O;
    also through `mcusim infer` with a float .npy."""
    rng = np.random.default_rng(3)
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
    model = m.serialize([xf], [yf])
    (tmp_path / "f.tflite").write_bytes(model)
    graph = import_tflite(tmp_path / "f.tflite")
    x = rng.normal(0, 2, (2, 20)).astype(np.float32)
    expected = tflite_oracle.run(model, x)
    np.testing.assert_array_equal(run(graph, [x])[0], expected)
    graph.save(tmp_path / "f.graph")
    np.save(tmp_path / "x.npy", x)
    assert main(["infer", str(tmp_path / "f.graph"), "--input", str(tmp_path / "x.npy"), "--output",
                 str(tmp_path / "y.npy")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), expected)


@pytest.mark.parametrize("adj_x, adj_y", [(False, False), (False, True), (True, False)])
def test_attention_scores_equal_tflite_micro(tmp_path, adj_x, adj_y):
    """Q.K^T as a model: BATCH_MATMUL then SOFTMAX, with TFLite's adjoint flags."""
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
    model = m.serialize([q, k], [p])
    (tmp_path / "att.tflite").write_bytes(model)
    graph = import_tflite(tmp_path / "att.tflite")
    rng = np.random.default_rng(11)
    xq = rng.integers(-128, 128, m.tensors[q].shape, dtype=np.int8)
    xk = rng.integers(-128, 128, m.tensors[k].shape, dtype=np.int8)
    np.testing.assert_array_equal(run(graph, [xq, xk])[0], tflite_oracle.run(model, xq, xk))


def test_multi_head_attention_equals_tflite_micro(tmp_path):
    """A ViT's self-attention as a converter emits it, 2 heads over 5 tokens of 8: Q, K, V projections
    (FULLY_CONNECTED), RESHAPE + TRANSPOSE to heads, Q.K^T (BATCH_MATMUL adj_y), SOFTMAX, P.V
    (BATCH_MATMUL), TRANSPOSE + RESHAPE back, the output projection."""
    rng = np.random.default_rng(21)
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
    model = m.serialize([x], [y])
    (tmp_path / "mhsa.tflite").write_bytes(model)
    graph = import_tflite(tmp_path / "mhsa.tflite")
    assert [op.kind for op in graph.ops].count("batch_matmul") == 2
    for _ in range(5):
        xx = rng.integers(-128, 128, (tokens, dim), dtype=np.int8)
        np.testing.assert_array_equal(run(graph, [xx])[0], tflite_oracle.run(model, xx))


def test_seqpool_equals_tflite_micro(tmp_path):
    """TinyFormer's SeqPool head: a score per token (FULLY_CONNECTED to 1), SOFTMAX over the tokens,
    the tokens' weighted sum (BATCH_MATMUL [1, T] x [T, C]), then the classifier."""
    rng = np.random.default_rng(8)
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
    model = m.serialize([x], [y])
    (tmp_path / "seqpool.tflite").write_bytes(model)
    graph = import_tflite(tmp_path / "seqpool.tflite")
    for _ in range(5):
        xx = rng.integers(-128, 128, (tokens, dim), dtype=np.int8)
        np.testing.assert_array_equal(run(graph, [xx])[0], tflite_oracle.run(model, xx))


@pytest.mark.parametrize("strided", [False, True])
def test_class_token_head_equals_tflite_micro(tmp_path, strided):
    """A class token prepended (CONCATENATION with a constant), a token-wise FC, the class token taken
    back out (SLICE, or STRIDED_SLICE with an end mask and a shrink bit), the classifier."""
    rng = np.random.default_rng(12)
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
    model = m.serialize([x], [y])
    (tmp_path / "cls.tflite").write_bytes(model)
    graph = import_tflite(tmp_path / "cls.tflite")
    assert "slice" in [op.kind for op in graph.ops]
    for _ in range(5):
        xx = rng.integers(-128, 128, (tokens, dim), dtype=np.int8)
        np.testing.assert_array_equal(run(graph, [xx])[0], tflite_oracle.run(model, xx))


def test_token_ops_equal_tflite_micro(tmp_path):
    """The data movement around a ViT's tokens: [1,6,8] -TRANSPOSE(0,2,1)-> [1,8,6] -PAD-> [1,9,8]
    -CONCATENATION with a second input along the channels-> [1,9,11] -MEAN over tokens-> [1,11]."""
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
    model = m.serialize([x, c], [y])
    (tmp_path / "tokens.tflite").write_bytes(model)
    graph = import_tflite(tmp_path / "tokens.tflite")
    assert [op.kind for op in graph.ops] == ["transpose", "pad", "concatenation", "mean"]
    rng = np.random.default_rng(5)
    for _ in range(5):
        xx, xc = rng.integers(-128, 128, (1, 6, 8), dtype=np.int8), rng.integers(-128, 128, (1, 9, 3), dtype=np.int8)
        np.testing.assert_array_equal(run(graph, [xx, xc])[0], tflite_oracle.run(model, xx, xc))


@pytest.mark.parametrize("approximate", [False, True])
def test_fc_gelu_equals_litert(tmp_path, approximate):
    """FC -> GELU, the ViT MLP's first half; TFLM has no GELU, so LiteRT's reference kernels judge.
    Power-of-two input and filter scales: LiteRT multiplies them in float32, TFLM in double, and
    only where the product is exact do the two FCs agree to the bit."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    rng = np.random.default_rng(9)
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
    model = m.serialize([x], [y])
    (tmp_path / "mlp.tflite").write_bytes(model)
    graph = import_tflite(tmp_path / "mlp.tflite")
    interpreter = Interpreter(model_content=model, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    interpreter.allocate_tensors()
    for _ in range(5):
        xx = rng.integers(-128, 128, (3, 16), dtype=np.int8)
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], xx)
        interpreter.invoke()
        np.testing.assert_array_equal(run(graph, [xx])[0],
                                      interpreter.get_tensor(interpreter.get_output_details()[0]["index"]))


def test_unsupported_op_is_named(tmp_path):
    m = Model()
    a = m.tensor((1, 4), np.int8, 0.1, 0)
    c = m.tensor((1, 4), np.int8, 0.1, 0)
    m.op(B.TANH, 0, None, [a], [c])
    (tmp_path / "tanh.tflite").write_bytes(m.serialize([a], [c]))
    with pytest.raises(GraphError, match=r"op 0 \(TANH\): unsupported op"):
        import_tflite(tmp_path / "tanh.tflite")


def test_float_model_is_refused(tmp_path):
    m = Model()
    x = m.tensor((1, 4), np.int8, 0.1, 0)
    m.tensors[x].type = schema.TensorType.FLOAT32
    y = m.tensor((1, 4), np.int8, 1 / 256, -128)
    m.tensors[y].type = schema.TensorType.FLOAT32
    m.op(B.SOFTMAX, O.SoftmaxOptions, schema.SoftmaxOptionsT(), [x], [y])
    (tmp_path / "f.tflite").write_bytes(m.serialize([x], [y]))
    with pytest.raises(GraphError, match="is float; mcusim imports int8-quantized models"):
        import_tflite(tmp_path / "f.tflite")


@pytest.mark.parametrize("content, message", [
    (b"", "not a TFLite flatbuffer"),
    (b"\x10\x00\x00\x00TFL3" + b"\xff" * 40, "corrupt TFLite flatbuffer"),
])
def test_hostile_files(tmp_path, capsys, content, message):
    (tmp_path / "bad.tflite").write_bytes(content)
    assert main(["import", str(tmp_path / "bad.tflite"), "-o", str(tmp_path / "m.graph")]) == 65
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_operator_missing_an_operand_is_one_line(tmp_path):
    m = Model()
    x = m.tensor((2, 4), np.int8, 0.1, 0)
    y = m.tensor((2,), np.int8, 0.1, 0)
    m.op(B.MEAN, O.ReducerOptions, schema.ReducerOptionsT(), [x], [y])  # the axes operand is missing
    (tmp_path / "mean.tflite").write_bytes(m.serialize([x], [y]))
    with pytest.raises(GraphError, match=r"op 0: malformed operator \(IndexError"):
        import_tflite(tmp_path / "mean.tflite")
