"""The Cortex-M emulator: one object owns one Unicorn engine, its hooks and its state.

    emu = Emulator(get_board("stm32f746"), ElfImage("fw.elf"))
    result = emu.run()                    # from reset until semihosting exit; raises FirmwareFault
    emu = Emulator(board, elf)
    addr = emu.put(np.arange(16, dtype=np.int8))
    ret = emu.call("kernel", addr, 16)    # AAPCS call of one function, then emu.last_call

Memory: every board region is mapped (flash read/execute only, RAM backed by numpy arrays so the
host paints and inspects it without copies), the guard page below the stack has no access, and the
private peripheral bus (0xE0000000..0xE00FFFFF) is an MMIO window with the ITM, DWT and a plain
register file for the rest of the SCS (mcusim.peripherals, with semihosting). Nothing else exists:
there is no path from emulated code to the host. Faults are classified in mcusim.faults.

SRAM measurement (paint, run, diff): before running, the host fills RAM with a 32-bit pattern; after,
the lowest changed byte of the stack region gives the stack high-water mark and the highest changed
byte of the heap region the heap high-water mark. No callback runs per memory access. A byte the
firmware writes with the pattern's own value is invisible, so a peak can be under-read by up to 3
bytes at its edge.

Hooks are all installed in the constructor, before the first instruction is translated; the one
exception is `watch`, a test's microscope, which adds a Python memory hook for the length of a block
(and flushes the translation cache on entry and exit so that it takes and leaves effect).
"""
from __future__ import annotations

import contextlib
import struct
import time
import weakref
from dataclasses import asdict, dataclass, field

import numpy as np
from unicorn import (UC_ARCH_ARM, UC_HOOK_INTR, UC_HOOK_MEM_INVALID, UC_HOOK_MEM_READ, UC_HOOK_MEM_WRITE,
                     UC_MEM_WRITE, UC_MODE_THUMB, UC_PROT_ALL, UC_PROT_EXEC, UC_PROT_NONE, UC_PROT_READ,
                     UC_PROT_WRITE, Uc, UcError, arm_const)

from .boards import Board, Region
from .counting import MemoryStats, NativeCounter, Stop, make_counter
from .cycles import Undecodable, memory_timing, pricer
from .elf import ElfImage, format_symbol
from .errors import ElfError, McusimError
from .faults import (EXCP_BKPT, UNDEFINED, Fault, FaultKind, FirmwareFault, engine_fault, exception_fault,
                     memory_fault, unaligned_fault)
from .peripherals import (MAX_SEMIHOSTING_CALLS, PPB_BASE, PPB_SIZE, Console, Dwt, Itm, Marker,
                          NativePrivatePeripheralBus, PrivatePeripheralBus, Semihosting)
from .toolchain import GUARD

DEFAULT_MAX_INSTRUCTIONS = 2_000_000_000
MAX_INSTRUCTIONS = 1 << 62  # the counts are 64-bit
CALL_MAX_INSTRUCTIONS = 100_000_000  # one call of a fuzzed kernel: a runaway one stops with a fault
DEFAULT_TIMEOUT_S = 600.0   # wall-clock seconds a run or call may take
MAX_TIMEOUT_S = 1e6
PAINT = np.frombuffer(struct.pack("<I", 0xDEADBEEF), dtype=np.uint8)
IT_STATE_BITS = 0x0600_FC00  # xPSR bits 26:25 and 15:10: inside a Thumb IT block when non-zero
STOP_ADDRESS = 0xFFFF_FFFE  # `until` for runs that end by semihosting exit; never a real PC


@dataclass(frozen=True)
class SramUsage:
    """Bytes. static = .data + .bss; peaks measured by painting; total = static + both peaks."""

    static: int
    stack_peak: int
    heap_peak: int

    @property
    def total_peak(self) -> int:
        return self.static + self.stack_peak + self.heap_peak

    def to_json(self) -> dict:
        return {**asdict(self), "total_peak": self.total_peak}


@dataclass(frozen=True)
class FlashUsage:
    text: int
    rodata: int
    data: int

    @property
    def total(self) -> int:
        return self.text + self.rodata + self.data

    def to_json(self) -> dict:
        return {**asdict(self), "total": self.total}


