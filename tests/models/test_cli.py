"""The NN commands (registered by models through the mcusim.commands entry point): infer, check, eval,
export, train, demo; their JSON, their old spellings (hidden aliases for one release)."""
import json

import numpy as np
import pytest

from mcusim.cli import main
from mcusim.models.arrays import dequantize, quantize
from mcusim.models.interpreter import run

from .test_graph import fc_graph


@pytest.fixture
def saved(tmp_path):
    g = fc_graph(batches=2, depth=5, channels=3)
    g.save(tmp_path / "m.graph")
    return g, str(tmp_path / "m.graph")


def test_infer_int8(tmp_path, saved):
    g, path = saved
    x = np.random.default_rng(0).integers(-128, 128, (2, 5), dtype=np.int8)
    np.save(tmp_path / "x.npy", x)
    assert main(["infer", path, "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.npy")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), run(g, [x])[0])


def test_infer_json_names_what_it_wrote(tmp_path, saved, capsys):
    np.save(tmp_path / "x.npy", np.zeros((2, 5), np.int8))
    assert main(["infer", saved[1], "--input", str(tmp_path / "x.npy"), "-o", str(tmp_path / "y"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"output": str(tmp_path / "y"), "outputs": ["y"], "samples": 1}
    assert np.load(tmp_path / "y").shape == (2, 3) and not (tmp_path / "y.npy").exists()  # the name as given


def test_infer_float_is_quantized_and_output_dequantized(tmp_path, saved):
    g, path = saved
    xf = np.random.default_rng(1).uniform(-5, 5, (2, 5)).astype(np.float32)
    np.save(tmp_path / "x.npy", xf)
    assert main(["infer", path, "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.npy"),
                 "--dequantize"]) == 0
    expected = dequantize(run(g, [quantize(xf, g.tensors["x"])])[0], g.tensors["y"])
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), expected)


def test_quantize_rounds_half_away_and_saturates(saved):
    t = saved[0].tensors["x"]  # scale 0.05, zero point 3
    half = t.quant.scale[0] / 2  # exactly half a step
    q = quantize(np.array([half, -half, 5 * half, -5 * half, 100.0, -100.0]), t)
    assert (5 * half) / t.quant.scale[0] == 2.5  # exact ties, so the rounding rule decides
    np.testing.assert_array_equal(q, [4, 2, 6, 0, 127, -128])


@pytest.mark.parametrize("array, code, message", [
    (np.zeros((2, 4), np.int8), 65, r"expected shape \[2, 5\]"),
    (np.zeros((2, 5), np.int16), 65, "neither int8"),
])
def test_infer_bad_inputs(tmp_path, saved, capsys, array, code, message):
    np.save(tmp_path / "x.npy", array)
    assert main(["infer", saved[1], "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.npy")]) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message.replace("\\", "") .split("[")[0] in err


def test_infer_wrong_number_of_inputs(tmp_path, saved, capsys):
    np.save(tmp_path / "x.npy", np.zeros((2, 5), np.int8))
    args = ["infer", saved[1], "--input", str(tmp_path / "x.npy"), "--input", str(tmp_path / "x.npy"),
            "--output", str(tmp_path / "y.npy")]
    assert main(args) == 64
    assert "has 1 input(s)" in capsys.readouterr().err


