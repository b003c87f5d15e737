"""Issue 21's reproducers on the model side: hostile graph files, .tflite files, input arrays,
checkpoints and datasets. Each is built programmatically from a valid file (a graph saved by
Graph.save and edited at the JSON or npz level; a .tflite of tests/models/tflite_models.py edited
through the flatbuffer object API) and must give its one-line McusimError, without blocking and
without a large allocation (every test runs under a time alarm and a bound on the peak RSS)."""
import io
import json
import os
import resource
import signal
import zipfile
from contextlib import contextmanager
from pathlib import Path

import flatbuffers
import numpy as np
import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from mcusim.cli import main
from mcusim.errors import McusimError
from mcusim.models import datasets
from mcusim.models.arrays import InputError, load_arrays, prepare_inputs
from mcusim.models.graph import MAX_FILE_BYTES, Graph, GraphError
from mcusim.models.tflite_import import import_tflite
from mcusim.models.train import CheckpointError, read_checkpoint, read_checkpoint_file
from tests.models.tflite_models import MODELS, small_cnn

GROWTH = 200 << 20  # the peak RSS may grow by this much per test, no more
SECONDS = 30


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@pytest.fixture(autouse=True)
def bounded():
    """Every test: a SIGALRM after SECONDS (a hang fails instead of blocking the suite) and the peak
    RSS grown by less than GROWTH."""
    def expire(signum, frame):
        raise AssertionError(f"still running after {SECONDS} s")

    before, previous = _peak_rss(), signal.signal(signal.SIGALRM, expire)
    signal.alarm(SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert _peak_rss() - before < GROWTH


@contextmanager
def refused(error: type[McusimError], *fragments: str):
    """The block raises `error`, one line holding every fragment."""
    with pytest.raises(error) as info:
        yield
    message = str(info.value)
    assert "\n" not in message and len(message) < 2000, message
    for fragment in fragments:
        assert fragment in message, message


def cli(argv: list[str], capsys) -> str:
    """Run `mcusim ARGV` in-process; it must exit 64 or 65 with one line on stderr and no traceback.
    Returns that line."""
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert code in (64, 65), (code, err)
    assert "Traceback" not in err and err.count("\n") == 1 and err.startswith("mcusim: "), err
    return err


# ---- building hostile files ------------------------------------------------------------------------

@pytest.fixture
def cnn_graph(tmp_path) -> Path:
    """The small CNN (conv, depthwise, max pool, reshape, FC, softmax) as a valid graph file."""
    (tmp_path / "cnn.tflite").write_bytes(small_cnn())
    import_tflite(tmp_path / "cnn.tflite").save(tmp_path / "cnn.graph")
    return tmp_path / "cnn.graph"


def _arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as npz:
        return {k: npz[k] for k in npz.files}


def _header(arrays: dict) -> dict:
    return json.loads(arrays["graph.json"].tobytes())


def edited_graph(path: Path, edit, text=None) -> Path:
    """The graph file at `path` with its header edited in place by edit(header) (or replaced by the
    bytes `text`), written next to it."""
    arrays = _arrays(path)
    header = _header(arrays)
    if edit is not None:
        edit(header)
    raw = text if text is not None else json.dumps(header, allow_nan=True).encode()
    arrays["graph.json"] = np.frombuffer(raw, np.uint8)
    out = path.with_name("edited.graph")
    _savez(out, arrays)
    return out


def edited_tflite(tmp_path: Path, edit, build=small_cnn) -> Path:
    """A .tflite of `build` with edit(model) applied to its object tree (schema.ModelT), re-packed."""
    model = schema.ModelT.InitFromPackedBuf(build(), 0)
    edit(model)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path = tmp_path / "edited.tflite"
    path.write_bytes(bytes(builder.Output()))
    return path


def _savez(path: Path, arrays: dict) -> None:
    with open(path, "wb") as f:  # np.savez(path) would add .npz to the name
        np.savez(f, **arrays)


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def _zip(members: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buffer.getvalue()


def _npy_header(shape, dtype="<i8") -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


# ---- files that are not files ----------------------------------------------------------------------

@pytest.fixture
def fifo(tmp_path) -> Path:
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path  # opening it for reading would block until a writer came: it must be refused unopened


def test_fifo_graph_is_refused_unopened(fifo, capsys, tmp_path):
    with refused(GraphError, "not a regular file"):
        Graph.load(fifo)
    assert "not a regular file" in cli(["infer", fifo, "--input", fifo, "-o", tmp_path / "y.npy"], capsys)


def test_fifo_tflite_input_and_checkpoint_are_refused(fifo, cnn_graph, capsys, tmp_path):
    assert "not a regular file" in cli(["import", fifo, "-o", tmp_path / "m.graph"], capsys)
    assert "not a regular file" in cli(["infer", cnn_graph, "--input", fifo, "-o", tmp_path / "y.npy"], capsys)
    with refused(CheckpointError, "not a regular file"):
        read_checkpoint_file(fifo)
    with refused(datasets.DatasetError, "not a regular file"):
        datasets.load(f"npz:{fifo}", "train")
    with refused(datasets.DatasetError, "not a regular file"):
        datasets._read_idx(fifo, 1)


def test_dev_zero_is_refused():
    for read in (Graph.load, import_tflite, lambda p: load_arrays([p])):
        with refused(McusimError, "not a regular file"):
            read("/dev/zero")


# ---- archives: inflation, corrupt members, declared shapes -------------------------------------------

def test_graph_inflating_beyond_the_bound_is_refused(cnn_graph, tmp_path):
    members = _members(cnn_graph)
    members["t0.npy"] = _npy_header((MAX_FILE_BYTES,), "|i1") + bytes(MAX_FILE_BYTES)  # compresses 1000:1
    bomb = tmp_path / "bomb.graph"
    bomb.write_bytes(_zip(members))
    assert bomb.stat().st_size < MAX_FILE_BYTES // 100
    with refused(GraphError, "inflate to", "more than"):
        Graph.load(bomb)


def test_corrupt_deflate_stream_is_one_line(cnn_graph, tmp_path):
    raw = bytearray(_zip(_members(cnn_graph)))
    at = raw.index(b"graph.json.npy") + len("graph.json.npy") + 10  # inside the header member's deflate stream
    raw[at:at + 8] = b"\xff" * 8
    (tmp_path / "z.graph").write_bytes(bytes(raw))
    with refused(GraphError, "z.graph"):
        Graph.load(tmp_path / "z.graph")


def test_a_library_quoting_hostile_bytes_still_gives_one_short_line(cnn_graph, tmp_path, capsys):
    """zipfile's error for a member whose local and central names differ quotes both names: 3,000
    bytes each here. The command's error stays one line of at most 1,000 characters (found by `make fuzz`)."""
    members = _members(cnn_graph)
    name = next(n for n in members if n != "graph.json.npy")
    long = "a" * 3000
    raw = bytearray(_zip({**members, long: members[name]}))
    local = raw.index(long.encode())  # the local header's copy comes first; the central directory's stays
    raw[local:local + len(long)] = b"b" * len(long)
    (tmp_path / "names.graph").write_bytes(bytes(raw))
    assert main(["check", str(tmp_path / "names.graph"), "--board", "stm32f746"]) == 65
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("mcusim: ") and len(err) <= 1000 + len("mcusim: \n"), err


def test_unsupported_compression_method_is_one_line(cnn_graph, tmp_path):
    raw = bytearray(_zip(_members(cnn_graph), zipfile.ZIP_STORED))
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):  # local and central headers' method
        start = 0
        while (start := raw.find(signature, start)) >= 0:
            raw[start + offset:start + offset + 2] = (99).to_bytes(2, "little")
            start += 4
    (tmp_path / "m99.graph").write_bytes(bytes(raw))
    with refused(GraphError, "not a readable mcusim graph file (NotImplementedError"):
        Graph.load(tmp_path / "m99.graph")


def test_terabyte_declared_by_an_array_is_refused_before_allocating(cnn_graph, tmp_path):
    members = _members(cnn_graph)
    members["t0.npy"] = _npy_header((1 << 37,)) + bytes(64)  # 1 TiB declared, 64 bytes held
    (tmp_path / "tib.graph").write_bytes(_zip(members))
    with refused(GraphError, "declares int64[137438953472]", "holds 64 bytes"):
        Graph.load(tmp_path / "tib.graph")
    (tmp_path / "tib.npy").write_bytes(_npy_header((1 << 37,)) + bytes(64))
    with refused(InputError, "declares"):
        load_arrays([tmp_path / "tib.npy"])


def test_non_array_member_is_refused(cnn_graph, tmp_path):
    members = _members(cnn_graph)
    members["graph.json.npy"] = b"{}"  # numpy would hand back raw bytes, not an array
    (tmp_path / "raw.graph").write_bytes(_zip(members))
    with refused(GraphError, "not a readable mcusim graph file"):
        Graph.load(tmp_path / "raw.graph")


# ---- the graph header ------------------------------------------------------------------------------

def test_deep_json_is_one_line(cnn_graph):
    with refused(GraphError, "nested too deeply"):
        Graph.load(edited_graph(cnn_graph, None, text=b"[" * 100_000 + b"]" * 100_000))


def _set(path: str, value):
    """An edit setting header[path] (keys and indices separated by '/') to value."""
    def edit(header):
        *parents, last = [int(k) if k.lstrip("-").isdigit() else k for k in path.split("/")]
        node = header
        for key in parents:
            node = node[key]
        node[last] = value
    return edit


def _drop(path: str):
    def edit(header):
        *parents, last = [int(k) if k.isdigit() else k for k in path.split("/")]
        node = header
        for key in parents:
            node = node[key]
        del node[last]
    return edit


@pytest.mark.parametrize("edit, fragments", [
    # types: a shape's 8.7 or "1881" is neither truncated nor parsed; booleans are JSON booleans
    (_set("tensors/0/shape/1", 8.7), ("tensors[0].shape[1]: 8.7 is not a 32-bit integer",)),
    (_set("tensors/0/shape/1", "1881"), ("tensors[0].shape[1]: '1881' is not a 32-bit integer",)),
    (_set("tensors/0/shape/1", True), ("True is not a 32-bit integer",)),
    (_set("tensors/0/shape/1", 2 ** 40), ("is not a 32-bit integer",)),
    (_set("tensors/0/shape", "12"), ("tensors[0].shape: expected a list",)),
    (_set("tensors", [1, 2]), ("header.tensors[0]: expected an object, got 1",)),
    (_set("tensors/0/quant/scale/0", "0.02"), ("scale[0]: '0.02' is not a finite number",)),
    (_set("tensors/0/quant/zero_point/0", 1.5), ("zero_point[0]: 1.5 is not a 32-bit integer",)),
    (_set("ops/0/attrs/stride", [1, "1"]), ("ops[0] ('CONV_2D').attrs.stride[1]: '1' is not",)),
    (_set("ops/0/attrs/stride", [1, 1, 1]), ("attrs.stride: expected 2 values, got 3",)),
    (_set("ops/0/attrs/activation", 1), ("attrs.activation: 1 is not a string",)),
    (_set("ops/0/attrs/bogus", 1), ("attrs: unknown field 'bogus'",)),
    (_drop("ops/0/attrs"), ("ops[0]: missing attrs",)),
    (_drop("tensors/0/dtype"), ("tensors[0]: missing dtype",)),
    (_set("ops/0/inputs", ["tensor0", 5]), ("ops[0].inputs[1]: 5 is not a string",)),
    (_set("inputs", "tensor0"), ("header.inputs: expected a list",)),
    (_set("metadata", []), ("header.metadata: [] is not an object",)),
    (_set("metadata", {"preprocess": {"std": "x"}}), ("metadata.preprocess.std: 'x' is not a finite number",)),
    (_set("metadata", {"preprocess": {"std": 0}}), ("metadata.preprocess.std: must not be 0",)),
    (_set("ops/0/kind", "conv9d"), ("unknown op kind 'conv9d'",)),
    # structure
    (_set("tensors/1/name", "tensor0"), ("two tensors are named 'tensor0'",)),
    (_set("tensors/1/data", "t99"), ("its data 't99' is not in the file",)),
    (_set("tensors/0/name", "x\ny"), ("a name is 1 to 1024 printable characters",)),
    (_set("tensors/0/name", ""), ("a name is 1 to 1024 printable characters",)),
    (_set("ops/0/outputs", ["tensor0"]), ("output 'tensor0' is already",)),
    (_set("inputs", ["tensor0", "tensor0"]), ("a graph input is given twice",)),
    (_set("inputs", []), ("at least one input and one output",)),
    # shapes and sizes: no TiB tensor, no rank 9, no dimension 0 or below
    (_set("tensors/0/shape", [1 << 20, 1 << 20]), ("1,099,511,627,776 bytes; the largest board's memory",)),
    (_set("tensors/0/shape", [1] * 9), ("is not at most 6 integers >= 1",)),
    (_set("tensors/0/shape", [1, -12, 12, 3]), ("is not at most 6 integers >= 1",)),
    (_set("tensors/3/shape", [1, 12, 12, 0]), ("is not at most 6 integers >= 1",)),
    # scales: finite, positive, normal float32; zero points in range
    (_set("tensors/0/quant/scale/0", 1e39), ("scales must be finite and positive float32 normal values",)),
    (_set("tensors/0/quant/scale/0", 1e-45), ("scales must be finite and positive float32 normal values",)),
    (_set("tensors/0/quant/scale/0", 0), ("scales must be finite and positive",)),
    (_set("tensors/0/quant/scale/0", float("nan")), ("is not a finite number",)),
    (_set("tensors/0/quant/zero_point/0", 300), ("zero point outside int8",)),
    (_set("tensors/3/quant/scale/0", 1e-30), ("multiplier", "too large")),  # conv output scale: M = 1e27
    # op attributes in range: strides, absurd dilations, pool sizes and paddings
    (_set("ops/0/attrs/stride", [0, 1]), ("kernel, strides and dilations >= 1",)),
    (_set("ops/0/attrs/dilation", [1, 1 << 30]), ("the windows read a padded input of",)),
    (_set("ops/0/attrs/pad", [-1, 0]), ("padding >= 0",)),
    (_set("ops/0/attrs/pad", [3, 1]), ("height: padding 3 is not below the dilated kernel's 3",)),
    (_set("ops/2/attrs/filter", [1 << 30, 1 << 30]), ("the windows read a padded input of",)),
    (_set("ops/2/attrs/filter", [0, 2]), ("kernel, strides and dilations >= 1",)),
    (_set("ops/1/attrs/depth_multiplier", 0), ("depth multiplier must be >= 1",)),
    (_set("ops/5/attrs/beta", 0), ("beta must be positive and finite",)),
])
def test_hostile_graph_headers(cnn_graph, edit, fragments):
    with refused(GraphError, str(cnn_graph.with_name("edited.graph")), *fragments):
        Graph.load(edited_graph(cnn_graph, edit))


@pytest.fixture
def gelu_graph(tmp_path) -> Path:
    (tmp_path / "gelu.tflite").write_bytes(MODELS["fc_gelu"]())
    import_tflite(tmp_path / "gelu.tflite").save(tmp_path / "gelu.graph")
    return tmp_path / "gelu.graph"


def test_approximate_no_is_not_true(gelu_graph):
    with refused(GraphError, "ops[1] ('GELU').attrs.approximate: 'no' is not true or false"):
        Graph.load(edited_graph(gelu_graph, _set("ops/1/attrs/approximate", "no")))
    with refused(GraphError, "approximate: 1 is not true or false"):
        Graph.load(edited_graph(gelu_graph, _set("ops/1/attrs/approximate", 1)))


def test_gelu_table_scales_out_of_range(gelu_graph):
    """A huge input scale overflows the float32 table (was OverflowError in round)."""
    with refused(GraphError, "op 1 (GELU): lookup: scales", "legal range"):
        Graph.load(edited_graph(gelu_graph, _set("tensors/2/quant/scale/0", 3e38)))


def test_bias_that_overflows_the_accumulator(cnn_graph, tmp_path):
    arrays = _arrays(cnn_graph)
    header = _header(arrays)
    bias = next(t for t in header["tensors"] if t["dtype"] == "int32")
    arrays[bias["data"]] = np.full_like(arrays[bias["data"]], np.iinfo(np.int32).min)
    _savez(tmp_path / "bias.graph", arrays)
    with refused(GraphError, "can take an accumulator to", "beyond int32"):
        Graph.load(tmp_path / "bias.graph")


def test_hostile_graphs_through_the_cli(cnn_graph, tmp_path, capsys):
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((1, 12, 12, 3), np.int8))
    for edit, fragment in ((_set("tensors/0/shape/1", "1881"), "'1881' is not a 32-bit integer"),
                           (_set("ops/0/attrs/dilation", [1, 1 << 30]), "padded input"),
                           (_set("tensors/0/quant/scale/0", 1e-45), "scales must be")):
        graph = edited_graph(cnn_graph, edit)
        assert fragment in cli(["infer", graph, "--input", x, "-o", tmp_path / "y.npy"], capsys)
        assert fragment in cli(["check", graph, "--board", "stm32f746"], capsys)
        assert fragment in cli(["export-c", graph, "--board", "stm32f746", "-o", tmp_path / "c"], capsys)


