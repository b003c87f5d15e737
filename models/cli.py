"""The `mcusim` commands of the NN side, registered through the `mcusim.commands` entry point:

    mcusim import MODEL.tflite -o GRAPH
    mcusim infer GRAPH --input X.npy [--input ...] --output Y.npy [--dequantize] [--board B]
    mcusim check GRAPH --board B [--samples N] [--json]
    mcusim export-c GRAPH --board B -o DIR
    mcusim demo [-o DIR] [--limit N]
    mcusim models [--json]
    mcusim train --model NAME --dataset DS [--epochs E] -o CKPT [--resume]
    mcusim export --model NAME [--checkpoint CKPT] --dataset DS -o GRAPH
    mcusim prune --model NAME [--checkpoint CKPT] --dataset DS --sparsity S [--block-size 2|4]
                 [--schedule oneshot|agp] [--epochs E] [--layer NAME=S[:B] ...] [--lr LR] -o CKPT
    mcusim eval GRAPH --dataset DS [--limit N] [--board B] [--json]

Board options (infer, check, eval): --memory-opts, --no-dsp, --trace T.json (Perfetto).

Inputs are given once per graph input, in order (or one .npz holding one array per input, in
order). An int8 array is fed as it is; a float array is quantized with the input tensor's scale and
zero point. The output is the raw int8 tensor, or float with --dequantize (several outputs: .npz).
"""
from __future__ import annotations

import json
import shlex
import sys
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mcusim.errors import EX_DATAERR, EX_SOFTWARE, McusimError, UsageError

from .graph import Graph, Tensor
from .interpreter import run
from .ops.quantize import dequantize_s8, quantize_s8

if TYPE_CHECKING:
    from .prune import LayerPruning


class InputError(McusimError):
    exit_code = EX_DATAERR


def quantize(array: np.ndarray, t: Tensor) -> np.ndarray:
    """Float -> int8 with the tensor's quantization, as TFLite's QUANTIZE."""
    return quantize_s8(array, t.quant.scale[0], t.quant.zero_point[0])


def dequantize(array: np.ndarray, t: Tensor) -> np.ndarray:
    """int8 -> float32 with the tensor's quantization, as TFLite's DEQUANTIZE."""
    return dequantize_s8(array, t.quant.scale[0], t.quant.zero_point[0])


def _load_arrays(paths: list[str]) -> list[np.ndarray]:
    arrays = []
    for path in paths:
        try:
            loaded = np.load(path, allow_pickle=False)
        except FileNotFoundError:
            raise InputError(f"{path}: no such file") from None
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
            raise InputError(f"{path}: not a readable .npy/.npz array file ({e})") from None
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded:
                arrays += [loaded[k] for k in loaded.files]
        else:
            arrays.append(loaded)
    return arrays


def prepare_inputs(graph: Graph, arrays: list[np.ndarray]) -> list[np.ndarray]:
    if len(arrays) != len(graph.inputs):
        raise UsageError(f"the graph has {len(graph.inputs)} input(s) ({', '.join(graph.inputs)}); "
                         f"got {len(arrays)} array(s)")
    prepared = []
    for name, array in zip(graph.inputs, arrays):
        t = graph.tensors[name]
        if array.shape != t.shape:
            raise InputError(f"input {name!r}: expected shape {list(t.shape)}, got {list(array.shape)}")
        if t.dtype == "float32":  # the graph quantizes its own input
            if not np.issubdtype(array.dtype, np.floating):
                raise InputError(f"input {name!r} is float32; got {array.dtype}")
            prepared.append(array.astype(np.float32))
        elif array.dtype == np.int8:
            prepared.append(array)
        elif np.issubdtype(array.dtype, np.floating):
            prepared.append(quantize(array, t))
        else:
            raise InputError(f"input {name!r}: dtype {array.dtype} is neither int8 (fed as is) nor float (quantized)")
    return prepared


def _board(name: str):
    from mcusim.boards import UnknownBoard, get_board

    try:
        return get_board(name)
    except UnknownBoard as e:
        raise UsageError(str(e)) from None


def _deployment(graph: Graph, args):
    """`graph` deployed with --memory-opts."""
    from .deploy import MemoryOptions, deploy

    return deploy(graph, MemoryOptions.parse(args.memory_opts))


