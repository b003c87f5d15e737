"""Instruction and cycle counting per translated block, with an instruction budget, a wall-clock
deadline and the alignment checks of multi-word accesses.

`NativeCounter` registers the C callback of native/blockhook.c as Unicorn's one UC_HOOK_BLOCK hook:
per block it settles the previous block's branch exit, does a table lookup and adds the block's
costs; it calls back into Python only the first time a block is seen. `PythonCounter` runs the same
algorithm in a Python block hook: identical counts, far slower; it is used only where the native
library was not built (no C compiler at install time).

A block's costs come from `block_cost(code, address) -> BlockCost` (see mcusim.cycles). Counts are
taken when a block is entered, so a block cut short by a fault or a stop is counted whole.

Given a `MemoryTiming`, either counter also prices the memory system on block entry: the flash lines
the block is fetched from, through the instruction cache, and the flash lines its `DataRead`s (the
loads whose address is known on entry) read, through the data cache; each miss costs the flash wait
states. The caches keep their contents across runs and calls until `reset_memory`.

Two prices of a dual-issue core depend on more than the block's bytes. Loads that pair only when
they read different banks: the BlockCost lists up to MAX_BANK_PAIRS pairs of its `reads` and a cycle
count for each outcome (`bank_cycles`), chosen by their addresses on entry. And a block entered
right behind another, with no exit cycles between them (a fall-through, or a predicted branch):
`edge_cost(before, code, address) -> cycles` prices what the blocks `before` it (the one or two
run last, each as (code, address), oldest first) leave in flight for it: stalls on their latencies,
an issue slot shared. The block before the last counts when it too was left with no exit cycles.

Either counter stops emulation and says why in `stop` (a `Stop`): the budget is spent, the deadline
has passed (looked at every CLOCK_BLOCKS blocks), a multi-word access is unaligned (`fault`,
`fault_pc`, `fault_address`), or a block must be translated again before it runs, its alignment
hooks now in place (the caller restarts at `last_block`). An exception of `block_cost` stops it too
and is kept in `error`.
"""
from __future__ import annotations

import ctypes
import enum
import importlib.util
import time
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

from unicorn import UC_HOOK_BLOCK, UC_HOOK_CODE, Uc
from unicorn.unicorn_py3.arch.types import uc_hook_h
from unicorn.unicorn_py3.unicorn import uclib

CLOCK_BLOCKS = 65536  # blocks between two looks at the clock


class Stop(enum.IntEnum):
    """Why a counter stopped emulation (STOP_* in native/blockhook.c)."""

    NONE = 0
    BUDGET = 1
    DEADLINE = 2
    UNALIGNED = 3
    RETRANSLATE = 4
    MISS_FAILED = 5


@dataclass(frozen=True)
class AlignmentCheck:
    """A multi-word access (LDRD, LDM, LDREX, VLDR...): it faults unless `base register + offset`
    has the `mask` bits clear. `at_entry`: the base register holds its value from the block's entry,
    so the check is made when the block is entered; otherwise by a hook on the instruction."""

    pc: int
    name: str    # capstone's: "ldrd", "ldm", ...
    reg: int     # Unicorn register id of the base
    offset: int  # 32-bit
    mask: int    # 3: word alignment, 1: halfword
    at_entry: bool


@dataclass(frozen=True)
class DataRead:
    """A load whose address is known on its block's entry: the base register's value (none when
    `base` is -1) + the index register's value (none when -1) << shift + offset, mod 2^32; it reads
    `size` bytes."""

    base: int    # Unicorn register ids
    index: int
    shift: int
    offset: int  # 32-bit
    size: int


@dataclass(frozen=True)
class CacheGeometry:
    """`sets` x `ways` lines, least recently used replaced (mcusim.boards.Cache as the counter sees it)."""

    sets: int  # a power of two
    ways: int


@dataclass(frozen=True)
class MemoryTiming:
    """The memory system a counter prices: flash at [flash_base, flash_base + flash_size), read a
    line of 2^line_shift bytes at a time for `wait_states` extra cycles, behind an instruction and a
    data cache (None: off, every access misses); `prefetch`: the instruction line after the one
    fetched last is read ahead, so reaching it without a taken branch never stalls."""

    flash_base: int
    flash_size: int
    wait_states: int
    line_shift: int
    icache: CacheGeometry | None
    dcache: CacheGeometry | None
    prefetch: bool = False


