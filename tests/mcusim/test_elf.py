"""ELF loading: what a good image yields, and a clear ElfError for every hostile one."""
import subprocess

import pytest

from mcusim.boards import get_board
from mcusim.elf import ElfImage, format_symbol
from mcusim.emulator import Emulator
from mcusim.errors import ElfError

pytestmark = pytest.mark.toolchain


def _size_a(path) -> dict[str, int]:
    """Section sizes as binutils' `size -A` reports them: an oracle independent of pyelftools."""
    out = subprocess.run(["arm-none-eabi-size", "-A", str(path)], capture_output=True, text=True, check=True).stdout
    sizes = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1].isdigit():
            sizes[parts[0]] = int(parts[1])
    return sizes


def test_section_sizes_match_binutils(firmware):
    elf = firmware("hello.c")
    sizes = _size_a(elf.path)
    ours = elf.sizes(get_board("stm32f746"))
    assert ours.text == sizes[".text"]
    assert ours.data == sizes[".data"]
    assert ours.bss == sizes[".bss"]
    assert ours.rodata == sum(sizes.get(s, 0) for s in (".isr_vector", ".rodata", ".ARM.exidx", ".ARM.extab", ".preinit_array",
                                                              ".init_array", ".fini_array"))


def test_symbolize(firmware):
    elf = firmware("callee.c")
    fn = elf.symbol("weighted_sum6")
    assert fn.is_function
    assert elf.symbolize(fn.address) == ("weighted_sum6", 0)
    assert elf.symbolize(fn.address + 4) == ("weighted_sum6", 4)
    assert elf.symbolize(fn.address | 1) == ("weighted_sum6", 0)
    assert elf.symbolize(0x6000_0001) == (None, 0x6000_0000)
    assert elf.symbolize(elf.symbol("HardFault_Handler").address) == ("Default_Handler", 0)  # strong beats weak alias


def test_format_symbol():
    assert format_symbol("weighted_sum6", 0) == "weighted_sum6"
    assert format_symbol("weighted_sum6", 4) == "weighted_sum6+0x4"
    assert format_symbol(None, 0x6000_0000) == "0x60000000"


def _corrupt(tmp_path, elf: ElfImage, name: str, edit) -> str:
    raw = bytearray(elf.path.read_bytes())
    raw = edit(raw)
    path = tmp_path / name
    path.write_bytes(bytes(raw))
    return str(path)


@pytest.mark.parametrize("name, edit, message", [
    ("empty.elf", lambda raw: b"", "no ELF magic"),
    ("text.elf", lambda raw: b"hello, world\n" * 10, "no ELF magic"),
    ("header-cut.elf", lambda raw: raw[:30], "truncated or corrupt"),
    ("half.elf", lambda raw: raw[: len(raw) // 8], "truncated"),
    ("x86.elf", lambda raw: raw[:18] + (62).to_bytes(2, "little") + raw[20:], "not a 32-bit little-endian ARM ELF"),
])
def test_hostile_files_get_one_line_errors(tmp_path, firmware, name, edit, message):
    path = _corrupt(tmp_path, firmware("hello.c"), name, edit)
    with pytest.raises(ElfError, match=message) as info:
        ElfImage(path)
    assert name in str(info.value) and "\n" not in str(info.value)


def test_missing_file():
    with pytest.raises(ElfError, match="no such file"):
        ElfImage("/nonexistent/fw.elf")


def test_segment_outside_the_board(firmware):
    elf = firmware("hello.c", board="stm32h743")  # RAM at 0x24000000: not on the F427
    with pytest.raises(ElfError, match=r"outside stm32f427's memory map; rebuild it for stm32f427"):
        Emulator(get_board("stm32f427"), elf)


def test_image_larger_than_flash(firmware):
    """1.5 MB of constants: links for the H743 (2 MB flash), refused on the F746 (1 MB)."""
    elf = firmware("big_flash.c", board="stm32h743")
    assert elf.sizes(get_board("stm32h743")).rodata >= 1536 * 1024
    with pytest.raises(ElfError, match="outside stm32f746's memory map"):
        Emulator(get_board("stm32f746"), elf)