def _runner(graph: Graph, args):
    """The BoardRunner of --board, --memory-opts and --no-dsp (deployment errors before any run)."""
    from .runner import BoardRunner

    return BoardRunner(_deployment(graph, args), _board(args.board), dsp=args.dsp)


def _finish_board_run(args, measurement, result: dict) -> None:
    """Write --trace, then print the JSON object (--json) or the human-readable report."""
    from .runner import report

    if args.trace:
        try:
            measurement.write_trace(args.trace)
        except OSError as e:
            raise UsageError(f"--trace {args.trace}: cannot write: {e.strerror}") from None
    if args.json:
        print(json.dumps({**result, **measurement.to_json()}))
    else:
        print(report(measurement, top=None if args.all_ops else 12))


def cmd_infer(args) -> int:
    graph = Graph.load(args.graph)
    inputs = prepare_inputs(graph, _load_arrays(args.input))
    if args.board:
        outputs, measurement = _runner(graph, args).run(inputs)
    else:
        outputs = run(graph, inputs)
    if args.dequantize:
        outputs = [dequantize(y, graph.tensors[name]) if y.dtype == np.int8 else y
                   for y, name in zip(outputs, graph.outputs)]
    path = Path(args.output)
    try:
        if len(outputs) == 1:
            np.save(path, outputs[0])
        else:
            np.savez(path, **dict(zip(graph.outputs, outputs)))
    except OSError as e:
        raise UsageError(f"--output {path}: cannot write: {e.strerror}") from None
    if args.board:
        _finish_board_run(args, measurement, {"outputs": list(graph.outputs)})
    elif args.json:
        print(json.dumps({"outputs": list(graph.outputs)}))
    return 0


def cmd_check(args) -> int:
    from tqdm import tqdm

    from .evaluate import differing_values, random_inputs

    graph = Graph.load(args.graph)
    runner = _runner(graph, args)
    rng = np.random.default_rng(args.seed)
    mismatches, first = 0, None
    for _ in tqdm(range(args.samples), desc=f"check on {args.board}", unit="sample", disable=args.json, leave=False):
        inputs = random_inputs(graph, rng)
        outputs, measurement = runner.run(inputs)
        first = first or measurement
        mismatches += differing_values(outputs, run(graph, inputs))
    _finish_board_run(args, first, {"bit_exact": mismatches == 0, "mismatches": mismatches, "samples": args.samples})
    if mismatches:
        print(f"mcusim: {mismatches} output values on {args.board} differ from the reference interpreter "
              f"({args.samples} samples)", file=sys.stderr)
        return EX_SOFTWARE
    if not args.json:
        print(f"bit-exact: {args.samples} random samples on {args.board} equal the reference interpreter")
    return 0


def cmd_import(args) -> int:
    from .tflite_import import import_tflite

    graph = import_tflite(args.model)
    try:
        graph.save(args.output)
    except OSError as e:
        raise UsageError(f"-o {args.output}: cannot write: {e.strerror}") from None
    kinds = ", ".join(sorted({op.kind for op in graph.ops}))
    print(f"{args.output}: {len(graph.ops)} ops ({kinds}), {len(graph.tensors)} tensors")
    return 0


def cmd_models(args) -> int:
    from . import zoo
    from .prune import checkpoint_sparsity

    rows = []
    for name in zoo.names():
        entry = zoo.get(name)
        rows.append({"name": name, "family": entry.config.family, "dataset": entry.dataset,
                     "params": _parameter_count(entry),
                     "checkpoint": str(entry.checkpoint) if entry.checkpoint else None,
                     "graph": str(entry.graph) if entry.graph else None,
                     "sparsity": checkpoint_sparsity(entry.checkpoint) if entry.checkpoint else 0.0,
                     "description": entry.description})
    if args.json:
        print(json.dumps(rows))
        return 0
    print(f"{'name':20} {'family':10} {'params':>8} {'dataset':14} {'shipped':8} description")
    for r in rows:
        print(f"{r['name']:20} {r['family']:10} {r['params']:>8,} {r['dataset']:14} "
              f"{'yes' if r['checkpoint'] else 'no':8} {r['description']}")
    return 0


