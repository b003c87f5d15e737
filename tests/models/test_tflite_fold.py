"""What converters write around int8 ops (models/tflite_fold.py), on hand-built flatbuffers: shape
arithmetic folded, float islands made tables equal to TFLM, and each refusal one GraphError naming
the op. The converter-written models of tests/models/test_converted.py exercise the same on real files."""
import numpy as np
import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from mcusim.cli import main
from mcusim.models.graph import GraphError
from mcusim.models.interpreter import run
from mcusim.models.tflite_import import import_tflite
from tests.kernels import tflite_oracle
from tests.kernels.tflite_oracle import Model

B, O = schema.BuiltinOperator, schema.BuiltinOptions
NO_QUANT = ([], [])


def _write(tmp_path, model: bytes):
    path = tmp_path / "m.tflite"
    path.write_bytes(model)
    return path


def _const(m: Model, values) -> int:
    values = np.asarray(values, np.int32)
    return m.tensor(values.shape, np.int32, *NO_QUANT, values)


def _island(float_ops, read_twice: bool = False) -> bytes:
    """int8 (2, 32) -> DEQUANTIZE -> float_ops -> QUANTIZE -> int8 (2, 32); read_twice: the float
    tensor is also the second operand of an ADD (float)."""
    m = Model()
    x = m.tensor((2, 32), np.int8, 0.05, 3)
    value = m.tensor((2, 32), np.float32, *NO_QUANT)
    m.op(B.DEQUANTIZE, O.NONE, None, [x], [value])
    for opcode in float_ops:
        nxt = m.tensor((2, 32), np.float32, *NO_QUANT)
        m.op(opcode, O.NONE, None, [value], [nxt])
        value = nxt
    if read_twice:
        other = m.tensor((2, 32), np.float32, *NO_QUANT)
        m.op(B.ADD, O.AddOptions, schema.AddOptionsT(), [value, value], [other])
    y = m.tensor((2, 32), np.int8, 0.04, -7)
    m.op(B.QUANTIZE, O.NONE, None, [value], [y])
    return m.serialize([x], [y])


def test_a_float_island_is_one_table_equal_to_tflite_micro(tmp_path):
    model = _island([B.NEG, B.ABS, B.RELU, B.NEG])
    graph = import_tflite(_write(tmp_path, model))
    assert [op.kind for op in graph.ops] == ["table"]
    x = np.arange(-128, 128, dtype=np.int8).reshape(8, 32)
    for rows in x.reshape(4, 2, 32):
        np.testing.assert_array_equal(run(graph, [rows])[0], tflite_oracle.run(model, rows))


def test_a_requantization_through_float_is_a_table(tmp_path):
    model = _island([])
    graph = import_tflite(_write(tmp_path, model))
    assert [op.kind for op in graph.ops] == ["table"]
    x = np.arange(-128, 128, dtype=np.int8).reshape(4, 2, 32)
    for rows in x:
        np.testing.assert_array_equal(run(graph, [rows])[0], tflite_oracle.run(model, rows))


@pytest.mark.parametrize("float_ops, read_twice, message", [
    ([B.EXP], False, "ops 0-1 (DEQUANTIZE -> EXP): a float island through EXP; mcusim folds only NEG"),
    ([B.NEG], True, "a float island whose float tensor is read 3 times"),
])
def test_an_island_that_cannot_fold_is_named(tmp_path, capsys, float_ops, read_twice, message):
    path = _write(tmp_path, _island(float_ops, read_twice))
    assert main(["import", str(path), "-o", str(tmp_path / "m.graph")]) == 65
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


