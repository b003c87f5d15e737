"""The `mcusim` commands of the NN side, registered through the `mcusim.commands` entry point. They
parse and print; the work is the library's (models/pipeline.py, models/arrays.py and below). Their
options follow mcusim/cli.py's one vocabulary, and every command takes --json.

    mcusim import MODEL.tflite -o GRAPH
    mcusim infer GRAPH --input X.npy [--input ...] -o Y.npy [--dequantize] [--board B]
    mcusim check GRAPH --board B [--inputs N] [--seed N] [--max-cycles N] [--max-stack B] [--max-sram B]
    mcusim export-c GRAPH --board B -o DIR [--force] [--input X.npy ...] [--seed N]
    mcusim demo [-o DIR] [--force] [--test-images N] [--board B]
    mcusim models
    mcusim train --model NAME --dataset DS [--epochs E] [--seed N] -o CKPT [--resume]
    mcusim export --model NAME [--checkpoint CKPT] --dataset DS [--calibration-images N] -o GRAPH
    mcusim prune --model NAME [--checkpoint CKPT] --dataset DS --sparsity S [--block-size 2|4]
                 [--schedule oneshot|agp] [--epochs E] [--layer NAME=S[:B] ...] [--lr LR] -o CKPT
    mcusim eval GRAPH --dataset DS [--test-images N] [--board B]

Board options (infer, check, eval): --memory-opts, --no-dsp, --trace T.json (Perfetto), --all-ops.

Inputs are given once per graph input, in order (or one .npz holding one array per input, in
order). An int8 array is fed as it is; a float array is quantized with the input tensor's scale and
zero point. The output is the raw int8 tensor, or float with --dequantize (several outputs: .npz).
infer takes a batch (models/arrays.py): an array [N, ...] for an input [1, ...], or for a one-input
graph one .npz of several samples; the outputs are stacked [N, ...], the samples run in one process.

Outputs are checked before any work (mcusim/files.py): a file is never a folder or one of the
inputs, a folder that is not empty needs --force; every file is written atomically (temp + rename).
"""
from __future__ import annotations

import argparse
import shlex
import sys
import zipfile
from typing import TYPE_CHECKING

import numpy as np

from mcusim.cli import (EX_BUDGET, add_board, add_budgets, add_deploy_options as _add_deploy_options, add_force,
                        add_images, add_json, add_option, add_output, add_seed, add_trace, board, non_negative_int,
                        over_budget, positive_float, positive_int, print_json, writing)
from mcusim.errors import EX_SOFTWARE, UsageError
from mcusim.files import atomic_path, atomic_writer, output_file, output_folder

from .arrays import (dequantize_outputs, interpreter_chunk, load_arrays, prepare_batch, prepare_inputs, run_batch,
                     stack_samples)
from .graph import Graph
from .pipeline import CALIBRATION_IMAGES, DEMO_BOARD, DEMO_DATASET, DEMO_MODEL

if TYPE_CHECKING:
    from .prune import LayerPruning


def _runner(graph: Graph, args):
    """The BoardRunner of --board, --memory-opts and --no-dsp (deployment errors before any run)."""
    from .deploy import MemoryOptions, deploy
    from .runner import BoardRunner

    return BoardRunner(deploy(graph, MemoryOptions.parse(args.memory_opts)), board(args.board), dsp=args.dsp)


def _check_trace(args, inputs: list) -> None:
    """--trace, checked before any work."""
    if args.trace:
        output_file(args.trace, "--trace", inputs=inputs)


def _save_graph(graph: Graph, path) -> None:
    """graph.save(path) for -o, atomically."""
    with writing("-o", path), atomic_path(path) as tmp:
        graph.save(tmp)


def _finish_board_run(args, deployment, measurement, result: dict) -> None:
    """Write --trace, then print the JSON object (--json) or the human-readable report."""
    from .deploy import weight_storage
    from .runner import report

    if args.trace:
        with writing("--trace", args.trace), atomic_path(args.trace) as tmp:
            measurement.write_trace(tmp)
    if args.json:
        choice = deployment.patch_choice
        print_json({**result, **measurement.to_json(),
                    "patch_based": None if choice is None else {**choice.to_json(), "summary": str(choice)},
                    "weights": [layer.to_json() for layer in weight_storage(deployment)]})
    else:
        print(report(measurement, deployment, top=None if args.all_ops else 12))


