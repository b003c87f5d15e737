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
    with pytest.raises(GraphError, match=r"op 0 \(MEAN\): takes 2 inputs and one output; got 1 and 1"):
        import_tflite(tmp_path / "mean.tflite")
