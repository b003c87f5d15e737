"""Cycle cost models of the Cortex-M4 and Cortex-M7, applied once per translated block.

A model turns a block's bytes into a `BlockCost` (mcusim.counting): the cycles of the block when it
falls through, and the extra cycles of leaving it by a taken branch, with or without a correct
prediction. The native block hook adds these per block at run time; nothing runs per instruction.

Each rule and its source is in docs/cycle-model.md. Instructions are decoded with capstone and
classified into `Kind`s; the models price kinds and a few interactions between neighbours.
"""
from __future__ import annotations

import enum
import functools
from dataclasses import dataclass, replace

from capstone import CS_ARCH_ARM, CS_MODE_MCLASS, CS_MODE_THUMB, Cs
from capstone import arm as cs_arm
from unicorn import arm_const

from .boards import Board, Cache
from .counting import MAX_BANK_PAIRS, MAX_READS, AlignmentCheck, BlockCost, CacheGeometry, DataRead, MemoryTiming


class Kind(enum.Enum):
    ALU = "alu"            # data processing, moves, shifts, extends, saturation, SIMD add/sub
    MUL = "mul"            # MUL/MLA/MLS, long multiplies, DSP multiplies and MACs
    DIV = "div"            # SDIV/UDIV
    LOAD = "load"          # single-register loads
    STORE = "store"        # single-register stores
    LOAD_DOUBLE = "ldrd"   # LDRD
    STORE_DOUBLE = "strd"  # STRD
    LOAD_MULTI = "ldm"     # LDM, POP
    STORE_MULTI = "stm"    # STM, PUSH
    BRANCH = "branch"      # B, BL, BX, BLX, CBZ/CBNZ
    TABLE_BRANCH = "tbb"   # TBB/TBH
    IT = "it"
    NOP = "nop"
    BARRIER = "barrier"    # DMB, DSB
    ISB = "isb"
    FP = "fp"              # single-cycle VFP: add, sub, mul, abs, neg, compare, convert, moves
    FP_MAC = "fpmac"       # VMLA/VMLS/VNMLA/VNMLS/VFMA/VFMS/VFNMA/VFNMS
    FP_DIV = "fpdiv"       # VDIV, VSQRT
    FP_LOAD = "vldr"       # VLDR, VSTR
    FP_MULTI = "vldm"      # VLDM/VSTM/VPUSH/VPOP
    OTHER = "other"        # system instructions (MRS, MSR, CPS, BKPT, SVC, UDF, WFI...)


_NAMES: dict[str, Kind] = {}
for _kind, _names in {
    Kind.MUL: "mul mla mls smull umull smlal umlal umaal smulbb smulbt smultb smultt smulwb smulwt smlabb "
              "smlabt smlatb smlatt smlawb smlawt smlad smladx smlsd smlsdx smuad smuadx smusd smusdx smlald "
              "smlaldx smlsld smlsldx smlalbb smlalbt smlaltb smlaltt smmul smmulr smmla smmlar smmls smmlsr",
    Kind.DIV: "sdiv udiv",
    Kind.LOAD: "ldr ldrb ldrh ldrsb ldrsh ldrt ldrbt ldrht ldrsbt ldrsht ldrex ldrexb ldrexh pld pli",
    Kind.STORE: "str strb strh strt strbt strht strex strexb strexh",
    Kind.LOAD_DOUBLE: "ldrd", Kind.STORE_DOUBLE: "strd",
    Kind.LOAD_MULTI: "ldm ldmdb pop", Kind.STORE_MULTI: "stm stmdb push",
    Kind.BRANCH: "b bl bx blx cbz cbnz", Kind.TABLE_BRANCH: "tbb tbh",
    Kind.IT: "it", Kind.NOP: "nop hint yield", Kind.BARRIER: "dmb dsb", Kind.ISB: "isb",
    Kind.FP: "vadd vsub vmul vnmul vabs vneg vcmp vcmpe vcvt vcvtr vcvta vcvtn vcvtp vcvtm vcvtb vcvtt vmov "
             "vmrs vmsr vmaxnm vminnm vrinta vrintn vrintp vrintm vrintr vrintx vrintz vsel",
    Kind.FP_MAC: "vmla vmls vnmla vnmls vfma vfms vfnma vfnms",
    Kind.FP_DIV: "vdiv vsqrt",
    Kind.FP_LOAD: "vldr vstr", Kind.FP_MULTI: "vldmia vldmdb vstmia vstmdb vpush vpop vldm vstm",
    Kind.OTHER: "mrs msr cpsie cpsid bkpt svc udf wfi wfe sev clrex",
}.items():
    for _name in _names.split():
        _NAMES[_name] = _kind

