"""Arrays in and out of a graph: .npy/.npz files, fed int8 as they are or float quantized with the
graph's input parameters, and dequantized on the way out (the CLI writes them: models/cli.py).

    inputs = prepare_inputs(graph, load_arrays(["x.npy"]))     # one array per graph input, in order
    inputs, n = prepare_batch(graph, load_arrays(["xs.npy"]))  # or N samples per input, [N, ...]
    outputs = run_batch(graph, inputs, n, Interpreter(graph).run, interpreter_chunk(graph))  # n samples

A batch: where an input tensor's leading axis is 1 ([1, ...]), an array [N, ...] (or [N, 1, ...], N
samples stacked by np.stack) holds N samples of it; every batched input holds the same N. The outputs
of a batch are stacked the same way: [N, ...] for an output [1, ...], [N, *shape] for another.
"""
from __future__ import annotations

import numpy as np

from mcusim.errors import EX_DATAERR, McusimError, UsageError
from mcusim.files import read_array_file

from .graph import FLOAT32_MAX, Graph, Tensor, short
from .interpreter import batch_safe
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
        prepared.append(_convert(name, t, array))
    return prepared


def _convert(name: str, t: Tensor, array: np.ndarray) -> np.ndarray:
    """`array` (of t's shape, or a batch of it) as input `name` takes it (prepare_inputs)."""
    if np.issubdtype(array.dtype, np.floating) and not (finite := np.abs(array) <= FLOAT32_MAX).all():
        raise InputError(f"input {name!r}: {int((~finite).sum())} values are NaN, infinite or beyond float32")
    if t.dtype == "float32":  # the graph quantizes its own input
        if not np.issubdtype(array.dtype, np.floating):
            raise InputError(f"input {name!r} is float32; got {array.dtype}")
        return array.astype(np.float32)
    if array.dtype == np.int8:
        return array
    if np.issubdtype(array.dtype, np.floating):
        return quantize(array, t)
    raise InputError(f"input {name!r}: dtype {array.dtype} is neither int8 (fed as is) nor float (quantized)")


def _samples(name: str, t: Tensor, array: np.ndarray) -> int | None:
    """How many samples of input `name` `array` holds: None for exactly t's shape, N for a batch
    (module doc); anything else is an InputError naming the shapes accepted."""
    if array.shape == t.shape:
        return None
    rest = t.shape[1:]
    if t.shape[0] == 1 and array.ndim >= 1 and array.shape[0] >= 1 and array.shape[1:] in (rest, t.shape):
        return array.shape[0]
    batch = f" or a batch [N{''.join(f', {d}' for d in rest)}]" if t.shape[0] == 1 else ""
    raise InputError(f"input {name!r}: expected shape {list(t.shape)}{batch}, got {list(array.shape)}")


def stack_samples(graph: Graph, arrays: list[np.ndarray], where: str) -> np.ndarray:
    """The arrays of one file (`where`) for a one-input graph, each a sample of its input or a batch of
    them, as one batch [N, ...] in order."""
    name = graph.inputs[0]
    t = graph.tensors[name]
    if len({a.dtype for a in arrays}) > 1:
        raise InputError(f"{where}: its arrays mix dtypes ({', '.join(sorted({str(a.dtype) for a in arrays}))}); "
                         "give all int8 or all float")
    counts = [_samples(name, t, a) or 1 for a in arrays]
    return np.concatenate([a.reshape(n, *t.shape[1:]) for a, n in zip(arrays, counts)])


def prepare_batch(graph: Graph, arrays: list[np.ndarray]) -> tuple[list[np.ndarray], int | None]:
    """(inputs, n): one array per graph input as prepare_inputs gives it, or, where any array is a
    batch of N samples (module doc), every input as a batch [N, ...] (an input of exactly its
    tensor's shape counting as one sample); n None for one sample of the tensors' own shapes."""
    if len(arrays) != len(graph.inputs):
        raise UsageError(f"the graph has {len(graph.inputs)} input(s) ({short(graph.inputs, 200)}); "
                         f"got {len(arrays)} array(s)")
    counts = {name: _samples(name, graph.tensors[name], a) for name, a in zip(graph.inputs, arrays)}
    if all(n is None for n in counts.values()):
        return prepare_inputs(graph, arrays), None
    sizes = {name: n or 1 for name, n in counts.items()}
    if len(set(sizes.values())) > 1:
        raise InputError("the inputs hold different numbers of samples (" +
                         ", ".join(f"{short(name, 40)} {n}" for name, n in sizes.items()) + "); give each the same N")
    n = next(iter(sizes.values()))
    rest = {name: graph.tensors[name].shape[1:] for name in graph.inputs}
    return [_convert(name, graph.tensors[name], a.reshape(n, *rest[name]))
            for name, a in zip(graph.inputs, arrays)], n


BATCH_BYTES = 64 << 20  # the activations one interpreter call of a batch may hold


def interpreter_chunk(graph: Graph) -> int:
    """Samples per interpreter call of a batch: as many as keep every activation tensor of the call
    within BATCH_BYTES (the interpreter keeps them all), where every op keeps the samples apart
    (interpreter.batch_safe); else 1."""
    if not all(batch_safe(graph, op) for op in graph.ops):
        return 1
    per_sample = sum(int(np.prod(t.shape)) * np.dtype(t.dtype).itemsize for t in graph.tensors.values()
                     if t.data is None)
    return max(1, BATCH_BYTES // max(per_sample, 1))


def run_batch(graph: Graph, inputs: list[np.ndarray], n: int, run, chunk: int) -> list[np.ndarray]:
    """The outputs of n samples (inputs as prepare_batch gives them, [n, ...]), stacked (module doc):
    `run(inputs) -> outputs` is called on `chunk` samples at a time (for chunk 1, inputs of the
    tensors' own shapes)."""
    pieces = []
    for start in range(0, n, chunk):
        count = min(chunk, n - start)
        part = [x[start:start + count].reshape(count * graph.tensors[name].shape[0], *graph.tensors[name].shape[1:])
                for name, x in zip(graph.inputs, inputs)]
        pieces.append(run(part))
    outputs = []
    for k, name in enumerate(graph.outputs):
        shape = graph.tensors[name].shape
        y = np.concatenate([piece[k] for piece in pieces])
        outputs.append(y.reshape(n, *(shape[1:] if shape[0] == 1 else shape)))
    return outputs


def dequantize_outputs(graph: Graph, outputs: list[np.ndarray]) -> list[np.ndarray]:
    """The graph's int8 outputs as float32 (float outputs as they are)."""
    return [dequantize(y, graph.tensors[name]) if y.dtype == np.int8 else y for y, name in zip(outputs, graph.outputs)]

