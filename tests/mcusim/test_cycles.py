"""The cycle model against hand-worked expectations from the documentation (docs/cycle-model.md).

Each microbenchmark (firmware/microbench.S) runs n = 100 iterations. Expected cycles are written out
from the documented per-instruction costs, not computed by the model, so any change of a cost fails
here. Conventions: the loop's back-branch is taken n-1 times; the refill of the final `bx lr` is not
counted (emulation stops at the return address, before the next block is entered).
"""
import numpy as np
import pytest
from unicorn import arm_const

from mcusim.boards import get_board
from mcusim.emulator import Emulator

pytestmark = pytest.mark.toolchain
N = 100

# Cortex-M4 (TRM DDI 0439 table 3-1): P = 2 for a taken branch; LDR 2, 1 when pipelined behind a
# load or when a store has an immediate offset; +1 when an address comes from the instruction
# just before; LDM/STM 1+N; SMLAD and MUL 1; VMLA.F32 3.
M4_PER_ITERATION = {
    #                    body                        subs+bne  refill of the taken bne
    "mb_alu":            (8 * 1,                     2),
    "mb_alu_chain":      (8 * 1,                     2),
    "mb_load":           (2 + 3 * 1,                 2),
    "mb_load_pairs":     (2 + 3 * 1,                 2),
    "mb_const":          (8 * 1,                     2),
    "mb_pipetest":       (39 * 1,                    1),  # the subs is one of the 39 others
    "mb_load_chase":     (4 * 2,                     2),
    "mb_load_use":       (4 * (2 + 1),               2),
    "mb_agu":            (4 * (1 + 2 + 1),           2),
    "mb_store_imm":      (4 * 1,                     2),
    "mb_smlad":          (8 * 1,                     2),
    "mb_mul_alu":        (4 * (1 + 1),               2),
    "mb_vmla":           (4 * 3,                     2),
    "mb_forward_branch": (1 + 1 + 2,                 2),  # cmp, bne taken (+P), then subs/bne
}
M4_P = 2


def _core(emu: Emulator) -> int:
    """The last call's cycles without the memory system's stalls (priced and tested on their own)."""
    return emu.last_call.cycles - emu.last_call.stall


def _loop(body: int, tail: int, p: int) -> int:
    return N * (body + tail) + (N - 1) * p + 1  # + the final bx lr


@pytest.fixture(scope="module")
def m4(firmware):
    board = get_board("stm32f427")
    return Emulator(board, firmware("microbench.S", "stm32f427"))


def _self_pointer(emu: Emulator) -> int:
    word = emu.alloc(64)
    emu.write(word, np.full(16, word, dtype=np.uint32))
    return word


@pytest.mark.parametrize("function", sorted(M4_PER_ITERATION))
def test_cortex_m4_microbenchmarks(m4, function):
    body, tail = M4_PER_ITERATION[function]
    m4.call(function, N, _self_pointer(m4))
    assert _core(m4) == _loop(body, tail, M4_P)


def test_cortex_m4_multiple_transfers(m4):
    m4.call("mb_ldm", N, _self_pointer(m4))
    # push {r4,r5} 3; per iteration ldm 1+4, stm 1+4, subs+bne 2; pop {r4,r5} 3; bx lr 1
    assert _core(m4) == 3 + N * (5 + 5 + 2) + (N - 1) * M4_P + 3 + 1


def test_cortex_m4_calls(m4):
    m4.call("mb_call", N)
    # push 3, mov 1; per iteration bl 1+P, leaf bx lr 1+P, subs+bne 2 (+P taken); pop {r4,pc} 3
    assert _core(m4) == 3 + 1 + N * (2 * (1 + M4_P) + 2) + (N - 1) * M4_P + 3


