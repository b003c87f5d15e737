"""Mutation fuzzing of the model-side files through the command line (issue 21; tests/fuzzing.py):
graphs (bytes, the graph.json header's structure, the arrays) given to `check`, and .tflite
flatbuffers (bytes, the fields of the object tree; a small CNN and a converter-written ViT) given to
`import`, then `check` where the import succeeds. Every outcome: an expected exit code, one line of
error, bounded time and memory."""
import io
import json
import zipfile

import flatbuffers
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcusim.models.tflite_import import import_tflite
from tests.fuzzing import INTERESTING_INTS, expect_clean, fuzz_settings, mutated_bytes, mutated_json, run_cli, write
from tests.models.test_converted import CONVERTED
from tests.models.tflite_models import small_cnn

pytestmark = pytest.mark.toolchain  # `check` builds and runs the firmware

BOARD = ["--board", "stm32f746", "--inputs", "1"]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A folder holding the base files: a small CNN as .tflite and as an mcusim graph, and the
    converter-written ViT of tests/models/converted (shape arithmetic, float islands, 4-D attention)."""
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "base.tflite").write_bytes(small_cnn())
    (folder / "vit.tflite").write_bytes((CONVERTED / "keras_vit.tflite").read_bytes())
    import_tflite(folder / "base.tflite").save(folder / "base.graph")
    return folder


def _members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def _pack(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buffer.getvalue()


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _header(npy: bytes) -> dict:
    return json.loads(np.load(io.BytesIO(npy)).tobytes())


HOSTILE_ARRAYS = st.sampled_from([np.zeros(0, np.int8), np.zeros((2, 3), np.float64), np.full(7, np.nan, np.float32),
                                  np.zeros((1, 1, 1, 1, 1, 1, 1, 1), np.int32), np.array(["x"]), np.zeros(3, bool),
                                  np.arange(10**5, dtype=np.int64)])


@fuzz_settings()
@given(data=st.data())
def test_mutated_graphs(work, data):
    members = _members(work / "base.graph")
    kind = data.draw(st.sampled_from(["bytes", "header", "header", "array"]))
    if kind == "bytes":
        raw = data.draw(mutated_bytes((work / "base.graph").read_bytes()))
    elif kind == "header":
        header = data.draw(mutated_json(_header(members["graph.json.npy"])))
        text = json.dumps(header, allow_nan=True).encode()
        raw = _pack({**members, "graph.json.npy": _npy(np.frombuffer(text, np.uint8))})
    else:
        name = data.draw(st.sampled_from(sorted(n for n in members if n != "graph.json.npy")))
        raw = _pack({**members, name: _npy(data.draw(HOSTILE_ARRAYS))})
    path = write(work, "mutant.graph", raw)
    expect_clean(run_cli(["check", path, *BOARD]))


def _fields(obj, prefix=()):
    """(path, value) of every scalar or list field in a flatbuffer object tree (ModelT)."""
    for name, value in vars(obj).items():
        path = prefix + (name,)
        if isinstance(value, list) and value and hasattr(value[0], "__dict__"):
            for i, item in enumerate(value):
                yield from _fields(item, path + (i,))
        elif hasattr(value, "__dict__"):
            yield from _fields(value, path)
        elif isinstance(value, (int, float, list, np.ndarray, bytes, str)) and not isinstance(value, bool):
            yield path, value


def _set(obj, path, value):
    for key in path[:-1]:
        obj = obj[key] if isinstance(key, int) else getattr(obj, key)
    setattr(obj, path[-1], value)


def _hostile_field(value):
    """A replacement for a field of the type of `value`: integers at the edges, non-finite floats,
    lists of another length or with edge values."""
    if isinstance(value, float):
        return st.sampled_from([0.0, -1.0, float("nan"), float("inf"), 1e38, 1e-45, 3.5e38])
    if isinstance(value, int):
        return st.sampled_from(INTERESTING_INTS + (-2, 9, 100))
    if isinstance(value, (bytes, str)):
        return st.sampled_from([b"", b"\xff\xfe", b"x" * 300, "\u202e*/ #include"])
    ints = st.lists(st.sampled_from((0, 1, -1, 3, 2**31 - 1, -(2**31), 1000)), max_size=6)
    floats = st.lists(st.sampled_from([0.0, -1.0, float("nan"), float("inf"), 1e-45, 0.5]), max_size=4)
    return ints | floats | st.just([])


def _mutated_model(data, raw: bytes) -> bytes:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(raw, 0)
    for _ in range(data.draw(st.integers(1, 3))):
        fields = list(_fields(model))
        path, value = data.draw(st.sampled_from(fields))
        replacement = data.draw(_hostile_field(value))
        if isinstance(value, np.ndarray) and isinstance(replacement, list):
            try:
                replacement = np.array(replacement, dtype=value.dtype)
            except (OverflowError, ValueError):  # values the field's dtype cannot hold: no such file
                continue
        _set(model, path, replacement)
    builder = flatbuffers.Builder(1024)
    try:
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    except (TypeError, ValueError, OverflowError, AttributeError):
        return raw  # a value the writer itself cannot pack: nothing to test
    return bytes(builder.Output())


@fuzz_settings()
@given(data=st.data())
def test_mutated_tflite(work, data):
    base = (work / data.draw(st.sampled_from(["base.tflite", "vit.tflite"]))).read_bytes()
    raw = data.draw(mutated_bytes(base)) if data.draw(st.booleans()) else _mutated_model(data, base)
    path = write(work, "mutant.tflite", raw)
    graph = str(work / "mutant.graph")
    outcome = run_cli(["import", path, "-o", graph])
    expect_clean(outcome, codes=(0, 64, 65))
    if outcome.code == 0:
        expect_clean(run_cli(["check", graph, *BOARD]))
