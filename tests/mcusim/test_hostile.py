"""Issue 21, the emulator's boundaries: hostile firmware, ELF files and command lines. Every outcome is
the firmware's own status or one line `mcusim: ...` (64 usage, 65 bad input file, 70 firmware fault),
within bounded time and memory; the firmware never reaches the host.

Firmware: tests/mcusim/firmware/hostile.c (toolchain), or Thumb machine code in a hand-made ELF."""
import json
import os
import resource
import signal
import struct
import time

import pytest

import mcusim.emulator
import mcusim.peripherals
from mcusim.boards import get_board
from mcusim.cli import main
from mcusim.elf import ElfImage
from mcusim.emulator import MAX_INSTRUCTIONS, Emulator
from mcusim.errors import ElfError, McusimError
from mcusim.faults import FaultKind, FirmwareFault
from mcusim.peripherals import MAX_MARKER_NAME, MAX_OUTPUT_BYTES

from .conftest import FIRMWARE

FLASH, RAM_TOP = 0x0800_0000, 0x2005_0000  # the F746's
BOARD = ["--board", "stm32f746"]
needs_gcc = pytest.mark.toolchain


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    """`mcusim ARGV` in-process: (status, stdout, stderr); a command-line error is its SystemExit."""
    try:
        code = main(list(argv))
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    if code in (64, 65, 70):
        assert err.strip().splitlines()[-1].startswith(("mcusim: ", "mcusim run: error", "mcusim build: error")), err
    return code, out, err


# ---- a hand-made ELF: a vector table and Thumb code in flash, a symbol table ----------------------

EXIT_0 = bytes.fromhex("1820" "0149" "abbe" "00bf" "26000200")  # movs r0, #0x18; ldr r1, [pc, #4]; bkpt 0xab;
#                                                                  nop; .word ADP_Stopped_ApplicationExit
UNDECODABLE = bytes.fromhex("ffffffff")  # no Thumb-2 instruction


def hand_elf(code: bytes = EXIT_0, *, reset: int = FLASH + 9, entry: int = FLASH + 9, segments=None,
             symbols=((b"main", FLASH + 8),)) -> bytearray:
    """An ELF32 ARM executable: one PT_LOAD (or `segments`: (paddr, vaddr, data, memsz)), sections
    .text, .symtab, .strtab, .shstrtab. Offsets: program headers at 52, section headers last."""
    image = struct.pack("<2I", RAM_TOP, reset) + code
    segments = segments or [(FLASH, FLASH, image, len(image))]
    data_at = 52 + 32 * len(segments)
    blobs, offsets = [], []
    for _, _, data, _ in segments:
        offsets.append(data_at + sum(len(b) for b in blobs))
        blobs.append(data)
    strtab = b"\0" + b"".join(name + b"\0" for name, _ in symbols)
    symtab, at = bytes(16), 1
    for name, value in symbols:
        symtab += struct.pack("<IIIBBH", at, value | 1, 4, 0x12, 0, 1)  # STB_GLOBAL STT_FUNC in .text
        at += len(name) + 1
    shstrtab = b"\0.text\0.symtab\0.strtab\0.shstrtab\0"
    tables_at = data_at + sum(len(b) for b in blobs)
    tables = symtab + strtab + shstrtab
    shoff = tables_at + len(tables)
    out = bytearray(struct.pack("<4s5B7x2H5I6H", b"\x7fELF", 1, 1, 1, 0, 0, 2, 40, 1, entry, 52, shoff, 0x0500_0400,
                                52, 32, len(segments), 40, 5, 4))
    for (paddr, vaddr, data, memsz), offset in zip(segments, offsets):
        out += struct.pack("<8I", 1, offset, vaddr, paddr, len(data), memsz, 5, 4)
    out += b"".join(blobs) + tables
    out += bytes(40)
    out += struct.pack("<10I", 1, 1, 6, FLASH, offsets[0], len(segments[0][2]), 0, 0, 4, 0)
    out += struct.pack("<10I", 7, 2, 0, 0, tables_at, len(symtab), 3, 1, 4, 16)
    out += struct.pack("<10I", 15, 3, 0, 0, tables_at + len(symtab), len(strtab), 0, 0, 1, 0)
    out += struct.pack("<10I", 23, 3, 0, 0, tables_at + len(symtab) + len(strtab), len(shstrtab), 0, 0, 1, 0)
    return out