def test_cortex_m4_flash_wait_states(firmware):
    """F427 at 180 MHz: 5 wait states per 16-byte line read from flash. mb_flash's loop is exactly
    one line and its bx lr the next. ART on: the first call misses both lines once, but the bx lr's,
    reached by falling through, was read ahead by the prefetcher: one stall; a second call finds
    them cached. ART off (no caches, no prefetch): every taken back-branch reads the loop's line
    again (it stays in the fetch buffer only for code that runs on into it) and the bx lr's line is
    read once."""
    board = get_board("stm32f427")
    elf = firmware("microbench.S", "stm32f427")
    cached, uncached = Emulator(board, elf), Emulator(board, elf, flash_cache=False)
    core = _loop(6, 2, M4_P)
    cached.call("mb_flash", N)
    assert (cached.last_call.cycles, cached.last_call.stall) == (core + 5, 5)
    assert cached.counter.memory_stats().icache_misses >= 2  # the prefetched line missed, at no cost
    cached.call("mb_flash", N)
    assert cached.last_call.cycles == core
    uncached.call("mb_flash", N)
    assert uncached.last_call.cycles == core + N * 5 + 5


@pytest.mark.parametrize("board", ["stm32f427", "stm32f746"])
def test_dwt_cyccnt_reads_the_modelled_count(firmware, board):
    """Firmware timing code sees the model: the DWT difference around mb_alu_chain grows by the
    modelled cost of each extra iteration (8 ALU + subs + bne + refill on the M4; 9 on the M7)."""
    emu = Emulator(get_board(board), firmware("microbench.S", board))
    per_iteration = {"stm32f427": 10 + M4_P, "stm32f746": 9}[board]
    emu.call("mb_dwt", 10)  # leaves the M7's predictor in the state every later call starts from
    assert emu.call("mb_dwt", 150) - emu.call("mb_dwt", 50) == 100 * per_iteration


# Cortex-M7 (approximation, docs/cycle-model.md): dual issue of an ALU, load, store, MAC or FP op
# with another of a different class when the younger does not read the older's result, two loads
# when they read different banks (address bit 2), MOVW with its MOVT; loads 1
# cycle to an ALU user, +2 into an address; ALU +1 into an address; MAC latency 2, accumulator
# chains 1 per cycle; branches pair with the instruction before; predicted branches cost 0, a
# mispredict 8. The loop's bne is backward, so predicted taken: only its final fall-through costs 8,
# and each pass issues behind the one before (latencies carried across the predicted back-branch).
M7_PER_ITERATION = {
    "mb_alu": 5,             # 4 pairs of adds, subs+bne
    "mb_alu_chain": 9,       # 8 dependent adds (the last paired with subs), bne
    "mb_load": 5,            # loads of one bank never pair: 4, the last with subs; bne
    "mb_load_pairs": 3,      # loads 4 bytes apart read different banks: 2 pairs; subs+bne
    "mb_const": 5,           # movw+movt pair though movt reads movw's result [D]; subs+bne
    "mb_pipetest": 20,       # 40 instructions, 2 a cycle, the bne paired with the last nop [D]
    "mb_load_chase": 11,     # a load into the next address: 3 cycles apart; subs with the 4th; bne
    "mb_load_use": 6,        # ldr / adds+ldr / adds+ldr / adds+ldr / adds+subs / bne
    "mb_agu": 10,            # adds, (stall), ldr+adds, ... each address 2 cycles after its adds
    "mb_store_imm": 5,       # stores never pair with stores
    "mb_smlad": 9,           # one MAC per cycle (accumulator chains forward), subs with the last, bne
    "mb_mul_alu": 5,         # mul+adds pairs, subs+bne
    "mb_vmla": 5,            # FP ops never pair with FP ops; 4 independent chains; subs, bne
}
M7_MISPREDICT = 8
# Cycles a pass adds to the above behind the pass before (the back-branch predicted, so the latencies
# carry): mb_load_chase's first load waits for the last one's result, 3 cycles apart from its issue
# (cycle 9 of 11) as within the pass: 12 cycles, 3 per load as measured in [E].
M7_CARRIED = {"mb_load_chase": 1}


@pytest.fixture(scope="module")
def m7(firmware):
    return Emulator(get_board("stm32h743"), firmware("microbench.S", "stm32h743"))


# Loop exits that mispredict for 6 rather than 8: the flags were set 3 or more cycles before [D].
M7_EARLY_EXIT = {"mb_pipetest"}