# ---- inputs ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, 1e300])
def test_nan_and_infinite_inputs_are_refused(cnn_graph, tmp_path, capsys, bad):
    x = np.zeros((1, 12, 12, 3), np.float64)
    x[0, 3, 4, 1] = bad
    with refused(InputError, "input 'tensor0': 1 values are NaN, infinite or beyond float32"):
        prepare_inputs(Graph.load(cnn_graph), [x])
    np.save(tmp_path / "x.npy", x)
    assert "NaN" in cli(["infer", cnn_graph, "--input", tmp_path / "x.npy", "-o", tmp_path / "y.npy"], capsys)


# ---- .tflite ---------------------------------------------------------------------------------------
# small_cnn: tensors 0 x, 1 w1, 2 b1, 3 h1, 4 w2, 5 b2, 6 h2, 7 h3, 8 shape, 9 h4, 10 w5, 11 b5, 12 h5,
# 13 y; ops 0 CONV_2D, 1 DEPTHWISE_CONV_2D, 2 MAX_POOL_2D, 3 RESHAPE, 4 FULLY_CONNECTED, 5 SOFTMAX.

def _sub(m):
    return m.subgraphs[0]


def _options(op: int, **values):
    def edit(m):
        for k, v in values.items():
            setattr(_sub(m).operators[op].builtinOptions, k, v)
    return edit