def _shdr(elf: bytearray, index: int) -> int:
    return struct.unpack_from("<I", elf, 32)[0] + 40 * index


def _section_offset(elf: bytearray, index: int) -> int:
    return struct.unpack_from("<I", elf, _shdr(elf, index) + 16)[0]


def _set(elf: bytearray, offset: int, fmt: str, value: int) -> bytearray:
    struct.pack_into(fmt, elf, offset, value)
    return elf


def _write(tmp_path, data: bytes, name: str = "fw.elf") -> str:
    path = tmp_path / name
    path.write_bytes(bytes(data))
    return str(path)


def test_hand_made_elf_runs(tmp_path, capsys):
    assert cli(capsys, "run", _write(tmp_path, hand_elf()), *BOARD)[0] == 0


def test_undecodable_instruction_is_a_usage_fault(tmp_path, capsys):
    """Capstone and Unicorn both refuse 0xFFFF 0xFFFF: UsageFault UNDEFINSTR, not a ValueError."""
    code, _, err = cli(capsys, "run", _write(tmp_path, hand_elf(UNDECODABLE)), *BOARD, "--json")
    assert code == 70
    assert err.strip().splitlines()[-1] == "mcusim: UsageFault: undefined instruction at main (pc 0x08000008)"


@pytest.mark.parametrize("edit, message", [
    (lambda: hand_elf(segments=[(FLASH, FLASH, bytes(16), 16), (FLASH + 8, FLASH + 8, bytes(8), 8)]),
     "segments overlap in load images: 0x08000000..0x08000010 and 0x08000008..0x08000010"),
    (lambda: hand_elf(segments=[(FLASH, FLASH, bytes(16), 16), (FLASH + 64, FLASH + 8, bytes(8), 8)]),
     "segments overlap in memory"),
    (lambda: hand_elf(reset=FLASH + 8), "reset vector 0x08000008 is not Thumb code"),
    (lambda: hand_elf(reset=0x6000_0001), "reset vector 0x60000001 is not Thumb code"),
    (lambda: hand_elf(entry=FLASH + 8), "entry point 0x08000008 is not Thumb code"),
    (lambda: hand_elf(entry=0x6000_0001), "entry point 0x60000001 is not Thumb code"),
    (lambda: hand_elf(segments=[(0x6000_0000, 0x6000_0000, bytes(8), 8)]), "lies outside stm32f746's memory map"),
    (lambda: hand_elf(segments=[(FLASH, FLASH, bytes(8), 0xFFFF_FFFF)]), "lies outside stm32f746's memory map"),
    (lambda: hand_elf(segments=[(FLASH, FLASH, bytes(8), 4)]), "8 bytes in the file, 4 in memory"),
    (lambda: hand_elf()[:40], "the ELF header is cut short"),
    (lambda: hand_elf()[:90], "truncated: segment at 0x08000000 is cut short"),
    (lambda: _set(hand_elf(), 18, "<H", 62), "not a 32-bit little-endian ARM ELF (machine 62)"),
    (lambda: _set(hand_elf(), 4, "<B", 2), "not a 32-bit little-endian ARM ELF"),
    (lambda: _set(hand_elf(), 44, "<H", 0xFFFF), "65535 program headers"),
    (lambda: _set(hand_elf(), 44, "<H", 200), "program headers (200 at offset 0x34) run past the end"),
    (lambda: _set(hand_elf(), 42, "<H", 0), "header entries of 0 and 40 bytes"),
    (lambda: _set(hand_elf(), 32, "<I", 0xFFFF_FF00), "section headers (5 at offset 0xffffff00) run past the end"),
    (lambda: _set(hand_elf(), 50, "<H", 9), "section name table 9 of 5 sections"),
    (lambda: (e := hand_elf()) and _set(e, _shdr(e, 2) + 16, "<I", 0xFFFF_FF00), "runs past the end of the file"),
    (lambda: (e := hand_elf()) and _set(e, _shdr(e, 2) + 36, "<I", 0), "a symbol table of 32 bytes in entries of 0"),
    (lambda: (e := hand_elf()) and _set(e, _shdr(e, 2) + 24, "<I", 77), "names in section 77"),
    (lambda: hand_elf(symbols=((b"ma\xffin", FLASH + 8),)), "is not UTF-8"),
    (lambda: hand_elf(symbols=((b"ma\nin", FLASH + 8),)), "has control characters"),
    (lambda: (e := hand_elf()) and _set(e, _section_offset(e, 2) + 16, "<I", 0x10_0000), "outside its string table"),
    (lambda: hand_elf(symbols=((b"__heap_start", 0x6000_0000), (b"__heap_limit", 0x2000_0000),
                               (b"__stack_limit", 0x2000_0400), (b"__stack_top", RAM_TOP))), "heap and stack"),
])
def test_hostile_elf_is_one_line_65(tmp_path, capsys, edit, message):
    code, _, err = cli(capsys, "run", _write(tmp_path, edit()), *BOARD)
    assert code == 65, err
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_elf_symbol_names_are_bounded(tmp_path):
    """A name with no NUL within MAX_NAME bytes is refused; reading it does not scan the file."""
    elf = hand_elf(symbols=((b"x" * 5000, FLASH + 8),))
    with pytest.raises(ElfError, match="outside its string table or too long"):
        ElfImage(_write(tmp_path, elf))


