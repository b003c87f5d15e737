"""The C kernel ABI and the model blob, in Python: the twin of runtime_c/include/mcusim_graph.h and the
only encoder of kernel arguments. The deployment lowers ops to `Call`s and serializes them; the kernel
harness (models/kernels.py) runs the same `Call`s on a host build or in the emulator, so a kernel test
exercises the argument layout the firmware receives.

    call = weighted("conv2d", params.c_params(), params, x_shape, Arena("x"), w.shape, const(w),
                    const(bias), y_shape, Arena("y"))
    blob = serialize(steps, arena_offsets, arena_size)

Every kernel takes its arguments in one order (mcusim_nn.h): parameters, then (dims, data) for each
tensor, inputs before the output; a weighted kernel's per-channel quantization follows its
parameters. Dims are NHWC int32 4-tuples. The kernel families fix the argument count:

    WEIGHTED  params, quant, in dims, in, filter dims, filter, bias, out dims, out     (9)
    UNARY     params, in dims, in, out dims, out                                       (5)
    BINARY    params, in1 dims, in1, in2 dims, in2, out dims, out                      (7)
"""
from __future__ import annotations

import re
import struct
from dataclasses import dataclass

import numpy as np

from mcusim.errors import EX_DATAERR, McusimError
from mcusim.toolchain import INCLUDE

MAGIC, VERSION = 0x4753434D, 1
HEADER_WORDS = 5
TAG_CONST, TAG_ARENA, TAG_QUANT = 1, 2, 3
FAMILY_ARGS = {"WEIGHTED": 9, "UNARY": 5, "BINARY": 7}
MAX_OFFSET = 1 << 30


class BlobError(McusimError):
    """A model that the blob format cannot hold, or a call that does not match its kernel."""

    exit_code = EX_DATAERR


def _kernel_table() -> dict[str, tuple[int, int]]:
    """kernel name -> (id, argument count), read from the X-macro list in mcusim_nn.h."""
    header = (INCLUDE / "mcusim_nn.h").read_text()
    return {name: (int(i), FAMILY_ARGS[family]) for i, name, family in re.findall(r"X\((\d+), (\w+), (\w+)\)", header)}


KERNELS = _kernel_table()


# ---- kernel arguments --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Const:
    """Bytes placed in the blob (flash)."""

    data: bytes


@dataclass(frozen=True)
class Arena:
    """A tensor's bytes in the arena (SRAM)."""

    tensor: str


@dataclass(frozen=True)
class Quant:
    """Per-channel requantization: the multiplier and shift arrays (int32 bytes)."""

    multiplier: bytes
    shift: bytes


@dataclass(frozen=True)
class Call:
    """One kernel call: mcusim_<kernel>_s8 with args (Const | Arena | Quant | None) in its order. The
    last argument is the output tensor, the one before it the output's dims."""

    kernel: str
    args: tuple

    @property
    def output(self) -> Arena:
        return self.args[-1]

    def words(self, index: int) -> tuple[int, ...]:
        """The int32 values of constant argument `index` (parameters, dims)."""
        return tuple(int(v) for v in np.frombuffer(self.args[index].data, np.int32))


@dataclass(frozen=True)
class Step:
    """One graph op: its name (the trace marker), kind and kernel calls (none for a reshape)."""

    name: str
    kind: str
    calls: tuple[Call, ...]


def nhwc(shape) -> tuple[int, ...]:
    """A shape of rank <= 4 as the kernels' NHWC dims: leading dimensions of 1 added."""
    if len(shape) > 4:
        raise ValueError(f"shape {tuple(shape)} has more than four dimensions")
    return (1,) * (4 - len(shape)) + tuple(int(d) for d in shape)


def i32(values) -> Const:
    return Const(np.asarray(values, np.int32).tobytes())


def dims(shape) -> Const:
    return i32(nhwc(shape))


def const(array: np.ndarray | None) -> Const | None:
    """A constant tensor's bytes (None for an absent bias)."""
    return None if array is None else Const(np.ascontiguousarray(array).tobytes())


def quant(p) -> Quant:
    """The per-channel requantization of params with `multiplier` and `shift` arrays."""
    return Quant(np.asarray(p.multiplier, np.int32).tobytes(), np.asarray(p.shift, np.int32).tobytes())


