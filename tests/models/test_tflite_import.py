"""`mcusim import`: an int8 .tflite of conv -> depthwise -> pool -> reshape -> FC -> softmax, and the
other models of tests/models/tflite_models.py, imported and run by the reference interpreter, equal
TFLite Micro bit for bit; unsupported and hostile files get one-line errors."""
import numpy as np
import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from mcusim.cli import main
from mcusim.models.graph import Graph, GraphError
from mcusim.models.interpreter import run
from mcusim.models.ops.conv2d import padding
from mcusim.models.tflite_import import import_tflite
from tests.kernels import tflite_oracle
from tests.kernels.tflite_oracle import Model
from tests.models import tflite_models
from tests.models.tflite_models import small_cnn

B = schema.BuiltinOperator
O = schema.BuiltinOptions


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
    """relu(a + b) * a, two inputs (tflite_models.residual_block)."""
    model = tflite_models.residual_block()
    (tmp_path / "res.tflite").write_bytes(model)
    graph = import_tflite(tmp_path / "res.tflite")
    rng = np.random.default_rng(7)
    for _ in range(5):
        xa, xb = (rng.integers(-128, 128, (2, 16), dtype=np.int8) for _ in range(2))
        np.testing.assert_array_equal(run(graph, [xa, xb])[0], tflite_oracle.run(model, xa, xb))


def test_float_edges_equal_tflite_micro(tmp_path, capsys):
    """float32 in and out around QUANTIZE and DEQUANTIZE (tflite_models.float_edges); also through
    `mcusim infer` with a float .npy."""
    rng = np.random.default_rng(3)
    model = tflite_models.float_edges(rng)
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
    """Q.K^T then SOFTMAX, with TFLite's adjoint flags (tflite_models.attention_scores)."""
    model = tflite_models.attention_scores(adj_x, adj_y)
    (tmp_path / "att.tflite").write_bytes(model)
    graph = import_tflite(tmp_path / "att.tflite")
    rng = np.random.default_rng(11)
    xq, xk = (rng.integers(-128, 128, graph.tensors[name].shape, dtype=np.int8) for name in graph.inputs)
    np.testing.assert_array_equal(run(graph, [xq, xk])[0], tflite_oracle.run(model, xq, xk))


def test_multi_head_attention_equals_tflite_micro(tmp_path):
    """A ViT's self-attention, 2 heads over 5 tokens of 8 (tflite_models.multi_head_attention)."""
    rng = np.random.default_rng(21)
    model = tflite_models.multi_head_attention(rng)
    (tmp_path / "mhsa.tflite").write_bytes(model)
    graph = import_tflite(tmp_path / "mhsa.tflite")
    assert [op.kind for op in graph.ops].count("batch_matmul") == 2
    for _ in range(5):
        xx = rng.integers(-128, 128, (5, 8), dtype=np.int8)
        np.testing.assert_array_equal(run(graph, [xx])[0], tflite_oracle.run(model, xx))


def test_seqpool_equals_tflite_micro(tmp_path):
    """TinyFormer's SeqPool head over 9 tokens of 12 (tflite_models.seqpool)."""
    rng = np.random.default_rng(8)
    model = tflite_models.seqpool(rng)
    (tmp_path / "seqpool.tflite").write_bytes(model)
    graph = import_tflite(tmp_path / "seqpool.tflite")
    for _ in range(5):
        xx = rng.integers(-128, 128, (9, 12), dtype=np.int8)
        np.testing.assert_array_equal(run(graph, [xx])[0], tflite_oracle.run(model, xx))


@pytest.mark.parametrize("strided", [False, True])
def test_class_token_head_equals_tflite_micro(tmp_path, strided):
    """A class token prepended, then taken back out by SLICE or STRIDED_SLICE, over 6 tokens of 10
    (tflite_models.class_token_head)."""
    rng = np.random.default_rng(12)
    model = tflite_models.class_token_head(strided, rng)
    (tmp_path / "cls.tflite").write_bytes(model)
    graph = import_tflite(tmp_path / "cls.tflite")
    assert "slice" in [op.kind for op in graph.ops]
    for _ in range(5):
        xx = rng.integers(-128, 128, (6, 10), dtype=np.int8)
        np.testing.assert_array_equal(run(graph, [xx])[0], tflite_oracle.run(model, xx))