@pytest.fixture
def alarm():
    """Fail (not hang) a test whose command blocks for more than 10 s."""
    def on_alarm(*_):
        raise AssertionError("blocked for 10 s")
    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "folder", "missing"])
def test_run_refuses_what_is_not_a_file(tmp_path, capsys, alarm, kind):
    path = {"fifo": tmp_path / "fifo.elf", "dev-zero": "/dev/zero", "folder": tmp_path,
            "missing": tmp_path / "no.elf"}[kind]
    if kind == "fifo":
        os.mkfifo(path)
    code, _, err = cli(capsys, "run", str(path), *BOARD)
    assert code == 65
    assert {"fifo": "not a regular file", "dev-zero": "not a regular file", "folder": "is a folder",
            "missing": "no such file"}[kind] in err


def test_trace_over_the_elf_is_refused(tmp_path, capsys):
    elf = _write(tmp_path, hand_elf())
    code, _, err = cli(capsys, "run", elf, *BOARD, "--trace", elf)
    assert code == 64 and "is the input" in err
    assert (tmp_path / "fw.elf").read_bytes() == bytes(hand_elf())


# ---- command-line numbers -----------------------------------------------------------------------

@pytest.mark.parametrize("option, value", [
    ("--max-instructions", v) for v in ("-1", "0", "abc", "1.5", str(MAX_INSTRUCTIONS + 1), str(2**64))
] + [("--timeout", v) for v in ("0", "-1", "nan", "inf", "1e7", "abc")])
def test_run_numbers_are_validated(tmp_path, capsys, option, value):
    code, _, err = cli(capsys, "run", _write(tmp_path, hand_elf()), *BOARD, option, value)
    assert code == 64 and option in err


@pytest.mark.parametrize("argv, message", [
    (["--stack-size", "12"], "--stack-size 12: not a multiple of 8 bytes"),
    (["--stack-size", "0"], "--stack-size"),
    (["-O", "9"], "-O"),
])
def test_build_numbers_are_validated(tmp_path, capsys, argv, message):
    code, _, err = cli(capsys, "build", str(FIRMWARE / "hello.c"), *BOARD, "-o", str(tmp_path / "x.elf"), *argv)
    assert code == 64 and message in err


