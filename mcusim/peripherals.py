"""The debug peripherals firmware talks to (runtime_c/include/mcusim.h): ITM, DWT, semihosting.

- The private peripheral bus (0xE0000000..0xE00FFFFF) is one MMIO window: the ITM's stimulus ports
  (port 0 text, port 1 trace markers, every port always ready), DWT->CYCCNT, and a plain register
  file for the rest of the SCS (CPUID reads the core's, writes to it are ignored). With the native
  library (mcusim.counting.NATIVE) the window is served in C, which calls Python only for the text
  and markers the ITM still takes; `PrivatePeripheralBus` is the same in Python.
- Semihosting (Arm "Semihosting for AArch32 and AArch64" v3) serves text output and exit only;
  every other operation (files, clock, system, command line...) returns -1: emulated code has no
  path to the host.

What the firmware hands the host is bounded before it is read: the console keeps MAX_OUTPUT_BYTES
(ITM and semihosting together), a marker name MAX_MARKER_NAME bytes, a run MAX_MARKERS markers of
MAX_MARKER_NAMES distinct names, MAX_SEMIHOSTING_CALLS calls; what is left out is named in the run's
notes. Guest memory reads stop at the first unmapped byte.

Each peripheral is an object holding its own state; the emulator owns them and routes Unicorn's
callbacks to them.
"""
from __future__ import annotations

import ctypes
import struct
import weakref
from dataclasses import dataclass
from typing import Callable

from unicorn import Uc, UcError, arm_const
from unicorn.unicorn_py3.unicorn import uclib

from .counting import NATIVE, NativeCounter

PPB_BASE, PPB_SIZE = 0xE000_0000, 0x10_0000
ITM_PORTS = range(0x000, 0x080)  # 32 stimulus ports, a word each
ITM_TER, ITM_TCR = 0xE00, 0xE80
ITM_PORT_TEXT, ITM_PORT_MARKER = 0, 1
DWT_CYCCNT = 0x1004
SCB_CPUID = 0xED00
CPUID = {"cortex-m4": 0x410FC241, "cortex-m7": 0x411FC270}
PAGE = 1024  # Unicorn's page on Arm: the granule of its memory map

SYS_WRITEC, SYS_WRITE0, SYS_WRITE, SYS_EXIT, SYS_EXIT_EXTENDED = 0x03, 0x04, 0x05, 0x18, 0x20
ADP_STOPPED_APPLICATION_EXIT = 0x20026
SEMIHOSTING_BKPT = 0xBEAB

MAX_OUTPUT_BYTES = 1 << 20
MAX_MARKER_NAME = 64
MAX_MARKERS = 100_000              # per run or call
MAX_MARKER_NAMES = 1024            # distinct names per emulator
OTHER_MARKER = "(other)"           # the name of the markers beyond those
MAX_SEMIHOSTING_CALLS = 100_000  # per run or call: each is a Python call (some 25 us)


@dataclass(frozen=True)
class Marker:
    """A trace marker the firmware wrote to ITM port 1, stamped with the counts at that point."""

    name: str
    instructions: int
    cycles: int


def read_guest(uc: Uc, address: int, length: int) -> bytes:
    """Up to `length` bytes of guest memory from `address`, cut at the first unmapped byte."""
    try:
        return bytes(uc.mem_read(address, length))
    except UcError:
        pass
    out = bytearray()
    while len(out) < length:  # a page at a time: memory is mapped by whole pages
        at = address + len(out)
        try:
            out += uc.mem_read(at, min(length - len(out), PAGE - at % PAGE))
        except UcError:
            break
    return bytes(out)


def read_cstring(uc: Uc, address: int, limit: int) -> bytes:
    """The NUL-terminated string at `address`, at most `limit` bytes of it."""
    data = read_guest(uc, address, limit)
    nul = data.find(0)
    return data if nul < 0 else data[:nul]


def printable(data: bytes) -> str:
    """`data` as one line of text: UTF-8, an undecodable byte or a control character as '?'."""
    return "".join(c if c.isprintable() else "?" for c in data.decode("utf-8", "replace"))


class Console:
    """The bytes the firmware wrote: ITM port 0 and semihosting to stdout, semihosting to stderr.
    At most `limit` bytes in all are kept; `truncated` says that more were written."""

    def __init__(self, limit: int = MAX_OUTPUT_BYTES):
        self.stdout = bytearray()
        self.stderr = bytearray()
        self.limit = limit
        self.truncated = False

    @property
    def room(self) -> int:
        return self.limit - len(self.stdout) - len(self.stderr)

    def write(self, stream: bytearray, data: bytes) -> None:
        self.truncated |= len(data) > self.room
        stream += data[:self.room]

    def notes(self) -> list[str]:
        if not self.truncated:
            return []
        return [f"the firmware wrote more than {self.limit:,} bytes of text; the rest was dropped"]