def test_token_ops_equal_tflite_micro(tmp_path):
    """TRANSPOSE, PAD, CONCATENATION with a second input, MEAN over tokens (tflite_models.token_ops)."""
    model = tflite_models.token_ops()
    (tmp_path / "tokens.tflite").write_bytes(model)
    graph = import_tflite(tmp_path / "tokens.tflite")
    assert [op.kind for op in graph.ops] == ["transpose", "pad", "concatenation", "mean"]
    rng = np.random.default_rng(5)
    for _ in range(5):
        xx, xc = rng.integers(-128, 128, (1, 6, 8), dtype=np.int8), rng.integers(-128, 128, (1, 9, 3), dtype=np.int8)
        np.testing.assert_array_equal(run(graph, [xx, xc])[0], tflite_oracle.run(model, xx, xc))


def _imported_equals_tflite_micro(tmp_path, model: bytes, seed: int, kinds: list[str] | None = None):
    """Import `model`, check its op kinds (if given), and run it on 5 draws of random inputs in the
    reference interpreter and in TFLM."""
    (tmp_path / "m.tflite").write_bytes(model)
    graph = import_tflite(tmp_path / "m.tflite")
    if kinds is not None:
        assert [op.kind for op in graph.ops] == kinds
    rng = np.random.default_rng(seed)
    for _ in range(5):
        xs = [rng.integers(-128, 128, graph.tensors[name].shape, dtype=np.int8) for name in graph.inputs]
        np.testing.assert_array_equal(run(graph, xs)[0], tflite_oracle.run(model, *xs))
    return graph


@pytest.mark.parametrize("keep_num_dims", [False, True])
def test_fc_on_tokens_equals_tflite_micro(tmp_path, keep_num_dims):
    """FULLY_CONNECTED on [1, 7, 12] with either keep_num_dims (tflite_models.fc_tokens)."""
    graph = _imported_equals_tflite_micro(tmp_path, tflite_models.fc_tokens(keep_num_dims), 14)
    assert graph.tensors[graph.outputs[0]].shape == ((1, 7, 10) if keep_num_dims else (7, 10))


def test_4d_multi_head_attention_equals_tflite_micro(tmp_path):
    """Attention over [1, heads, tokens, dim] (BATCH_MATMUL adj_y, then plain) between FCs that keep
    their input's dims (tflite_models.multi_head_attention_4d)."""
    graph = _imported_equals_tflite_micro(tmp_path, tflite_models.multi_head_attention_4d(), 22)
    assert [graph.tensors[op.outputs[0]].shape for op in graph.ops if op.kind == "batch_matmul"] == [
        (1, 2, 6, 6), (1, 2, 6, 4)]


@pytest.mark.parametrize("adj_x", [False, True])
def test_broadcast_batch_matmul_equals_tflite_micro(tmp_path, adj_x):
    """[2, 1, 5, 8] times [3, 8, 6] -> [2, 3, 5, 6] (tflite_models.broadcast_matmul)."""
    _imported_equals_tflite_micro(tmp_path, tflite_models.broadcast_matmul(adj_x), 17, ["batch_matmul"])


@pytest.mark.parametrize("scalar", [False, True])
def test_gather_squeeze_expand_dims_equal_tflite_micro(tmp_path, scalar):
    """GATHER of tokens (an index matrix, or the scalar class-token index), SQUEEZE, FC, EXPAND_DIMS
    (tflite_models.gather_tokens); SQUEEZE and EXPAND_DIMS are reshapes."""
    _imported_equals_tflite_micro(tmp_path, tflite_models.gather_tokens(scalar), 16,
                                  ["gather", "reshape", "fully_connected", "reshape"])


def test_gather_indices_outside_the_axis_are_refused(tmp_path):
    m = Model()
    x = m.tensor((4, 3), np.int8, 0.1, 0)
    y = m.tensor((2, 3), np.int8, 0.1, 0)
    m.op(B.GATHER, O.GatherOptions, schema.GatherOptionsT(),
         [x, m.tensor((2,), np.int32, 1.0, 0, np.array([1, 4], np.int32))], [y])
    (tmp_path / "g.tflite").write_bytes(m.serialize([x], [y]))
    with pytest.raises(GraphError, match=r"\(GATHER\).*indices \[1, 4\] outside \[0, 4\)"):
        import_tflite(tmp_path / "g.tflite")


