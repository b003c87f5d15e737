"""The C kernels of runtime_c/src as callable libraries: built for the host (ctypes, fast fuzzing)
or for a board and run in the emulator. Both offer one interface, and `execute` runs an op's kernel
calls (models/blob.py, as the deployment lowers them) on either:

    execute(kernels, conv2d_call(x.shape, w, bias, params), input=x) -> the output array

    kernels.put(array) -> address      kernels.alloc(nbytes) -> address
    kernels.read(address, dtype, shape) kernels.call(name, *int args) -> int (r0 / return value)
    kernels.pointers([addresses]) -> an array of pointers of the backend's width
    with kernels.scratch(): ...        everything put or allocated inside is released after

    scratch_size(kernels, call) -> the kernel's own statement of its scratch bytes (mcusim_nn.h)
"""
from __future__ import annotations

import contextlib
import ctypes
import re
from pathlib import Path

import numpy as np

from mcusim.boards import Board
from mcusim.elf import ElfImage
from mcusim.emulator import Emulator
from mcusim.toolchain import INCLUDE, RUNTIME_C, build, build_host_library

from .blob import Arena, Call, Const, Quant

SOURCES = sorted((RUNTIME_C / "src").glob("*_s8.c"))
# the kernels that state a scratch size (mcusim_<kernel>_s8_scratch_size in mcusim_nn.h)
SCRATCH_KERNELS = sorted(re.findall(r"int32_t mcusim_(\w+)_s8_scratch_size\(", (INCLUDE / "mcusim_nn.h").read_text()))
FUNCTIONS = [f"mcusim_{path.stem}" for path in SOURCES] + [f"mcusim_{k}_s8_scratch_size" for k in SCRATCH_KERNELS]


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

    def __init__(self, board: Board, dsp: bool, workdir: str | Path, extra_sources: list[Path] = (),
                 include_dirs: list[str | Path] = (), opt: str = "2"):
        """extra_sources: more C linked in (a benchmark's baseline); their MCUSIM_EXPORT functions are callable.
        include_dirs, opt: the toolchain's -I folders (the extra sources' headers) and -O level."""
        self.dsp = dsp
        path = build([*SOURCES, *extra_sources], board,
                     Path(workdir) / f"kernels-{board.name}-dsp{int(dsp)}-O{opt}-{len(extra_sources)}.elf",
                     include_dirs=include_dirs, defines=[f"MCUSIM_DSP={int(dsp)}"], opt=opt, keep=FUNCTIONS,
                     call_only=True)
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


def execute(kernels, calls, accesses: list | None = None, out_dtype=np.int8, **inputs: np.ndarray) -> np.ndarray:
    """Run kernel `calls` (models/blob.py: one Call or several, as a deployment lowers an op) on
    `kernels` and return the last call's output, NHWC-shaped by its dims. Every Arena tensor is a
    buffer: the named `inputs` hold their arrays (models.blob.IN, IN2: input=, input2=), the others
    start zeroed; a tensor that is input and output (an in-place kernel) gets max(in, out) bytes.
    out_dtype: the output's element type (dequantize writes float32). Raises ValueError on a
    non-zero status.

    accesses (emulated kernels only): a list that receives every load and store the kernels make in
    the activation buffers (Emulator.watch)."""
    calls = (calls,) if isinstance(calls, Call) else tuple(calls)
    out = calls[-1].output.tensor
    out_shape = tuple(np.frombuffer(calls[-1].args[-2].data, np.int32))
    sizes = {name: array.nbytes for name, array in inputs.items()}
    for call in calls:
        for dims, arg in zip(call.args, call.args[1:]):
            if isinstance(arg, Arena) and arg.tensor not in inputs:
                need = int(np.prod(np.frombuffer(dims.data, np.int32))) * np.dtype(out_dtype).itemsize
                sizes[arg.tensor] = max(sizes.get(arg.tensor, 0), need)
    sizes[out] = max(sizes.get(out, 0), int(np.prod(out_shape)) * np.dtype(out_dtype).itemsize)
    with kernels.scratch():
        buffers = {}
        for name, size in sizes.items():
            data = np.zeros(size, np.uint8)
            if name in inputs:
                data[:inputs[name].nbytes] = np.ascontiguousarray(inputs[name]).reshape(-1).view(np.uint8)
            buffers[name] = kernels.put(data)

        def address(arg) -> int:
            if arg is None:
                return 0
            if isinstance(arg, Arena):
                return buffers[arg.tensor]
            if isinstance(arg, Quant):
                return kernels.put(kernels.pointers([kernels.put(np.frombuffer(arg.multiplier, np.int32)),
                                                     kernels.put(np.frombuffer(arg.shift, np.int32))]))
            return kernels.put(np.frombuffer(arg.data or b"\0", np.uint8))

        with contextlib.ExitStack() as watches:
            traces = [watches.enter_context(kernels.emulator.watch(buffers[name], size))
                      for name, size in (sizes.items() if accesses is not None else [])]
            for call in calls:
                status = kernels.call(f"mcusim_{call.kernel}_s8", *map(address, call.args))
                if status != 0:
                    raise ValueError(f"mcusim_{call.kernel}_s8 returned status {status}")
        for trace in traces:
            accesses.extend(trace)
        return kernels.read(buffers[out], out_dtype, out_shape)


def scratch_size(kernels, call: Call) -> int:
    """mcusim_<kernel>_s8_scratch_size on the call's arguments (data pointers NULL: it reads none);
    0 for a kernel that states none."""
    if call.kernel not in SCRATCH_KERNELS:
        return 0
    with kernels.scratch():
        args = [kernels.put(np.frombuffer(a.data or b"\0", np.uint8)) if isinstance(a, Const) else 0
                for a in call.args]
        return kernels.call(f"mcusim_{call.kernel}_s8_scratch_size", *args)