# The accesses that fault on an unaligned address whatever CCR.UNALIGN_TRP says (ARMv7-M ARM A3.2.1),
# and the address bits that must be clear. Their offsets are multiples of 4 (the base's alignment is
# the address's); based on SP or PC they cannot be unaligned (SP[1:0] are zero, literals aligned).
ALIGNMENT_MASK = {**dict.fromkeys("ldrd strd ldm ldmdb stm stmdb ldrex strex vldr vstr vldmia vldmdb vstmia "
                                  "vstmdb".split(), 3), "ldrexh": 1, "strexh": 1}
_UNICORN_REG = {getattr(cs_arm, f"ARM_REG_{r}"): getattr(arm_const, f"UC_ARM_REG_{r}")
                for r in [f"R{n}" for n in range(13)] + ["LR"]}
_SP = arm_const.UC_ARM_REG_SP
_ADDRESS_REG = {**_UNICORN_REG, cs_arm.ARM_REG_SP: _SP}  # registers a DataRead may be based on


class Undecodable(ValueError):
    """Bytes that are no instruction of the core (capstone cannot decode them): the silicon's
    UsageFault UNDEFINSTR at `address`."""

    def __init__(self, address: int):
        super().__init__(f"capstone cannot decode the instruction at {address:#010x}")
        self.address = address


LOADS_STORES = {Kind.LOAD, Kind.STORE, Kind.LOAD_DOUBLE, Kind.STORE_DOUBLE, Kind.LOAD_MULTI, Kind.STORE_MULTI,
                Kind.FP_LOAD, Kind.FP_MULTI, Kind.TABLE_BRANCH}


@dataclass(frozen=True)
class Insn:
    """One decoded instruction, as the cost models see it."""

    address: int
    size: int
    name: str          # capstone's canonical name: "ldr", "smlad", "b", ...
    kind: Kind
    reads: frozenset   # capstone register ids
    writes: frozenset
    address_regs: frozenset  # base and index of a memory operand
    register_offset: bool    # memory operand with an index register
    transfers: int     # words moved by LDM/STM/PUSH/POP/VLDM/VSTM (a D register counts 2)
    writes_pc: bool
    conditional: bool  # a conditional branch (B<cond>, CBZ, CBNZ)
    target: int | None  # direct branch target
    shifted: bool      # has a shifted register operand
    double: bool       # moves or computes a double-precision (D) register
    core_fp_move: bool  # VMOV between a core and an FP register
    narrow_load: bool  # byte or halfword load
    alignment: AlignmentCheck | None  # a multi-word access: faults when unaligned
    load_address: DataRead | None  # a load's address as known on the block's entry (SP-based included)
    sets_flags: bool   # writes the condition flags (an S suffix, CMP, CMN, TST, TEQ)

    @property
    def read(self) -> DataRead | None:
        """The load as the memory system prices it: its address known on entry, not on the stack
        (SRAM)."""
        return self.load_address if self.load_address is not None and self.load_address.base != _SP else None


def _reg_class(i, reg: int) -> str:
    name = i.reg_name(reg) or ""
    return "d" if name.startswith("d") else "s" if name.startswith("s") and name != "sp" else "r"


def _conditional(i) -> bool:
    """Capstone instruction `i` has a condition: a B<cond>, or an instruction inside an IT block."""
    return i.cc not in (cs_arm.ARM_CC_AL, cs_arm.ARM_CC_INVALID)


def _alignment(i, name: str, mems: list, regs: list, transfers: int, written: set) -> AlignmentCheck | None:
    """The alignment check of capstone instruction `i`, if it needs one; `written`: the registers
    the earlier instructions of its block write."""
    mask = ALIGNMENT_MASK.get(name)
    base = mems[0].base if mems else regs[0] if regs else None
    if mask is None or base not in _UNICORN_REG:
        return None
    offset = mems[0].disp if mems else -4 * transfers if name.endswith("db") else 0
    return AlignmentCheck(i.address, name, _UNICORN_REG[base], offset & 0xFFFF_FFFF, mask,
                          at_entry=not _conditional(i) and base not in written)