def _command_line() -> str:
    return shlex.join(["mcusim", *sys.argv[1:]])


def _save_outputs(graph: Graph, outputs: list[np.ndarray], f) -> None:
    """One output: .npy; several: .npz, each under its tensor's name (zipfile: np.savez would take a name
    such as `file` or `allow_pickle` for its own argument)."""
    if len(outputs) == 1:
        np.save(f, outputs[0], allow_pickle=False)
        return
    with zipfile.ZipFile(f, "w") as z:
        for name, y in zip(graph.outputs, outputs):
            with z.open(f"{name}.npy", "w") as member:
                np.lib.format.write_array(member, y, allow_pickle=False)


def cmd_infer(args) -> int:
    from .interpreter import Interpreter

    output_file(args.output, "-o", inputs=[args.graph, *args.input])  # written as given: no suffix added
    _check_trace(args, [args.graph, *args.input])
    graph = Graph.load(args.graph)
    arrays = load_arrays(args.input)
    if len(graph.inputs) == 1 and len(args.input) == 1 and len(arrays) > 1:  # one file of many samples
        arrays = [stack_samples(graph, arrays, args.input[0])]
    inputs, n = prepare_batch(graph, arrays)
    if args.board:
        runner, measured = _runner(graph, args), []

        def run_one(x: list[np.ndarray]) -> list[np.ndarray]:
            outputs, m = runner.run(x)
            measured.append(m)
            return outputs

        chunk = 1
    else:
        run_one, chunk = Interpreter(graph).run, interpreter_chunk(graph)
    outputs = run_one(inputs) if n is None else run_batch(graph, inputs, n, run_one, chunk)
    if args.dequantize:
        outputs = dequantize_outputs(graph, outputs)
    with writing("-o", args.output), atomic_writer(args.output) as f:
        _save_outputs(graph, outputs, f)
    result = {"output": args.output, "outputs": list(graph.outputs), "samples": n or 1}
    if args.board:
        if n and not args.json:
            print(f"{args.output}: {n} samples run on {args.board}; measured on the first:")
        _finish_board_run(args, runner.deployment, measured[0], result)
    elif args.json:
        print_json(result)
    return 0


def _worst(measurements) -> dict:
    """check's figures over its inputs: for cycles, stack peak and SRAM peak, the largest value and
    the input it came from (1-based, in the order --seed draws them; the first of equal values)."""
    worst = {}
    for key, figure in (("cycles", "cycles"), ("stack_peak", "stack_peak"), ("sram_peak", "total_peak")):
        values = [getattr(m, figure) for m in measurements]
        i = max(range(len(values)), key=values.__getitem__)
        worst[key] = {"value": values[i], "input": i + 1}
    return worst


def cmd_check(args) -> int:
    """Exit 0 when bit-exact and within the budgets; EX_SOFTWARE on a mismatch (the budgets still in
    --json's over_budget); EX_BUDGET over a budget, with one line naming the figure, its worst value,
    the budget and the input it came from (`mcusim check ... --inputs I --seed S` runs it last)."""
    from .pipeline import check_on_board

    _check_trace(args, [args.graph])
    runner = _runner(Graph.load(args.graph), args)
    mismatches, measurements = check_on_board(runner, args.inputs, args.seed, progress=not args.json)
    over = over_budget(args, *[(m.cycles, m.stack_peak, m.total_peak) for m in measurements],
                       worst=lambda i: f"worst input: {i + 1} of {args.inputs}, seed {args.seed}")
    result = {"bit_exact": mismatches == 0, "mismatches": mismatches, "samples": args.inputs,
              "worst": _worst(measurements)}
    _finish_board_run(args, runner.deployment, measurements[0], {**result, **({"over_budget": over} if over else {})})
    if mismatches:
        print(f"mcusim: {mismatches} output values on {args.board} differ from the reference interpreter "
              f"({args.inputs} random inputs)", file=sys.stderr)
        return EX_SOFTWARE
    if not args.json:
        w = result["worst"]
        print(f"bit-exact: {args.inputs} random inputs on {args.board} equal the reference interpreter; the worst: "
              f"{w['cycles']['value']:,} cycles (input {w['cycles']['input']}), stack peak "
              f"{w['stack_peak']['value']:,} B (input {w['stack_peak']['input']}), SRAM peak "
              f"{w['sram_peak']['value']:,} B (input {w['sram_peak']['input']})")
    if over:
        print(f"mcusim: {over}", file=sys.stderr)
        return EX_BUDGET
    return 0


