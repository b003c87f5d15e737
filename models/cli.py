"""The `mcusim` commands of the NN side, registered through the `mcusim.commands` entry point:

    mcusim import MODEL.tflite -o GRAPH
    mcusim infer GRAPH --input X.npy [--input ...] --output Y.npy [--dequantize]

Inputs are given once per graph input, in order (or one .npz holding one array per input, in
order). An int8 array is fed as it is; a float array is quantized with the input tensor's scale and
zero point. The output is the raw int8 tensor, or float with --dequantize (several outputs: .npz).
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from mcusim.errors import EX_DATAERR, McusimError, UsageError

from .graph import Graph, Tensor
from .interpreter import run
from .ops.quantize import dequantize_s8, quantize_s8


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


def cmd_infer(args) -> int:
    graph = Graph.load(args.graph)
    outputs = run(graph, prepare_inputs(graph, _load_arrays(args.input)))
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


def register(subparsers) -> None:
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
    p.set_defaults(func=cmd_infer)