# ---- build outputs and inputs -------------------------------------------------------------------

@pytest.fixture
def source(tmp_path, monkeypatch):
    monkeypatch.setenv("MCUSIM_CACHE", str(tmp_path / "cache"))
    src = tmp_path / "src" / "prog.c"
    src.parent.mkdir()
    src.write_text('#include "conf.h"\nint main(void) { return VALUE; }\n')
    (src.parent / "conf.h").write_text("#define VALUE 5\n")
    return src


@needs_gcc
@pytest.mark.parametrize("output, message", [
    (lambda src: src, "is the input"),
    (lambda src: src.parent / "same.c", "is the input"),  # a symlink to the source
    (lambda src: src.parent, "is a folder"),
    (lambda src: src / "x.elf", "is not a folder"),
    (lambda src: src.parent / "none" / "x.elf", "does not exist"),
])
def test_build_output_is_checked_before_building(source, capsys, output, message):
    (source.parent / "same.c").symlink_to(source)
    before = source.read_bytes()
    code, _, err = cli(capsys, "build", str(source), *BOARD, "-o", str(output(source)))
    assert code == 64 and message in err
    assert source.read_bytes() == before


# Folders no process can create files in, root included: procfs refuses the access check itself;
# sysfs passes root's access check and refuses the write (another user is refused at the check).
READ_ONLY_FOLDERS = ["/proc/self", "/sys"]


@needs_gcc
@pytest.mark.parametrize("folder", READ_ONLY_FOLDERS)
def test_build_into_a_read_only_folder(source, capsys, folder):
    code, _, err = cli(capsys, "build", str(source), *BOARD, "-o", f"{folder}/x.elf")
    assert code == 64 and ("not writable" in err or "cannot write" in err)
    assert len(err.strip().splitlines()) == 1


@needs_gcc
def test_build_hashes_only_the_headers_it_includes(source, tmp_path, capsys):
    """An unreadable header beside the source (it fails even root's read) does not matter; a change of
    an included one rebuilds. The ELF is written atomically: no temporary file is left."""
    (source.parent / "unreadable.h").symlink_to("/proc/self/mem")
    out = tmp_path / "out" / "prog.elf"
    out.parent.mkdir()
    assert cli(capsys, "build", str(source), *BOARD, "-o", str(out))[0] == 0
    assert cli(capsys, "run", str(out), *BOARD)[0] == 5
    (source.parent / "conf.h").write_text("#define VALUE 6\n")
    assert cli(capsys, "build", str(source), *BOARD, "-o", str(out))[0] == 0
    assert cli(capsys, "run", str(out), *BOARD)[0] == 6
    assert os.listdir(out.parent) == ["prog.elf"]


# ---- firmware: instructions the silicon refuses -------------------------------------------------

@pytest.fixture(scope="module")
def hostile_elf(firmware):
    return firmware("hostile.c")


@pytest.fixture(params=[True, False], ids=["native", "python"])
def emu(request, hostile_elf):
    """A fresh Emulator on hostile.c; its counter native and in Python."""
    def make(**options) -> Emulator:
        return Emulator(get_board("stm32f746"), hostile_elf, native=request.param, **options)
    return make


def _fault(emu: Emulator, function: str, *args: int) -> FirmwareFault:
    with pytest.raises(FirmwareFault) as info:
        emu.call(function, *args)
    message = str(info.value)
    assert "\n" not in message and function in message and "(pc 0x" in message
    return info.value


BUF = 0x2000_1000