def cmd_import(args) -> int:
    from .tflite_import import import_tflite

    output_file(args.output, "-o", inputs=[args.model])
    graph = import_tflite(args.model)
    _save_graph(graph, args.output)
    kinds = sorted({op.kind for op in graph.ops})
    if args.json:
        print_json({"output": args.output, "ops": len(graph.ops), "kinds": kinds, "tensors": len(graph.tensors)})
    else:
        print(f"{args.output}: {len(graph.ops)} ops ({', '.join(kinds)}), {len(graph.tensors)} tensors")
    return 0


def cmd_models(args) -> int:
    from . import zoo
    from .nn import build, parameter_count
    from .prune import checkpoint_sparsity

    rows = []
    for name in zoo.names():
        entry = zoo.get(name)
        rows.append({"name": name, "family": entry.config.family, "dataset": entry.dataset,
                     "params": parameter_count(build(entry.config)),
                     "checkpoint": str(entry.checkpoint) if entry.checkpoint else None,
                     "graph": str(entry.graph) if entry.graph else None,
                     "sparsity": checkpoint_sparsity(entry.checkpoint) if entry.checkpoint else 0.0,
                     "description": entry.description})
    if args.json:
        print_json(rows)
        return 0
    print(f"{'name':20} {'family':10} {'params':>8} {'dataset':14} {'shipped':8} description")
    for r in rows:
        print(f"{r['name']:20} {r['family']:10} {r['params']:>8,} {r['dataset']:14} "
              f"{'yes' if r['checkpoint'] else 'no':8} {r['description']}")
    return 0


def cmd_train(args) -> int:
    from .train import TrainOptions, train

    output_file(args.output, "-o")
    options = TrainOptions(**{k: v for k, v in (("epochs", args.epochs), ("batch_size", args.batch_size),
                                                 ("lr", args.lr), ("seed", args.seed)) if v is not None})
    meta = train(args.model, args.dataset, args.output, options, resume=args.resume, command=_command_line(),
                 progress=not args.json)
    accuracy = meta["history"][-1].get("test_accuracy") if meta["history"] else None
    if args.json:
        print_json({"output": args.output, "model": args.model, "epochs": meta["epoch"], "test_accuracy": accuracy})
    else:
        print(f"{args.output}: {args.model} after {meta['epoch']} epochs, float test accuracy "
              f"{accuracy if accuracy is not None else float('nan'):.4f}")
    return 0


def cmd_export(args) -> int:
    from .pipeline import export_model

    output_file(args.output, "-o", inputs=[args.checkpoint])
    graph = export_model(args.model, args.dataset, args.checkpoint, args.calibration_images, args.observer)
    _save_graph(graph, args.output)
    constants = sum(t.data.nbytes for t in graph.tensors.values() if t.data is not None)
    images = graph.metadata["calibration"]["samples"]
    if args.json:
        print_json({"output": args.output, "model": args.model, "ops": len(graph.ops), "constant_bytes": constants,
                    "calibration_images": images})
    else:
        print(f"{args.output}: {args.model}, {len(graph.ops)} ops, {constants:,} bytes of constants, calibrated on "
              f"{images} {args.dataset} training images")
    return 0