def _parameter_count(entry) -> int:
    from .nn import build, parameter_count

    return parameter_count(build(entry.config))


def cmd_train(args) -> int:
    from .train import TrainOptions, train

    options = TrainOptions(**{k: v for k, v in (("epochs", args.epochs), ("batch_size", args.batch_size),
                                                 ("lr", args.lr), ("seed", args.seed)) if v is not None})
    command = shlex.join(["mcusim", *sys.argv[1:]])
    meta = train(args.model, args.dataset, args.output, options, resume=args.resume, command=command)
    last = meta["history"][-1] if meta["history"] else {}
    print(f"{args.output}: {args.model} after {meta['epoch']} epochs, float test accuracy "
          f"{last.get('test_accuracy', float('nan')):.4f}")
    return 0


def cmd_export(args) -> int:
    import torch

    from . import datasets, zoo
    from .evaluate import DEFAULT_PREPROCESS
    from .export import calibrate, export
    from .train import images, load_checkpoint

    entry = zoo.get(args.model)
    checkpoint = args.checkpoint or entry.checkpoint
    if checkpoint is None:
        raise UsageError(f"{args.model} has no shipped checkpoint; train one (mcusim train) and pass --checkpoint")
    model, meta = load_checkpoint(checkpoint)
    if meta["model"] not in (args.model, entry.pruned_from):
        raise UsageError(f"{checkpoint} holds {meta['model']}, not {args.model}")
    x, _ = datasets.load(args.dataset, "train")
    pick = np.random.default_rng(0).permutation(len(x))[:args.calibration_samples]
    qparams = calibrate(model, images(entry, x[np.sort(pick)]), observer=args.observer)
    # A shipped checkpoint is recorded by name, so that the graph finds it wherever mcusim is installed.
    metadata = {"model": args.model, "checkpoint": str(args.checkpoint) if args.checkpoint else SHIPPED,
                "dataset": args.dataset,
                "calibration": {"samples": len(pick), "observer": args.observer},
                "preprocess": {"size": entry.config.image_size, **DEFAULT_PREPROCESS}}
    with torch.no_grad():
        graph = export(model, qparams, metadata)
    try:
        graph.save(args.output)
    except OSError as e:
        raise UsageError(f"-o {args.output}: cannot write: {e.strerror}") from None
    weights = sum(t.data.nbytes for t in graph.tensors.values() if t.data is not None)
    print(f"{args.output}: {args.model}, {len(graph.ops)} ops, {weights:,} bytes of constants, calibrated on "
          f"{len(pick)} {args.dataset} training images")
    return 0


def cmd_prune(args) -> int:
    from . import zoo
    from .nn import build
    from .prune import PruneOptions, prune, prunable_layers, pruning_config

    model = build(zoo.get(args.model).config)
    overrides = dict(_layer_override(text, args.block_size) for text in args.layer or [])
    try:
        config = pruning_config(model, args.sparsity, args.block_size, overrides)
        options = PruneOptions(schedule=args.schedule, epochs=args.epochs, lr=args.lr)
    except ValueError as e:
        raise UsageError(str(e)) from None
    meta = prune(args.model, args.dataset, args.output, config, args.checkpoint, options,
                 command=shlex.join(["mcusim", *sys.argv[1:]]))
    layers, record = prunable_layers(model), meta["pruning"]
    print(f"{'layer':40} {'shape':>14} {'block':>6} {'sparsity':>9}")
    for name, measured in record["layers"].items():
        shape = "x".join(map(str, layers[name].shape))
        block = measured["block"] if measured["block"] is not None else "dense"
        print(f"{name:40} {shape:>14} {block!s:>6} {measured['sparsity']:>9.1%}")
    print(f"{args.output}: {args.model} pruned ({args.schedule}, {args.epochs} epochs of fine-tuning), float test "
          f"accuracy {record['accuracy']:.4f} (before pruning {record['source_accuracy']:.4f})")
    return 0


def _layer_override(text: str, block: int) -> tuple[str, LayerPruning]:
    """--layer NAME=S[:B] -> (NAME, LayerPruning(S, B)); B defaults to --block-size."""
    from .prune import LayerPruning

    name, _, value = text.rpartition("=")
    sparsity, _, layer_block = value.partition(":")
    try:
        if not name:
            raise ValueError("expected NAME=SPARSITY[:BLOCK]")
        return name, LayerPruning(float(sparsity), int(layer_block) if layer_block else block)
    except ValueError as e:
        raise UsageError(f"--layer {text}: {e}") from None