@dataclass(frozen=True)
class MemoryStats:
    """What the memory system did since the caches were reset: line lookups that hit and missed
    per cache, and the stall cycles of instruction fetches and data reads."""

    icache_hits: int
    icache_misses: int
    dcache_hits: int
    dcache_misses: int
    fetch_stall: int
    data_stall: int


@dataclass(frozen=True)
class BlockCost:
    """Costs of one translated block, fixed at translation time.

    cycles: for the whole block when it falls through at its end.
    taken / taken_miss / fall_miss: extra cycles of the exit: a taken branch predicted (direction
        and target), a taken branch mispredicted, a fall-through predicted taken. A core without a
        branch predictor has taken == taken_miss and fall_miss == 0.
    counter: initial 2-bit direction predictor state (>= 2 predicts taken).
    target: initial target prediction: the target of a direct branch, known at decode; 0 (none) for
        an indirect one, whose first taken exit therefore counts as mispredicted.
    checks: the block's multi-word accesses, whose alignment the counter checks.
    reads: the block's loads whose address is known on entry, priced by the memory system.
    banks: pairs of indices in `reads`: loads that pair when their addresses on entry differ in
        bit 2 (at most MAX_BANK_PAIRS).
    bank_cycles: the block's cycles for each outcome, indexed by a mask whose bit k says that
        pair k differs (bank_cycles[0] == cycles); empty without banks.
    """

    instructions: int
    cycles: int
    taken: int = 0
    taken_miss: int = 0
    fall_miss: int = 0
    counter: int = 1
    target: int = 0
    checks: tuple[AlignmentCheck, ...] = ()
    reads: tuple[DataRead, ...] = ()
    banks: tuple[tuple[int, int], ...] = ()
    bank_cycles: tuple[int, ...] = ()


BlockCostFn = Callable[[bytes, int], BlockCost]
EdgeCostFn = Callable[[tuple[tuple[bytes, int], ...], bytes, int], int]


@dataclass(frozen=True)
class BlockStats:
    """What one block cost over a run: for profiles."""

    address: int
    size: int
    instructions: int  # per entry
    cycles: int        # per entry, falling through
    hits: int
    exit_cycles: int   # branch-exit cycles charged to it in total
    stall_cycles: int  # memory-system stalls charged to it in total
    pipeline_cycles: int  # bank and edge cycles charged to it in total (signed)

    @property
    def total_cycles(self) -> int:
        return self.hits * self.cycles + self.exit_cycles + self.stall_cycles + self.pipeline_cycles


class _Check(ctypes.Structure):
    """Mirror of mcusim_check in native/blockhook.c."""

    _fields_ = [("pc", ctypes.c_uint32), ("reg", ctypes.c_int32), ("offset", ctypes.c_uint32),
                ("mask", ctypes.c_uint32)]

    @classmethod
    def of(cls, check: AlignmentCheck) -> "_Check":
        return cls(check.pc, check.reg, check.offset, check.mask)


class _Read(ctypes.Structure):
    """Mirror of mcusim_read in native/blockhook.c."""

    _fields_ = [("base", ctypes.c_int32), ("index", ctypes.c_int32), ("offset", ctypes.c_uint32),
                ("shift", ctypes.c_uint8), ("reserved", ctypes.c_uint8), ("bytes", ctypes.c_uint16)]

    @classmethod
    def of(cls, read: DataRead) -> "_Read":
        return cls(read.base, read.index, read.offset, read.shift, 0, read.size)


MAX_READS = 255  # per block; loads beyond them (never seen in compiled code) go unpriced
MAX_BANK_PAIRS = 3  # per block; loads after them never pair


class _Successor(ctypes.Structure):
    """Mirror of mcusim_successor in native/blockhook.c."""

    _fields_ = [("addr", ctypes.c_uint32), ("size", ctypes.c_uint32), ("from_addr", ctypes.c_uint32),
                ("from_size", ctypes.c_uint32), ("adjust", ctypes.c_int32)]