def cmd_prune(args) -> int:
    from . import zoo
    from .nn import build
    from .prune import PruneOptions, prune, prunable_layers, pruning_config

    output_file(args.output, "-o", inputs=[args.checkpoint])
    model = build(zoo.get(args.model).config)
    overrides = dict(_layer_override(text, args.block_size) for text in args.layer or [])
    try:
        config = pruning_config(model, args.sparsity, args.block_size, overrides)
        options = PruneOptions(schedule=args.schedule, epochs=args.epochs, lr=args.lr, seed=args.seed)
    except ValueError as e:
        raise UsageError(str(e)) from None
    meta = prune(args.model, args.dataset, args.output, config, args.checkpoint, options, command=_command_line(),
                 progress=not args.json)
    layers, record = prunable_layers(model), meta["pruning"]
    if args.json:
        print_json({"output": args.output, "model": args.model, "schedule": args.schedule, "epochs": args.epochs,
                    "accuracy": record["accuracy"], "source_accuracy": record["source_accuracy"],
                    "layers": record["layers"]})
        return 0
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


def cmd_eval(args) -> int:
    from .pipeline import evaluate_graph

    _check_trace(args, [args.graph])
    graph = Graph.load(args.graph)
    runner = _runner(graph, args) if args.board else None
    result, measurement = evaluate_graph(graph, args.dataset, args.test_images, runner, progress=not args.json)
    if not args.json:
        where = f"int8 on {args.board} (emulated)" if args.board else "int8 reference"
        line = f"{args.graph} on {result['samples']} {args.dataset} test images: {where} accuracy {result['accuracy']:.4f}"
        if "float_accuracy" in result:
            line += f", float ({result['checkpoint']}) {result['float_accuracy']:.4f}"
        print(line)
    if measurement is None:
        if args.json:
            print_json(result)
        return 0
    if not args.json:
        print(f"bit-exact with the reference interpreter: {'yes' if result['bit_exact'] else 'NO'}; "
              "measured on the first image:")
    _finish_board_run(args, runner.deployment, measurement, result)
    return 0 if result["bit_exact"] else EX_SOFTWARE


def cmd_export_c(args) -> int:
    from .deploy import MemoryOptions, deploy
    from .evaluate import random_inputs
    from .export_c import write_project

    graph = Graph.load(args.graph)
    target = board(args.board)
    samples = (prepare_inputs(graph, load_arrays(args.input)) if args.input
               else random_inputs(graph, np.random.default_rng(args.seed)))
    out = output_folder(args.output, "-o", args.force, inputs=[args.graph, *(args.input or [])])
    deployment = deploy(graph, MemoryOptions.parse(args.memory_opts))
    with writing("-o", args.output):
        makefile = write_project(deployment, target, samples, out, dsp=args.dsp)
    elf = makefile.parent / "model.elf"
    if args.json:
        print_json({"output": args.output, "makefile": str(makefile), "elf": str(elf), "board": target.name,
                    "steps": len(deployment.steps), "model_bytes": len(deployment.blob),
                    "arena_bytes": deployment.plan.arena_size})
    else:
        print(f"{args.output}: {len(deployment.steps)} steps, model blob {len(deployment.blob):,} B (flash), arena "
              f"{deployment.plan.arena_size:,} B; build with `make -C {makefile.parent}` (arm-none-eabi-gcc), run "
              f"with `mcusim run {elf} --board {target.name}`")
    return 0