# Bytes each load reads (LDM, VLDM: 4 per word moved); pld and pli are hints that read nothing.
READ_BYTES = {**dict.fromkeys("ldrb ldrsb ldrbt ldrsbt ldrexb".split(), 1),
              **dict.fromkeys("ldrh ldrsh ldrht ldrsht ldrexh".split(), 2),
              **dict.fromkeys("ldr ldrt ldrex".split(), 4), "ldrd": 8}
MULTI_READS = {"ldm", "ldmdb", "vldmia", "vldmdb", "vldm"}


class _EntryValues:
    """What each register holds as a block's instructions go by, where it is known: a register's
    value on the block's entry plus a constant (`(source, delta)`), or a constant (`(None, value)`).
    Each register starts as its own entry value. An add or subtract of an immediate, a load's
    writeback, a register copy, ADR and MOV/MOVW/MOVT of an immediate keep the result known; any
    other write, or one inside an IT block, makes it unknown (None)."""

    def __init__(self):
        self.known: dict[int, tuple[int | None, int] | None] = {}

    def value(self, reg: int) -> tuple[int | None, int] | None:
        return self.known.get(reg, (reg, 0))

    def _result(self, i, name: str, step: tuple[int, int] | None) -> tuple[int, tuple[int | None, int] | None]:
        """(destination, its value) of instruction `i`, or (0, None) when it makes nothing known."""
        ops = i.operands
        imm = ops[-1].imm if ops and ops[-1].type == cs_arm.ARM_OP_IMM else None
        regs = [o.reg for o in ops if o.type == cs_arm.ARM_OP_REG]
        if step is not None:
            base = self.value(step[0])
            return step[0], base and (base[0], base[1] + step[1])
        if name == "mov" and len(ops) == 2 and len(regs) == 2 and not ops[1].shift.type:
            return regs[0], self.value(regs[1])  # a copy
        if imm is None or not regs:
            return 0, None
        if name == "adr" or name in ("add", "addw") and regs[1:] == [cs_arm.ARM_REG_PC]:
            return regs[0], (None, ((i.address + 4) & ~3) + imm)
        if name in ("add", "sub", "addw", "subw") and len(regs) in (1, 2):
            source = self.value(regs[-1])
            return regs[0], source and (source[0], source[1] + (imm if name.startswith("add") else -imm))
        if name == "mov" and len(regs) == 1:
            return regs[0], (None, imm)
        if name == "movt" and len(regs) == 1:
            low = self.value(regs[0])
            return regs[0], low and low[0] is None and (None, (low[1] & 0xFFFF) | imm << 16) or None
        return 0, None

    def after(self, i, name: str, writes: frozenset, step: tuple[int, int] | None) -> None:
        """Account for instruction `i`'s writes; `step`: the (base, constant) of a load's writeback."""
        dest, result = self._result(i, name, step)
        if _conditional(i):
            result = None
        for reg in writes:
            self.known[reg] = result if reg == dest else None


def _data_read(i, name: str, mems: list, regs: list, transfers: int, double: bool,
               values: _EntryValues) -> tuple[DataRead | None, tuple[int, int] | None]:
    """The DataRead of capstone instruction `i` if it is a load whose address is known on the
    block's entry (not inside an IT block), and the (base, constant) of its writeback."""
    if name in MULTI_READS:
        size, base, disp, index, shift = 4 * transfers, regs[0], -4 * transfers if name.endswith("db") else 0, 0, 0
        step = (base, -size if name.endswith("db") else size) if i.writeback else None
    elif (name in READ_BYTES or name == "vldr") and mems:
        m = mems[0]
        size = READ_BYTES.get(name) or (8 if double else 4)
        base, index, shift = m.base, m.index, next(o.shift.value for o in i.operands if o.type == cs_arm.ARM_OP_MEM)
        post = [o.imm for o in i.operands if o.type == cs_arm.ARM_OP_IMM] if i.writeback else []
        disp = 0 if post else m.disp
        step = (base, post[0] if post else m.disp) if i.writeback else None
    else:
        return None, None
    if _conditional(i):
        return None, step
    if base == cs_arm.ARM_REG_PC:  # a literal: Align(PC, 4) + disp, PC reading 4 ahead
        return DataRead(-1, -1, 0, ((i.address + 4) & ~3) + disp & 0xFFFF_FFFF, size), step
    b, x = values.value(base), values.value(index) if index else (None, 0)
    if b is None or x is None or any(r is not None and r not in _ADDRESS_REG for r in (b[0], x[0])):
        return None, step
    return DataRead(-1 if b[0] is None else _ADDRESS_REG[b[0]], -1 if x[0] is None else _ADDRESS_REG[x[0]],
                    shift, (disp + b[1] + (x[1] << shift)) & 0xFFFF_FFFF, size), step