class Itm:
    """The ITM's stimulus ports: text and trace markers. `counter` (mcusim.counting) stamps each
    marker with its counts. `ports`: those whose writes it still takes (a bit per port);
    `on_ports(ports)` is called whenever that changes."""

    def __init__(self, uc: Uc, counter, console: Console):
        self._uc = uc
        self._counter = counter
        self._console = console
        self.markers: list[Marker] = []
        self._names: dict[bytes, str] = {}
        self._markers_left = MAX_MARKERS
        self.ports = 1 << ITM_PORT_TEXT | 1 << ITM_PORT_MARKER
        self.on_ports: Callable[[int], None] = lambda ports: None

    def _close(self, port: int) -> None:
        self.ports &= ~(1 << port)
        self.on_ports(self.ports)

    def new_run(self) -> None:
        """A run or call begins: MAX_MARKERS more markers may be written."""
        self._markers_left = MAX_MARKERS
        self.ports |= 1 << ITM_PORT_MARKER
        self.on_ports(self.ports)

    def write(self, port: int, size: int, value: int) -> None:
        """A `size`-byte write of `value` to stimulus `port`; ports other than text and markers, and
        writes beyond the bounds, are ignored."""
        if not self.ports >> port & 1:
            return
        if port == ITM_PORT_TEXT:
            self._console.write(self._console.stdout, struct.pack("<I", value)[:size])
            if self._console.truncated:
                self._close(ITM_PORT_TEXT)
        elif port == ITM_PORT_MARKER:
            self._markers_left -= 1
            if not self._markers_left:
                self._close(ITM_PORT_MARKER)
            self.markers.append(Marker(self._name(read_cstring(self._uc, value, MAX_MARKER_NAME)),
                                       self._counter.instructions, self._counter.cycles))

    def _name(self, raw: bytes) -> str:
        name = self._names.get(raw)
        if name is None and len(self._names) < MAX_MARKER_NAMES:
            name = self._names[raw] = printable(raw)
        return name or OTHER_MARKER

    def notes(self) -> list[str]:
        notes = []
        if not self.ports >> ITM_PORT_MARKER & 1:
            notes.append(f"the firmware wrote more than {MAX_MARKERS:,} trace markers in one run; the rest were "
                         "dropped")
        if any(m.name == OTHER_MARKER for m in self.markers):
            notes.append(f"more than {MAX_MARKER_NAMES:,} distinct trace marker names; the others are {OTHER_MARKER!r}")
        return notes


class Dwt:
    """The DWT's cycle counter: the modelled count, modulo 2^32, from where the firmware last set it."""

    def __init__(self, counter):
        self._counter = counter
        self._offset = 0

    @property
    def cyccnt(self) -> int:
        return (self._counter.cycles - self._offset) & 0xFFFF_FFFF

    @cyccnt.setter
    def cyccnt(self, value: int) -> None:
        self._offset = (self._counter.cycles - value) & 0xFFFF_FFFF


