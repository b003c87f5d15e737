"""Instruction and cycle counting per translated block, with an instruction budget.

`NativeCounter` registers the C callback of native/blockhook.c as Unicorn's one UC_HOOK_BLOCK hook:
per block it does a table lookup and two additions, and calls back into Python only the first time
a block is seen. `PythonCounter` does the same in a Python block hook: identical counts, far slower;
it is used only where the native library was not built (no C compiler at install time).

A block's costs come from `block_cost(code, address) -> (instructions, cycles)`, given the block's
bytes. Counts are taken when a block is entered, so a block cut short by a fault or a stop is
counted whole.
"""
from __future__ import annotations

import ctypes
import importlib.util
import warnings
from typing import Callable

from unicorn import UC_HOOK_BLOCK, Uc
from unicorn.unicorn_py3.arch.types import uc_hook_h
from unicorn.unicorn_py3.unicorn import uclib

BlockCost = Callable[[bytes, int], "tuple[int, int]"]

_MISS = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32,
                         ctypes.POINTER(ctypes.c_uint32), ctypes.POINTER(ctypes.c_uint32))
_STOP = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)


class _CounterState(ctypes.Structure):
    """Mirror of mcusim_counter in native/blockhook.c."""

    _fields_ = [
        ("instructions", ctypes.c_uint64),
        ("cycles", ctypes.c_uint64),
        ("budget", ctypes.c_uint64),
        ("exhausted", ctypes.c_uint32),
        ("last_block", ctypes.c_uint32),
        ("miss_failed", ctypes.c_uint32),
        ("capacity", ctypes.c_uint32),
        ("used", ctypes.c_uint32),
        ("table", ctypes.c_void_p),
        ("miss", _MISS),
        ("stop", _STOP),
    ]


def _load_native() -> ctypes.CDLL | None:
    spec = importlib.util.find_spec("mcusim._blockhook")
    if spec is None or spec.origin is None:
        return None
    lib = ctypes.CDLL(spec.origin)
    lib.mcusim_counter_free.argtypes = [ctypes.POINTER(_CounterState)]
    return lib


_NATIVE = _load_native()


class NativeCounter:
    def __init__(self, uc: Uc, block_cost: BlockCost, budget: int):
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

    def _on_miss(self, _uc, address, size, insns, cycles) -> int:
        try:
            n, c = self._block_cost(bytes(self._uc.mem_read(address, size)), address)
        except BaseException as e:  # never let an exception cross the C boundary
            self.error = e
            return 1
        insns[0], cycles[0] = n, c
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

    def __del__(self):
        if _NATIVE is not None and getattr(self, "_state", None) is not None:
            _NATIVE.mcusim_counter_free(ctypes.byref(self._state))


class PythonCounter:
    def __init__(self, uc: Uc, block_cost: BlockCost, budget: int):
        self._block_cost = block_cost
        self._costs: dict[tuple[int, int], tuple[int, int]] = {}
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

    def _on_block(self, uc: Uc, address: int, size: int, _user) -> None:
        self.last_block = address
        cost = self._costs.get((address, size))
        if cost is None:
            try:
                cost = self._costs[address, size] = self._block_cost(bytes(uc.mem_read(address, size)), address)
            except BaseException as e:
                self.error = e
                uc.emu_stop()
                return
        self.instructions += cost[0]
        self.cycles += cost[1]
        if self.instructions > self._budget and not self.exhausted:
            self.exhausted = True
            uc.emu_stop()


def make_counter(uc: Uc, block_cost: BlockCost, budget: int, native: bool | None = None):
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