@needs_gcc
@pytest.mark.parametrize("function, args, name, address", [
    ("unaligned_ldrd", (BUF + 1,), "LDRD", BUF + 1),
    ("unaligned_strd", (BUF + 2,), "STRD", BUF + 6),
    ("unaligned_ldm", (BUF + 3,), "LDM", BUF + 3),
    ("unaligned_stmdb", (BUF + 1,), "STMDB", BUF - 7),
    ("unaligned_ldrex", (BUF + 2,), "LDREX", BUF + 2),
    ("unaligned_ldrexh", (BUF + 1,), "LDREXH", BUF + 1),
    ("unaligned_strex", (BUF + 2,), "STREX", BUF + 2),
    ("unaligned_vldr", (BUF + 2,), "VLDR", BUF + 2),
    ("unaligned_vstmia", (BUF + 1,), "VSTMIA", BUF + 1),
    ("unaligned_ldrd_computed", (BUF + 8,), "LDRD", BUF + 1),  # base written in the block: checked by a hook
    ("unaligned_ldrd_if", (BUF + 1, 1), "LDRD", BUF + 1),      # in an IT block, executed
])
def test_unaligned_multi_word_access_is_a_usage_fault(emu, function, args, name, address):
    fault = _fault(emu(), function, *args).fault
    assert fault.kind == FaultKind.UNALIGNED_ACCESS and fault.address == address
    assert f"UsageFault: unaligned {name} of address {address:#010x} at {function}" in fault.message


@needs_gcc
@pytest.mark.parametrize("function, args", [
    ("unaligned_ldrd", (BUF + 4,)), ("unaligned_ldrexh", (BUF + 2,)), ("unaligned_ldrd_computed", (BUF + 7,)),
    ("unaligned_ldrd_if", (BUF + 1, 0)),  # in an IT block, skipped: no fault
    ("unaligned_ldr_ok", (BUF + 1,)),     # single LDR/LDRH/STR may be unaligned (CCR.UNALIGN_TRP clear)
    ("aligned_multi_ok", (BUF + 16,)),
])
def test_what_the_silicon_allows_still_runs(emu, function, args):
    emu().call(function, *args)


@needs_gcc
@pytest.mark.parametrize("function, kind, what", [
    ("undecodable", FaultKind.UNDEFINED_INSTRUCTION, "UsageFault: undefined instruction at undecodable+0x2"),
    ("coprocessor", FaultKind.UNDEFINED_INSTRUCTION, "UsageFault: coprocessor instruction, no such coprocessor"),
    ("branch_even", FaultKind.INVALID_STATE, "UsageFault: invalid state"),
])
def test_undefined_instructions_are_usage_faults(emu, function, kind, what):
    fault = _fault(emu(), function).fault
    assert fault.kind == kind and what in fault.message


@needs_gcc
def test_undecodable_through_the_cli(firmware, capsys):
    elf = firmware("hostile.c", defines=["CASE=undecodable"])
    code, _, err = cli(capsys, "run", str(elf.path), *BOARD)
    assert code == 70 and "mcusim: UsageFault: undefined instruction at undecodable+0x2 (pc 0x" in err


# ---- firmware: output, markers, semihosting ------------------------------------------------------

def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@needs_gcc
def test_sys_write_of_4_gib_reads_what_exists(emu):
    before = _peak_rss()
    e = emu()
    e.call("sys_write_huge")
    assert len(e.console.stdout) == 320 * 1024  # all of RAM, then the end of memory
    assert _peak_rss() - before < 64 << 20


@needs_gcc
@pytest.mark.parametrize("function, native, budget", [
    ("sys_write_flood", True, 50_000), ("sys_write_flood", False, 50_000), ("sys_write0_flood", True, 50_000),
    ("sys_write0_flood", False, 50_000), ("itm_flood", True, 4_000_000), ("itm_flood_words", True, 4_000_000),
    ("itm_flood_words", False, 1_000_000),
])
def test_console_output_is_capped(hostile_elf, function, native, budget):
    start = time.monotonic()
    e = Emulator(get_board("stm32f746"), hostile_elf, native=native, max_instructions=budget)
    result = _fault(e, function).result
    assert len(e.console.stdout) == MAX_OUTPUT_BYTES
    assert result.notes == [f"the firmware wrote more than {MAX_OUTPUT_BYTES:,} bytes of text; the rest was dropped"]
    assert time.monotonic() - start < 30


