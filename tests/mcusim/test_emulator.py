"""Running firmware: exit status, output, markers, DWT, SRAM measurement, the call API, counting."""
import numpy as np
from unicorn import arm_const
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcusim.boards import get_board
from mcusim.emulator import Emulator, MemoryAccess, reads_after_writes
from mcusim.errors import McusimError
from mcusim.faults import FaultKind, FirmwareFault

pytestmark = pytest.mark.toolchain
BOARDS = ["stm32f427", "stm32f746", "stm32h743"]


@pytest.mark.parametrize("board", BOARDS)
def test_run_from_reset(emulator, board):
    emu = emulator("hello.c", board, defines=["LOOPS=1000"])
    result = emu.run()
    assert result.exit_code == 3
    assert result.output.startswith("hello 42\nloop cycles ")
    assert result.stderr == "to stderr\n"
    assert [m.name for m in result.markers] == ["start", "end"]
    start, end = result.markers
    assert 0 < start.instructions < end.instructions <= result.instructions
    # The firmware's own DWT measurement of a 1000-iteration loop (a handful of instructions each).
    loop_cycles = int(result.output.split("loop cycles ")[1])
    assert 3000 <= loop_cycles <= 12000
    assert loop_cycles < end.cycles - start.cycles


def test_run_twice_is_refused(emulator):
    emu = emulator("hello.c")
    emu.run()
    with pytest.raises(McusimError, match="new Emulator"):
        emu.run()


@pytest.mark.parametrize("board", BOARDS)
@pytest.mark.parametrize("depth, frame", [(4, 64), (16, 128), (30, 200)])
def test_stack_peak_matches_the_deepest_sp(emulator, board, depth, frame):
    """Truth: the lowest SP the firmware itself saw at its deepest call (global min_sp). Every frame
    writes its whole local array, so the paint below min_sp is untouched and above it is not."""
    emu = emulator("sram.c", board, defines=[f"DEPTH={depth}", f"FRAME={frame}"])
    result = emu.run()
    assert result.exit_code == 0
    min_sp = int(emu.read(emu.elf.symbol("min_sp").address, np.uint32, ()))
    truth = emu.layout.stack_top - min_sp
    assert truth >= depth * frame
    assert abs(result.sram.stack_peak - truth) <= 64, (result.sram.stack_peak, truth)


def test_stack_size_option_moves_the_guard(firmware):
    """40 levels of 200 bytes overflow the default 8 KiB stack and fit a 16 KiB one."""
    board = get_board("stm32f427")
    with pytest.raises(FirmwareFault) as info:
        Emulator(board, firmware("sram.c", "stm32f427", ["DEPTH=40", "FRAME=200"])).run()
    assert info.value.fault.kind == FaultKind.STACK_OVERFLOW
    result = Emulator(board, firmware("sram.c", "stm32f427", ["DEPTH=40", "FRAME=200"], stack_size=16384)).run()
    assert 8000 < result.sram.stack_peak < 16384


def test_stack_peak_grows_with_depth_by_the_frame(emulator):
    peaks = [emulator("sram.c", defines=[f"DEPTH={d}", "FRAME=256"]).run().sram.stack_peak for d in (10, 20)]
    per_level = (peaks[1] - peaks[0]) / 10
    assert 256 <= per_level <= 256 + 24  # the array plus saved registers and alignment


@pytest.mark.parametrize("board", BOARDS)
@pytest.mark.parametrize("nbytes", [1000, 40_000])
def test_heap_peak_matches_malloc_touched(emulator, board, nbytes):
    result = emulator("sram.c", board, defines=[f"HEAP_BYTES={nbytes}", "DEPTH=1"]).run()
    assert result.exit_code == 0
    assert abs(result.sram.heap_peak - nbytes) <= 64, result.sram.heap_peak


def test_static_is_data_plus_bss_and_total_adds_up(emulator):
    emu = emulator("sram.c", defines=["HEAP_BYTES=100"])
    result = emu.run()
    s = emu.elf.sizes(emu.board)
    assert result.sram.static == s.data + s.bss > 0
    assert result.sram.total_peak == result.sram.static + result.sram.stack_peak + result.sram.heap_peak
    assert result.flash.total == s.text + s.rodata + s.data


