"""Faults: why emulation stopped abnormally, and which fault each Unicorn event is.

The classifiers are pure: they turn an event (an invalid memory access, a CPU exception, an engine
error) into a FaultKind and a description of what happened. The emulator places the fault (pc,
symbol, last marker) and stops.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum
from typing import TYPE_CHECKING

from unicorn import (UC_ERR_INSN_INVALID, UC_MEM_FETCH_PROT, UC_MEM_FETCH_UNMAPPED, UC_MEM_READ_PROT,
                     UC_MEM_READ_UNMAPPED, UC_MEM_WRITE_PROT, UcError)

from .boards import Board
from .errors import EX_SOFTWARE, McusimError

if TYPE_CHECKING:
    from .emulator import Layout, RunResult

# QEMU exception numbers that Unicorn reports through UC_HOOK_INTR.
EXCP_UDEF, EXCP_SWI, EXCP_PREFETCH_ABORT, EXCP_DATA_ABORT, EXCP_BKPT, EXCP_NOCP, EXCP_INVSTATE = 1, 2, 3, 4, 7, 17, 18
_HARDFAULT_CAUSES = {
    EXCP_SWI: "SVC: no supervisor is emulated",
    EXCP_BKPT: "BKPT other than semihosting's 0xAB, with no debugger attached",
    EXCP_PREFETCH_ABORT: "BusFault on an instruction fetch",
    EXCP_DATA_ABORT: "BusFault on a data access",
}
XPSR_T = 1 << 24  # Thumb state: clear once a branch to an even address left it (UsageFault INVSTATE)


class FaultKind(str, Enum):
    """The kind of a fault; its value is the name `mcusim run --json` reports."""

    UNMAPPED_READ = "unmapped_read"
    UNMAPPED_WRITE = "unmapped_write"
    UNMAPPED_FETCH = "unmapped_fetch"
    PROTECTED_FETCH = "protected_fetch"
    FLASH_WRITE = "flash_write"
    STACK_OVERFLOW = "stack_overflow"
    UNDEFINED_INSTRUCTION = "undefined_instruction"
    INVALID_STATE = "invalid_state"
    UNALIGNED_ACCESS = "unaligned_access"
    HARDFAULT = "hardfault"
    BUDGET_EXHAUSTED = "budget_exhausted"
    TIMEOUT = "timeout"
    INTERNAL = "internal"

    def __str__(self) -> str:
        return self.value

    @property
    def is_fetch(self) -> bool:
        """A jump to a bad target: the PC is the target itself, so the code that jumped there is
        named through LR."""
        return self in (FaultKind.UNMAPPED_FETCH, FaultKind.PROTECTED_FETCH)


@dataclass(frozen=True)
class Fault:
    """Why emulation stopped abnormally. pc is the instruction's address; address the data address."""

    kind: FaultKind
    pc: int
    symbol: str
    address: int | None
    message: str
    marker: str | None = None

    def to_json(self) -> dict:
        return {**asdict(self), "kind": self.kind.value}

    def __str__(self) -> str:
        where = f" [last marker: {self.marker}]" if self.marker else ""
        return f"{self.message}{where}"


class FirmwareFault(McusimError):
    """The firmware faulted. `fault` says how and where; `result` holds what was measured so far."""

    exit_code = EX_SOFTWARE

    def __init__(self, fault: Fault, result: RunResult | None = None):
        super().__init__(str(fault))
        self.fault = fault
        self.result = result


def memory_fault(access: int, address: int, size: int, board: Board, layout: Layout) -> tuple[FaultKind, str]:
    """The fault of Unicorn's UC_HOOK_MEM_INVALID event: `access` (a UC_MEM_* type) of `size` bytes
    at `address`. Any access to the stack guard is a stack overflow, whatever its type."""
    if layout.has_guard and layout.heap_limit <= address < layout.stack_limit:
        return FaultKind.STACK_OVERFLOW, (
            f"stack overflow: access to {address:#010x} in the guard below the stack "
            f"({layout.stack_top - layout.stack_limit} bytes, {layout.stack_limit:#010x}..{layout.stack_top:#010x})")
    if access == UC_MEM_WRITE_PROT and board.flash.contains(address):
        return FaultKind.FLASH_WRITE, f"write of {size} bytes to flash at {address:#010x}"
    if access in (UC_MEM_FETCH_PROT, UC_MEM_FETCH_UNMAPPED):
        region = board.region_of(address)
        kind = FaultKind.PROTECTED_FETCH if access == UC_MEM_FETCH_PROT else FaultKind.UNMAPPED_FETCH
        return kind, (f"instruction fetch from non-executable {region.name} at {address:#010x}" if region
                      else f"instruction fetch from unmapped address {address:#010x}")
    if access in (UC_MEM_READ_UNMAPPED, UC_MEM_READ_PROT):
        kind, verb = FaultKind.UNMAPPED_READ, "read"
    else:
        kind, verb = FaultKind.UNMAPPED_WRITE, "write"
    return kind, f"{verb} of {size} bytes at unmapped address {address:#010x}"


UNDEFINED = FaultKind.UNDEFINED_INSTRUCTION, "UsageFault: undefined instruction"
_INVALID_STATE = FaultKind.INVALID_STATE, "UsageFault: invalid state (a branch to an even address left Thumb state)"
_USAGE_FAULTS = {
    EXCP_UDEF: UNDEFINED,
    EXCP_NOCP: (FaultKind.UNDEFINED_INSTRUCTION, "UsageFault: coprocessor instruction, no such coprocessor"),
    EXCP_INVSTATE: _INVALID_STATE,
}


def exception_fault(intno: int, handler: str) -> tuple[FaultKind, str]:
    """The fault of CPU exception `intno` (UC_HOOK_INTR) other than a semihosting call, which the
    caller serves first. `handler` names where the vector table's HardFault entry leads."""
    if intno in _USAGE_FAULTS:
        return _USAGE_FAULTS[intno]
    cause = _HARDFAULT_CAUSES.get(intno, f"CPU exception {intno}")
    return FaultKind.HARDFAULT, f"HardFault ({cause}) taken through the vector table to {handler}"


def engine_fault(error: UcError, xpsr: int) -> tuple[FaultKind, str]:
    """The fault of an error that ended `emu_start` without a hook having recorded one; `xpsr`
    as it was then."""
    if error.errno == UC_ERR_INSN_INVALID:
        return UNDEFINED if xpsr & XPSR_T else _INVALID_STATE
    return FaultKind.INTERNAL, f"emulation error: {error}"


def unaligned_fault(name: str, address: int) -> tuple[FaultKind, str]:
    """An LDRD, LDM, LDREX, VLDR... (capstone's `name`) of the unaligned `address`."""
    return FaultKind.UNALIGNED_ACCESS, f"UsageFault: unaligned {name.upper()} of address {address:#010x}"