def _dynamic_fc(gather_index: int = 1, big: bool = False) -> bytes:
    """x (1, 4, 6), dynamic batch -> RESHAPE to [prod(shape(x)[0:2]), 6] computed by SHAPE, GATHER,
    REDUCE_PROD and PACK -> FULLY_CONNECTED 6 -> 5 -> RESHAPE to CONCATENATION(shape(x)[0:2], [5]):
    the converter's Tensordot around a 3-D Dense. The placeholders of the computed shapes are [1, 1]
    and [1, 5], as the converter writes them."""
    m = Model()
    x = m.tensor((1, 4, 6), np.int8, 0.05, 3)
    shape = m.tensor((3,), np.int32, *NO_QUANT)
    options = schema.ShapeOptionsT()
    options.outType = schema.TensorType.INT32
    m.op(B.SHAPE, O.ShapeOptions, options, [x], [shape])
    lead = m.tensor((2,), np.int32, *NO_QUANT)
    gather = schema.GatherOptionsT()
    m.op(B.GATHER, O.GatherOptions, gather, [shape, _const(m, [0, gather_index])], [lead])
    rows = m.tensor((), np.int32, *NO_QUANT)
    m.op(B.REDUCE_PROD, O.ReducerOptions, schema.ReducerOptionsT(), [lead, _const(m, [0])], [rows])
    target = m.tensor((2,), np.int32, *NO_QUANT)
    pack = schema.PackOptionsT()
    pack.valuesCount = 2
    m.op(B.PACK, O.PackOptions, pack, [rows, _const(m, 6)], [target])
    flat = m.tensor((1, 1), np.int8, 0.05, 3)
    m.op(B.RESHAPE, O.NONE, None, [x, target], [flat])
    w = m.tensor((5, 6), np.int8, 0.02, 0, np.arange(-15, 15, dtype=np.int8).reshape(5, 6))
    out = m.tensor((1, 5), np.int8, 0.1, -2)
    m.op(B.FULLY_CONNECTED, O.FullyConnectedOptions, schema.FullyConnectedOptionsT(), [flat, w, -1],
         [out])
    back = m.tensor((3,), np.int32, *NO_QUANT)
    tail = _const(m, np.arange(63) if big else [5])
    concat = schema.ConcatenationOptionsT()
    m.op(B.CONCATENATION, O.ConcatenationOptions, concat, [lead, tail], [back])
    y = m.tensor((1, 4, 5), np.int8, 0.1, -2)
    m.op(B.RESHAPE, O.NONE, None, [out, back], [y])
    for index, signature in ((x, [-1, 4, 6]), (flat, [-1, -1]), (out, [-1, 5]), (y, [-1, 4, 5])):
        m.tensors[index].shapeSignature = signature
    return m.serialize([x], [y])


def test_shape_arithmetic_is_folded_for_the_input_shape(tmp_path):
    model = _dynamic_fc()
    graph = import_tflite(_write(tmp_path, model))
    assert [op.kind for op in graph.ops] == ["reshape", "fully_connected", "reshape"]
    assert [graph.tensors[op.outputs[0]].shape for op in graph.ops] == [(4, 6), (4, 5), (1, 4, 5)]
    for seed in range(3):  # TFLM has no REDUCE_PROD
        x = np.random.default_rng(seed).integers(-128, 128, (1, 4, 6), dtype=np.int8)
        np.testing.assert_array_equal(run(graph, [x])[0], tflite_oracle.run_litert(model, x))


@pytest.mark.parametrize("model, message", [
    (lambda: _dynamic_fc(gather_index=3), "op 1 (GATHER): indices [0, 3] outside an axis of 3"),
    (lambda: _dynamic_fc(big=True), "op 6 (CONCATENATION): folds to 65 values; shape arithmetic holds at most 64"),
])
def test_shape_arithmetic_is_checked(tmp_path, capsys, model, message):
    assert main(["import", str(_write(tmp_path, model())), "-o", str(tmp_path / "m.graph")]) == 65
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


def test_a_bias_with_the_convs_quantized_dimension_imports(tmp_path):
    """TFLM's person-detection model writes axis 3 on its conv biases of shape (C,); TFLM ignores it."""
    m = Model()
    x = m.tensor((1, 5, 5, 2), np.int8, 0.05, 3)
    scales = np.array([0.01, 0.02, 0.03], np.float32)
    w = m.tensor((3, 3, 3, 2), np.int8, scales, np.zeros(3), np.ones((3, 3, 3, 2), np.int8))
    b = m.tensor((3,), np.int32, scales * np.float32(0.05), np.zeros(3), np.array([10, -20, 30], np.int32), axis=3)
    y = m.tensor((1, 3, 3, 3), np.int8, 0.1, 0)
    options = schema.Conv2DOptionsT()
    options.padding, options.strideH, options.strideW = schema.Padding.VALID, 1, 1
    options.dilationHFactor = options.dilationWFactor = 1
    model = m.single(B.CONV_2D, O.Conv2DOptions, options, [x, w, b], [y])
    graph = import_tflite(_write(tmp_path, model))
    xs = np.random.default_rng(1).integers(-128, 128, (1, 5, 5, 2), dtype=np.int8)
    np.testing.assert_array_equal(run(graph, [xs])[0], tflite_oracle.run(model, xs))


def test_an_int16_tensor_names_the_op_that_needs_it(tmp_path):
    m = Model()
    x = m.tensor((4,), np.int8, 0.05, 0)
    h = m.tensor((4,), np.int8, 0.001, 0)
    m.tensors[h].type = schema.TensorType.INT16
    y = m.tensor((4,), np.int8, 0.05, 0)
    m.op(B.QUANTIZE, O.NONE, None, [x], [h])
    m.op(B.QUANTIZE, O.NONE, None, [h], [y])
    with pytest.raises(GraphError, match=r"op 0 \(QUANTIZE\): tensor 'tensor1' is INT16; mcusim imports int8"):
        import_tflite(_write(tmp_path, m.serialize([x], [y])))