def test_call_passes_stack_arguments_and_initializes_data(emulator):
    emu = emulator("callee.c")
    assert emu.call("weighted_sum6", 1, 2, 3, 4, 5, 6) == 1 + 4 + 9 + 16 + 25 + 36 + 5
    assert emu.call("weighted_sum6", -1, 0, 0, 0, 0, -1) == -1 - 6 + 6  # global_counter advanced to 6
    assert emu.last_call.instructions > 0 and emu.last_call.stack_peak > 0


@given(st.lists(st.integers(-128, 127), min_size=1, max_size=300).flatmap(
    lambda xs: st.tuples(st.just(xs), st.lists(st.integers(-128, 127), min_size=len(xs), max_size=len(xs)))))
def test_call_with_arrays_matches_numpy(firmware, xy):
    emu = Emulator(get_board("stm32f746"), firmware("callee.c"))
    x, y = (np.array(v, dtype=np.int8) for v in xy)
    px, py, pout = emu.put(x), emu.put(y), emu.alloc(len(x))
    emu.call("add_sat_s8", px, py, pout, len(x))
    expected = np.clip(x.astype(np.int16) + y, -128, 127).astype(np.int8)
    np.testing.assert_array_equal(emu.read(pout, np.int8, x.shape), expected)


def test_watch_records_the_accesses_in_the_range(firmware):
    """add_sat_s8 over 3 bytes, out placed over y: each y byte read, then the same byte written."""
    emu = Emulator(get_board("stm32f746"), firmware("callee.c"))
    x, y = emu.put(np.array([1, 2, 3], np.int8)), emu.put(np.array([10, 20, 30], np.int8))
    with emu.watch(y, 3) as accesses:
        emu.call("add_sat_s8", x, y, y, 3)
    assert accesses == [MemoryAccess(kind, y + i, 1) for i in range(3) for kind in ("read", "write")]
    assert reads_after_writes(accesses) == []
    np.testing.assert_array_equal(emu.read(y, np.int8, (3,)), [11, 22, 33])
    emu.call("add_sat_s8", x, y, y, 3)  # the hook is gone after the block
    np.testing.assert_array_equal(emu.read(y, np.int8, (3,)), [12, 24, 36])


def test_reads_after_writes_finds_a_clobbered_byte():
    trace = [MemoryAccess("write", 100, 4), MemoryAccess("read", 96, 4), MemoryAccess("read", 102, 1)]
    assert reads_after_writes(trace) == [MemoryAccess("read", 102, 1)]


def test_watch_refuses_a_conditional_access_it_cannot_hook(firmware):
    """newlib's memcpy stores its last byte inside an IT block, where Unicorn 2.1 would lose the IT
    state: watch names the problem instead of letting the run fault at the next branch."""
    emu = Emulator(get_board("stm32f427"), firmware("callee.c", board="stm32f427"))
    src, dst = emu.put(np.arange(5, dtype=np.int8)), emu.alloc(5)
    with pytest.raises(McusimError, match="inside a Thumb IT block near memcpy"):
        with emu.watch(dst, 5):
            emu.call("copy_bytes", dst, src, 5)


def test_call_rejects_oversized_arguments(emulator):
    with pytest.raises(McusimError, match="32-bit"):
        emulator("callee.c").call("weighted_sum6", 1 << 32, 0, 0, 0, 0, 0)


def test_host_allocation_runs_out_cleanly(emulator):
    emu = emulator("callee.c")
    with pytest.raises(McusimError, match="no room"):
        emu.alloc(emu.board.ram.size)


@pytest.mark.parametrize("board", BOARDS)
def test_cpu_model_follows_the_board(emulator, board):
    """Armv8-M's TT is undefined on M4/M7 and runs on Unicorn's default M33; vadd.f64 runs on the
    M7 model only. Together they prove the board's core model is the one emulated."""
    emu = emulator("callee.c", board)
    assert emu.uc.ctl_get_cpu_model() == getattr(arm_const, get_board(board).core.unicorn_model)
    with pytest.raises(McusimError, match="undefined instruction at armv8m_test_target"):
        emu.call("armv8m_test_target")
    if get_board(board).core.name == "cortex-m7":
        emu.call("double_precision_add")
    else:
        with pytest.raises(McusimError, match="undefined instruction at double_precision_add"):
            emu.call("double_precision_add")


def test_python_counter_counts_exactly_like_the_native_one(firmware):
    elf = firmware("hello.c")
    board = get_board("stm32f746")
    native = Emulator(board, elf, native=True).run()
    python = Emulator(board, elf, native=False).run()
    assert native.instructions == python.instructions > 0
    assert native.cycles == python.cycles
    assert native.markers == python.markers
    assert native.output == python.output