def decode(disasm: Cs, code: bytes, address: int) -> list[Insn]:
    """Decode a block. Raises Undecodable at bytes capstone cannot decode."""
    out = []
    end = address + len(code)
    written: set[int] = set()
    values = _EntryValues()
    for i in disasm.disasm(code, address):
        reads, writes = (frozenset(r) for r in i.regs_access())
        name = i.insn_name()
        kind = _NAMES.get(name, Kind.ALU)
        mems = [o.mem for o in i.operands if o.type == cs_arm.ARM_OP_MEM]
        regs = [o.reg for o in i.operands if o.type == cs_arm.ARM_OP_REG]
        classes = {_reg_class(i, r) for r in regs}
        transfers = 0
        if kind in (Kind.LOAD_MULTI, Kind.STORE_MULTI, Kind.FP_MULTI):
            listed = regs[0 if name in ("push", "pop", "vpush", "vpop") else 1:]
            transfers = sum(2 if _reg_class(i, r) == "d" else 1 for r in listed)
        target = None
        if kind == Kind.BRANCH and i.operands and i.operands[-1].type == cs_arm.ARM_OP_IMM:
            target = i.operands[-1].imm
        read, step = _data_read(i, name, mems, regs, transfers, "d" in classes, values)
        out.append(Insn(
            i.address, i.size, name, kind, reads, writes,
            frozenset(r for m in mems for r in (m.base, m.index) if r), any(m.index for m in mems), transfers,
            cs_arm.ARM_REG_PC in writes or (kind == Kind.BRANCH and name in ("b", "bl")),
            (kind == Kind.BRANCH and _conditional(i)) or name in ("cbz", "cbnz"),
            target,
            any(o.type == cs_arm.ARM_OP_REG and o.shift.type != 0 for o in i.operands),
            "d" in classes,
            name == "vmov" and "r" in classes and bool(classes & {"s", "d"}),
            name in ("ldrb", "ldrh", "ldrsb", "ldrsh", "ldrbt", "ldrht", "ldrsbt", "ldrsht", "ldrexb", "ldrexh"),
            _alignment(i, name, mems, regs, transfers, written),
            read,
            bool(i.update_flags),
        ))
        written |= writes
        values.after(i, name, writes, step)
    if not out or out[-1].address + out[-1].size != end:
        raise Undecodable(out[-1].address + out[-1].size if out else address)
    return out


def _is_exit(last: Insn) -> bool:
    return last.writes_pc or last.kind in (Kind.BRANCH, Kind.TABLE_BRANCH)


