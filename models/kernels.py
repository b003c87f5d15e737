"""The C kernels of runtime_c/src as callable libraries: built for the host (ctypes, fast fuzzing)
or for a board and run in the emulator. Both offer one interface, so a test or an op calls the
same C on either:

    kernels.put(array) -> address      kernels.alloc(nbytes) -> address
    kernels.read(address, dtype, shape) kernels.call(name, *int args) -> int (r0 / return value)
    kernels.pointers([addresses]) -> an array of pointers of the backend's width
    with kernels.scratch(): ...        everything put or allocated inside is released after
"""
from __future__ import annotations

import contextlib
import ctypes
from pathlib import Path

import numpy as np

from mcusim.boards import Board
from mcusim.elf import ElfImage
from mcusim.emulator import Emulator
from mcusim.toolchain import RUNTIME_C, build, build_host_library

SOURCES = sorted((RUNTIME_C / "src").glob("*_s8.c"))
FUNCTIONS = [f"mcusim_{path.stem}" for path in SOURCES]


class _Kernels:
    ptr_dtype: np.dtype

    def pointers(self, addresses) -> np.ndarray:
        """An array of pointers as the kernels' C sees them (64-bit on the host, 32-bit on target)."""
        return np.array(addresses, dtype=self.ptr_dtype)


class HostKernels(_Kernels):
    """The kernels compiled for this machine; `dsp` selects the MCUSIM_DSP path (portable DSP ops)."""

    ptr_dtype = np.dtype(np.uintp)

    def __init__(self, dsp: bool):
        self.dsp = dsp
        self._lib = ctypes.CDLL(str(build_host_library(SOURCES, defines=[f"MCUSIM_DSP={int(dsp)}"])))
        self._live: list[np.ndarray] = []

    def put(self, array: np.ndarray) -> int:
        data = np.array(array, order="C", copy=True)
        self._live.append(data)
        return data.ctypes.data if data.size else self.alloc(1)

    def alloc(self, nbytes: int) -> int:
        return self.put(np.zeros(max(nbytes, 1), dtype=np.uint8))

    def read(self, address: int, dtype, shape) -> np.ndarray:
        dtype = np.dtype(dtype)
        count = int(np.prod(shape, dtype=np.int64))
        raw = ctypes.string_at(address, count * dtype.itemsize)
        return np.frombuffer(raw, dtype).reshape(shape).copy()

    def call(self, name: str, *args: int) -> int:
        """Arguments are addresses or non-negative integers, passed in pointer-sized registers."""
        fn = getattr(self._lib, name)
        fn.restype = ctypes.c_int32
        return fn(*(ctypes.c_void_p(a) for a in args))

    @contextlib.contextmanager
    def scratch(self):
        mark = len(self._live)
        try:
            yield self
        finally:
            del self._live[mark:]


class EmulatedKernels(_Kernels):
    """The kernels built into firmware for `board` and called in the emulator."""

    ptr_dtype = np.dtype(np.uint32)

    def __init__(self, board: Board, dsp: bool, workdir: str | Path, extra_sources: list[Path] = ()):
        """extra_sources: more C linked in (a benchmark's baseline); their MCUSIM_EXPORT functions are callable."""
        self.dsp = dsp
        path = build([*SOURCES, *extra_sources, RUNTIME_C / "startup" / "empty_main.c"], board,
                     Path(workdir) / f"kernels-{board.name}-dsp{int(dsp)}-{len(extra_sources)}.elf",
                     defines=[f"MCUSIM_DSP={int(dsp)}"], keep=FUNCTIONS)
        self.emulator = Emulator(board, ElfImage(path))

    def put(self, array: np.ndarray) -> int:
        return self.emulator.put(np.asarray(array))

    def alloc(self, nbytes: int) -> int:
        return self.emulator.alloc(nbytes)

    def read(self, address: int, dtype, shape) -> np.ndarray:
        return self.emulator.read(address, dtype, shape)

    def call(self, name: str, *args: int) -> int:
        return self.emulator.call(name, *args)

    def scratch(self):
        return self.emulator.scratch()