def cmd_demo(args) -> int:
    """The main job: the shipped int8 ViT on an emulated board, accuracy on real test images computed
    in the emulator (and proven bit-exact), latency, SRAM and flash, a trace and a memory plot."""
    from . import zoo
    from .pipeline import demo_graph, run_demo
    from .runner import report

    out = output_folder(args.output, "-o", args.force)
    runner = _runner(demo_graph(), args)
    b = runner.board
    if not args.json:
        print(f"mcusim demo: {DEMO_MODEL} ({zoo.get(DEMO_MODEL).description}) on an emulated {b.part} "
              f"({b.core.name}, {b.clock_hz // 1_000_000} MHz), memory options: {args.memory_opts}")
    with writing("-o", out):
        result, m = run_demo(runner, args.test_images, out, progress=not args.json)
    if args.json:
        print_json({**result, "output": str(out)})
    else:
        print(f"accuracy  {result['accuracy']:.2%} on the first {result['samples']} {DEMO_DATASET} test images, "
              f"computed in the emulator; bit-exact with the reference interpreter: "
              f"{'yes' if result['bit_exact'] else 'NO'}")
        print(report(m, runner.deployment, top=None if args.all_ops else 8))
        print(f"written   {out / 'trace.json'} (open in https://ui.perfetto.dev), {out / 'memory.png'}, "
              f"{out / 'report.json'}")
    return 0 if result["bit_exact"] else EX_SOFTWARE


def add_deploy_options(p) -> None:
    """--memory-opts (its names from models.deploy.MemoryOptions) and --no-dsp; nas/cli.py's too."""
    from .deploy import MemoryOptions

    _add_deploy_options(p, f"comma-separated: {', '.join(MemoryOptions.NAMES)}; or none / all (default: none). "
                           "OP: an op index as `mcusim check` lists it (op3 or 3), its name or short name, or a "
                           "unique suffix of its name")


def _add_board_options(p, required: bool) -> None:
    add_board(p, required=required,
              purpose="run on this emulated board" + ("" if required else " (default: the reference interpreter)"))
    add_deploy_options(p)
    add_trace(p)
    p.add_argument("--all-ops", action="store_true", help="list every op in the report (default: the 12 costliest)")


def _add_models(sub) -> None:
    p = sub.add_parser("models", help="the registered model configs and their shipped checkpoints")
    add_json(p)
    p.set_defaults(func=cmd_models)


def add_dataset(p: argparse.ArgumentParser, help: str = "digits, fashion-mnist or npz:PATH") -> None:
    p.add_argument("--dataset", required=True, metavar="DS", help=help)


def add_training_options(p: argparse.ArgumentParser) -> None:
    """--epochs, --batch-size and --lr of a training run (their defaults are TrainOptions')."""
    p.add_argument("--epochs", type=positive_int, metavar="E", help="default: 30")
    p.add_argument("--batch-size", type=positive_int, metavar="N", help="default: 128")
    p.add_argument("--lr", type=positive_float, metavar="LR", help="AdamW's peak learning rate (default: 2e-3)")


def _add_trained_model(p: argparse.ArgumentParser, dataset_help: str) -> None:
    """--model, --checkpoint and --dataset of a command that starts from a trained model."""
    p.add_argument("--model", required=True, metavar="NAME", help="a registered model (mcusim models)")
    p.add_argument("--checkpoint", metavar="CKPT", help="default: the model's shipped checkpoint")
    add_dataset(p, dataset_help)


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train a registered model (checkpoint every epoch, resumable)")
    p.add_argument("--model", required=True, metavar="NAME", help="a registered model (mcusim models)")
    add_dataset(p)
    add_training_options(p)
    add_seed(p, "the initial weights and the batch order")
    add_output(p, "CKPT", help="the checkpoint, written after every epoch")
    p.add_argument("--resume", action="store_true", help="continue the unfinished run in CKPT")
    add_json(p)
    p.set_defaults(func=cmd_train)


def _add_export(sub) -> None:
    p = sub.add_parser("export", help="quantize a trained model (PTQ on real data) into an int8 graph")
    _add_trained_model(p, "calibration images: its training split")
    add_images(p, "calibration", "training images the activations are calibrated on (default: %(default)s)",
               default=CALIBRATION_IMAGES, aliases=("--calibration-samples",))
    p.add_argument("--observer", choices=["histogram", "minmax"], default="histogram",
                   help="torch.ao observer of the activations (default: histogram)")
    add_output(p, "GRAPH", help="the int8 graph")
    add_json(p)
    p.set_defaults(func=cmd_export)