def _tensor(index: int, **values):
    def edit(m):
        for k, v in values.items():
            setattr(_sub(m).tensors[index], k, v)
    return edit


def _quant(index: int, **values):
    def edit(m):
        for k, v in values.items():
            setattr(_sub(m).tensors[index].quantization, k, v)
    return edit


def _buffer_cut(m):
    b = m.buffers[_sub(m).tensors[1].buffer]
    b.data = b.data[:-1]


def _wrong_options(m):
    _sub(m).operators[0].builtinOptionsType = schema.BuiltinOptions.Pool2DOptions
    _sub(m).operators[0].builtinOptions = _sub(m).operators[2].builtinOptions


@pytest.mark.parametrize("edit, fragments", [
    (_options(0, strideH=0), ("op 0 (CONV_2D): strides (0, 1) and dilations (1, 1) must be >= 1",)),
    (_options(2, strideW=0), ("op 2 (MAX_POOL_2D): strides (2, 0)",)),
    (_options(0, dilationWFactor=-3), ("must be >= 1",)),
    (_options(0, padding=7), ("op 0 (CONV_2D): padding 7 is neither SAME",)),
    (_options(0, dilationHFactor=1 << 30), ("op 0 (CONV_2D): the windows read a padded input of",)),
    (_options(2, filterHeight=1 << 30, filterWidth=1 << 30), ("op 2 (MAX_POOL_2D): the windows read a padded input",)),
    (_options(0, fusedActivationFunction=5), ("fused activation 5 is not supported",)),
    (_options(5, beta=float("nan")), ("beta must be positive and finite",)),
    (_wrong_options, ("op 0 (CONV_2D): its options are not Conv2DOptions",)),
    (_tensor(0, name=b"\xff\xfe"), ("tensor 0: its name b'\\xff\\xfe' is not UTF-8",)),
    (_tensor(0, name=b"x" * 5000), ("tensor 0: a name of 5,000 bytes",)),
    (_tensor(0, name=b"a\nb"), ("a name is 1 to 1024 printable characters",)),
    (_buffer_cut, ("tensor 1 ('tensor1'): its buffer holds 215 bytes; int8[8, 3, 3, 3] takes 216",)),
    (_quant(0, zeroPoint=None), ("tensor 0 ('tensor0'): 1 scales and 0 zero points",)),
    (_quant(1, scale=[0.01] * 3), ("tensor 1 ('tensor1'): 3 scales and 8 zero points",)),
    (_quant(1, quantizedDimension=9), ("8 scales and 8 zero points for quantized dimension 9",)),
    (_quant(0, scale=[1e-45]), ("scales must be finite and positive float32 normal values",)),
    (_quant(0, scale=[float("inf")]), ("scales must be finite and positive",)),
    (_quant(0, zeroPoint=[1000]), ("zero point outside int8",)),
    (_tensor(0, shape=[]), ("op 0 (CONV_2D): the input must be NHWC",)),
    (_tensor(3, shape=[1, -12, 12, 8]), ("tensor 3 ('tensor3'): shape (1, -12, 12, 8) is not",)),
    (_tensor(3, shape=[1, 1 << 20, 1 << 20, 8]), ("bytes; the largest board's memory",)),
    (_tensor(3, shape=[1] * 9), ("tensor 3 ('tensor3'): rank 9; at most 6",)),
    (_tensor(0, type=schema.TensorType.INT64), ("op 0 (CONV_2D): tensor 'tensor0' is INT64",)),
    (_tensor(1, buffer=999), ("input 'tensor1' is not computed before it is used",)),
    (lambda m: setattr(_sub(m), "inputs", [99]), ("the subgraph's inputs: tensor index 99 outside the 14 tensors",)),
    (lambda m: setattr(_sub(m), "outputs", [-1]), ("the subgraph's outputs: tensor index -1",)),
    (lambda m: setattr(_sub(m).operators[0], "inputs", [0, 1, 77]), ("op 0 (CONV_2D): tensor index 77 outside",)),
    (lambda m: setattr(_sub(m).operators[0], "inputs", [0, -7]), ("op 0 (CONV_2D): tensor index -7 outside",)),
    (lambda m: setattr(_sub(m).operators[0], "inputs", [0]), ("op 0 (CONV_2D): takes 2 to 3 inputs",)),
    (lambda m: setattr(_sub(m).operators[0], "opcodeIndex", 50), ("op 0: its op code index is outside",)),
    (lambda m: setattr(m.operatorCodes[0], "builtinCode", 9999), ("op 0 (9999): unsupported op",)),
    (lambda m: setattr(m, "subgraphs", []), ("the model has no subgraph",)),
])
def test_hostile_tflite(tmp_path, edit, fragments):
    with refused(GraphError, "edited.tflite", *fragments):
        import_tflite(edited_tflite(tmp_path, edit))


