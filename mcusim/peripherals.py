"""The debug peripherals firmware talks to (runtime_c/include/mcusim.h): ITM, DWT, semihosting.

- The private peripheral bus (0xE0000000..0xE00FFFFF) is one MMIO window: the ITM's stimulus ports
  (port 0 text, port 1 trace markers, every port always ready), DWT->CYCCNT, and a plain register
  file for the rest of the SCS (CPUID reads the core's, writes to it are ignored).
- Semihosting (Arm "Semihosting for AArch32 and AArch64" v3) serves text output and exit only;
  every other operation (files, clock, system, command line...) returns -1: emulated code has no
  path to the host.

Each peripheral is an object holding its own state; the emulator owns them and routes Unicorn's
callbacks to them.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

from unicorn import Uc, UcError, arm_const

PPB_BASE, PPB_SIZE = 0xE000_0000, 0x10_0000
ITM_PORTS = range(0x000, 0x080)  # 32 stimulus ports, a word each
ITM_TER, ITM_TCR = 0xE00, 0xE80
ITM_PORT_TEXT, ITM_PORT_MARKER = 0, 1
DWT_CYCCNT = 0x1004
SCB_CPUID = 0xED00
CPUID = {"cortex-m4": 0x410FC241, "cortex-m7": 0x411FC270}

SYS_WRITEC, SYS_WRITE0, SYS_WRITE, SYS_EXIT, SYS_EXIT_EXTENDED = 0x03, 0x04, 0x05, 0x18, 0x20
ADP_STOPPED_APPLICATION_EXIT = 0x20026
SEMIHOSTING_BKPT = 0xBEAB


@dataclass(frozen=True)
class Marker:
    """A trace marker the firmware wrote to ITM port 1, stamped with the counts at that point."""

    name: str
    instructions: int
    cycles: int


@dataclass
class Console:
    """The text the firmware wrote, in pieces: ITM port 0 and semihosting to stdout, semihosting to
    stderr."""

    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)


def read_cstring(uc: Uc, address: int, limit: int = 4096) -> str:
    """The NUL-terminated string at `address`, at most `limit` bytes, decoded as UTF-8."""
    out = bytearray()
    while len(out) < limit:
        try:
            chunk = bytes(uc.mem_read(address + len(out), 64))
        except UcError:
            chunk = bytes(uc.mem_read(address + len(out), 1))
        nul = chunk.find(0)
        if nul >= 0:
            out += chunk[:nul]
            break
        out += chunk
    return out.decode("utf-8", "replace")


class Itm:
    """The ITM's stimulus ports. `counter` (mcusim.counting) stamps each marker with its counts."""

    def __init__(self, uc: Uc, counter, console: Console):
        self._uc = uc
        self._counter = counter
        self._console = console
        self.markers: list[Marker] = []

    def write(self, port: int, size: int, value: int) -> None:
        """A `size`-byte write of `value` to stimulus `port`; ports other than text and markers are
        ignored."""
        if port == ITM_PORT_TEXT:
            text = chr(value & 0xFF) if size == 1 else struct.pack("<I", value)[:size].decode("latin-1")
            self._console.stdout.append(text)
        elif port == ITM_PORT_MARKER:
            name = read_cstring(self._uc, value)
            self.markers.append(Marker(name, self._counter.instructions, self._counter.cycles))


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
    """The PPB window; `read` and `write` are Unicorn's MMIO callbacks, `offset` from PPB_BASE."""

    def __init__(self, itm: Itm, dwt: Dwt, core: str):
        self.itm = itm
        self.dwt = dwt
        self._regs: dict[int, int] = {SCB_CPUID: CPUID[core]}

    def read(self, _uc, offset: int, _size: int, _user) -> int:
        if offset in ITM_PORTS:
            return 1  # every ITM stimulus port is ready
        if offset == ITM_TER:
            return 0xFFFF_FFFF
        if offset == ITM_TCR:
            return 1  # ITMENA
        if offset == DWT_CYCCNT:
            return self.dwt.cyccnt
        return self._regs.get(offset, 0)

    def write(self, _uc, offset: int, size: int, value: int, _user) -> None:
        if offset in ITM_PORTS:
            if offset % 4 == 0:  # a write inside a port's word is ignored
                self.itm.write(offset // 4, size, value)
        elif offset == DWT_CYCCNT:
            self.dwt.cyccnt = value
        elif offset != SCB_CPUID:
            self._regs[offset] = value


class Semihosting:
    """Semihosting calls (BKPT 0xAB, operation in r0, argument block in r1, result to r0).
    `exit_code` is set, and emulation stopped, when the firmware exits."""

    def __init__(self, uc: Uc, console: Console):
        self._uc = uc
        self._console = console
        self.exit_code: int | None = None

    def is_call(self, pc: int) -> bool:
        """Whether the BKPT at `pc` is semihosting's."""
        return struct.unpack("<H", self._uc.mem_read(pc, 2))[0] == SEMIHOSTING_BKPT

    def serve(self, pc: int) -> None:
        """Serve the call of the BKPT at `pc` and resume after it, unless the firmware exited."""
        uc = self._uc
        result = self._operation(uc.reg_read(arm_const.UC_ARM_REG_R0), uc.reg_read(arm_const.UC_ARM_REG_R1))
        if self.exit_code is not None:
            uc.emu_stop()
        uc.reg_write(arm_const.UC_ARM_REG_R0, result & 0xFFFF_FFFF)
        if self.exit_code is None:
            uc.reg_write(arm_const.UC_ARM_REG_PC, (pc + 2) | 1)

    def _operation(self, op: int, arg: int) -> int:
        """Perform operation `op` on argument `arg`; returns r0's new value."""
        words = lambda n: struct.unpack(f"<{n}I", self._uc.mem_read(arg, 4 * n))  # noqa: E731
        out = self._console
        if op == SYS_WRITEC:
            out.stdout.append(chr(self._uc.mem_read(arg, 1)[0]))
        elif op == SYS_WRITE0:
            out.stdout.append(read_cstring(self._uc, arg, limit=1 << 20))
        elif op == SYS_WRITE:
            handle, ptr, length = words(3)
            stream = {1: out.stdout, 2: out.stderr}.get(handle)
            if stream is None:
                return length  # nothing written
            stream.append(bytes(self._uc.mem_read(ptr, length)).decode("utf-8", "replace"))
        elif op == SYS_EXIT:
            self.exit_code = 0 if arg == ADP_STOPPED_APPLICATION_EXIT else 1
        elif op == SYS_EXIT_EXTENDED:
            reason, subcode = words(2)
            code = struct.unpack("<i", struct.pack("<I", subcode))[0]
            self.exit_code = code if reason == ADP_STOPPED_APPLICATION_EXIT else (code or 1)
        else:
            return -1  # refused: the host is not reachable
        return 0