@dataclass
class RunResult:
    exit_code: int | None
    output: str
    stderr: str
    instructions: int
    cycles: int
    sram: SramUsage
    flash: FlashUsage
    markers: list[Marker] = field(default_factory=list)
    fault: Fault | None = None
    notes: list[str] = field(default_factory=list)  # what the bounds on output left out
    memory: MemoryStats | None = None  # the caches' hits and misses, the stall cycles

    def to_json(self) -> dict:
        return {
            "exit_code": self.exit_code,
            "output": self.output,
            "instructions": self.instructions,
            "cycles": self.cycles,
            "sram": self.sram.to_json(),
            "flash": self.flash.to_json(),
            "markers": [asdict(m) for m in self.markers],
            **({"fault": self.fault.to_json()} if self.fault else {}),
            **({"notes": self.notes} if self.notes else {}),
            **({"memory": asdict(self.memory)} if self.memory else {}),
        }


@dataclass(frozen=True)
class ProfileEntry:
    """Cycles and instructions spent in one function (its own blocks, callees excluded); `stall`:
    the part of the cycles the memory system added (flash wait states on cache misses)."""

    function: str
    cycles: int
    instructions: int
    stall: int = 0


@dataclass(frozen=True)
class MemoryAccess:
    """One load or store the firmware made inside a watched range, in program order."""

    kind: str     # "read" or "write"
    address: int
    size: int


def reads_after_writes(accesses: list[MemoryAccess]) -> list[MemoryAccess]:
    """The reads of bytes that an earlier access in the list wrote: where code working in place
    would read back a value it has already overwritten (a hazard, unless it means to)."""
    written: set[int] = set()
    hazards = []
    for a in accesses:
        span = range(a.address, a.address + a.size)
        if a.kind == "write":
            written.update(span)
        elif written.intersection(span):
            hazards.append(a)
    return hazards


@dataclass(frozen=True)
class CallStats:
    instructions: int
    cycles: int
    stack_peak: int
    stall: int = 0  # of the cycles, what the memory system added (flash wait states on cache misses)


@dataclass(frozen=True)
class Layout:
    """Where the heap, guard and stack lie (from the symbols of mcusim's linker script)."""

    heap_start: int
    heap_limit: int  # also the guard's start
    stack_limit: int
    stack_top: int

    @classmethod
    def of(cls, elf: ElfImage, board: Board, initial_sp: int) -> "Layout":
        """Raises ElfError unless the four lie in this order, word-aligned, in the board's RAM."""
        names = ("__heap_start", "__heap_limit", "__stack_limit", "__stack_top")
        if all(elf.has_symbol(n) for n in names):
            layout = cls(*(elf.symbol(n).address for n in names))
        else:
            # A foreign ELF: everything between its static data and the initial SP is stack, no guard.
            static_end = max((s.vaddr + s.memsz for s in elf.segments if board.ram.contains(s.vaddr)),
                             default=board.ram.base)
            static_end = (static_end + 3) & ~3  # paint is compared a word at a time
            layout = cls(static_end, static_end, static_end, initial_sp & ~3)
        ram = board.ram
        bounds = (ram.base, *vars(layout).values(), ram.end)
        if any(a > b for a, b in zip(bounds, bounds[1:])) or any(v % 4 for v in bounds):
            raise ElfError(f"{elf.path}: heap and stack {', '.join(f'{v:#x}' for v in bounds[1:-1])} do not lie in "
                           f"this order in {board.name}'s RAM {ram.base:#010x}..{ram.end:#010x} (initial SP "
                           f"{initial_sp:#010x})")
        return layout

    @property
    def has_guard(self) -> bool:
        return self.stack_limit - self.heap_limit == GUARD


def _weak(method):
    """A hook that holds its object (the emulator, a peripheral) weakly. Unicorn keeps hooks alive as
    long as the engine; a bound method would make engine and emulator a cycle that only the garbage
    collector breaks, and engines left alive slow down the ones still running."""
    ref = weakref.WeakMethod(method)

    def hook(*args):
        bound = ref()
        return bound(*args) if bound is not None else 0

    return hook