def test_tflite_pad_and_slice_constants_of_the_wrong_shape(tmp_path):
    def paddings(m):  # token_ops: op 1 is PAD, its paddings tensor [3, 2] -> [6]
        t = _sub(m).tensors[_sub(m).operators[1].inputs[1]]
        t.shape = [6]

    with refused(GraphError, "op 1 (PAD): paddings of shape [6] for an input of rank 3; expected [3, 2]"):
        import_tflite(edited_tflite(tmp_path, paddings, MODELS["token_ops"]))

    def begin(m):  # class_token_head: op 2 is SLICE, its begin [2] -> [1]
        t = _sub(m).tensors[_sub(m).operators[2].inputs[1]]
        t.shape = [1]
        m.buffers[t.buffer].data = m.buffers[t.buffer].data[:4]

    with refused(GraphError, "op 2 (SLICE): begin, end/size and strides must each give 2 values"):
        import_tflite(edited_tflite(tmp_path, begin, MODELS["class_token_head"]))


def test_hostile_tflite_through_the_cli(tmp_path, capsys):
    for edit, fragment in ((_options(0, strideH=0), "must be >= 1"), (_tensor(0, name=b"\xff"), "not UTF-8"),
                           (_quant(0, zeroPoint=None), "zero points")):
        path = edited_tflite(tmp_path, edit)
        assert fragment in cli(["import", path, "-o", tmp_path / "m.graph"], capsys)
        assert not (tmp_path / "m.graph").exists()