def call_weighted(kernels, function: str, params: list[int], multiplier: np.ndarray, shift: np.ndarray,
                  x: np.ndarray, x_dims, w: np.ndarray, w_dims, bias: np.ndarray | None, out_dims, *,
                  in_place: bool = False, accesses: list | None = None) -> np.ndarray:
    """Call a kernel of the weighted-op signature (mcusim_nn.h): params, per-channel quantization,
    then (dims, data) for input, filter, bias, output. Dims are NHWC 4-tuples; returns the output
    as an int8 array of shape out_dims. Raises ValueError on a non-zero status.

    in_place: x sits at the start of one buffer of max(input, output) bytes passed as both input and
    output (a kernel that overwrites its input). accesses (emulated kernels only): a list that
    receives every load and store the kernel makes in its activation buffers (Emulator.watch)."""
    out_size = int(np.prod(out_dims))
    with kernels.scratch():
        p = kernels.put(np.array(params, np.int32))
        quant = kernels.put(kernels.pointers([kernels.put(multiplier.astype(np.int32)),
                                              kernels.put(shift.astype(np.int32))]))
        dims = [kernels.put(np.array(d, np.int32)) for d in (x_dims, w_dims, out_dims)]
        b = kernels.put(bias.astype(np.int32)) if bias is not None else 0
        if in_place:
            buffer = np.zeros(max(x.size, out_size), np.int8)
            buffer[:x.size] = x.reshape(-1)
            inp = out = kernels.put(buffer)
            activations = [(inp, buffer.size)]
        else:
            inp, out = kernels.put(x.astype(np.int8)), kernels.alloc(out_size)
            activations = [(inp, x.size), (out, out_size)]
        with contextlib.ExitStack() as watches:
            traces = [watches.enter_context(kernels.emulator.watch(address, size))
                      for address, size in (activations if accesses is not None else [])]
            status = kernels.call(function, p, quant, dims[0], inp, dims[1], kernels.put(w.astype(np.int8)), b,
                                  dims[2], out)
        for trace in traces:
            accesses.extend(trace)
        if status != 0:
            raise ValueError(f"{function} returned status {status}")
        return kernels.read(out, np.int8, tuple(out_dims))


def nhwc(shape) -> tuple[int, ...]:
    """A shape of rank <= 4 as the kernels' NHWC dims: leading dimensions of 1 added."""
    if len(shape) > 4:
        raise ValueError(f"shape {tuple(shape)} has more than four dimensions")
    return (1,) * (4 - len(shape)) + tuple(int(d) for d in shape)


def call_unary(kernels, function: str, params, x: np.ndarray, out_shape) -> np.ndarray:
    """Call a kernel of the unary signature: params (a list of int32, or an array passed as it is),
    then (dims, data) for input and output (NHWC)."""
    with kernels.scratch():
        p = kernels.put(params if isinstance(params, np.ndarray) else np.array(params, np.int32))
        x_dims, out_dims = (kernels.put(np.array(d, np.int32)) for d in (x.shape, out_shape))
        out = kernels.alloc(int(np.prod(out_shape)))
        status = kernels.call(function, p, x_dims, kernels.put(x.astype(np.int8)), out_dims, out)
        if status != 0:
            raise ValueError(f"{function} returned status {status}")
        return kernels.read(out, np.int8, tuple(out_shape))


def call_binary_shaped(kernels, function: str, params: list[int], a: np.ndarray, a_dims, b: np.ndarray, b_dims,
                       out_dims) -> np.ndarray:
    """Call a kernel of the binary signature: params, then (dims, data) for both inputs and the
    output (NHWC 4-tuples); returns the int8 output of shape out_dims."""
    with kernels.scratch():
        p = kernels.put(np.array(params, np.int32))
        dims = [kernels.put(np.array(d, np.int32)) for d in (a_dims, b_dims, out_dims)]
        out = kernels.alloc(int(np.prod(out_dims)))
        status = kernels.call(function, p, dims[0], kernels.put(a.astype(np.int8)), dims[1],
                              kernels.put(b.astype(np.int8)), dims[2], out)
        if status != 0:
            raise ValueError(f"{function} returned status {status}")
        return kernels.read(out, np.int8, tuple(out_dims))


def call_binary(kernels, function: str, params: list[int], a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Call an elementwise binary kernel on same-shaped a and b."""
    flat = (1, 1, 1, a.size)
    return call_binary_shaped(kernels, function, params, a, flat, b, flat, flat).reshape(a.shape)