class CortexM4:
    """Arm Cortex-M4 TRM (DDI 0439D) table 3-1, section 3.3.2 and FPU table 7-1. Single issue."""

    P = 2           # pipeline refill after a taken branch: 1..3 in the TRM, 2 in the usual case
    P_BLOCKING = 3  # refill after LDR PC and TBB/TBH: "three cycles for the pipeline reload"
    DIV = 7         # SDIV/UDIV take 2..12 depending on the operands: the midpoint (a guess)

    BASE = {
        Kind.ALU: 1, Kind.MUL: 1, Kind.DIV: DIV, Kind.LOAD: 2, Kind.STORE: 2, Kind.LOAD_DOUBLE: 3,
        Kind.STORE_DOUBLE: 3, Kind.BRANCH: 1, Kind.TABLE_BRANCH: 3, Kind.IT: 1, Kind.NOP: 1, Kind.BARRIER: 1,
        Kind.ISB: 1 + P, Kind.FP: 1, Kind.FP_MAC: 3, Kind.FP_DIV: 14, Kind.FP_LOAD: 2, Kind.OTHER: 1,
    }
    FP_ARITH = (Kind.FP, Kind.FP_MAC, Kind.FP_DIV)

    def insn_cycles(self, insn: Insn, prev: Insn | None) -> int:
        kind = insn.kind
        if kind in (Kind.LOAD_MULTI, Kind.STORE_MULTI, Kind.FP_MULTI):
            cycles = 1 + insn.transfers
        elif kind in (Kind.LOAD, Kind.STORE) and self._pipelined(insn, prev):
            cycles = 1
        elif kind == Kind.FP_LOAD:
            cycles = 3 if insn.double else 2
        elif kind == Kind.IT and prev is not None and prev.size == 2:
            cycles = 0  # folded onto the preceding 16-bit instruction
        elif insn.core_fp_move:
            cycles = 2
        else:
            cycles = self.BASE[kind]
        if prev is None:
            return cycles
        # An address computed by the instruction just before stalls one cycle (no forwarding path).
        if kind in LOADS_STORES and prev.kind in (Kind.ALU, Kind.MUL) and insn.address_regs & prev.writes:
            cycles += 1
        # An FP result used by the next instruction costs one more cycle, except as a MAC's addend
        # (which the MAC reads a cycle late).
        if prev.kind in self.FP_ARITH and prev.name != "vmov":
            used = insn.reads & prev.writes
            if kind == Kind.FP_MAC:
                used -= insn.writes
            if used:
                cycles += 1
        return cycles

    @staticmethod
    def _pipelined(insn: Insn, prev: Insn | None) -> bool:
        """STR with an immediate offset is always one cycle; a single load or store right after a
        single load is one cycle unless its address uses the loaded register."""
        if insn.kind == Kind.STORE and not insn.register_offset:
            return True
        return prev is not None and prev.kind == Kind.LOAD and not insn.address_regs & prev.writes

    def cycles(self, insns: list[Insn], pairs: frozenset = frozenset()) -> int:
        """Cycles of `insns` run in order, falling through at the end (`pairs`: for the M7)."""
        return sum(self.insn_cycles(insn, prev) for prev, insn in zip([None, *insns], insns))

    def block_cost(self, insns: list[Insn], pairs: frozenset = frozenset()) -> BlockCost:
        last = insns[-1]
        taken = 0
        if _is_exit(last):
            blocking = last.kind in (Kind.LOAD, Kind.TABLE_BRANCH)
            taken = self.P_BLOCKING if blocking else self.P
        return BlockCost(len(insns), self.cycles(insns), taken, taken, 0)

    def load_pairs(self, insns: list[Insn]) -> tuple[frozenset, list[int]]:
        """Single issue: no two loads pair."""
        return frozenset(), []