@pytest.mark.parametrize("function", sorted(M7_PER_ITERATION))
def test_cortex_m7_microbenchmarks(m7, function):
    m7.call(function, N, _self_pointer(m7))
    exit_miss = 6 if function in M7_EARLY_EXIT else M7_MISPREDICT
    assert _core(m7) == N * M7_PER_ITERATION[function] + (N - 1) * M7_CARRIED.get(function, 0) + exit_miss + 1


def test_cortex_m7_latencies_reach_across_a_block_of_one_instruction(m7):
    """mb_straddle: ldr r1,[r1] / add.w (straddling a 1 KB page: a block of its own) / ldr r1,[r1] /
    subs / bne. As one sequence: the ldr with the add.w (0), the second ldr 3 cycles after the first
    (3) with the subs, the bne (4), the next pass's first ldr 3 cycles after the second: 6 a pass.
    Priced block by block, the second ldr's wait on the first is seen only by pricing its block
    behind both blocks before it. The first pass has no pass before it: 5."""
    m7.call("mb_straddle", N, _self_pointer(m7))
    assert _core(m7) == 5 + (N - 1) * 6 + M7_MISPREDICT + 1


@pytest.mark.parametrize("offset, per_iteration", [(4, 3), (12, 3), (8, 5), (0, 5)])
def test_cortex_m7_loads_pair_when_their_banks_differ_at_run_time(m7, offset, per_iteration):
    """mb_load_banks alternates loads from r1 and r2: the model cannot tell their banks from the
    code, the counter compares the addresses on entry. Different banks (r2 - r1 = 4 mod 8): two
    pairs, subs, bne: 3 cycles; the same bank: the 4 loads one by one, subs with the last, bne: 5."""
    word = _self_pointer(m7)
    m7.call("mb_load_banks", N, word, word + offset)
    assert _core(m7) == N * per_iteration + M7_MISPREDICT + 1


def test_cortex_m7_branch_prediction(m7):
    # A forward bne, always taken: predicted not taken the first time (8), then learnt.
    m7.call("mb_forward_branch", N)
    assert _core(m7) == N * (1 + 1) + M7_MISPREDICT + M7_MISPREDICT + 1
    # bl (direct, predicted) and the leaf's bx lr (indirect: its target is learnt after one miss).
    # Blocks: push (alone) / mov+bl = 2 cycles once; bl 1 (n-1 times); bx lr 1; subs+bne 1; pop 1.
    m7.call("mb_call", N)
    assert _core(m7) == 2 + (N - 1) + N + N + 1 + 2 * M7_MISPREDICT


def test_cortex_m7_mispredict_costs_less_when_the_flags_were_set_early(m7):
    """[D]: a mispredicted B<cond> costs 6, not 8, when its flags were set 3 or more cycles before.
    mb_early_flags: subs pairs with the first of four dependent adds (cycle 0), the bne with the
    last (cycle 3): 4 cycles a pass; the loop's exit, predicted taken, mispredicts once."""
    m7.call("mb_early_flags", N)
    assert _core(m7) == N * 4 + 6 + 1


def test_cortex_m7_flash_wait_states(firmware):
    """F746 at 216 MHz: 7 wait states per 32-byte line; mb_flash's loop and bx lr share one line.
    L1 I-cache on: one miss on the first call. Off: a line read per pass of the loop."""
    board = get_board("stm32f746")
    elf = firmware("microbench.S", "stm32f746")
    cached, uncached = Emulator(board, elf), Emulator(board, elf, flash_cache=False)
    core = N * 4 + M7_MISPREDICT + 1
    cached.call("mb_flash", N)
    assert cached.last_call.cycles == core + 7
    cached.call("mb_flash", N)
    assert cached.last_call.cycles == core
    uncached.call("mb_flash", N)
    assert uncached.last_call.cycles == core + N * 7


# (board, ways its data cache holds flash_table: D-cache misses of the first pass, of each later pass)
FLASH_READS = {"stm32f427": (16, 16),  # ART: 8 lines of 16 bytes, 16 lines streamed: every line misses
               "stm32f746": (8, 0),    # L1 D-cache 4 KB, 32-byte lines: the table stays cached
               "stm32h743": (8, 0)}