class _Block(ctypes.Structure):
    """Mirror of mcusim_block in native/blockhook.c."""

    _fields_ = [
        ("addr", ctypes.c_uint32), ("size", ctypes.c_uint32), ("insns", ctypes.c_uint32),
        ("cycles", ctypes.c_uint32), ("exit", ctypes.c_uint8 * 4), ("counter", ctypes.c_uint8),
        ("n_checks", ctypes.c_uint8), ("n_reads", ctypes.c_uint8), ("n_banks", ctypes.c_uint8),
        ("last_target", ctypes.c_uint32), ("banks", (ctypes.c_uint8 * 2) * MAX_BANK_PAIRS),
        ("bank_delta", ctypes.c_int8 * (1 << MAX_BANK_PAIRS)), ("reserved", ctypes.c_uint8 * 2),
        ("next", _Successor * 2), ("checks", ctypes.POINTER(_Check)), ("reads", ctypes.POINTER(_Read)),
        ("hits", ctypes.c_uint64), ("exit_cycles", ctypes.c_uint64), ("stall_cycles", ctypes.c_uint64),
        ("pipeline_cycles", ctypes.c_int64),
    ]


class _CacheState(ctypes.Structure):
    """Mirror of mcusim_cache in native/blockhook.c."""

    _fields_ = [("lines", ctypes.POINTER(ctypes.c_uint32)), ("sets", ctypes.c_uint32), ("ways", ctypes.c_uint32),
                ("hits", ctypes.c_uint64), ("misses", ctypes.c_uint64)]


class _MemoryState(ctypes.Structure):
    """Mirror of mcusim_memory in native/blockhook.c."""

    _fields_ = [("flash_base", ctypes.c_uint32), ("flash_size", ctypes.c_uint32), ("wait_states", ctypes.c_uint32),
                ("line_shift", ctypes.c_uint32), ("fetch_line", ctypes.c_uint32), ("prefetch", ctypes.c_uint32),
                ("icache", _CacheState), ("dcache", _CacheState), ("fetch_stall", ctypes.c_uint64),
                ("data_stall", ctypes.c_uint64)]


_MISS = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32, ctypes.POINTER(_Block))
_STOP = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)
_REG_READ = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p)
_EDGE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, *[ctypes.c_uint32] * 6, ctypes.POINTER(ctypes.c_int32))
MISS_OK, MISS_FAILED, MISS_RETRANSLATE = 0, 1, 2


class _CounterState(ctypes.Structure):
    """Mirror of mcusim_counter in native/blockhook.c."""

    _fields_ = [
        ("instructions", ctypes.c_uint64), ("cycles", ctypes.c_uint64), ("budget", ctypes.c_uint64),
        ("deadline_ns", ctypes.c_uint64), ("stop", ctypes.c_uint32), ("last_block", ctypes.c_uint32),
        ("fault_pc", ctypes.c_uint32), ("fault_address", ctypes.c_uint32), ("clock_countdown", ctypes.c_uint32),
        ("capacity", ctypes.c_uint32), ("used", ctypes.c_uint32), ("prev", ctypes.POINTER(_Block)),
        ("from_addr", ctypes.c_uint32), ("from_size", ctypes.c_uint32),
        ("table", ctypes.POINTER(_Block)), ("miss", _MISS), ("stop_fn", _STOP), ("reg_read", _REG_READ),
        ("memory", ctypes.POINTER(_MemoryState)), ("edge", _EDGE),
    ]


class _Site(ctypes.Structure):
    """Mirror of mcusim_site in native/blockhook.c."""

    _fields_ = [("counter", ctypes.POINTER(_CounterState)), ("check", _Check)]


def _load_native() -> ctypes.CDLL | None:
    spec = importlib.util.find_spec("mcusim._blockhook")
    if spec is None or spec.origin is None:
        return None
    lib = ctypes.CDLL(spec.origin)
    lib.mcusim_counter_free.argtypes = [ctypes.POINTER(_CounterState)]
    return lib


NATIVE = _load_native()


def _fill(block, cost: BlockCost) -> None:
    block.insns, block.cycles, block.counter, block.last_target = (
        cost.instructions, cost.cycles, cost.counter, cost.target)
    block.exit[:] = (0, cost.fall_miss, cost.taken_miss, cost.taken)
    block.n_banks = len(cost.banks)
    for k, pair in enumerate(cost.banks):
        block.banks[k][:] = pair
    for mask, cycles in enumerate(cost.bank_cycles):
        block.bank_delta[mask] = cycles - cost.cycles