def weighted(kernel: str, words, p, x_shape, x, w_shape, w: Const, bias: Const | None, y_shape, y) -> Call:
    """A WEIGHTED call; `p` carries the per-channel multiplier and shift."""
    return Call(kernel, (i32(words), quant(p), dims(x_shape), x, dims(w_shape), w, bias, dims(y_shape), y))


def unary(kernel: str, params: Const, x_shape, x, y_shape, y) -> Call:
    return Call(kernel, (params, dims(x_shape), x, dims(y_shape), y))


def binary(kernel: str, params: Const, a_shape, a, b_shape, b, y_shape, y) -> Call:
    return Call(kernel, (params, dims(a_shape), a, dims(b_shape), b, dims(y_shape), y))


# ---- the blob ------------------------------------------------------------------------------------

class _Pool:
    """Byte strings laid end to end at 4-byte alignment, each distinct string stored once."""

    def __init__(self):
        self.offsets: dict[bytes, int] = {}
        self.data = bytearray()

    def add(self, data: bytes) -> int:
        if data not in self.offsets:
            self.offsets[data] = len(self.data)
            self.data += data + bytes(-len(data) % 4)
        return self.offsets[data]


def serialize(steps: list[Step], arena_offsets: dict[str, int], arena_size: int) -> bytes:
    """The blob of mcusim_graph.h: header and step table, step records, quantization records, names,
    constants. arena_offsets: every activation tensor's offset in the arena."""
    constants, names, quants = _Pool(), _Pool(), _Pool()
    for step in steps:
        names.add(step.name.encode() + b"\0")
        for call in step.calls:
            for arg in call.args:
                if isinstance(arg, Const):
                    constants.add(arg.data)
                elif isinstance(arg, Quant):
                    constants.add(arg.multiplier)
                    constants.add(arg.shift)
    records_start = 4 * (HEADER_WORDS + len(steps))
    record_sizes = [8 + sum(4 + 4 * len(call.args) for call in step.calls) for step in steps]
    quant_pairs = {(arg.multiplier, arg.shift) for step in steps for call in step.calls for arg in call.args
                   if isinstance(arg, Quant)}
    quants_start = records_start + sum(record_sizes)
    names_start = quants_start + 8 * len(quant_pairs)
    constants_start = names_start + len(names.data)
    total = constants_start + len(constants.data)
    if total >= MAX_OFFSET or arena_size >= MAX_OFFSET:
        raise BlobError(f"a blob of {total:,} bytes or an arena of {arena_size:,} bytes exceeds the format's 1 GiB")

    def quant_record(multiplier: bytes, shift: bytes) -> bytes:
        """The two words of a quantization record: the blob offsets of its arrays."""
        return struct.pack("<2I", constants_start + constants.offsets[multiplier],
                           constants_start + constants.offsets[shift])

    for pair in sorted(quant_pairs):
        quants.add(quant_record(*pair))

    def word(arg) -> int:
        if arg is None:
            return 0
        if isinstance(arg, Const):
            return TAG_CONST << 30 | constants_start + constants.offsets[arg.data]
        if isinstance(arg, Arena):
            return TAG_ARENA << 30 | arena_offsets[arg.tensor]
        return TAG_QUANT << 30 | quants_start + quants.offsets[quant_record(arg.multiplier, arg.shift)]

    out = bytearray(struct.pack("<5I", MAGIC, VERSION, len(steps), arena_size, total))
    at = records_start
    for size in record_sizes:
        out += struct.pack("<I", at)
        at += size
    for step in steps:
        out += struct.pack("<2I", names_start + names.offsets[step.name.encode() + b"\0"], len(step.calls))
        for call in step.calls:
            kernel, count = KERNELS[call.kernel]
            if len(call.args) != count:
                raise BlobError(f"{step.name}: {call.kernel} takes {count} arguments, lowered {len(call.args)}")
            out += struct.pack(f"<{1 + count}I", kernel, *map(word, call.args))
    out += quants.data + names.data + constants.data
    assert len(out) == total
    return bytes(out)


# The harness's names for a kernel's activations (models/kernels.py runs calls on arrays so named);
# a deployment passes its tensors' own names.
IN, IN2, OUT = Arena("input"), Arena("input2"), Arena("output")
