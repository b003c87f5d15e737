"""Models written by real converters, not by us, from models trained on digits: a Keras ViT
(LayerNormalization, MultiHeadAttention, GELU) and CNN converted by TensorFlow 2.21's TFLite converter
to full-integer int8, each with Keras' default dynamic batch and fixed at batch 1
(tests/models/converted/make_fixtures.py), and a PyTorch encoder and CNN converted by litert-torch and
quantized by ai-edge-quantizer (make_torch_fixtures.py). Each imports; each op, run alone in TFLM on the interpreter's inputs, equals the
interpreter on real digits (TFLM cannot run the ViTs whole: it has no GELU and no REDUCE_PROD; those
pieces run in LiteRT's reference kernels), every tensor of a whole CNN run equals TFLM's, and the
firmware equals the interpreter on boards. LiteRT is not the oracle for whole runs: its per-channel
FULLY_CONNECTED rounds a few values differently from TFLM's (1 in ~500 on these models)."""
from pathlib import Path

import flatbuffers
import numpy as np
import pytest
from sklearn.datasets import load_digits
from tflite_micro.python.tflite_micro import runtime
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from mcusim.boards import get_board
from mcusim.models.deploy import MemoryOptions, deploy
from mcusim.models.interpreter import run, run_all
from mcusim.models.runner import BoardRunner
from mcusim.models.tflite_import import import_tflite
from tests.kernels import tflite_oracle

CONVERTED = Path(__file__).parent / "converted"
MODELS = ["keras_vit", "keras_vit_batch1", "keras_cnn", "keras_cnn_batch1", "torch_vit", "torch_cnn"]


def digits(graph, count: int) -> list[np.ndarray]:
    """The last `count` digits (not in the fixtures' training set), quantized as the model's input."""
    x = graph.tensors[graph.inputs[0]]
    images = load_digits().images[-count:] / 16.0
    q = np.round(images / x.quant.scale[0]) + x.quant.zero_point[0]
    return [np.clip(v, -128, 127).astype(np.int8).reshape(x.shape) for v in q]


def tensor_indices(model: bytes) -> dict[str, int]:
    """Tensor name -> index in the flatbuffer's first subgraph."""
    sub = schema.Model.GetRootAs(model, 0).Subgraphs(0)
    return {sub.Tensors(i).Name().decode(): i for i in range(sub.TensorsLength())}


class OpOracle:
    """Each op of an imported graph run alone in TFLM, from the file: the file's ops that compute the
    op's output from its activation inputs (one op, or a folded float island's three) as a model of
    their own. TFLM has no GELU and no REDUCE_PROD: such
    a piece runs in LiteRT's reference kernels (ai-edge-litert, BUILTIN_REF) instead. Tensors get the
    shapes the import resolved (a dynamic batch's placeholders are not what was computed)."""

    def __init__(self, model: bytes, graph):
        self.model = schema.ModelT.InitFromPackedBuf(model, 0)
        self.sub = self.model.subgraphs[0]
        self.index = tensor_indices(model)
        self.producer = {int(t): k for k, op in enumerate(self.sub.operators) for t in op.outputs}
        for name, t in graph.tensors.items():
            if name in self.index:
                self.sub.tensors[self.index[name]].shape = list(t.shape)
                self.sub.tensors[self.index[name]].shapeSignature = None

    def piece(self, inputs: list[str], output: str) -> bytes:
        """The model of the file's ops between `inputs` and `output`."""
        stop = {self.index[name] for name in inputs}
        ops, todo = set(), [self.index[output]]
        while todo:
            t = todo.pop()
            if t in stop or t not in self.producer or self.producer[t] in ops:
                continue
            ops.add(self.producer[t])
            todo.extend(int(i) for i in self.sub.operators[self.producer[t]].inputs if i >= 0)
        everything = (self.sub.operators, self.sub.inputs, self.sub.outputs)
        self.sub.operators = [self.sub.operators[k] for k in sorted(ops)]
        self.sub.inputs, self.sub.outputs = [self.index[name] for name in inputs], [self.index[output]]
        builder = flatbuffers.Builder(1024)
        builder.Finish(self.model.Pack(builder), file_identifier=b"TFL3")
        self.sub.operators, self.sub.inputs, self.sub.outputs = everything
        return bytes(builder.Output())

    def run(self, inputs: list[str], output: str, values: list[np.ndarray]) -> np.ndarray:
        piece = self.piece(inputs, output)
        try:
            runtime.Interpreter.from_bytes(piece)
        except RuntimeError:  # an op TFLM lacks
            return tflite_oracle.run_litert(piece, *values)
        return tflite_oracle.run(piece, *values)