def _read_addresses(uc: Uc, reads: tuple[DataRead, ...]) -> list[int]:
    """read_addresses of native/blockhook.c."""
    return [((uc.reg_read(r.base) if r.base >= 0 else 0) + ((uc.reg_read(r.index) if r.index >= 0 else 0) << r.shift)
             + r.offset) & 0xFFFF_FFFF for r in reads]


class _Lru:
    """A set-associative cache of line numbers, least recently used replaced (cache_access in
    native/blockhook.c); `geometry` None: no cache, every access misses."""

    def __init__(self, geometry: CacheGeometry | None):
        self.geometry = geometry
        self.sets = [[] for _ in range(geometry.sets)] if geometry else []
        self.hits = self.misses = 0

    def access(self, line: int) -> int:
        """1 on a miss."""
        if self.geometry is None:
            self.misses += 1
            return 1
        ways = self.sets[line & (self.geometry.sets - 1)]
        miss = line not in ways
        if miss:
            if len(ways) == self.geometry.ways:
                ways.pop()
        else:
            ways.remove(line)
        ways.insert(0, line)
        self.hits += not miss
        self.misses += miss
        return int(miss)


class _PythonMemory:
    """memory_stall of native/blockhook.c, in Python."""

    def __init__(self, timing: MemoryTiming):
        self.timing = timing
        self.reset()

    def reset(self) -> None:
        self.icache, self.dcache = _Lru(self.timing.icache), _Lru(self.timing.dcache)
        self.fetch_line: int | None = None
        self.fetch_stall = self.data_stall = 0

    def _in_flash(self, address: int) -> bool:
        return 0 <= address - self.timing.flash_base < self.timing.flash_size

    def stall(self, addr: int, size: int, reads: tuple[DataRead, ...], addresses: list[int], taken: bool) -> int:
        t = self.timing
        fetch = data = 0
        if self._in_flash(addr):
            first, last = addr >> t.line_shift, (addr + size - 1) >> t.line_shift
            if not taken and first == self.fetch_line:
                first += 1
            ahead = t.prefetch and not taken and self.fetch_line is not None and first == self.fetch_line + 1
            for line in range(first, last + 1):
                fetch += self.icache.access(line) and not ahead
                ahead = t.prefetch
            self.fetch_line = last
        for r, address in zip(reads, addresses):
            if self._in_flash(address):
                data += sum(self.dcache.access(line) for line in
                            range(address >> t.line_shift, ((address + r.size - 1) >> t.line_shift) + 1))
        fetch, data = fetch * t.wait_states, data * t.wait_states
        self.fetch_stall += fetch
        self.data_stall += data
        return fetch + data

    def stats(self) -> MemoryStats:
        return MemoryStats(self.icache.hits, self.icache.misses, self.dcache.hits, self.dcache.misses,
                           self.fetch_stall, self.data_stall)


class _Counter:
    """What both counters share: a new block's decode, with its alignment hooks, and a new edge's."""

    def __init__(self, uc: Uc, block_cost: BlockCostFn, edge_cost: EdgeCostFn | None):
        self._uc = uc
        self._block_cost = block_cost
        self._edge_cost = edge_cost
        self.error: BaseException | None = None
        self._checks: dict[int, AlignmentCheck] = {}  # pc -> the check of every access decoded
        self._hooked: set[int] = set()  # pcs with an alignment hook

    def _decode(self, address: int, size: int) -> BlockCost | None:
        """The cost of a new block, its alignment hooks in place; None after an exception of
        block_cost (kept in `error`), or when hooks were added: they take effect only once the block
        is translated again, so its translation is dropped."""
        try:
            cost = self._block_cost(bytes(self._uc.mem_read(address, size)), address)
        except BaseException as e:  # never let an exception cross the C boundary
            self.error = e
            return None
        new = [c for c in cost.checks if not c.at_entry and c.pc not in self._hooked]
        for check in cost.checks:
            self._checks[check.pc] = check
        for check in new:
            self._hooked.add(check.pc)
            self._hook(check)
        if new:
            self._uc.ctl_remove_cache(address, address + size)
            return None
        return cost

    def _edge(self, before: tuple[tuple[int, int], ...], address: int, size: int) -> int | None:
        """edge_cost of the block at `address` behind the blocks `before` ((address, size), oldest
        first); None after an exception (kept in `error`)."""
        try:
            read = self._uc.mem_read
            return self._edge_cost(tuple((bytes(read(a, n)), a) for a, n in before), bytes(read(address, size)),
                                   address)
        except BaseException as e:  # never let an exception cross the C boundary
            self.error = e
            return None

    def _hook(self, check: AlignmentCheck) -> None:
        """Have `check` made each time its instruction runs (a UC_HOOK_CODE on its pc)."""
        raise NotImplementedError

    @property
    def fault(self) -> AlignmentCheck | None:
        """The unaligned access that stopped emulation (stop == Stop.UNALIGNED)."""
        return self._checks.get(self.fault_pc) if self.stop == Stop.UNALIGNED else None


