"""Instruction and cycle counting per translated block, with an instruction budget.

`NativeCounter` registers the C callback of native/blockhook.c as Unicorn's one UC_HOOK_BLOCK hook:
per block it settles the previous block's branch exit, does a table lookup and adds the block's
costs; it calls back into Python only the first time a block is seen. `PythonCounter` runs the same
algorithm in a Python block hook: identical counts, far slower; it is used only where the native
library was not built (no C compiler at install time).

A block's costs come from `block_cost(code, address) -> BlockCost` (see mcusim.cycles). Counts are
taken when a block is entered, so a block cut short by a fault or a stop is counted whole.
"""
from __future__ import annotations

import ctypes
import importlib.util
import warnings
from dataclasses import dataclass
from typing import Callable

from unicorn import UC_HOOK_BLOCK, Uc
from unicorn.unicorn_py3.arch.types import uc_hook_h
from unicorn.unicorn_py3.unicorn import uclib


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
    """

    instructions: int
    cycles: int
    taken: int = 0
    taken_miss: int = 0
    fall_miss: int = 0
    counter: int = 1
    target: int = 0


BlockCostFn = Callable[[bytes, int], BlockCost]


@dataclass(frozen=True)
class BlockStats:
    """What one block cost over a run: for profiles."""

    address: int
    size: int
    instructions: int  # per entry
    cycles: int        # per entry, falling through
    hits: int
    exit_cycles: int   # branch-exit cycles charged to it in total

    @property
    def total_cycles(self) -> int:
        return self.hits * self.cycles + self.exit_cycles


class _Block(ctypes.Structure):
    """Mirror of mcusim_block in native/blockhook.c."""

    _fields_ = [
        ("addr", ctypes.c_uint32), ("size", ctypes.c_uint32), ("insns", ctypes.c_uint32),
        ("cycles", ctypes.c_uint32), ("exit", ctypes.c_uint8 * 4), ("counter", ctypes.c_uint8),
        ("reserved", ctypes.c_uint8 * 3), ("last_target", ctypes.c_uint32),
        ("hits", ctypes.c_uint64), ("exit_cycles", ctypes.c_uint64),
    ]


_MISS = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32, ctypes.POINTER(_Block))
_STOP = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)


class _CounterState(ctypes.Structure):
    """Mirror of mcusim_counter in native/blockhook.c."""

    _fields_ = [
        ("instructions", ctypes.c_uint64), ("cycles", ctypes.c_uint64), ("budget", ctypes.c_uint64),
        ("exhausted", ctypes.c_uint32), ("last_block", ctypes.c_uint32), ("miss_failed", ctypes.c_uint32),
        ("capacity", ctypes.c_uint32), ("used", ctypes.c_uint32), ("prev", ctypes.POINTER(_Block)),
        ("table", ctypes.POINTER(_Block)), ("miss", _MISS), ("stop", _STOP),
    ]


def _load_native() -> ctypes.CDLL | None:
    spec = importlib.util.find_spec("mcusim._blockhook")
    if spec is None or spec.origin is None:
        return None
    lib = ctypes.CDLL(spec.origin)
    lib.mcusim_counter_free.argtypes = [ctypes.POINTER(_CounterState)]
    return lib


_NATIVE = _load_native()


def _fill(block, cost: BlockCost) -> None:
    block.insns, block.cycles, block.counter, block.last_target = (
        cost.instructions, cost.cycles, cost.counter, cost.target)
    block.exit[:] = (0, cost.fall_miss, cost.taken_miss, cost.taken)


class NativeCounter:
    def __init__(self, uc: Uc, block_cost: BlockCostFn, budget: int):
        self._uc = uc
        self._block_cost = block_cost
        self.error: BaseException | None = None
        self._state = _CounterState()
        self._state.budget = budget
        self._miss = _MISS(self._on_miss)  # keep the ctypes thunk alive as long as the hook
        self._state.miss = self._miss
        self._state.stop = ctypes.cast(uclib.uc_emu_stop, _STOP)
        hook = uc_hook_h()
        fn = ctypes.cast(_NATIVE.mcusim_block_hook, ctypes.c_void_p)
        status = uclib.uc_hook_add(uc._uch, ctypes.byref(hook), UC_HOOK_BLOCK, fn,
                                   ctypes.cast(ctypes.byref(self._state), ctypes.c_void_p), 1, 0)
        if status != 0:
            raise RuntimeError(f"uc_hook_add failed with Unicorn error {status}")
        self._hook = hook

    def _on_miss(self, _uc, address, size, block) -> int:
        try:
            _fill(block.contents, self._block_cost(bytes(self._uc.mem_read(address, size)), address))
        except BaseException as e:  # never let an exception cross the C boundary
            self.error = e
            return 1
        return 0

    instructions = property(lambda self: self._state.instructions)
    cycles = property(lambda self: self._state.cycles)
    exhausted = property(lambda self: bool(self._state.exhausted))
    last_block = property(lambda self: self._state.last_block)

    @property
    def budget(self) -> int:
        return self._state.budget

    @budget.setter
    def budget(self, value: int) -> None:
        self._state.budget = value
        self._state.exhausted = 0

    def new_start(self) -> None:
        """Emulation restarts elsewhere: the next block settles no branch exit."""
        self._state.prev = None

    def blocks(self) -> list[BlockStats]:
        s = self._state
        return [BlockStats(b.addr, b.size, b.insns, b.cycles, b.hits, b.exit_cycles)
                for b in (s.table[i] for i in range(s.capacity)) if b.size and b.hits]

    def __del__(self):
        if _NATIVE is not None and getattr(self, "_state", None) is not None:
            _NATIVE.mcusim_counter_free(ctypes.byref(self._state))


class PythonCounter:
    """The algorithm of native/blockhook.c, in Python."""

    def __init__(self, uc: Uc, block_cost: BlockCostFn, budget: int):
        self._block_cost = block_cost
        self._blocks: dict[tuple[int, int], _Block] = {}
        self._prev: _Block | None = None
        self.instructions = self.cycles = self.last_block = 0
        self.budget = budget
        self.error: BaseException | None = None
        uc.hook_add(UC_HOOK_BLOCK, self._on_block)

    @property
    def budget(self) -> int:
        return self._budget

    @budget.setter
    def budget(self, value: int) -> None:
        self._budget = value
        self.exhausted = False

    def new_start(self) -> None:
        self._prev = None

    def _on_block(self, uc: Uc, address: int, size: int, _user) -> None:
        p = self._prev
        if p is not None:
            taken = address != p.addr + p.size
            hit = (p.counter >> 1) & (not taken or address == p.last_target)
            extra = p.exit[taken << 1 | hit]
            self.cycles += extra
            p.exit_cycles += extra
            p.counter = min(p.counter + 1, 3) if taken else max(p.counter - 1, 0)
            if taken:
                p.last_target = address
        b = self._blocks.get((address, size))
        if b is None:
            try:
                cost = self._block_cost(bytes(uc.mem_read(address, size)), address)
            except BaseException as e:
                self.error = e
                uc.emu_stop()
                return
            b = self._blocks[address, size] = _Block(addr=address, size=size)
            _fill(b, cost)
        self._prev = b
        self.last_block = address
        b.hits += 1
        self.instructions += b.insns
        self.cycles += b.cycles
        if self.instructions > self._budget and not self.exhausted:
            self.exhausted = True
            uc.emu_stop()

    def blocks(self) -> list[BlockStats]:
        return [BlockStats(b.addr, b.size, b.insns, b.cycles, b.hits, b.exit_cycles)
                for b in self._blocks.values() if b.hits]


def make_counter(uc: Uc, block_cost: BlockCostFn, budget: int, native: bool | None = None):
    """The native counter where it was built (or `native=True` demands it), else the Python one."""
    if native is None:
        native = _NATIVE is not None
        if not native:
            warnings.warn("mcusim's native block hook was not built; counting in Python (much slower). "
                          "Reinstall with a C compiler present: pip install -e .", RuntimeWarning, stacklevel=3)
    if native:
        if _NATIVE is None:
            raise RuntimeError("native block hook requested but mcusim._blockhook was not built")
        return NativeCounter(uc, block_cost, budget)
    return PythonCounter(uc, block_cost, budget)
