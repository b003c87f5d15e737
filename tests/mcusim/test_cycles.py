"""The cycle model against hand-worked expectations from the documentation (docs/cycle-model.md).

Each microbenchmark (firmware/microbench.S) runs n = 100 iterations. Expected cycles are written out
from the documented per-instruction costs, not computed by the model, so any change of a cost fails
here. Conventions: the loop's back-branch is taken n-1 times; the refill of the final `bx lr` is not
counted (emulation stops at the return address, before the next block is entered).
"""
import numpy as np
import pytest

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
    assert m4.last_call.cycles == _loop(body, tail, M4_P)


def test_cortex_m4_multiple_transfers(m4):
    m4.call("mb_ldm", N, _self_pointer(m4))
    # push {r4,r5} 3; per iteration ldm 1+4, stm 1+4, subs+bne 2; pop {r4,r5} 3; bx lr 1
    assert m4.last_call.cycles == 3 + N * (5 + 5 + 2) + (N - 1) * M4_P + 3 + 1


def test_cortex_m4_calls(m4):
    m4.call("mb_call", N)
    # push 3, mov 1; per iteration bl 1+P, leaf bx lr 1+P, subs+bne 2 (+P taken); pop {r4,pc} 3
    assert m4.last_call.cycles == 3 + 1 + N * (2 * (1 + M4_P) + 2) + (N - 1) * M4_P + 3


def test_cortex_m4_flash_wait_states(firmware):
    """Cache off: each 16-byte line costs 5 wait states (F427 at 180 MHz) and a taken branch
    refetches its target line. The loop is exactly one line; the bx lr block one more."""
    board = get_board("stm32f427")
    elf = firmware("microbench.S", "stm32f427")
    cached, uncached = Emulator(board, elf), Emulator(board, elf, flash_cache=False)
    for emu in (cached, uncached):
        emu.call("mb_flash", N)
    assert cached.last_call.cycles == _loop(6, 2, M4_P)
    assert uncached.last_call.cycles == N * (8 + 5) + (N - 1) * (M4_P + 5) + 1 + 5


@pytest.mark.parametrize("board", ["stm32f427", "stm32f746"])
def test_dwt_cyccnt_reads_the_modelled_count(firmware, board):
    """Firmware timing code sees the model: the DWT difference around mb_alu_chain grows by the
    modelled cost of each extra iteration (8 ALU + subs + bne + refill on the M4; 9 on the M7)."""
    emu = Emulator(get_board(board), firmware("microbench.S", board))
    per_iteration = {"stm32f427": 10 + M4_P, "stm32f746": 9}[board]
    emu.call("mb_dwt", 10)  # leaves the M7's predictor in the state every later call starts from
    assert emu.call("mb_dwt", 150) - emu.call("mb_dwt", 50) == 100 * per_iteration


# Cortex-M7 (approximation, docs/cycle-model.md): dual issue of an ALU, load, store, MAC or FP op
# with another of a different class when the younger does not read the older's result; loads 1
# cycle to an ALU user, +2 into an address; ALU +1 into an address; MAC latency 2, accumulator
# chains 1 per cycle; branches pair with the instruction before; predicted branches cost 0, a
# mispredict 8. The loop's bne is backward, so predicted taken: only its final fall-through costs 8.
M7_PER_ITERATION = {
    "mb_alu": 5,             # 4 pairs of adds, subs+bne
    "mb_alu_chain": 9,       # 8 dependent adds (the last paired with subs), bne
    "mb_load": 5,            # loads never pair with loads: 4, the last with subs; bne
    "mb_load_chase": 11,     # a load into the next address: 3 cycles apart; subs with the 4th; bne
    "mb_load_use": 6,        # ldr / adds+ldr / adds+ldr / adds+ldr / adds+subs / bne
    "mb_agu": 10,            # adds, (stall), ldr+adds, ... each address 2 cycles after its adds
    "mb_store_imm": 5,       # stores never pair with stores
    "mb_smlad": 9,           # one MAC per cycle (accumulator chains forward), subs with the last, bne
    "mb_mul_alu": 5,         # mul+adds pairs, subs+bne
    "mb_vmla": 5,            # FP ops never pair with FP ops; 4 independent chains; subs, bne
}
M7_MISPREDICT = 8


@pytest.fixture(scope="module")
def m7(firmware):
    return Emulator(get_board("stm32h743"), firmware("microbench.S", "stm32h743"))


@pytest.mark.parametrize("function", sorted(M7_PER_ITERATION))
def test_cortex_m7_microbenchmarks(m7, function):
    m7.call(function, N, _self_pointer(m7))
    assert m7.last_call.cycles == N * M7_PER_ITERATION[function] + M7_MISPREDICT + 1


def test_cortex_m7_branch_prediction(m7):
    # A forward bne, always taken: predicted not taken the first time (8), then learnt.
    m7.call("mb_forward_branch", N)
    assert m7.last_call.cycles == N * (1 + 1) + M7_MISPREDICT + M7_MISPREDICT + 1
    # bl (direct, predicted) and the leaf's bx lr (indirect: its target is learnt after one miss).
    # Blocks: push (alone) / mov+bl = 2 cycles once; bl 1 (n-1 times); bx lr 1; subs+bne 1; pop 1.
    m7.call("mb_call", N)
    assert m7.last_call.cycles == 2 + (N - 1) + N + N + 1 + 2 * M7_MISPREDICT


def test_cortex_m7_flash_wait_states(firmware):
    """F746 at 216 MHz: 7 wait states per 32-byte line when the cache is off."""
    board = get_board("stm32f746")
    elf = firmware("microbench.S", "stm32f746")
    cached, uncached = Emulator(board, elf), Emulator(board, elf, flash_cache=False)
    for emu in (cached, uncached):
        emu.call("mb_flash", N)
    assert cached.last_call.cycles == N * 4 + M7_MISPREDICT + 1
    # Each pass fetches its line (+7), each taken back-branch refetches it (+7); bx lr 1 + 7.
    assert uncached.last_call.cycles == N * (4 + 7) + (N - 1) * 7 + M7_MISPREDICT + 1 + 7