def _add_prune(sub) -> None:
    p = sub.add_parser("prune", help="block-prune a trained model (TinyFormer style) and fine-tune it")
    _add_trained_model(p, "fine-tuning and test images")
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
    p.add_argument("--lr", type=positive_float, default=2e-4, help="AdamW's peak learning rate; default: %(default)s")
    add_seed(p, "the fine-tuning batch order")
    add_output(p, "CKPT", help="the pruned checkpoint")
    add_json(p)
    p.set_defaults(func=cmd_prune)


def _add_eval(sub) -> None:
    p = sub.add_parser("eval", help="accuracy of a graph on a dataset's test split (reference, or --board)")
    p.add_argument("graph", metavar="GRAPH")
    add_dataset(p)
    add_images(p, "test", "the first N test images only (default: all)", aliases=("--limit",))
    add_json(p)
    _add_board_options(p, required=False)
    p.set_defaults(func=cmd_eval)


def _add_check(sub) -> None:
    p = sub.add_parser("check", help="run a graph on an emulated board: bit-exact with the reference? "
                                     "cycles, SRAM and flash per op")
    p.add_argument("graph", metavar="GRAPH")
    add_option(p, "--inputs", type=positive_int, default=3, metavar="N", aliases=("--samples",),
               help="random inputs run and compared (default: %(default)s)")
    add_seed(p, "the random inputs")
    add_budgets(p, sram="static + stack + arena")
    add_json(p)
    _add_board_options(p, required=True)
    p.set_defaults(func=cmd_check)


def _add_export_c(sub) -> None:
    p = sub.add_parser("export-c", help="a graph as a C project (model blob, runtime, Makefile) for a board")
    p.add_argument("graph", metavar="GRAPH")
    add_board(p, purpose="the board the project is for")
    add_output(p, "DIR", help="the project folder")
    add_force(p)
    p.add_argument("--input", action="append", metavar="X.npy",
                   help="the sample input main() runs on, one per graph input (default: random, drawn with --seed)")
    add_seed(p, "the random sample input")
    add_deploy_options(p)
    add_json(p)
    p.set_defaults(func=cmd_export_c)


def _add_demo(sub) -> None:
    p = sub.add_parser("demo", help=f"the shipped int8 ViT on an emulated {DEMO_BOARD}: accuracy, latency, "
                                    "SRAM, flash, trace and memory plot")
    add_output(p, "DIR", required=False, default="mcusim-demo",
               help="where the trace, plot and report go (default: %(default)s)")
    add_force(p)
    add_images(p, "test", "test images run in the emulator (default: %(default)s)", default=100,
               aliases=("--limit",))
    add_board(p, required=False, default=DEMO_BOARD, purpose="run on this emulated board")
    add_deploy_options(p)
    p.add_argument("--all-ops", action="store_true", help="list every op (default: the 8 costliest)")
    add_json(p)
    p.set_defaults(func=cmd_demo)


def _add_import(sub) -> None:
    p = sub.add_parser("import", help="convert an int8 TFLite flatbuffer into an mcusim graph")
    p.add_argument("model", metavar="MODEL.tflite")
    add_output(p, "GRAPH", help="the mcusim graph")
    add_json(p)
    p.set_defaults(func=cmd_import)


def _add_infer(sub) -> None:
    p = sub.add_parser("infer", help="run a graph on inputs with the reference interpreter, or on a board")
    p.add_argument("graph", metavar="GRAPH")
    p.add_argument("--input", action="append", required=True, metavar="X.npy",
                   help="one per graph input, in order (or one .npz with all of them); [N, ...] for an input "
                        "[1, ...] is a batch of N samples, as is one .npz of samples for a one-input graph")
    add_output(p, "Y.npy", help="the outputs, written as named: .npy (one output) or .npz (several, by name)")
    p.add_argument("--dequantize", action="store_true", help="write float outputs instead of raw int8")
    add_json(p)
    _add_board_options(p, required=False)
    p.set_defaults(func=cmd_infer)


def register(subparsers) -> None:
    for add in (_add_models, _add_train, _add_export, _add_prune, _add_eval, _add_check, _add_export_c, _add_demo,
                _add_import, _add_infer):
        add(subparsers)
