"""Arrays in and out of a graph: .npy/.npz files, fed int8 as they are or float quantized with the
graph's input parameters, and dequantized on the way out (the CLI writes them: models/cli.py).

    inputs = prepare_inputs(graph, load_arrays(["x.npy"]))     # one array per graph input, in order
"""
from __future__ import annotations

import numpy as np

from mcusim.errors import EX_DATAERR, McusimError, UsageError
from mcusim.files import read_array_file

from .graph import FLOAT32_MAX, Graph, Tensor, short
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
    """The arrays of .npy files (one each) and .npz files (each of theirs, in order): regular files,
    bounded (mcusim.files.read_array_file), no pickles."""
    return [array for path in paths for array in read_array_file(path, InputError)]


def prepare_inputs(graph: Graph, arrays: list[np.ndarray]) -> list[np.ndarray]:
    """One array per graph input, in order, as the graph takes it: an int8 array as it is, a float
    array quantized with the input tensor's scale and zero point (a float32 input: as float32). A
    float array holding NaN, an infinity or a value beyond float32 is refused (InputError naming the
    input): no int8 value stands for it."""
    if len(arrays) != len(graph.inputs):
        raise UsageError(f"the graph has {len(graph.inputs)} input(s) ({short(graph.inputs, 200)}); "
                         f"got {len(arrays)} array(s)")
    prepared = []
    for name, array in zip(graph.inputs, arrays):
        t = graph.tensors[name]
        if array.shape != t.shape:
            raise InputError(f"input {name!r}: expected shape {list(t.shape)}, got {list(array.shape)}")
        if np.issubdtype(array.dtype, np.floating) and not (finite := np.abs(array) <= FLOAT32_MAX).all():
            raise InputError(f"input {name!r}: {int((~finite).sum())} values are NaN, infinite or beyond float32")
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