@pytest.mark.parametrize("board", sorted(FLASH_READS))
def test_data_reads_from_flash_pay_wait_states_on_cache_misses(firmware, board):
    """mb_flash_read streams a 256-byte table from flash 3 times: each line missing in the data
    cache costs the board's flash wait states, the first pass's and every pass's on the F427, the
    first pass's only where the table fits the cache. Cache off: every word read pays them."""
    b = get_board(board)
    elf = firmware("microbench.S", board)
    first, later = FLASH_READS[board]
    emu = Emulator(b, elf)
    emu.call("main")  # startup copies .data from flash: its reads are not the benchmark's
    emu.reset_caches()
    emu.call("mb_flash_read", 3)
    stats = emu.counter.memory_stats()
    assert (stats.dcache_misses, stats.dcache_hits) == (first + 2 * later, 3 * 64 - first - 2 * later)
    assert stats.data_stall == (first + 2 * later) * b.flash_wait_states
    assert emu.last_call.stall == stats.data_stall + stats.fetch_stall
    off = Emulator(b, elf, flash_cache=False)
    off.call("main")
    off.reset_caches()
    off.call("mb_flash_read", 3)
    assert off.counter.memory_stats().data_stall == 3 * 64 * b.flash_wait_states


@pytest.mark.parametrize("board", ["stm32f427", "stm32f746"])
def test_the_python_counter_prices_like_the_native_one(firmware, board):
    b = get_board(board)
    elf = firmware("microbench.S", board)
    results = []
    for native in (True, False):
        emu = Emulator(b, elf, native=native)
        emu.call("mb_flash_read", 2)
        emu.call("mb_flash", 3)
        word = _self_pointer(emu)
        emu.call("mb_load_banks", 3, word, word + 4)  # loads paired by their banks on entry
        emu.call("mb_load_chase", 3, word)  # a stall carried across the back-branch (M7)
        emu.call("mb_straddle", 3, word)  # and across a block of one instruction
        results.append((emu.cycles, emu.counter.memory_stats(), [(e.function, e.cycles, e.stall) for e in emu.profile()]))
    assert results[0] == results[1]
    assert results[0][1].data_stall > 0 and results[0][1].fetch_stall > 0


# ---- which loads the memory system sees: their addresses as known on a block's entry -------------

BASE = 0x0800_0000
R = {n: getattr(arm_const, f"UC_ARM_REG_R{n}") for n in range(13)}
LOADS = {  # block (Thumb-2 assembly at BASE) -> the DataRead of each instruction: (base, index, shift, offset, size)
    "ldr r0, [r1], #4; ldr r2, [r1, #8]": [(R[1], -1, 0, 0, 4), (R[1], -1, 0, 12, 4)],
    "ldr r0, [r1, #4]!; ldrsh r2, [r1, #-2]": [(R[1], -1, 0, 4, 4), (R[1], -1, 0, 2, 2)],
    "ldrb.w r2, [r3, r4, lsl #1]": [(R[3], R[4], 1, 0, 1)],
    "ldmia r5!, {r0-r3}; ldrd r6, r7, [r5]": [(R[5], -1, 0, 0, 16), (R[5], -1, 0, 16, 8)],
    "ldmdb r5, {r0, r1}": [(R[5], -1, 0, 0xFFFF_FFF8, 8)],
    "ldr r0, [pc, #8]": [(-1, -1, 0, BASE + 4 + 8, 4)],
    "adr r1, 1f; ldr r0, [r1, #4]; 1: .word 0": [None, (-1, -1, 0, BASE + 4 + 4, 4)],
    "movw r3, #0x1234; movt r3, #0x0800; ldr r0, [r3]": [None, None, (-1, -1, 0, 0x0800_1234, 4)],
    "adds r1, #4; subs r1, r1, #1; ldrh r0, [r1, #2]": [None, None, (R[1], -1, 0, 5, 2)],
    "add r1, r2, #8; ldr r0, [r1]": [None, (R[2], -1, 0, 8, 4)],
    "mov r1, r2; ldr r0, [r1, #4]; mov r1, r2, lsl #1; ldr r0, [r1]": [None, (R[2], -1, 0, 4, 4), None, None],
    "vldr s0, [r3, #12]; vldmia r3!, {s1-s4}": [(R[3], -1, 0, 12, 4), (R[3], -1, 0, 0, 16)],
    # not seen: the stack, a base loaded or computed in the block, a load inside an IT block
    "ldr r0, [sp, #4]; pop {r4, pc}": [None, None],
    "ldr r1, [r2]; ldr r0, [r1]": [(R[2], -1, 0, 0, 4), None],
    "add r1, r1, r2; ldr r0, [r1]": [None, None],
    "cmp r0, #0; it eq; ldreq r0, [r1]": [None, None, None],
}