SHIPPED = "shipped"


def graph_checkpoint(graph: Graph) -> Path | None:
    """The float checkpoint an exported graph came from, if it is still there."""
    recorded, model = graph.metadata.get("checkpoint"), graph.metadata.get("model")
    if recorded == SHIPPED:
        from . import zoo

        return zoo.get(model).checkpoint
    return Path(recorded) if recorded and Path(recorded).exists() else None


def cmd_eval(args) -> int:
    from . import datasets
    from .evaluate import accuracy, board_accuracy

    graph = Graph.load(args.graph)
    x, y = datasets.load(args.dataset, "test")
    if args.limit is not None:
        x, y = x[:args.limit], y[:args.limit]
    measurement = None
    if args.board:
        correct, mismatches, measurement = board_accuracy(_runner(graph, args), x, y, progress=not args.json)
        result = {"accuracy": correct, "samples": len(x), "bit_exact": mismatches == 0, "mismatches": mismatches}
    else:
        result = {"accuracy": accuracy(graph, x, y, progress=not args.json), "samples": len(x)}
    checkpoint = graph_checkpoint(graph)
    if checkpoint is not None:
        from . import zoo
        from .train import accuracy as float_accuracy, images, load_checkpoint

        model, _ = load_checkpoint(checkpoint)
        result["float_accuracy"] = float_accuracy(model, images(zoo.get(graph.metadata["model"]), x), y)
    if not args.json:
        where = f"int8 on {args.board} (emulated)" if args.board else "int8 reference"
        line = f"{args.graph} on {len(x)} {args.dataset} test images: {where} accuracy {result['accuracy']:.4f}"
        if "float_accuracy" in result:
            line += f", float ({checkpoint}) {result['float_accuracy']:.4f}"
        print(line)
    if measurement is None:
        if args.json:
            print(json.dumps(result))
        return 0
    if not args.json:
        print(f"bit-exact with the reference interpreter: {'yes' if result['bit_exact'] else 'NO'}; "
              "measured on the first image:")
    _finish_board_run(args, measurement, result)
    return 0 if result["bit_exact"] else EX_SOFTWARE


def cmd_export_c(args) -> int:
    from .evaluate import random_inputs
    from .export_c import write_project

    graph = Graph.load(args.graph)
    board = _board(args.board)
    samples = (prepare_inputs(graph, _load_arrays(args.input)) if args.input
               else random_inputs(graph, np.random.default_rng(0)))
    deployment = _deployment(graph, args)
    try:
        makefile = write_project(deployment, board, samples, Path(args.output), dsp=args.dsp)
    except OSError as e:
        raise UsageError(f"-o {args.output}: cannot write: {e.strerror or e}") from None
    print(f"{args.output}: {len(deployment.steps)} steps, model blob {len(deployment.blob):,} B (flash), arena "
          f"{deployment.plan.arena_size:,} B; build with `make -C {makefile.parent}` (arm-none-eabi-gcc), run with "
          f"`mcusim run {makefile.parent / 'model.elf'} --board {board.name}`")
    return 0


DEMO_MODEL, DEMO_BOARD, DEMO_DATASET = "vit-fmnist", "stm32f746", "fashion-mnist"