class Emulator:
    def __init__(self, board: Board, elf: ElfImage, *, max_instructions: int = DEFAULT_MAX_INSTRUCTIONS,
                 timeout: float | None = DEFAULT_TIMEOUT_S, flash_cache: bool = True, native: bool | None = None):
        """max_instructions and timeout (wall-clock seconds; None: none) bound each run or call."""
        if not 0 < max_instructions <= MAX_INSTRUCTIONS:
            raise McusimError(f"max_instructions {max_instructions} is not in 1..{MAX_INSTRUCTIONS}")
        if timeout is not None and not 0 < timeout <= MAX_TIMEOUT_S:
            raise McusimError(f"timeout {timeout} is not in (0, {MAX_TIMEOUT_S:g}] seconds")
        elf.check_fits(board)
        self.board = board
        self.elf = elf
        self.sizes = elf.sizes(board)
        self.max_instructions = max_instructions
        self.timeout = timeout
        # No UC_MODE_MCLASS: Unicorn 2.1 answers it by forcing a Cortex-M33 whatever model is set.
        # The M4/M7 models are M-profile by themselves.
        self.uc = uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB)
        uc.ctl_set_cpu_model(getattr(arm_const, board.core.unicorn_model))
        self._ram: dict[str, np.ndarray] = {}
        for region in board.regions:
            self._map(region)
        for seg in elf.segments:
            uc.mem_write(seg.paddr, seg.data)
        self._vectors = struct.unpack("<4I", uc.mem_read(board.flash.base, 16))
        self.layout = Layout.of(elf, board, self._vectors[0])
        if self.layout.has_guard:
            uc.mem_protect(self.layout.heap_limit, GUARD, UC_PROT_NONE)
        prices = pricer(board)
        self.counter = make_counter(uc, prices.block, max_instructions, native,
                                    memory_timing(board, caches=flash_cache), prices.edge)
        self.console = Console()
        self.itm = Itm(uc, self.counter, self.console)
        if isinstance(self.counter, NativeCounter):
            self.ppb = NativePrivatePeripheralBus(uc, self.counter, self.itm, board.core.name)
        else:
            self.ppb = PrivatePeripheralBus(self.itm, Dwt(self.counter), board.core.name)
            uc.mmio_map(PPB_BASE, PPB_SIZE, _weak(self.ppb.read), None, _weak(self.ppb.write), None)
        self.semihosting = Semihosting(uc, self.console)
        uc.hook_add(UC_HOOK_INTR, _weak(self._on_interrupt))
        uc.hook_add(UC_HOOK_MEM_INVALID, _weak(self._on_invalid_memory))

        self._fault: Fault | None = None
        self._host_low = self.layout.heap_limit  # host allocations grow down from the heap's top
        self._initialized = False
        self.last_call: CallStats | None = None

    @property
    def markers(self) -> list[Marker]:
        """The trace markers written so far (the ITM's list: clearing it restarts the trace)."""
        return self.itm.markers

    # ---- memory -------------------------------------------------------------------------------

    def _map(self, region: Region) -> None:
        if region.kind == "flash":
            self.uc.mem_map(region.base, region.size, UC_PROT_READ | UC_PROT_EXEC)
            return
        backing = np.empty(region.size, dtype=np.uint8)
        backing.reshape(-1, 4)[:] = PAINT
        self._ram[region.name] = backing
        perms = UC_PROT_ALL if region.executable else UC_PROT_READ | UC_PROT_WRITE
        self.uc.mem_map_ptr(region.base, region.size, perms, backing.ctypes.data)

    def _ram_view(self, start: int, end: int) -> np.ndarray:
        ram = self.board.ram
        return self._ram[ram.name][start - ram.base:end - ram.base]

    def _paint(self, start: int, end: int) -> None:
        """Paint [start, end) of the main RAM; both ends are multiples of 4."""
        self._ram_view(start, end).reshape(-1, 4)[:] = PAINT

    def _untouched(self, start: int, end: int) -> np.ndarray:
        return (self._ram_view(start, end).reshape(-1, 4) == PAINT).reshape(-1)

    def paint(self, address: int, size: int) -> None:
        """Fill [address, address + size) of the main RAM with the paint pattern (both multiples of 4):
        the bytes that painted_words then reports as untouched until the firmware writes them."""
        self._paint(address, address + size)

    def painted_words(self, address: int, size: int) -> np.ndarray:
        """For each 32-bit word of [address, address + size) of the main RAM (multiples of 4): whether
        it still holds the paint pattern."""
        return self._untouched(address, address + size).reshape(-1, 4).all(axis=1)

    def stack_peak(self) -> int:
        """Bytes from the stack's top down to the lowest word the firmware changed. Counted in whole
        words (the stack grows by words): a changed word's bytes may still equal the paint's."""
        lay = self.layout
        touched = np.flatnonzero(~self.painted_words(lay.stack_limit, lay.stack_top - lay.stack_limit))
        return int(lay.stack_top - lay.stack_limit - 4 * touched[0]) if touched.size else 0

    def heap_peak(self) -> int:
        """Bytes from the heap's start up to the end of the highest word the firmware changed."""
        lay = self.layout
        touched = np.flatnonzero(~self.painted_words(lay.heap_start, self._host_low - lay.heap_start))
        return int(4 * (touched[-1] + 1)) if touched.size else 0

    def sram(self) -> SramUsage:
        return SramUsage(self.sizes.static_ram, self.stack_peak(), self.heap_peak())

    def flash(self) -> FlashUsage:
        s = self.sizes
        return FlashUsage(s.text, s.rodata, s.data)

    def alloc(self, nbytes: int, align: int = 8) -> int:
        """Reserve `nbytes` of RAM for host-placed data, from the top of the heap region down."""
        low = (self._host_low - nbytes) & ~(align - 1)
        if low < self.layout.heap_start:
            raise McusimError(f"no room for {nbytes} bytes of host data in {self.board.name}'s heap region "
                              f"({self._host_low - self.layout.heap_start} bytes left)")
        self._host_low = low
        return low

    @contextlib.contextmanager
    def scratch(self):
        """Host data placed inside the block (put, alloc) is released when it ends."""
        mark = self._host_low
        try:
            yield self
        finally:
            self._host_low = mark

    @contextlib.contextmanager
    def watch(self, address: int, size: int):
        """Record every firmware load and store touching [address, address + size) while the block
        runs; yields the list of MemoryAccess it fills. A Python hook per access: for tests on small
        data, not for measurement (cycle counts are unaffected, speed is not). Unicorn 2.1 corrupts
        the IT state when a memory hook fires inside a Thumb IT block, so a conditional access to the
        range raises McusimError rather than let the run fault later."""
        accesses: list[MemoryAccess] = []

        def on_access(uc, access, addr, nbytes, _value, _user):
            if uc.reg_read(arm_const.UC_ARM_REG_XPSR) & IT_STATE_BITS:
                raise McusimError(f"watch: a conditional access to {addr:#x} inside a Thumb IT block near "
                                  f"{self._symbol(uc.reg_read(arm_const.UC_ARM_REG_PC))}; Unicorn 2.1 "
                                  "loses the IT state when a memory hook fires there, so watched code must "
                                  "not load or store the range conditionally (newlib's memcpy does)")
            kind = "write" if access == UC_MEM_WRITE else "read"
            accesses.append(MemoryAccess(kind, addr, nbytes))

        handle = self.uc.hook_add(UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE, on_access, begin=address,
                                  end=address + size - 1)
        self.uc.ctl_flush_tb()
        try:
            yield accesses
        finally:
            self.uc.hook_del(handle)
            self.uc.ctl_flush_tb()

    def put(self, array: np.ndarray, align: int = 8) -> int:
        """Copy `array` (C order) into emulated RAM; returns its address."""
        data = np.ascontiguousarray(array)
        addr = self.alloc(max(data.nbytes, 1), align)
        self.uc.mem_write(addr, data.tobytes())
        return addr

    def write(self, address: int, array: np.ndarray) -> None:
        self.uc.mem_write(address, np.ascontiguousarray(array).tobytes())

    def read(self, address: int, dtype, shape) -> np.ndarray:
        dtype = np.dtype(dtype)
        count = int(np.prod(shape, dtype=np.int64))
        return np.frombuffer(bytes(self.uc.mem_read(address, count * dtype.itemsize)), dtype).reshape(shape).copy()

    # ---- counts, faults ----------------------------------------------------------------------

    @property
    def cycles(self) -> int:
        return self.counter.cycles

    @property
    def instructions(self) -> int:
        return self.counter.instructions

    def _reg(self, name: str) -> int:
        return self.uc.reg_read(getattr(arm_const, f"UC_ARM_REG_{name}"))

    def _symbol(self, address: int) -> str:
        return format_symbol(*self.elf.symbolize(address))

    def _stop_with(self, kind: FaultKind, pc: int, address: int | None, what: str, *,
                   return_address: int | None = None) -> None:
        """Record a fault at `pc` and stop. It is named by the symbol of pc or, for a fetch from a bad
        target, of the return address of the code that jumped there."""
        named, label = (pc, "pc") if return_address is None else (return_address, "return address")
        symbol = self._symbol(named)
        marker = self.markers[-1].name if self.markers else None
        self._fault = Fault(kind, pc, symbol, address, f"{what} at {symbol} ({label} {named:#010x})", marker)
        self.uc.emu_stop()

    def _on_interrupt(self, _uc: Uc, intno: int, _user) -> None:
        pc = self._reg("PC")
        if intno == EXCP_BKPT and self.semihosting.is_call(pc):
            if self.semihosting.calls_left:
                self.semihosting.serve(pc)
            else:
                self._stop_with(FaultKind.BUDGET_EXHAUSTED, pc, None,
                                f"semihosting budget of {MAX_SEMIHOSTING_CALLS:,} calls exhausted")
            return
        kind, what = exception_fault(intno, self._symbol(self._vectors[3]))
        self._stop_with(kind, pc, None, what)

    def _on_invalid_memory(self, _uc: Uc, access: int, address: int, size: int, _value, _user) -> bool:
        kind, what = memory_fault(access, address, size, self.board, self.layout)
        if kind.is_fetch:
            self._stop_with(kind, address, address, what, return_address=self._reg("LR") & ~1)
        else:
            self._stop_with(kind, self._reg("PC"), address, what)
        return False

    # ---- running ------------------------------------------------------------------------------

    def _emulate(self, begin: int, until: int) -> None:
        """Run from `begin` (Thumb) until `until`, exit, fault, budget or timeout; sets self._fault."""
        counter = self.counter
        deadline = time.monotonic_ns() + int(self.timeout * 1e9) if self.timeout else None
        self.itm.new_run()
        self.semihosting.calls_left = MAX_SEMIHOSTING_CALLS
        counter.start(deadline)
        while True:
            try:
                self.uc.emu_start(begin | 1, until)
            except UcError as e:
                if self._fault is None:
                    kind, what = engine_fault(e, self._reg("XPSR"))
                    self._stop_with(kind, self._reg("PC"), None, what)
            if counter.stop != Stop.RETRANSLATE:
                break
            begin = counter.last_block  # its alignment hooks are in place now: run it again
            counter.start(deadline, fresh=False)
        if self._fault is not None:
            return
        error = counter.error or self.ppb.error
        if isinstance(error, Undecodable):
            kind, what = UNDEFINED
            self._stop_with(kind, error.address, None, what)
        elif error is not None:
            raise error
        elif counter.stop == Stop.UNALIGNED:
            kind, what = unaligned_fault(counter.fault.name, counter.fault_address)
            self._stop_with(kind, counter.fault_pc, counter.fault_address, what)
        elif counter.stop == Stop.BUDGET:
            self._stop_with(FaultKind.BUDGET_EXHAUSTED, counter.last_block, None,
                            f"instruction budget of {self.max_instructions:,} exhausted (runaway code?)")
        elif counter.stop == Stop.DEADLINE:
            self._stop_with(FaultKind.TIMEOUT, counter.last_block, None,
                            f"wall-clock limit of {self.timeout:g} s reached (firmware too slow or stuck?)")

    def profile(self) -> list[ProfileEntry]:
        """A flat profile of everything run so far, most cycles first."""
        totals: dict[str, list[int]] = {}
        for block in self.counter.blocks():
            name, offset = self.elf.symbolize(block.address)
            if name is None:  # code outside every symbol: one entry per address
                name = format_symbol(None, offset)
            entry = totals.setdefault(name, [0, 0, 0])
            entry[0] += block.total_cycles
            entry[1] += block.hits * block.instructions
            entry[2] += block.stall_cycles
        return sorted((ProfileEntry(name, *figures) for name, figures in totals.items()), key=lambda e: -e.cycles)

    def _stall(self) -> int:
        stats = self.counter.memory_stats()
        return stats.fetch_stall + stats.data_stall if stats else 0

    def reset_caches(self) -> None:
        """Empty the flash caches (as a reset does) and zero their statistics: the next call starts
        cold. A run starts cold; calls otherwise find the caches as the one before left them."""
        self.counter.reset_memory()

    def _result(self) -> RunResult:
        out, err = (b.decode("utf-8", "replace") for b in (self.console.stdout, self.console.stderr))
        return RunResult(self.semihosting.exit_code, out, err, self.instructions, self.cycles, self.sram(),
                         self.flash(), list(self.markers), self._fault, self.console.notes() + self.itm.notes(),
                         self.counter.memory_stats())

    def run(self) -> RunResult:
        """Run from reset until the firmware exits (semihosting SYS_EXIT[_EXTENDED]).

        Raises FirmwareFault (with the partial result) on any fault, or if execution stops without
        an exit.
        """
        if self._initialized:
            raise McusimError("run() starts from reset: create a new Emulator for each run")
        self._initialized = True
        sp, reset = self._vectors[:2]
        region = self.board.region_of(reset & ~1)
        if not reset & 1 or region is None or not region.executable:
            raise ElfError(f"{self.elf.path}: reset vector {reset:#010x} is not Thumb code in {self.board.name}'s "
                           "executable memory (Cortex-M runs Thumb only: bit 0 must be set)")
        self.uc.reg_write(arm_const.UC_ARM_REG_SP, sp)
        self.counter.budget = self.max_instructions
        self._emulate(reset, STOP_ADDRESS)
        if self._fault is None and self.semihosting.exit_code is None:
            pc = self._reg("PC")
            self._stop_with(FaultKind.INTERNAL, pc, None, "emulation stopped without a semihosting exit")
        result = self._result()
        if result.fault:
            raise FirmwareFault(result.fault, result)
        return result

    def call(self, function: str, *args: int) -> int:
        """Call `function` with integer/pointer arguments (AAPCS: r0-r3, then the stack).

        Returns r0 as a signed 32-bit value; self.last_call holds its instructions, cycles and
        stack peak. The first call runs the firmware's mcusim_startup_init (.data, .bss,
        constructors) if it has one.
        """
        if not self._initialized:
            self._initialized = True
            if self.elf.has_symbol("mcusim_startup_init"):
                self._call(self.elf.symbol("mcusim_startup_init").address, ())
        return self._call(self.elf.symbol(function).address, args)

    def _call(self, address: int, args: tuple[int, ...]) -> int:
        uc, lay = self.uc, self.layout
        words = [int(a) & 0xFFFF_FFFF for a in args]
        for a in args:
            if not -(1 << 31) <= int(a) < (1 << 32):
                raise McusimError(f"argument {a} does not fit a 32-bit register")
        self._paint(lay.stack_limit, lay.stack_top)
        stacked = words[4:]
        sp = (lay.stack_top - 4 * len(stacked)) & ~7
        if stacked:
            uc.mem_write(sp, struct.pack(f"<{len(stacked)}I", *stacked))
        for i, w in enumerate(words[:4]):
            uc.reg_write(getattr(arm_const, f"UC_ARM_REG_R{i}"), w)
        ret = self.elf.symbol("mcusim_call_return").address
        uc.reg_write(arm_const.UC_ARM_REG_SP, sp)
        uc.reg_write(arm_const.UC_ARM_REG_LR, ret | 1)
        start_insns, start_cycles, start_stall = self.instructions, self.cycles, self._stall()
        self.counter.budget = start_insns + self.max_instructions
        self._fault = None
        self.semihosting.exit_code = None  # an exit() of an earlier call does not end this one
        self._emulate(address, ret)
        if self._fault is not None:
            raise FirmwareFault(self._fault, self._result())
        exit_code = self.semihosting.exit_code
        if exit_code is not None:
            raise McusimError(f"{self._symbol(address)} called exit({exit_code}) instead of returning")
        self.last_call = CallStats(self.instructions - start_insns, self.cycles - start_cycles, self.stack_peak(),
                                   self._stall() - start_stall)
        return struct.unpack("<i", struct.pack("<I", self._reg("R0")))[0]