def _decode(asm: str, tmp_path):
    """The instructions of `asm` (Thumb-2, lines separated by "; ") assembled at BASE."""
    import subprocess

    from capstone import CS_ARCH_ARM, CS_MODE_MCLASS, CS_MODE_THUMB, Cs

    from mcusim.cycles import decode
    from mcusim.toolchain import find_compiler

    source = tmp_path / "block.s"
    source.write_text(".syntax unified\n.thumb\n" + asm.replace("; ", "\n") + "\n")
    cc = find_compiler()
    subprocess.run([cc, "-c", "-mcpu=cortex-m7", "-mfpu=fpv5-sp-d16", "-mfloat-abi=hard", "-o",
                    tmp_path / "block.o", source], check=True)
    subprocess.run([cc.replace("gcc", "objcopy"), "-O", "binary", "-j", ".text", tmp_path / "block.o",
                    tmp_path / "block.bin"], check=True)
    code = (tmp_path / "block.bin").read_bytes()
    disasm = Cs(CS_ARCH_ARM, CS_MODE_THUMB | CS_MODE_MCLASS)
    disasm.detail = True
    return decode(disasm, code[:len(code) - 4] if ".word" in asm else code, BASE)


@pytest.mark.parametrize("asm", LOADS)
def test_a_loads_address_is_followed_through_its_block(asm, tmp_path):
    insns = _decode(asm, tmp_path)
    seen = [i.read and (i.read.base, i.read.index, i.read.shift, i.read.offset, i.read.size) for i in insns]
    assert seen == LOADS[asm]


BANKS = {  # block -> (younger loads that pair from the decode alone, those whose banks are compared on entry)
    "ldr r0, [r1]; ldr r2, [r1, #4]": ({1}, []),            # 4 bytes apart: always different banks
    "ldr r0, [r1, #4]; ldr r2, [r1, #16]": ({1}, []),       # 12 apart, as 4
    "ldr r0, [r1]; ldr r2, [r1, #8]": (set(), []),          # 8 apart: always the same bank
    "ldr r0, [sp, #4]; ldr r2, [sp, #8]": ({1}, []),        # the stack, from SP as on entry
    "ldr r0, [r1]; ldr r2, [r3]": (set(), [1]),             # two pointers: on entry
    "ldrb r0, [r1]; ldrb r2, [r1, #1]": (set(), [1]),       # 1 apart: depends on r1
    "ldr r0, [r1]; ldr r2, [r1, r3]": (set(), [1]),         # a register index: on entry
    "ldr r0, [r1]; ldr r2, [r0]": (set(), []),              # an address unknown on entry: never
    "ldr r0, [sp]; ldr r2, [r1]": (set(), []),              # the stack is not compared on entry
    "ldr r0, [r1]; adds r4, #1; ldr r2, [r1, #4]": (set(), []),  # not adjacent
}


@pytest.mark.parametrize("asm", BANKS)
def test_two_adjacent_loads_pair_by_their_banks(asm, tmp_path):
    from mcusim.cycles import CortexM7

    static, runtime = CortexM7().load_pairs(_decode(asm, tmp_path))
    assert (set(static), runtime) == BANKS[asm]