class PrivatePeripheralBus:
    """The PPB window; `read` and `write` are Unicorn's MMIO callbacks, `offset` from PPB_BASE. The
    register file is kept byte by byte."""

    error = None  # never set: Unicorn's Python binding re-raises what its callbacks raise

    def __init__(self, itm: Itm, dwt: Dwt, core: str):
        self.itm = itm
        self.dwt = dwt
        self._cpuid = CPUID[core]
        self._regs: dict[int, int] = {}

    def read(self, _uc, offset: int, size: int, _user) -> int:
        if offset in ITM_PORTS:
            return 1  # every ITM stimulus port is ready
        if offset == ITM_TER:
            return 0xFFFF_FFFF
        if offset == ITM_TCR:
            return 1  # ITMENA
        if offset == DWT_CYCCNT:
            return self.dwt.cyccnt
        if offset == SCB_CPUID:
            return self._cpuid
        return sum(self._regs.get(offset + i, 0) << 8 * i for i in range(size))

    def write(self, _uc, offset: int, size: int, value: int, _user) -> None:
        if offset in ITM_PORTS:
            if offset % 4 == 0:  # a write inside a port's word is ignored
                self.itm.write(offset // 4, size, value)
        elif offset == DWT_CYCCNT:
            self.dwt.cyccnt = value
        elif offset != SCB_CPUID:
            for i in range(size):
                self._regs[offset + i] = value >> 8 * i & 0xFF


_ITM = ctypes.CFUNCTYPE(None, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32)


class _NativePpb(ctypes.Structure):
    """Mirror of mcusim_ppb in native/blockhook.c."""

    _fields_ = [("counter", ctypes.c_void_p), ("cpuid", ctypes.c_uint32), ("cyccnt_offset", ctypes.c_uint32),
                ("forward", ctypes.c_uint32), ("itm", _ITM), ("regs", ctypes.c_void_p)]


class NativePrivatePeripheralBus:
    """The PPB window served by native/blockhook.c: PrivatePeripheralBus's registers, and only the
    ITM writes the ITM still takes passed to Python. `error`: an exception of that Python."""

    def __init__(self, uc: Uc, counter: NativeCounter, itm: Itm, core: str):
        self.itm = itm
        self.error: BaseException | None = None
        self._uc = uc
        self._counter = counter  # the C struct points into its state
        self._state = s = _NativePpb()
        if NATIVE.mcusim_ppb_init(ctypes.byref(s)) != 0:
            raise MemoryError("no memory for the peripheral registers")
        s.counter, s.cpuid, s.forward = ctypes.addressof(counter.state), CPUID[core], itm.ports
        ref = weakref.ref(self)  # what the C side holds must not keep this object alive

        def on_itm(port: int, size: int, value: int) -> None:
            bus = ref()
            if bus is not None:
                bus._on_itm(port, size, value)

        self._thunk = s.itm = _ITM(on_itm)
        itm.on_ports = lambda ports: setattr(s, "forward", ports)
        status = uclib.uc_mmio_map(uc._uch, PPB_BASE, PPB_SIZE, ctypes.cast(NATIVE.mcusim_ppb_read, ctypes.c_void_p),
                                   ctypes.byref(s), ctypes.cast(NATIVE.mcusim_ppb_write, ctypes.c_void_p),
                                   ctypes.byref(s))
        if status != 0:
            raise RuntimeError(f"uc_mmio_map failed with Unicorn error {status}")

    def _on_itm(self, port: int, size: int, value: int) -> None:
        try:
            self.itm.write(port, size, value)
        except BaseException as e:  # never let an exception cross the C boundary
            self.error = e
            self._uc.emu_stop()

    def __del__(self):
        if getattr(self, "_state", None) is not None:
            NATIVE.mcusim_ppb_free(ctypes.byref(self._state))


class Semihosting:
    """Semihosting calls (BKPT 0xAB, operation in r0, argument block in r1, result to r0).
    `exit_code` is set, and emulation stopped, when the firmware exits. `calls_left`: the emulator
    serves no more calls when it is 0 (it resets it for each run or call)."""

    def __init__(self, uc: Uc, console: Console):
        self._uc = uc
        self._console = console
        self.exit_code: int | None = None
        self.calls_left = MAX_SEMIHOSTING_CALLS

    def is_call(self, pc: int) -> bool:
        """Whether the BKPT at `pc` is semihosting's."""
        return read_guest(self._uc, pc, 2) == struct.pack("<H", SEMIHOSTING_BKPT)

    def serve(self, pc: int) -> None:
        """Serve the call of the BKPT at `pc` and resume after it, unless the firmware exited."""
        uc = self._uc
        self.calls_left -= 1
        result = self._operation(uc.reg_read(arm_const.UC_ARM_REG_R0), uc.reg_read(arm_const.UC_ARM_REG_R1))
        if self.exit_code is not None:
            uc.emu_stop()
        uc.reg_write(arm_const.UC_ARM_REG_R0, result & 0xFFFF_FFFF)
        if self.exit_code is None:
            uc.reg_write(arm_const.UC_ARM_REG_PC, (pc + 2) | 1)

    def _operation(self, op: int, arg: int) -> int:
        """Perform operation `op` on argument `arg`; returns r0's new value. An argument block
        outside memory makes it -1."""
        out = self._console
        if op == SYS_WRITEC:
            out.write(out.stdout, read_guest(self._uc, arg, 1))
        elif op == SYS_WRITE0:
            out.write(out.stdout, read_cstring(self._uc, arg, out.room + 1))
        elif op in (SYS_WRITE, SYS_EXIT_EXTENDED):
            block = read_guest(self._uc, arg, 12 if op == SYS_WRITE else 8)
            if len(block) < (12 if op == SYS_WRITE else 8):
                return -1
            if op == SYS_WRITE:
                return self._write(*struct.unpack("<3I", block))
            reason, subcode = struct.unpack("<Ii", block)
            self.exit_code = subcode if reason == ADP_STOPPED_APPLICATION_EXIT else (subcode or 1)
        elif op == SYS_EXIT:
            self.exit_code = 0 if arg == ADP_STOPPED_APPLICATION_EXIT else 1
        else:
            return -1  # refused: the host is not reachable
        return 0

    def _write(self, handle: int, address: int, length: int) -> int:
        """SYS_WRITE: the number of bytes not written. Only what the console has room for is read
        (the rest counts as written); a byte outside memory ends the text (the rest counts as not
        written)."""
        stream = {1: self._console.stdout, 2: self._console.stderr}.get(handle)
        if stream is None:
            return length  # nothing written
        wanted = min(length, self._console.room + 1)  # a byte more than fits marks the console truncated
        data = read_guest(self._uc, address, wanted)
        self._console.write(stream, data)
        return 0 if len(data) == wanted else length - len(data)