class NativeCounter(_Counter):
    def __init__(self, uc: Uc, block_cost: BlockCostFn, budget: int, memory: MemoryTiming | None = None,
                 edge_cost: EdgeCostFn | None = None):
        super().__init__(uc, block_cost, edge_cost)
        self.state = s = _CounterState()  # the native peripheral bus reads the cycle count from it
        s.budget = budget
        self._miss = s.miss = _MISS(self._on_miss)  # keep the ctypes thunk alive as long as the hook
        s.stop_fn = ctypes.cast(uclib.uc_emu_stop, _STOP)
        s.reg_read = ctypes.cast(uclib.uc_reg_read, _REG_READ)
        if edge_cost is not None:
            self._edge_thunk = s.edge = _EDGE(self._on_edge)
        self._entry_checks: dict[tuple[int, int], ctypes.Array] = {}  # what the table's blocks point to
        self._entry_reads: dict[tuple[int, int], ctypes.Array] = {}
        self._sites: list[_Site] = []  # the user data of the alignment hooks
        self._memory = self._lines = None
        if memory is not None:
            self._memory = m = _MemoryState(memory.flash_base, memory.flash_size, memory.wait_states,
                                            memory.line_shift, 0, int(memory.prefetch))
            self._lines = []  # the caches' slots, owned here
            for state, geometry in ((m.icache, memory.icache), (m.dcache, memory.dcache)):
                if geometry is not None:
                    lines = np.zeros(geometry.sets * geometry.ways, np.uint32)
                    self._lines.append(lines)
                    state.lines = lines.ctypes.data_as(ctypes.POINTER(ctypes.c_uint32))
                    state.sets, state.ways = geometry.sets, geometry.ways
            s.memory = ctypes.pointer(m)
        self._add_hook(UC_HOOK_BLOCK, NATIVE.mcusim_block_hook, s, 1, 0)

    def _add_hook(self, kind: int, fn, user: ctypes.Structure, begin: int, end: int) -> None:
        hook = uc_hook_h()
        status = uclib.uc_hook_add(self._uc._uch, ctypes.byref(hook), kind, ctypes.cast(fn, ctypes.c_void_p),
                                   ctypes.cast(ctypes.byref(user), ctypes.c_void_p), begin, end)
        if status != 0:
            raise RuntimeError(f"uc_hook_add failed with Unicorn error {status}")

    def _hook(self, check: AlignmentCheck) -> None:
        site = _Site(ctypes.pointer(self.state), _Check.of(check))
        self._sites.append(site)
        self._add_hook(UC_HOOK_CODE, NATIVE.mcusim_alignment_hook, site, check.pc, check.pc)

    def _on_miss(self, _uc, address, size, block) -> int:
        cost = self._decode(address, size)
        if cost is None:
            return MISS_FAILED if self.error is not None else MISS_RETRANSLATE
        b = block.contents
        _fill(b, cost)
        entry = [_Check.of(c) for c in cost.checks if c.at_entry]
        if entry:
            b.checks = self._entry_checks[address, size] = (_Check * len(entry))(*entry)
            b.n_checks = len(entry)
        reads = [_Read.of(r) for r in cost.reads[:MAX_READS]]
        if reads:
            b.reads = self._entry_reads[address, size] = (_Read * len(reads))(*reads)
            b.n_reads = len(reads)
        return MISS_OK

    def _on_edge(self, _uc, from_address, from_size, address, size, next_address, next_size, adjust) -> int:
        before = ((from_address, from_size),) * bool(from_size) + ((address, size),)
        cycles = self._edge(before, next_address, next_size)
        if cycles is None:
            return MISS_FAILED
        adjust[0] = cycles
        return MISS_OK

    def reset_memory(self) -> None:
        """Empty the caches and the fetch buffer, zero the memory statistics (a reset's state)."""
        m = self._memory
        if m is not None:
            for lines in self._lines:
                lines[:] = 0
            m.fetch_line = m.fetch_stall = m.data_stall = 0
            m.icache.hits = m.icache.misses = m.dcache.hits = m.dcache.misses = 0

    def memory_stats(self) -> MemoryStats | None:
        m = self._memory
        return None if m is None else MemoryStats(m.icache.hits, m.icache.misses, m.dcache.hits, m.dcache.misses,
                                                  m.fetch_stall, m.data_stall)

    instructions = property(lambda self: self.state.instructions)
    cycles = property(lambda self: self.state.cycles)
    last_block = property(lambda self: self.state.last_block)
    stop = property(lambda self: Stop(self.state.stop))
    fault_pc = property(lambda self: self.state.fault_pc)
    fault_address = property(lambda self: self.state.fault_address)

    @property
    def budget(self) -> int:
        return self.state.budget

    @budget.setter
    def budget(self, value: int) -> None:
        self.state.budget = value

    def start(self, deadline_ns: int | None, fresh: bool = True) -> None:
        """Emulation (re)starts: no stop or error yet, stop at `deadline_ns` (of time.monotonic_ns();
        None: never). `fresh`: elsewhere than it stopped, so the next block settles no branch exit."""
        s = self.state
        s.stop, s.deadline_ns, s.clock_countdown, self.error = Stop.NONE, deadline_ns or 0, CLOCK_BLOCKS, None
        if fresh:
            s.prev, s.from_addr, s.from_size = None, 0, 0

    def blocks(self) -> list[BlockStats]:
        s = self.state
        return [BlockStats(b.addr, b.size, b.insns, b.cycles, b.hits, b.exit_cycles, b.stall_cycles,
                           b.pipeline_cycles) for b in (s.table[i] for i in range(s.capacity)) if b.size and b.hits]

    def __del__(self):
        if NATIVE is not None and getattr(self, "state", None) is not None:
            NATIVE.mcusim_counter_free(ctypes.byref(self.state))


