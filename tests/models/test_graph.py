"""The Graph IR: validation messages, the file format and its hostile inputs, and the reference
interpreter against TFLite Micro on a one-op graph."""
import json
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcusim.models.graph import Graph, GraphError, Op, Quant, Tensor
from mcusim.models.ops.concatenation import ConcatenationAttrs
from mcusim.models.ops.fully_connected import FullyConnectedAttrs
from mcusim.models.ops.gelu_sigmoid import GeluSigmoidAttrs
from mcusim.models.ops.layer_norm import LayerNormAttrs
from mcusim.models.ops.lookup import GeluAttrs
from mcusim.models.ops.mean import MeanAttrs
from mcusim.models.ops.pad import PadAttrs
from mcusim.models.ops.slice import SliceAttrs
from mcusim.models.ops.transpose import TransposeAttrs
from mcusim.models.interpreter import run
from mcusim.models.ops.gelu_sigmoid import GeluSigmoidParams, gelu_sigmoid_s8
from mcusim.models.ops.layer_norm import LayerNormParams, layer_norm_s8


def fc_graph(batches=2, depth=5, channels=3, activation="none", seed=0) -> Graph:
    rng = np.random.default_rng(seed)
    w = rng.integers(-127, 128, (channels, depth), dtype=np.int8)
    bias = rng.integers(-500, 500, channels).astype(np.int32)
    w_scales = tuple(rng.uniform(0.005, 0.05, channels))
    tensors = [
        Tensor("x", (batches, depth), "int8", Quant((0.05,), (3,))),
        Tensor("w", (channels, depth), "int8", Quant(w_scales, (0,) * channels, axis=0), w),
        Tensor("b", (channels,), "int32", Quant(tuple(0.05 * s for s in w_scales), (0,) * channels, axis=0), bias),
        Tensor("y", (batches, channels), "int8", Quant((0.3,), (-7,))),
    ]
    ops = [Op("fully_connected", ("x", "w", "b"), ("y",), FullyConnectedAttrs(activation), name="fc")]
    return Graph({t.name: t for t in tensors}, ops, ["x"], ["y"])


def test_round_trip(tmp_path):
    g = fc_graph()
    g.metadata["source"] = "test"
    g.save(tmp_path / "m.graph")
    h = Graph.load(tmp_path / "m.graph")
    assert h.inputs == g.inputs and h.outputs == g.outputs and h.metadata == {"source": "test"}
    assert [(o.kind, o.inputs, o.outputs, o.attrs, o.name) for o in h.ops] == \
           [(o.kind, o.inputs, o.outputs, o.attrs, o.name) for o in g.ops]
    for name, t in g.tensors.items():
        u = h.tensors[name]
        assert (u.shape, u.dtype, u.quant) == (t.shape, t.dtype, t.quant)
        assert (u.data is None) == (t.data is None) and (t.data is None or np.array_equal(u.data, t.data))


@pytest.mark.parametrize("edit, message", [
    (lambda g: g.ops[0].__setattr__("inputs", ("x", "nope", "b")), "input 'nope' is missing"),
    (lambda g: g.tensors["y"].__setattr__("shape", (2, 4)), r"output shape \(2, 4\) does not hold 2 rows of 3"),
    (lambda g: g.tensors["x"].__setattr__("dtype", "int16"), "dtype 'int16' is not one of"),
    (lambda g: g.ops.append(Op("conv9d", ("y",), ("y",), name="bad")), "unknown op kind 'conv9d'"),
    (lambda g: g.tensors["w"].__setattr__("quant", Quant((0.1,), (5,))), "weights must be symmetric"),
    (lambda g: g.tensors["x"].__setattr__("quant", Quant((-1.0,), (0,))), "scales must be finite and positive"),
    (lambda g: g.outputs.append("x2"), "graph input/output 'x2' is not a tensor"),
    (lambda g: g.ops[0].__setattr__("attrs", FullyConnectedAttrs("gelu")), "activation 'gelu' not in"),
])
def test_validation_names_the_problem(edit, message):
    g = fc_graph()
    edit(g)
    with pytest.raises(GraphError, match=message):
        g.validate()