def cmd_demo(args) -> int:
    """The main job: the shipped int8 ViT on an emulated board, accuracy on real test images computed
    in the emulator (and proven bit-exact), latency, SRAM and flash, a trace and a memory plot."""
    from . import datasets, zoo
    from .evaluate import board_accuracy
    from .plots import memory_timeline
    from .runner import report

    entry = zoo.get(DEMO_MODEL)
    graph = Graph.load(entry.graph)
    out = Path(args.output)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"-o {out}: cannot create: {e.strerror}") from None
    runner = _runner(graph, args)
    board = runner.board
    x, y = datasets.load(DEMO_DATASET, "test")
    x, y = x[:args.limit], y[:args.limit]
    if not args.json:
        print(f"mcusim demo: {DEMO_MODEL} ({entry.description}) on an emulated {board.part} "
              f"({board.core.name}, {board.clock_hz // 1_000_000} MHz), memory options: {args.memory_opts}")
    accuracy, mismatches, m = board_accuracy(runner, x, y, progress=not args.json)
    m.write_trace(out / "trace.json")
    memory_timeline(runner.deployment, m, out / "memory.png",
                    f"{DEMO_MODEL} on {board.name}: SRAM peak {m.total_peak:,} B (arena {m.arena_peak:,} B, "
                    f"lower bound {m.lower_bound:,} B)")
    result = {"model": DEMO_MODEL, "accuracy": accuracy, "samples": len(x), "bit_exact": mismatches == 0,
              "mismatches": mismatches, **m.to_json()}
    (out / "report.json").write_text(json.dumps(result, indent=1))
    if args.json:
        print(json.dumps(result))
    else:
        print(f"accuracy  {accuracy:.2%} on the first {len(x)} {DEMO_DATASET} test images, computed in the "
              f"emulator; bit-exact with the reference interpreter: {'yes' if not mismatches else 'NO'}")
        print(report(m, top=None if args.all_ops else 8))
        print(f"written   {out / 'trace.json'} (open in https://ui.perfetto.dev), {out / 'memory.png'}, "
              f"{out / 'report.json'}")
    return 0 if not mismatches else EX_SOFTWARE


def _integer_from(least: int, name: str):
    """An argparse type: an integer >= least; argparse names the type (`name`) in its error."""
    def parse(text: str) -> int:
        value = int(text)
        if value < least:
            raise ValueError(text)
        return value

    parse.__name__ = name
    return parse


positive_int = _integer_from(1, "positive integer")
non_negative_int = _integer_from(0, "non-negative integer")