@needs_gcc
def test_output_note_through_the_cli(firmware, capsys):
    elf = firmware("hostile.c", defines=["CASE=sys_write_flood"])
    code, out, err = cli(capsys, "run", str(elf.path), *BOARD, "--max-instructions", "100000")
    assert code == 70 and len(out) < MAX_OUTPUT_BYTES + 1000
    lines = err.strip().splitlines()
    assert lines[-2].startswith("mcusim: note: the firmware wrote more than 1,048,576 bytes of text")
    assert lines[-1].startswith("mcusim: instruction budget of 100,000 exhausted")


@needs_gcc
def test_marker_names_are_short_and_markers_bounded(emu, monkeypatch):
    monkeypatch.setattr(mcusim.peripherals, "MAX_MARKERS", 1000)
    result = _fault(emu(max_instructions=1_000_000), "marker_flood_long").result
    assert len(result.markers) == 1000 and {m.name for m in result.markers} == {"m" * MAX_MARKER_NAME}
    assert result.notes == ["the firmware wrote more than 1,000 trace markers in one run; the rest were dropped"]


@needs_gcc
def test_distinct_marker_names_are_bounded(emu, monkeypatch):
    monkeypatch.setattr(mcusim.peripherals, "MAX_MARKER_NAMES", 16)
    result = _fault(emu(max_instructions=200_000), "marker_flood_distinct").result
    names = {m.name for m in result.markers}
    assert len(names) == 17 and "(other)" in names and len(result.markers) > 100
    assert "more than 16 distinct trace marker names; the others are '(other)'" in result.notes


@needs_gcc
def test_marker_name_at_the_end_of_memory(emu):
    """The name runs into unmapped memory (past the F746's ITCM) with no NUL: it ends there, as one
    printable line."""
    e = emu()
    e.write(0x3FFA, b"ab\ncde")
    with pytest.raises(McusimError, match="called exit"):
        e.call("marker_unterminated", 0x3FFA)
    assert [m.name for m in e.markers] == ["ab?cde"]


@needs_gcc
def test_semihosting_calls_are_budgeted(emu, monkeypatch):
    monkeypatch.setattr(mcusim.emulator, "MAX_SEMIHOSTING_CALLS", 1000)
    fault = _fault(emu(), "sys_writec_flood").fault
    assert fault.kind == FaultKind.BUDGET_EXHAUSTED and "semihosting budget of 1,000 calls exhausted" in fault.message


# ---- firmware: time ------------------------------------------------------------------------------

@needs_gcc
@pytest.mark.parametrize("function", ["poll_cyccnt", "itm_flood"])
def test_wall_clock_limit(emu, function):
    start = time.monotonic()
    fault = _fault(emu(max_instructions=MAX_INSTRUCTIONS, timeout=1), function).fault
    assert fault.kind == FaultKind.TIMEOUT and "wall-clock limit of 1 s reached" in fault.message
    assert time.monotonic() - start < 5


@needs_gcc
def test_timeout_through_the_cli(firmware, capsys):
    elf = firmware("hostile.c", defines=["CASE=poll_cyccnt"])
    code, out, err = cli(capsys, "run", str(elf.path), *BOARD, "--timeout", "0.5", "--json",
                         "--max-instructions", str(MAX_INSTRUCTIONS))
    assert code == 70 and json.loads(out)["fault"]["kind"] == "timeout"
    assert err.startswith("mcusim: wall-clock limit of 0.5 s reached (firmware too slow or stuck?) at main")


@needs_gcc
def test_peripheral_accesses_are_cheap(hostile_elf):
    """DWT->CYCCNT reads and ITM writes in a loop: native, no Python call each (was ~1.2 us each)."""
    emu = Emulator(get_board("stm32f746"), hostile_elf, native=True)
    emu.console.limit = 0  # every ITM write dropped, as once the console is full
    start = time.monotonic()
    emu.call("peripheral_loop", 1_000_000)
    assert time.monotonic() - start < 1.5  # 2M accesses: about 0.1 s here