@pytest.mark.parametrize("name", MODELS)
def test_every_op_equals_tflite_micro(name):
    """Each op, given the interpreter's values of its inputs, computes TFLM's output bit for bit."""
    path = CONVERTED / f"{name}.tflite"
    graph = import_tflite(path)
    oracle = OpOracle(path.read_bytes(), graph)
    for x in digits(graph, 3):
        values = run_all(graph, [x])
        for op in graph.ops:
            if op.kind == "reshape":  # TFLM's RESHAPE copies the bytes (its shape input may be computed)
                assert values[op.outputs[0]].tobytes() == values[op.inputs[0]].tobytes()
                continue
            inputs = [t for t in op.inputs if graph.tensors[t].data is None]
            expected = oracle.run(inputs, op.outputs[0], [values[t] for t in inputs])
            np.testing.assert_array_equal(values[op.outputs[0]], expected.reshape(values[op.outputs[0]].shape),
                                          err_msg=f"{op.kind} -> {op.outputs[0]}")


@pytest.mark.parametrize("name", ["keras_cnn", "keras_cnn_batch1"])
def test_the_whole_cnn_equals_tflite_micro(name):
    """Every tensor of a whole run, TFLM's kPreserveAllTensors against the interpreter's."""
    path = CONVERTED / f"{name}.tflite"
    model = path.read_bytes()
    graph, indices = import_tflite(path), tensor_indices(model)
    tflm = runtime.Interpreter.from_bytes(model, intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors)
    computed = [t for t in graph.tensors.values() if t.data is None and t.name not in graph.inputs]
    assert len(computed) == len(graph.ops)
    for x in digits(graph, 8):
        ours = run_all(graph, [x])
        tflm.set_input(x, 0)
        tflm.invoke()
        for t in computed:
            theirs = tflm.GetTensor(indices[t.name], 0)["tensor_data"]
            np.testing.assert_array_equal(ours[t.name], theirs.reshape(ours[t.name].shape), err_msg=t.name)


def test_the_converted_models_classify_digits():
    """The int8 models are the trained ones (not noise that happens to match): most test digits are
    classified right."""
    labels = load_digits().target[-100:]
    for name in ("keras_vit_batch1", "keras_cnn_batch1", "torch_vit", "torch_cnn"):
        graph = import_tflite(CONVERTED / f"{name}.tflite")
        predictions = [int(np.argmax(run(graph, [x])[0])) for x in digits(graph, 100)]
        assert np.mean(np.array(predictions) == labels) > 0.8, name


@pytest.mark.toolchain
@pytest.mark.parametrize("board", ["stm32f427", "stm32f746"])
@pytest.mark.parametrize("name", ["keras_vit", "keras_cnn", "torch_vit"])
def test_the_firmware_equals_the_interpreter(name, board):
    graph = import_tflite(CONVERTED / f"{name}.tflite")
    runner = BoardRunner(deploy(graph, MemoryOptions()), get_board(board))
    for x in digits(graph, 2):
        outputs, _ = runner.run([x])
        np.testing.assert_array_equal(outputs[0], run(graph, [x])[0])