@pytest.mark.parametrize("approximate", [False, True])
def test_fc_gelu_equals_litert(tmp_path, approximate):
    """FC -> GELU (tflite_models.fc_gelu); TFLM has no GELU, so LiteRT's reference kernels judge."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    rng = np.random.default_rng(9)
    model = tflite_models.fc_gelu(approximate, rng)
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
    m.op(B.EXP, 0, None, [a], [c])
    (tmp_path / "exp.tflite").write_bytes(m.serialize([a], [c]))
    with pytest.raises(GraphError, match=r"op 0 \(EXP\): unsupported op"):
        import_tflite(tmp_path / "exp.tflite")


def test_unary_ops_equal_tflite_micro(tmp_path):
    """QUANTIZE int8 -> int8, RELU, LEAKY_RELU, HARD_SWISH, TANH, LOGISTIC, RELU6 and RSQRT in a chain,
    each imported as its 256-entry table (models/ops/activations.py), equal TFLM on every input byte."""
    m = Model()
    chain = [  # (op code, options type, options, output scale, output zero point)
        (B.QUANTIZE, 0, None, 0.1, -5), (B.RELU, 0, None, 0.05, -20),
        (B.LEAKY_RELU, O.LeakyReluOptions, schema.LeakyReluOptionsT(), 0.04, 0),
        (B.HARD_SWISH, 0, None, 0.03, -30), (B.TANH, 0, None, 1 / 128, 0), (B.LOGISTIC, 0, None, 1 / 256, -128),
        (B.RELU6, 0, None, 1 / 256, -128), (B.RSQRT, 0, None, 0.02, -128),
    ]
    chain[2][2].alpha = 0.3
    x = first = m.tensor((4, 64), np.int8, 0.05, 3)
    for opcode, options_type, options, scale, zero_point in chain:
        y = m.tensor((4, 64), np.int8, scale, zero_point)
        m.op(opcode, options_type, options, [x], [y])
        x = y
    model = m.serialize([first], [x])
    (tmp_path / "unary.tflite").write_bytes(model)
    graph = import_tflite(tmp_path / "unary.tflite")
    assert [op.kind for op in graph.ops] == ["requantize", "relu", "leaky_relu", "hard_swish", "tanh", "logistic",
                                            "relu6", "rsqrt"]
    xx = np.arange(-128, 128, dtype=np.int8).reshape(4, 64)
    np.testing.assert_array_equal(run(graph, [xx])[0], tflite_oracle.run(model, xx))


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
    with pytest.raises(GraphError, match=r"op 0 \(MEAN\): takes 2 inputs and one output; got 1 and 1"):
        import_tflite(tmp_path / "mean.tflite")


def test_broadcasting_binary_ops_equal_tflite_micro(tmp_path):
    """SUB, SQUARED_DIFFERENCE, MUL, ADD (constants of rank 0 to 3), MAXIMUM and MINIMUM broadcasting
    around a MEAN, as a converted LayerNorm has them (tflite_models.broadcast_ops): imported and run by
    the reference interpreter, equal TFLM; each binary op's C kernel call (host build, DSP path) equals
    the reference on the same inputs."""
    from mcusim.models.blob import Arena
    from mcusim.models.deploy import MemoryOptions, lower_op
    from mcusim.models.interpreter import Interpreter
    from mcusim.models.kernels import HostKernels, execute

    rng = np.random.default_rng(12)
    model = tflite_models.broadcast_ops(rng)
    (tmp_path / "b.tflite").write_bytes(model)
    graph = import_tflite(tmp_path / "b.tflite")
    assert [op.kind for op in graph.ops] == ["mean", "sub", "squared_difference", "mul", "add", "add", "sub",
                                            "maximum", "minimum"]
    kernels = HostKernels(dsp=True)
    for _ in range(5):
        x, z = rng.integers(-128, 128, (1, 7, 8), dtype=np.int8), rng.integers(-128, 128, (8,), dtype=np.int8)
        values = Interpreter(graph).run_all([x, z])
        np.testing.assert_array_equal(values[graph.outputs[0]], tflite_oracle.run(model, x, z))
        for op in graph.ops[1:]:
            (call,) = lower_op(graph, op, MemoryOptions())
            arrays = {a.tensor: values[a.tensor] for a in call.args[:-1] if isinstance(a, Arena)}
            got = execute(kernels, call, None, np.int8, **arrays)
            np.testing.assert_array_equal(got.reshape(values[op.outputs[0]].shape), values[op.outputs[0]])