class CortexM7:
    """An approximation of the Cortex-M7's in-order dual issue, for which Arm publishes no timing
    table. Rules from Arm's public description (6-stage dual-issue pipeline, BTAC), LLVM's M7
    scheduling model and third-party measurements on STM32H7 (docs/cycle-model.md lists them).

    Per block: instructions issue in order, two per cycle when the pair is allowed and the younger
    does not read the older's result; an instruction waits until its operands are ready. Two
    adjacent loads pair only when they read different 32-bit banks (address bit 2): `pairs` holds
    the index of each younger load known to; `load_pairs` finds them. Across blocks, the counter
    adds what scheduling a block behind the blocks run before it changes (`_Pricer.edge`). A
    mispredicted B<cond> costs EARLY_FLAGS_MISPREDICT instead of MISPREDICT when the
    flags it tests were set EARLY_FLAGS or more cycles before it issues, or in an earlier block.
    """

    MISPREDICT = 8  # measured on STM32H743 [D]
    EARLY_FLAGS_MISPREDICT = 6  # a B<cond> whose flags were set 3 or more cycles before it issues [D]
    EARLY_FLAGS = 3
    DIV = 7         # SDIV/UDIV: LLVM's figure, issued alone and blocking
    ISB = MISPREDICT  # a pipeline flush
    # Latency of a MAC's result into the accumulator of the next MAC of its kind [D].
    ACCUMULATE = {Kind.MUL: 1, Kind.FP_MAC: 3}

    # (issue cycles, result latency) of instructions that issue alone.
    ALONE = {Kind.DIV: (DIV, DIV), Kind.FP_DIV: (16, 16), Kind.ISB: (ISB, 1), Kind.BARRIER: (1, 1),
             Kind.OTHER: (1, 1), Kind.LOAD_DOUBLE: (1, 2), Kind.STORE_DOUBLE: (1, 1), Kind.TABLE_BRANCH: (2, 1)}
    SLOT0_ONLY = {"clz", "bfi", "bfc", "ubfx", "sbfx", "rev", "rev16", "revsh", "rbit", "pkhbt", "pkhtb",
                  "ssat", "usat", "ssat16", "usat16", "sel", "usad8", "usada8", "qadd", "qsub", "qdadd", "qdsub"}

    def _alone(self, insn: Insn) -> tuple[int, int] | None:
        if insn.kind in (Kind.LOAD_MULTI, Kind.STORE_MULTI, Kind.FP_MULTI):
            issue = max(1, (insn.transfers + 1) // 2)
            return issue, issue + 1
        if insn.kind == Kind.FP_LOAD and insn.double:
            return 1, 2
        if insn.name == "vsqrt":
            return 14, 14
        return self.ALONE.get(insn.kind)

    def _latency(self, insn: Insn) -> int:
        kind = insn.kind
        if kind == Kind.LOAD:
            return 2 if insn.narrow_load else 1
        if kind == Kind.MUL:
            return 2
        if kind == Kind.FP:
            return 1 if insn.core_fp_move and insn.writes & _CORE_REGS else 3
        if kind == Kind.FP_MAC:
            return 5 if insn.name.startswith("vf") else 6
        if kind == Kind.FP_LOAD:
            return 1
        return 1

    @staticmethod
    def _slot_class(insn: Insn) -> str:
        kind = insn.kind
        if kind in (Kind.LOAD, Kind.FP_LOAD):
            return "load"
        if kind == Kind.STORE:
            return "store"
        if kind == Kind.MUL:
            return "mac"
        if kind in (Kind.FP, Kind.FP_MAC) and not insn.core_fp_move:
            return "fp"
        return "alu"

    @staticmethod
    def _constant(older: Insn, younger: Insn) -> bool:
        """MOVW then MOVT of one register: they pair, the MOVT's read of the MOVW's result
        notwithstanding [D]."""
        return older.name == "mov" and not older.reads and younger.name == "movt" and older.writes == younger.writes

    def _can_pair(self, older: Insn, younger: Insn, banked: bool) -> bool:
        """`banked`: the two are loads known to read different banks."""
        if younger.kind in (Kind.BRANCH, Kind.IT):
            return True  # branches and IT pair with the instruction before (flags are forwarded)
        if self._constant(older, younger):
            return True
        if younger.name in self.SLOT0_ONLY or (older.shifted and younger.shifted):
            return False
        if younger.reads & older.writes:
            return False
        a, b = self._slot_class(older), self._slot_class(younger)
        return {a, b} not in ({"store"}, {"mac"}, {"fp"}, {"mac", "store"}) and ({a, b} != {"load"} or banked)

    def load_pairs(self, insns: list[Insn]) -> tuple[frozenset, list[int]]:
        """The younger loads of adjacent single loads that pair [D]: those whose banks are known to
        differ from the decode alone (`pairs` of `cycles`), and those whose banks the counter
        compares on the block's entry, both addresses known then (at most MAX_BANK_PAIRS, the
        first; loads after them never pair)."""
        static, runtime = set(), []
        for n in range(1, len(insns)):
            older, younger = insns[n - 1], insns[n]
            if not (self._slot_class(older) == self._slot_class(younger) == "load"
                    and self._alone(older) is None and self._alone(younger) is None):
                continue
            differ = _banks_differ(older.load_address, younger.load_address)
            if differ:
                static.add(n)
            elif differ is None and older.read and younger.read and len(runtime) < MAX_BANK_PAIRS:
                runtime.append(n)
        return frozenset(static), runtime

    def _operand_ready(self, insn: Insn, ready: dict[int, tuple[int, str, int]], mac_acc: frozenset) -> int:
        """Earliest issue cycle allowed by the operands. `ready[reg]` = (cycle, producer class,
        cycle for a MAC of the producer's class accumulating into it)."""
        earliest = 0
        for reg in insn.reads:
            if reg not in ready:
                continue
            cycle, producer, accumulate = ready[reg]
            if reg in insn.address_regs or insn.shifted:
                cycle += 2 if producer == "load" else 1  # needed one stage early, load data later still
            elif insn.kind in self.ACCUMULATE and reg in mac_acc and producer == self._slot_class(insn):
                cycle = accumulate  # accumulator forwarding between MACs
            elif insn.kind == Kind.MUL and producer == "load":
                cycle += 1  # a MAC cannot take a load result from the cycle before
            earliest = max(earliest, cycle)
        return earliest

    def _schedule(self, insns: list[Insn], pairs: frozenset) -> tuple[int, int, int | None]:
        """(cycles to the end of `insns`, issue cycle of the last one, issue cycle of the last flag
        setter before it or None)."""
        ready: dict[int, tuple[int, str, int]] = {}
        cycle, pending = 0, None  # pending: the single instruction issued in `cycle`, pairable
        flags_at = issue_at = None  # issue cycles of the last flag setter before the last, and of the last
        for n, insn in enumerate(insns):
            alone = self._alone(insn)
            earliest = self._operand_ready(insn, ready, insn.writes)
            if (alone is None and pending is not None and (earliest <= cycle or self._constant(pending, insn))
                    and self._can_pair(pending, insn, n in pairs)):
                issue_at, pending = cycle, None
            else:
                issue_at = max(cycle + (1 if n else 0), earliest)
                pending = None if alone else insn
            issue_cycles, latency = alone or (1, self._latency(insn))
            cycle = issue_at + issue_cycles - 1
            producer = self._slot_class(insn)
            accumulate = issue_at + self.ACCUMULATE.get(insn.kind, latency)
            for reg in insn.writes:
                ready[reg] = (issue_at + latency, producer, accumulate)
            if insn.kind in (Kind.BRANCH, Kind.IT):
                pending = None
            if insn.sets_flags and n < len(insns) - 1:
                flags_at = issue_at
        return cycle + 1, issue_at, flags_at

    def cycles(self, insns: list[Insn], pairs: frozenset = frozenset()) -> int:
        """Cycles of `insns` issued in order, falling through at the end; `pairs`: the indices of
        the younger loads of adjacent loads that read different banks."""
        return self._schedule(insns, pairs)[0]

    def block_cost(self, insns: list[Insn], pairs: frozenset = frozenset()) -> BlockCost:
        cycles, issue_at, flags_at = self._schedule(insns, pairs)
        last = insns[-1]
        taken = miss = fall_miss = 0
        counter, target = 1, 0
        if _is_exit(last):
            miss = self.MISPREDICT
            if last.conditional:
                early = last.name == "b" and (flags_at is None or issue_at - flags_at >= self.EARLY_FLAGS)
                miss = fall_miss = self.EARLY_FLAGS_MISPREDICT if early else self.MISPREDICT
                backward = last.target is not None and last.target <= last.address
                counter = 2 if backward else 1
            else:
                counter = 3
            target = last.target or 0
        return BlockCost(len(insns), cycles, taken, miss, fall_miss, counter, target)


def _banks_differ(a: DataRead | None, b: DataRead | None) -> bool | None:
    """Whether two loads read different 32-bit banks (address bit 2) of the M7's memories, from
    their addresses as known on their block's entry: on the same registers, offsets 4 apart (mod 8)
    always do and 0 apart never; None when it depends on the registers' values (or an address is
    unknown)."""
    if a is None or b is None or (a.base, a.index, a.shift) != (b.base, b.index, b.shift):
        return None
    if a.base < 0 and a.index < 0:
        return bool((a.offset ^ b.offset) & 4)
    return {0: False, 4: True}.get((b.offset - a.offset) & 7)


_CORE_REGS = frozenset(getattr(cs_arm, f"ARM_REG_R{i}") for i in range(13)) | {
    cs_arm.ARM_REG_SP, cs_arm.ARM_REG_LR, cs_arm.ARM_REG_PC}
MODELS = {"cortex-m4": CortexM4, "cortex-m7": CortexM7}


class _Pricer:
    """A board's block and edge prices, each worked out once per process: a block's price depends
    only on its bytes and address (an edge's on its blocks'), however many emulators of the board
    run the firmware, however many times. The memory system's stalls are the counter's
    (MemoryTiming): they depend on what ran before."""

    def __init__(self, board: Board):
        self.model = MODELS[board.core.name]()
        self.disasm = Cs(CS_ARCH_ARM, CS_MODE_THUMB | CS_MODE_MCLASS)
        self.disasm.detail = True
        self.decoded: dict[tuple[int, bytes], tuple[list[Insn], frozenset, list[int]]] = {}
        self.costs: dict[tuple[int, bytes], BlockCost] = {}
        self.edges: dict[tuple, int] = {}

    def _decode(self, code: bytes, address: int) -> tuple[list[Insn], frozenset, list[int]]:
        """The block's instructions and its `load_pairs`."""
        known = self.decoded.get((address, code))
        if known is None:
            insns = decode(self.disasm, code, address)
            known = self.decoded[address, code] = (insns, *self.model.load_pairs(insns))
        return known

    def block(self, code: bytes, address: int) -> BlockCost:
        known = self.costs.get((address, code))
        if known is None:
            insns, pairs, runtime = self._decode(code, address)
            slot, reads = {}, []  # instruction -> its index in `reads`
            for n, insn in enumerate(insns):
                if insn.read and len(reads) < MAX_READS:
                    slot[n] = len(reads)
                    reads.append(insn.read)
            runtime = [n for n in runtime if n in slot and n - 1 in slot]
            variants = tuple(self.model.cycles(insns, pairs | {n for k, n in enumerate(runtime) if mask >> k & 1})
                             for mask in range(1 << len(runtime))) if runtime else ()
            known = self.costs[address, code] = replace(
                self.model.block_cost(insns, pairs), checks=tuple(i.alignment for i in insns if i.alignment),
                reads=tuple(reads), banks=tuple((slot[n - 1], slot[n]) for n in runtime), bank_cycles=variants)
        return known

    def edge(self, before: tuple[tuple[bytes, int], ...], code: bytes, address: int) -> int:
        """The cycles that entering block (`code`, `address`) right behind the blocks `before`
        ((code, address), oldest first, run back to back with no exit cycles between them: a
        fall-through, or on the M7 a predicted branch) adds to it priced alone: the latencies and
        issue slots carried across, with the loads that pair whatever the registers hold (a pair
        decided on entry counts as not pairing here)."""
        key = (before, code, address)
        known = self.edges.get(key)
        if known is None:
            insns, pairs = [], set()
            for block_code, block_address in before:
                block, block_pairs, _ = self._decode(block_code, block_address)
                pairs |= {n + len(insns) for n in block_pairs}
                insns += block
            history = self.model.cycles(insns, frozenset(pairs))
            last, last_pairs, _ = self._decode(code, address)
            both = frozenset(pairs | {n + len(insns) for n in last_pairs})
            known = self.edges[key] = self.model.cycles(insns + last, both) - history - self.model.cycles(last, last_pairs)
        return known


@functools.lru_cache(maxsize=None)
def pricer(board: Board) -> _Pricer:
    """The one pricer of `board` in this process: the counter calls its `block` once per new block
    (bytes and address -> BlockCost) and its `edge` for blocks run back to back."""
    return _Pricer(board)


def memory_timing(board: Board, *, caches: bool = True) -> MemoryTiming | None:
    """The board's flash as the counter prices it: its wait states per line, behind its
    instruction and data caches and prefetcher (`caches` False: none of them, every line read pays
    the wait states). None for a board whose flash has no wait states."""
    if board.flash_wait_states == 0:
        return None
    line_shift = board.flash_line_bytes.bit_length() - 1

    def geometry(cache: Cache | None) -> CacheGeometry | None:
        if cache is None or not caches:
            return None
        if cache.line_bytes != board.flash_line_bytes or cache.sets & (cache.sets - 1):
            raise ValueError(f"{board.name}: {cache.name} lines must be the flash line and its sets a power of two")
        return CacheGeometry(cache.sets, cache.ways)

    return MemoryTiming(board.flash.base, board.flash.size, board.flash_wait_states, line_shift,
                        geometry(board.icache), geometry(board.dcache), board.flash_prefetch and caches)
