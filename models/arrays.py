"""Arrays in and out of a graph: .npy/.npz files, fed int8 as they are or float quantized with the
graph's input parameters, and written back raw (int8) or dequantized.

    inputs = prepare_inputs(graph, load_arrays(["x.npy"]))     # one array per graph input, in order
    save_outputs(graph, run(graph, inputs), "y.npy")            # several outputs: one .npz by name
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from mcusim.errors import EX_DATAERR, McusimError, UsageError

from .graph import Graph, Tensor
from .ops.quantize import dequantize_s8, quantize_s8


class InputError(McusimError):
    exit_code = EX_DATAERR


def quantize(array: np.ndarray, t: Tensor) -> np.ndarray:
    """Float -> int8 with the tensor's quantization, as TFLite's QUANTIZE."""
    return quantize_s8(array, t.quant.scale[0], t.quant.zero_point[0])


def dequantize(array: np.ndarray, t: Tensor) -> np.ndarray:
    """int8 -> float32 with the tensor's quantization, as TFLite's DEQUANTIZE."""
    return dequantize_s8(array, t.quant.scale[0], t.quant.zero_point[0])


def load_arrays(paths: list[str]) -> list[np.ndarray]:
    """The arrays of .npy files (one each) and .npz files (each of theirs, in order); no pickles."""
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
    """One array per graph input, in order, as the graph takes it: an int8 array as it is, a float
    array quantized with the input tensor's scale and zero point (a float32 input: as float32)."""
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


def dequantize_outputs(graph: Graph, outputs: list[np.ndarray]) -> list[np.ndarray]:
    """The graph's int8 outputs as float32 (float outputs as they are)."""
    return [dequantize(y, graph.tensors[name]) if y.dtype == np.int8 else y for y, name in zip(outputs, graph.outputs)]


def save_outputs(graph: Graph, outputs: list[np.ndarray], path: str | Path) -> Path:
    """One output: a .npy file; several: one .npz holding each under its tensor's name. Returns the
    path written (numpy adds the suffix when `path` lacks it)."""
    path = Path(path)
    if len(outputs) == 1:
        np.save(path, outputs[0])
        return path if path.suffix == ".npy" else Path(f"{path}.npy")
    np.savez(path, **dict(zip(graph.outputs, outputs)))
    return path if path.suffix == ".npz" else Path(f"{path}.npz")