@pytest.mark.parametrize("name, content, message", [
    ("empty.graph", b"", "not a readable mcusim graph"),
    ("text.graph", b"hello", "not a readable mcusim graph"),
])
def test_unreadable_files(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(GraphError, match=message) as info:
        Graph.load(tmp_path / name)
    assert "\n" not in str(info.value)


def test_truncated_file(tmp_path):
    fc_graph().save(tmp_path / "m.graph")
    raw = (tmp_path / "m.graph").read_bytes()
    (tmp_path / "cut.graph").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(GraphError, match="cut.graph"):
        Graph.load(tmp_path / "cut.graph")


def _rewrite_header(tmp_path, change) -> str:
    fc_graph().save(tmp_path / "m.graph")
    with np.load(tmp_path / "m.graph") as npz:
        arrays = {k: npz[k] for k in npz.files}
    header = json.loads(arrays["graph.json"].tobytes())
    header = change(header)
    arrays["graph.json"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    np.savez(tmp_path / "edited.npz", **arrays)
    return str(tmp_path / "edited.npz")


@pytest.mark.parametrize("change, message", [
    (lambda h: {**h, "version": 99}, "version 99; this mcusim reads 1"),
    (lambda h: {**h, "format": "onnx"}, "not an mcusim graph"),
    (lambda h: {k: v for k, v in h.items() if k != "ops"}, "header: missing ops"),
    (lambda h: [1, 2], "not an mcusim graph"),
])
def test_bad_headers(tmp_path, change, message):
    with pytest.raises(GraphError, match=message):
        Graph.load(_rewrite_header(tmp_path, change))


def test_missing_file(tmp_path):
    with pytest.raises(GraphError, match="no such file"):
        Graph.load(tmp_path / "nope.graph")


def test_no_pickle_is_ever_loaded(tmp_path):
    np.savez(tmp_path / "p.npz", **{"graph.json": np.array([{"a": 1}], dtype=object)})
    with pytest.raises(GraphError):
        Graph.load(tmp_path / "p.npz")


def test_interpreter_checks_inputs():
    with pytest.raises(GraphError, match=r"input 'x': expected int8\[2, 5\]"):
        run(fc_graph(), [np.zeros((2, 4), np.int8)])


@settings(max_examples=30)
@given(st.integers(1, 3), st.integers(1, 20), st.integers(1, 5), st.sampled_from(["none", "relu", "relu6"]), st.integers(0, 1000))
def test_interpreter_equals_tflite_micro(batches, depth, channels, activation, seed):
    """The interpreter derives multipliers from the tensors' scales as TFLM does: same bits."""
    from tests.kernels import tflite_oracle

    g = fc_graph(batches, depth, channels, activation, seed)
    x = np.random.default_rng(seed + 1).integers(-128, 128, (batches, depth), dtype=np.int8)
    t = g.tensors
    expected = tflite_oracle.fully_connected(x, t["w"].data, t["b"].data, t["x"].quant.scale[0],
                                             t["x"].quant.zero_point[0], np.array(t["w"].quant.scale, np.float32),
                                             t["y"].quant.scale[0], t["y"].quant.zero_point[0], activation)
    np.testing.assert_array_equal(run(g, [x])[0], expected)


def token_graph(perm=(0, 2, 1), pads=((0, 0), (1, 0), (0, 2)), axis=-1, axes=(1,), approximate=True) -> Graph:
    """x [1,6,8] -transpose-> [1,8,6] -pad-> [1,9,8] -concat c [1,9,3]-> [1,9,11] -gelu-> -mean-> [1,11]."""
    q = Quant((0.05,), (-3,))
    tensors = [Tensor("x", (1, 6, 8), "int8", q), Tensor("t", (1, 8, 6), "int8", q), Tensor("p", (1, 9, 8), "int8", q),
               Tensor("c", (1, 9, 3), "int8", q), Tensor("cat", (1, 9, 11), "int8", q),
               Tensor("g", (1, 9, 11), "int8", Quant((0.04,), (-20,))), Tensor("y", (1, 11), "int8", Quant((0.02,), (7,)))]
    ops = [Op("transpose", ("x",), ("t",), TransposeAttrs(perm)), Op("pad", ("t",), ("p",), PadAttrs(pads, -3)),
           Op("concatenation", ("p", "c"), ("cat",), ConcatenationAttrs(axis)),
           Op("gelu", ("cat",), ("g",), GeluAttrs(approximate)), Op("mean", ("g",), ("y",), MeanAttrs(axes, False))]
    return Graph({t.name: t for t in tensors}, ops, ["x", "c"], ["y"])


def test_token_ops_round_trip(tmp_path):
    g = token_graph()
    g.save(tmp_path / "t.graph")
    h = Graph.load(tmp_path / "t.graph")
    assert [o.attrs for o in h.ops] == [o.attrs for o in g.ops]
    rng = np.random.default_rng(2)
    x, c = rng.integers(-128, 128, (1, 6, 8), dtype=np.int8), rng.integers(-128, 128, (1, 9, 3), dtype=np.int8)
    np.testing.assert_array_equal(run(h, [x, c])[0], run(g, [x, c])[0])


@pytest.mark.parametrize("kwargs, message", [
    ({"perm": (0, 1, 1)}, r"perm \(0, 1, 1\) is not a permutation"),
    ({"perm": (1, 0, 2)}, r"permuted by \(1, 0, 2\) is not"),
    ({"pads": ((0, 0), (1, 0))}, "must give .before, after. >= 0 for each of 3 axes"),
    ({"pads": ((0, 0), (2, 0), (0, 2))}, r"padded by .* is not \(1, 9, 8\)"),
    ({"axis": 1}, "do not concatenate along axis 1"),
    ({"axes": (1, 1)}, r"axes \(1, 1\) are not distinct axes"),
    ({"axes": (2,)}, r"has shape \(1, 9\), not \(1, 11\)"),
])
def test_token_op_validation_names_the_problem(kwargs, message):
    with pytest.raises(GraphError, match=message):
        token_graph(**kwargs).validate()


def layer_norm_graph(scale_bits=10, channels=12) -> Graph:
    rng = np.random.default_rng(4)
    gs = tuple(rng.uniform(0.005, 0.01, channels))
    tensors = [Tensor("x", (2, 3, channels), "int8", Quant((0.05,), (3,))),
               Tensor("g", (channels,), "int8", Quant(gs, (0,) * channels, axis=0),
                      rng.integers(-127, 128, channels, dtype=np.int8)),
               Tensor("b", (channels,), "int32", Quant(gs, (0,) * channels, axis=0),
                      rng.integers(-3000, 3000, channels).astype(np.int32)),
               Tensor("y", (2, 3, channels), "int8", Quant((0.03,), (-4,)))]
    ops = [Op("layer_norm", ("x", "g", "b"), ("y",), LayerNormAttrs(scale_bits, 1e-5, 3))]
    return Graph({t.name: t for t in tensors}, ops, ["x"], ["y"])


def test_layer_norm_graph_runs_the_reference(tmp_path):
    g = layer_norm_graph()
    g.save(tmp_path / "ln.graph")
    h = Graph.load(tmp_path / "ln.graph")
    x = np.random.default_rng(1).integers(-128, 128, (2, 3, 12), dtype=np.int8)
    p = LayerNormParams.from_quantization(0.05, g.tensors["g"].quant.scale, 0.03, -4, 12, 1e-5, 10, 3)
    expected = layer_norm_s8(x.reshape(6, 12), g.tensors["g"].data, g.tensors["b"].data, p).reshape(2, 3, 12)
    np.testing.assert_array_equal(run(h, [x])[0], expected)


def test_layer_norm_scale_out_of_range_is_named():
    with pytest.raises(GraphError, match="layer_norm of 12 channels at scale_bits 16: outside the legal range"):
        layer_norm_graph(scale_bits=16).validate()


def gelu_sigmoid_graph(output_scale=0.03) -> Graph:
    tensors = [Tensor("x", (4, 6), "int8", Quant((0.05,), (3,))),
               Tensor("y", (4, 6), "int8", Quant((output_scale,), (-20,)))]
    return Graph({t.name: t for t in tensors}, [Op("gelu_sigmoid", ("x",), ("y",), GeluSigmoidAttrs())], ["x"], ["y"])


def test_gelu_sigmoid_graph_runs_the_reference():
    x = np.random.default_rng(3).integers(-128, 128, (4, 6), dtype=np.int8)
    expected = gelu_sigmoid_s8(x, GeluSigmoidParams.from_quantization(0.05, 3, 0.03, -20))
    np.testing.assert_array_equal(run(gelu_sigmoid_graph(), [x])[0], expected)


def test_gelu_sigmoid_scales_out_of_range_are_named():
    with pytest.raises(GraphError, match="gelu_sigmoid: scales .* outside the legal range"):
        gelu_sigmoid_graph(output_scale=100.0).validate()


@pytest.mark.parametrize("begin, size, out, message", [
    ((0, 2), (1, 4), (4,), None),
    ((0, 3), (1, 4), (4,), r"the box at \(0, 3\) of size \(1, 4\) does not lie inside \(3, 6\)"),
    ((0, 2), (2, 4), (4,), r"a box of size \(2, 4\) cannot give \(4,\)"),
])
def test_slice_validation(begin, size, out, message):
    q = Quant((0.1,), (0,))
    g = Graph({"x": Tensor("x", (3, 6), "int8", q), "y": Tensor("y", out, "int8", q)},
              [Op("slice", ("x",), ("y",), SliceAttrs(begin, size))], ["x"], ["y"])
    if message is None:
        x = np.arange(18, dtype=np.int8).reshape(3, 6)
        np.testing.assert_array_equal(run(g, [x])[0], [2, 3, 4, 5])
    else:
        with pytest.raises(GraphError, match=message):
            g.validate()