def register(subparsers) -> None:
    p = subparsers.add_parser("models", help="the registered model configs and their shipped checkpoints")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models)

    p = subparsers.add_parser("train", help="train a registered model (checkpoint every epoch, resumable)")
    p.add_argument("--model", required=True, metavar="NAME")
    p.add_argument("--dataset", required=True, metavar="DS", help="digits, fashion-mnist or npz:PATH")
    p.add_argument("--epochs", type=positive_int)
    p.add_argument("--batch-size", type=positive_int)
    p.add_argument("--lr", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("-o", "--output", required=True, metavar="CKPT")
    p.add_argument("--resume", action="store_true", help="continue the unfinished run in CKPT")
    p.set_defaults(func=cmd_train)

    p = subparsers.add_parser("export", help="quantize a trained model (PTQ on real data) into an int8 graph")
    p.add_argument("--model", required=True, metavar="NAME")
    p.add_argument("--checkpoint", metavar="CKPT", help="default: the model's shipped checkpoint")
    p.add_argument("--dataset", required=True, metavar="DS", help="calibration images: its training split")
    p.add_argument("--calibration-samples", type=positive_int, default=512, metavar="N")
    p.add_argument("--observer", choices=["histogram", "minmax"], default="histogram",
                   help="torch.ao observer of the activations (default: histogram)")
    p.add_argument("-o", "--output", required=True, metavar="GRAPH")
    p.set_defaults(func=cmd_export)

    p = subparsers.add_parser("prune", help="block-prune a trained model (TinyFormer style) and fine-tune it")
    p.add_argument("--model", required=True, metavar="NAME")
    p.add_argument("--checkpoint", metavar="CKPT", help="default: the model's shipped checkpoint")
    p.add_argument("--dataset", required=True, metavar="DS", help="fine-tuning and test images")
    p.add_argument("--sparsity", required=True, type=float, metavar="S",
                   help="fraction of each layer's blocks zeroed, in [0, 1)")
    p.add_argument("--block-size", type=int, choices=[2, 4], default=4,
                   help="values per block along the inputs (depthwise convs: a kernel row); default: %(default)s")
    p.add_argument("--schedule", choices=["oneshot", "agp"], default="agp",
                   help="prune at once, or gradually (AGP) over the first 2/3 of fine-tuning; default: %(default)s")
    p.add_argument("--epochs", type=non_negative_int, default=2, metavar="E",
                   help="fine-tuning epochs (0: prune only); default: %(default)s")
    p.add_argument("--layer", action="append", metavar="NAME=S[:B]",
                   help="a layer's own sparsity (and block size); NAME is its weight, e.g. head.weight")
    p.add_argument("--lr", type=float, default=2e-4, help="AdamW's peak learning rate; default: %(default)s")
    p.add_argument("-o", "--output", required=True, metavar="CKPT")
    p.set_defaults(func=cmd_prune)

    p = subparsers.add_parser("eval", help="accuracy of a graph on a dataset's test split (reference, or --board)")
    p.add_argument("graph", metavar="GRAPH")
    p.add_argument("--dataset", required=True, metavar="DS")
    p.add_argument("--limit", type=positive_int, metavar="N", help="the first N test images only")
    p.add_argument("--json", action="store_true")
    _add_board_options(p, required=False)
    p.set_defaults(func=cmd_eval)

    p = subparsers.add_parser("check", help="run a graph on an emulated board: bit-exact with the reference? "
                                            "cycles, SRAM and flash per op")
    p.add_argument("graph", metavar="GRAPH")
    p.add_argument("--samples", type=positive_int, default=3, metavar="N", help="random inputs (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    _add_board_options(p, required=True)
    p.set_defaults(func=cmd_check)

    p = subparsers.add_parser("export-c", help="a graph as a C project (model blob, runtime, Makefile) for a board")
    p.add_argument("graph", metavar="GRAPH")
    p.add_argument("--board", required=True, metavar="B")
    p.add_argument("-o", "--output", required=True, metavar="DIR")
    p.add_argument("--input", action="append", metavar="X.npy",
                   help="the sample input main() runs on, one per graph input (default: random, seed 0)")
    _add_deploy_options(p)
    p.set_defaults(func=cmd_export_c)

    p = subparsers.add_parser("demo", help=f"the shipped int8 ViT on an emulated {DEMO_BOARD}: accuracy, latency, "
                                           "SRAM, flash, trace and memory plot")
    p.add_argument("-o", "--output", default="mcusim-demo", metavar="DIR",
                   help="where the trace, plot and report go (default: %(default)s)")
    p.add_argument("--limit", type=positive_int, default=100, metavar="N",
                   help="test images run in the emulator (default: %(default)s)")
    p.add_argument("--board", default=DEMO_BOARD, metavar="B", help="default: %(default)s")
    _add_deploy_options(p)
    p.add_argument("--all-ops", action="store_true", help="list every op (default: the 8 costliest)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_demo)

    p = subparsers.add_parser("import", help="convert an int8 TFLite flatbuffer into an mcusim graph")
    p.add_argument("model", metavar="MODEL.tflite")
    p.add_argument("-o", "--output", required=True, metavar="GRAPH")
    p.set_defaults(func=cmd_import)

    p = subparsers.add_parser("infer", help="run a graph on inputs with the reference interpreter")
    p.add_argument("graph", metavar="GRAPH")
    p.add_argument("--input", action="append", required=True, metavar="X.npy",
                   help="one per graph input, in order (or one .npz with all of them)")
    p.add_argument("--output", required=True, metavar="Y.npy")
    p.add_argument("--dequantize", action="store_true", help="write float outputs instead of raw int8")
    p.add_argument("--json", action="store_true")
    _add_board_options(p, required=False)
    p.set_defaults(func=cmd_infer)


def _add_deploy_options(p) -> None:
    p.add_argument("--memory-opts", default="none", metavar="OPTS",
                   help="comma-separated: token-overwrite, inplace-depthwise, patch-embed[=HxW], "
                        "patch-based[=N[@TENSOR]], head-tail, greedy-by-size; or none / all (default: none)")
    p.add_argument("--no-dsp", dest="dsp", action="store_false", help="the kernels' plain C path (no SMLAD)")


def _add_board_options(p, required: bool) -> None:
    p.add_argument("--board", required=required, metavar="B",
                   help="run on this emulated board (stm32f427, stm32f746, stm32h743)" +
                        ("" if required else "; default: the reference interpreter"))
    _add_deploy_options(p)
    p.add_argument("--trace", metavar="T.json", help="write a Perfetto trace: a slice per op, SRAM counters")
    p.add_argument("--all-ops", action="store_true", help="list every op in the report (default: the 12 costliest)")