class PythonCounter(_Counter):
    """The algorithm of native/blockhook.c, in Python."""

    def __init__(self, uc: Uc, block_cost: BlockCostFn, budget: int, memory: MemoryTiming | None = None,
                 edge_cost: EdgeCostFn | None = None):
        super().__init__(uc, block_cost, edge_cost)
        self._memory = _PythonMemory(memory) if memory is not None else None
        self._blocks: dict[tuple[int, int], tuple[_Block, list[AlignmentCheck], tuple[DataRead, ...]]] = {}
        self._prev: _Block | None = None
        self._from: tuple[int, int] | None = None  # the block before _prev, when _prev was entered with no exit cycles
        self.instructions = self.cycles = self.last_block = self.fault_pc = self.fault_address = 0
        self.budget = budget
        self.stop = Stop.NONE
        self._deadline_ns: int | None = None
        self._countdown = CLOCK_BLOCKS
        uc.hook_add(UC_HOOK_BLOCK, self._on_block)

    def start(self, deadline_ns: int | None, fresh: bool = True) -> None:
        self.stop, self._deadline_ns, self._countdown, self.error = Stop.NONE, deadline_ns, CLOCK_BLOCKS, None
        if fresh:
            self._prev = self._from = None

    def _stop(self, uc: Uc, why: Stop) -> None:
        self.stop = why
        uc.emu_stop()

    def _hook(self, check: AlignmentCheck) -> None:
        self._uc.hook_add(UC_HOOK_CODE, lambda uc, _address, _size, _user: self._misaligned(uc, check),
                          begin=check.pc, end=check.pc)

    def _misaligned(self, uc: Uc, check: AlignmentCheck) -> bool:
        address = (uc.reg_read(check.reg) + check.offset) & 0xFFFF_FFFF
        if not address & check.mask:
            return False
        self.fault_pc, self.fault_address = check.pc, address
        self._stop(uc, Stop.UNALIGNED)
        return True

    def _on_block(self, uc: Uc, address: int, size: int, _user) -> None:
        known = self._blocks.get((address, size))
        if known is None:
            cost = self._decode(address, size)
            if cost is None:
                self.last_block = address
                self._stop(uc, Stop.MISS_FAILED if self.error is not None else Stop.RETRANSLATE)
                return
            b = _Block(addr=address, size=size)
            _fill(b, cost)
            known = self._blocks[address, size] = (b, [c for c in cost.checks if c.at_entry],
                                                   cost.reads[:MAX_READS])
        b, checks, reads = known
        if any(self._misaligned(uc, c) for c in checks):
            return
        p, taken, pipeline = self._prev, True, 0
        if p is not None:
            taken = address != p.addr + p.size
            hit = (p.counter >> 1) & (not taken or address == p.last_target)
            extra = p.exit[taken << 1 | hit]
            self.cycles += extra
            p.exit_cycles += extra
            p.counter = min(p.counter + 1, 3) if taken else max(p.counter - 1, 0)
            if taken:
                p.last_target = address
            if extra == 0 and self._edge_cost is not None:
                pipeline = self._edge((*[self._from] * bool(self._from), (p.addr, p.size)), address, size)
                if pipeline is None:
                    self.last_block = address
                    self._stop(uc, Stop.MISS_FAILED)
                    return
            self._from = (p.addr, p.size) if extra == 0 else None
        if self._memory is not None or b.n_banks:
            addresses = _read_addresses(uc, reads)
            if self._memory is not None:
                stall = self._memory.stall(address, size, reads, addresses, taken)
                self.cycles += stall
                b.stall_cycles += stall
            differ = sum(((addresses[i] ^ addresses[j]) >> 2 & 1) << k for k, (i, j) in enumerate(b.banks[:b.n_banks]))
            pipeline += b.bank_delta[differ]
        b.pipeline_cycles += pipeline
        self.cycles += pipeline
        self._prev = b
        self.last_block = address
        b.hits += 1
        self.instructions += b.insns
        self.cycles += b.cycles
        if self.instructions > self.budget and self.stop == Stop.NONE:
            self._stop(uc, Stop.BUDGET)
        self._countdown -= 1
        if not self._countdown:
            self._countdown = CLOCK_BLOCKS
            if self._deadline_ns and time.monotonic_ns() >= self._deadline_ns:
                self._stop(uc, Stop.DEADLINE)

    def blocks(self) -> list[BlockStats]:
        return [BlockStats(b.addr, b.size, b.insns, b.cycles, b.hits, b.exit_cycles, b.stall_cycles,
                           b.pipeline_cycles) for b, _, _ in self._blocks.values() if b.hits]

    def reset_memory(self) -> None:
        if self._memory is not None:
            self._memory.reset()

    def memory_stats(self) -> MemoryStats | None:
        return None if self._memory is None else self._memory.stats()


def make_counter(uc: Uc, block_cost: BlockCostFn, budget: int, native: bool | None = None,
                 memory: MemoryTiming | None = None, edge_cost: EdgeCostFn | None = None):
    """The native counter where it was built (or `native=True` demands it), else the Python one;
    `memory`: the memory system to price (None: flash costs nothing); `edge_cost`: the price of a
    block run right behind others (None: each is priced alone)."""
    if native is None:
        native = NATIVE is not None
        if not native:
            warnings.warn("mcusim's native block hook was not built; counting in Python (much slower). "
                          "Reinstall with a C compiler present: pip install -e .", RuntimeWarning, stacklevel=3)
    if native:
        if NATIVE is None:
            raise RuntimeError("native block hook requested but mcusim._blockhook was not built")
        return NativeCounter(uc, block_cost, budget, memory, edge_cost)
    return PythonCounter(uc, block_cost, budget, memory, edge_cost)