def test_infer_refuses_pickles_and_bad_graphs(tmp_path, saved, capsys):
    np.save(tmp_path / "p.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    assert main(["infer", saved[1], "--input", str(tmp_path / "p.npy"), "--output", str(tmp_path / "y.npy")]) == 65
    (tmp_path / "bad.graph").write_bytes(b"garbage")
    np.save(tmp_path / "x.npy", np.zeros((2, 5), np.int8))
    assert main(["infer", str(tmp_path / "bad.graph"), "--input", str(tmp_path / "x.npy"), "--output",
                 str(tmp_path / "y.npy")]) == 65
    assert "not a readable mcusim graph" in capsys.readouterr().err


def test_models_json_lists_every_registered_config(capsys):
    from mcusim.models import zoo

    assert main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == zoo.names()
    assert all(set(r) >= {"name", "family", "params", "checkpoint", "sparsity"} and r["params"] > 0 for r in rows)


def test_train_export_eval_on_digits(tmp_path, capsys):
    ckpt, graph = str(tmp_path / "c.npz"), str(tmp_path / "g.graph")
    assert main(["train", "--model", "vit-digits", "--dataset", "digits", "--epochs", "1", "-o", ckpt, "--json"]) == 0
    trained = json.loads(capsys.readouterr().out)  # one JSON object: no per-epoch lines
    assert trained["output"] == ckpt and trained["epochs"] == 1 and 0 <= trained["test_accuracy"] <= 1
    assert main(["export", "--model", "vit-digits", "--checkpoint", ckpt, "--dataset", "digits",
                 "--calibration-images", "64", "--observer", "minmax", "-o", graph, "--json"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["output"] == graph and exported["calibration_images"] == 64 and exported["ops"] > 0
    assert main(["eval", graph, "--dataset", "digits", "--test-images", "50", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["samples"] == 50 and 0 <= result["accuracy"] <= 1 and 0 <= result["float_accuracy"] <= 1
    assert result["checkpoint"] == ckpt
    assert main(["eval", graph, "--dataset", "digits", "--limit", "20", "--json"]) == 0  # the old spelling
    out, err = capsys.readouterr()
    assert json.loads(out)["samples"] == 20 and "--limit is deprecated; use --test-images" in err


def test_export_without_a_checkpoint_says_what_to_do(tmp_path, capsys, monkeypatch):
    from mcusim.models import zoo

    monkeypatch.setattr(zoo, "CHECKPOINTS", tmp_path)  # nothing shipped
    assert main(["export", "--model", "vit-digits", "--dataset", "digits", "-o", str(tmp_path / "x.graph")]) == 64
    assert "no shipped checkpoint; train one" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["train", "--model", "vit-digits", "--dataset", "digits", "--epochs", "0", "-o", "x.npz"],
    ["eval", "x.graph", "--dataset", "digits", "--test-images", "-3"],
    ["eval", "x.graph", "--dataset", "digits", "--limit", "-3"],
])
def test_bad_numbers_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 64 and "invalid positive integer value" in capsys.readouterr().err


@pytest.mark.toolchain
def test_check_infer_and_eval_on_a_board(tmp_path, capsys):
    from mcusim.models import zoo
    from mcusim.models.export import untrained_graph

    graph, path = untrained_graph(zoo.get("vit-digits").config), str(tmp_path / "g.graph")
    graph.save(path)
    assert main(["check", path, "--board", "stm32f427", "--inputs", "2", "--memory-opts", "all", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["bit_exact"] and r["mismatches"] == 0 and r["samples"] == 2 and r["board"] == "stm32f427"
    assert set(r["sram"]) >= {"static", "stack_peak", "arena_peak", "total_peak"}
    assert r["sram"]["arena_peak"] == r["sram"]["arena_planned"] and r["latency_ms"] > 0
    assert r["flash"]["total"] == r["flash"]["text"] + r["flash"]["rodata"] + r["flash"]["data"] + r["flash"]["model"]
    assert all(set(op) >= {"name", "kind", "cycles", "sram_peak"} for op in r["ops"])
    assert sum(op["cycles"] for op in r["ops"]) == r["cycles"]

    x = np.random.default_rng(3).integers(-128, 128, graph.tensors[graph.inputs[0]].shape, dtype=np.int8)
    np.save(tmp_path / "x.npy", x)
    assert main(["infer", path, "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.npy"),
                 "--board", "stm32h743", "--trace", str(tmp_path / "t.json")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), run(graph, [x])[0])
    out = capsys.readouterr().out
    assert "latency" in out and "planned arena" in out
    assert json.loads((tmp_path / "t.json").read_text())["traceEvents"]

    assert main(["eval", path, "--dataset", "digits", "--test-images", "6", "--json"]) == 0
    reference = json.loads(capsys.readouterr().out)
    assert main(["eval", path, "--dataset", "digits", "--test-images", "6", "--board", "stm32f746", "--json"]) == 0
    on_board = json.loads(capsys.readouterr().out)
    assert on_board["accuracy"] == reference["accuracy"] and on_board["bit_exact"] and on_board["samples"] == 6

    assert main(["check", path, "--board", "stm32f999"]) == 64
    assert "unknown board 'stm32f999'" in capsys.readouterr().err


@pytest.mark.toolchain
@pytest.mark.fashion_mnist
def test_demo_writes_trace_plot_and_report(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "-o", str(out), "--test-images", "3", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["model"] == "vit-fmnist" and result["board"] == "stm32f746" and result["samples"] == 3
    assert result["bit_exact"] and 0 <= result["accuracy"] <= 1 and result["latency_ms"] > 0
    assert result.pop("output") == str(out) and json.loads((out / "report.json").read_text()) == result
    assert (out / "memory.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len([e for e in json.loads((out / "trace.json").read_text())["traceEvents"] if e["ph"] == "X"]) == \
        len(result["ops"])


def test_the_shipped_graph_is_the_export_of_its_checkpoint(tmp_path):
    """`make graphs` reproduces the shipped graphs (vit-digits here: the others take minutes): every
    constant bit for bit, every zero point, and every scale to a few float32 ulps -- the activation
    scales come from float32 forward passes, whose sums the CPU's SIMD width may order differently
    (seen: 1e-7 relative on another machine, the integers all equal)."""
    from mcusim.models import zoo
    from mcusim.models.graph import Graph

    assert main(["export", "--model", "vit-digits", "--dataset", "digits", "-o", str(tmp_path / "g.graph")]) == 0
    new, shipped = Graph.load(tmp_path / "g.graph"), Graph.load(zoo.get("vit-digits").graph)
    assert new.metadata == shipped.metadata and [op.name for op in new.ops] == [op.name for op in shipped.ops]
    for name, t in shipped.tensors.items():
        q, expected = new.tensors[name].quant, t.quant
        assert (q.zero_point, q.axis) == (expected.zero_point, expected.axis), name
        np.testing.assert_allclose(q.scale, expected.scale, rtol=1e-6, err_msg=name)
        if t.data is not None:
            np.testing.assert_array_equal(new.tensors[name].data, t.data)


@pytest.mark.parametrize("command, old, new, dest, default", [
    (["eval", "g.graph", "--dataset", "digits"], "--limit", "--test-images", "test_images", None),
    (["demo"], "--limit", "--test-images", "test_images", 100),
    (["export", "--model", "vit-digits", "--dataset", "digits", "-o", "g.graph"], "--calibration-samples",
     "--calibration-images", "calibration_images", 512),
    (["check", "g.graph", "--board", "stm32f746"], "--samples", "--inputs", "inputs", 3),
])
def test_old_spellings_are_hidden_aliases(command, old, new, dest, default, capsys):
    from mcusim.cli import parser

    top = parser()
    assert getattr(top.parse_args(command), dest) == default
    assert getattr(top.parse_args([*command, new, "7"]), dest) == 7
    assert capsys.readouterr().err == ""
    assert getattr(top.parse_args([*command, old, "7"]), dest) == 7
    assert capsys.readouterr().err == f"mcusim: {old} is deprecated; use {new}\n"
    with pytest.raises(SystemExit):
        top.parse_args([command[0], "--help"])
    help_text = capsys.readouterr().out
    assert new in help_text and old not in help_text


def test_infer_takes_dash_o_and_check_one_seed(capsys):
    from mcusim.cli import parser

    args = parser().parse_args(["infer", "g.graph", "--input", "x.npy", "-o", "y.npy"])
    assert args.output == "y.npy"
    for command in (["check", "g.graph", "--board", "stm32f746"], ["export-c", "g.graph", "--board", "stm32f746",
                                                                   "-o", "d"], ["train", "--model", "m", "--dataset",
                                                                                "digits", "-o", "c.npz"]):
        assert parser().parse_args(command).seed == 0


def test_export_c_json_names_the_project(tmp_path, saved, capsys):
    out = tmp_path / "proj"
    assert main(["export-c", saved[1], "--board", "stm32f427", "-o", str(out), "--seed", "1", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["output"] == str(out) and r["board"] == "stm32f427" and (out / "Makefile").exists()
    assert r["makefile"] == str(out / "Makefile") and r["model_bytes"] > 0 and r["arena_bytes"] > 0


# ---- issue 20: batches, op targets, the named report ------------------------------------------------

@pytest.fixture(scope="module")
def cnn_path(tmp_path_factory):
    """The imported small CNN ([1, 12, 12, 3] -> [1, 10]; every op keeps the samples apart), saved."""
    from mcusim.models.graph import Graph
    from mcusim.models.tflite_import import import_tflite

    from .tflite_models import small_cnn

    folder = tmp_path_factory.mktemp("cnn")
    (folder / "m.tflite").write_bytes(small_cnn(4))
    import_tflite(folder / "m.tflite").save(folder / "m.graph")
    return Graph.load(folder / "m.graph"), str(folder / "m.graph")


def _samples(graph, n, seed=0):
    shape = graph.tensors[graph.inputs[0]].shape
    return np.random.default_rng(seed).integers(-128, 128, (n, *shape[1:]), dtype=np.int8)


@pytest.mark.parametrize("chunk_bytes", [64 << 20, 1])  # one interpreter call; one sample per call
def test_infer_runs_a_batch_as_the_samples_one_by_one(tmp_path, cnn_path, capsys, monkeypatch, chunk_bytes):
    from mcusim.models import arrays

    monkeypatch.setattr(arrays, "BATCH_BYTES", chunk_bytes)
    graph, path = cnn_path
    xs = _samples(graph, 5)
    np.save(tmp_path / "xs.npy", xs)
    assert main(["infer", path, "--input", str(tmp_path / "xs.npy"), "-o", str(tmp_path / "ys.npy"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["samples"] == 5
    ys = np.load(tmp_path / "ys.npy")
    assert ys.shape == (5, 10)
    for x, y in zip(xs, ys):
        np.testing.assert_array_equal(y, run(graph, [x[None]])[0][0])
    np.save(tmp_path / "stacked.npy", xs[:, None])  # np.stack of five [1, ...] samples
    np.savez(tmp_path / "xs.npz", *xs[:2, None], xs[2:])  # one .npz of samples and batches, in order
    for source in ("stacked.npy", "xs.npz"):
        assert main(["infer", path, "--input", str(tmp_path / source), "-o", str(tmp_path / "y2.npy")]) == 0
        np.testing.assert_array_equal(np.load(tmp_path / "y2.npy"), ys)


def test_a_graph_that_mixes_samples_runs_them_one_at_a_time(tmp_path_factory):
    from mcusim.models.arrays import interpreter_chunk, prepare_batch, run_batch
    from mcusim.models.interpreter import Interpreter
    from mcusim.models.tflite_import import import_tflite

    from .tflite_models import class_token_head, token_ops

    folder = tmp_path_factory.mktemp("m")
    (folder / "head.tflite").write_bytes(class_token_head(False))
    assert interpreter_chunk(import_tflite(folder / "head.tflite")) == 1  # its concatenation and slice mix axis 0
    (folder / "tokens.tflite").write_bytes(token_ops())
    graph = import_tflite(folder / "tokens.tflite")  # two inputs, [1, 6, 8] and [1, 9, 3]
    rng = np.random.default_rng(2)
    a, b = (rng.integers(-128, 128, (3, *graph.tensors[n].shape[1:]), dtype=np.int8) for n in graph.inputs)
    inputs, n = prepare_batch(graph, [a, b])
    assert n == 3
    for chunk in (1, 2, 3):
        ys = run_batch(graph, inputs, n, Interpreter(graph).run, chunk)[0]
        for i in range(3):
            np.testing.assert_array_equal(ys[i], run(graph, [a[i:i + 1], b[i:i + 1]])[0][0])


@pytest.mark.parametrize("arrays, message", [
    ([np.zeros((4, 12, 12), np.int8)], r"input 'tensor0': expected shape \[1, 12, 12, 3\] or a batch "
                                        r"\[N, 12, 12, 3\], got \[4, 12, 12\]"),
    ([np.zeros((2, 12, 12, 3), np.int8), np.zeros((3, 12, 12, 3), np.float32)], r"mix dtypes \(float32, int8\)"),
])
def test_a_batch_of_the_wrong_shape_is_one_line(tmp_path, cnn_path, capsys, arrays, message):
    np.savez(tmp_path / "x.npz", *arrays)
    assert main(["infer", cnn_path[1], "--input", str(tmp_path / "x.npz"), "-o", str(tmp_path / "y.npy")]) == 65
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and __import__("re").search(message, err) and "Traceback" not in err


def test_inputs_of_different_batch_sizes_are_refused(tmp_path_factory):
    from mcusim.models.arrays import InputError, prepare_batch
    from mcusim.models.tflite_import import import_tflite

    from .tflite_models import token_ops

    folder = tmp_path_factory.mktemp("m")
    (folder / "tokens.tflite").write_bytes(token_ops())
    graph = import_tflite(folder / "tokens.tflite")
    a, b = (np.zeros((k, *graph.tensors[n].shape[1:]), np.int8) for k, n in zip((2, 3), graph.inputs))
    with pytest.raises(InputError, match=r"the inputs hold different numbers of samples \(.* 2, .* 3\); give each"):
        prepare_batch(graph, [a, b])


def test_an_unknown_patch_target_lists_the_stage_ends(tmp_path, cnn_path, capsys):
    assert main(["check", cnn_path[1], "--board", "stm32f746", "--memory-opts", "patch-based@" + "x" * 300]) == 64
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and len(err) < 400
    assert "choices: op0 conv2d tensor3, op1 depthwise_conv2d tensor6, op2 max_pool2d tensor7" in err


@pytest.mark.toolchain
def test_check_names_ops_and_reports_choices_and_weights(tmp_path, cnn_path, capsys):
    graph, path = cnn_path
    assert main(["check", path, "--board", "stm32f746", "--inputs", "1", "--memory-opts", "all", "--all-ops"]) == 0
    out = capsys.readouterr().out
    assert "patches  patch-based: " in out and "infeasible skipped (4 x 4 patches of a 3 x 3 stage output)" in out
    assert "weights  all 3 layers stored dense" in out
    assert main(["check", path, "--board", "stm32f746", "--inputs", "1", "--memory-opts", "patch-based=2@op1",
                 "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["patch_based"]["asked"] and r["patch_based"]["stage_op"] == 1 and "as asked" in r["patch_based"]["summary"]
    assert [w["storage"] for w in r["weights"]] == ["dense"] * len(r["weights"]) and r["weights"]
    xs = _samples(graph, 3, seed=1)
    np.save(tmp_path / "xs.npy", xs)
    assert main(["infer", path, "--input", str(tmp_path / "xs.npy"), "-o", str(tmp_path / "ys.npy"),
                 "--board", "stm32f427"]) == 0
    assert "3 samples run on stm32f427; measured on the first:" in capsys.readouterr().out
    np.testing.assert_array_equal(np.load(tmp_path / "ys.npy"), run(graph, [xs])[0])