# ---- checkpoints -----------------------------------------------------------------------------------

def _checkpoint(tmp_path, edit_meta=None, edit_arrays=None) -> Path:
    """The shipped vit-digits checkpoint with its metadata or arrays edited."""
    arrays = _arrays(Path(__file__).parents[2] / "models" / "checkpoints" / "vit-digits.npz")
    meta = json.loads(arrays["meta.json"].tobytes())
    if edit_meta:
        edit_meta(meta)
    if edit_arrays:
        edit_arrays(arrays)
    arrays["meta.json"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(tmp_path / "ckpt.npz", **arrays)
    return tmp_path / "ckpt.npz"


@pytest.mark.parametrize("edit_meta, edit_arrays, fragment", [
    (lambda m: m.update(model=["vit"]), None, "must name a model or a supernet"),
    (lambda m: m.update(epoch="3"), None, "meta.epoch: '3' is not a 32-bit integer"),
    (lambda m: m.update(history={}), None, "meta.history: expected a list"),
    (lambda m: (m.update(optimizer=[{}]), m.pop("options")), None, "meta.options: expected an object, got None"),
    (lambda m: m.update(optimizer=[{}], options={**m["options"], "batch_size": 0}), None, "batch size >= 1"),
    (lambda m: m.update(optimizer=[{}]), lambda a: a.update({"optim/x": np.zeros(1, np.float32)}),
     "array 'optim/x' is not optim/<index>/<field>"),
    (None, lambda a: a.update({"param/head.weight": np.array(["x"])}), "parameters are native numbers"),
    (lambda m: m.update(pruning={"layers": {"nope.weight": {}}}), None, "names layers vit-digits does not have"),
    (lambda m: m.update(optimizer=[{"params": [0]}], options={"epochs": 2}), None,
     "optimizer state is not AdamW's"),
])
def test_hostile_checkpoints(tmp_path, edit_meta, edit_arrays, fragment):
    with refused(CheckpointError, fragment):
        read_checkpoint(_checkpoint(tmp_path, edit_meta, edit_arrays))


def test_deep_checkpoint_metadata(tmp_path):
    arrays = {"meta.json": np.frombuffer(b"[" * 100_000, np.uint8)}
    np.savez(tmp_path / "deep.npz", **arrays)
    with refused(CheckpointError, "nests too deeply"):
        read_checkpoint_file(tmp_path / "deep.npz")


# ---- datasets --------------------------------------------------------------------------------------

def test_truncated_and_hostile_idx_files(tmp_path):
    import gzip

    raw = gzip.compress(b"\x00\x00\x08\x01" + (5).to_bytes(4, "big") + bytes(5))
    (tmp_path / "cut.gz").write_bytes(raw[:-12])
    with refused(datasets.DatasetError, "truncated"):
        datasets._read_idx(tmp_path / "cut.gz", 1)
    (tmp_path / "huge.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x03" + (1 << 31).to_bytes(4, "big") * 3))
    with refused(datasets.DatasetError, "bytes of data for shape"):
        datasets._read_idx(tmp_path / "huge.gz", 3)


def test_empty_npz_dataset(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((3, 0, 8), np.uint8), y=np.zeros(3, np.int64))
    with refused(datasets.DatasetError, "none empty"):
        datasets.load(f"npz:{tmp_path / 'd.npz'}", "train")
