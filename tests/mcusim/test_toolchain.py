import subprocess

import pytest

from mcusim.boards import get_board
from mcusim.elf import ElfImage
from mcusim.errors import BuildError
from mcusim.toolchain import GUARD, build, linker_script

from .conftest import FIRMWARE


@pytest.mark.parametrize("board", ["stm32f427", "stm32f746", "stm32h743"])
def test_linker_script_reserves_guard_and_stack_at_the_top_of_ram(board):
    b = get_board(board)
    script = linker_script(b, stack_size=4096)
    assert f"STACK (rw) : ORIGIN = {b.ram.end - 4096 - GUARD:#010x}, LENGTH = {4096 + GUARD:#x}" in script
    for region in b.extra:
        assert f"{region.name} (" in script


needs_gcc = pytest.mark.toolchain


@needs_gcc
@pytest.mark.parametrize("board", ["stm32f427", "stm32f746", "stm32h743"])
def test_builds_for_each_core_with_its_fpu(firmware, board):
    elf = firmware("hello.c", board=board)
    attrs = subprocess.run(["arm-none-eabi-readelf", "-A", str(elf.path)], capture_output=True, text=True).stdout
    fpu = get_board(board).core.fpu
    assert 'Tag_CPU_arch: v7E-M' in attrs
    assert {"fpv4-sp-d16": "VFPv4-D16", "fpv5-sp-d16": "FPv5", "fpv5-d16": "FPv5"}[fpu] in attrs
    assert ("Tag_ABI_HardFP_use: SP only" in attrs) == ("-sp-" in fpu)
    assert "Tag_ABI_VFP_args: VFP registers" in attrs
    layout = {s: elf.symbol(s).address for s in ("__heap_limit", "__stack_limit", "__stack_top")}
    assert layout["__stack_top"] == get_board(board).ram.end
    assert layout["__stack_limit"] - layout["__heap_limit"] == GUARD


@needs_gcc
def test_ram_overflow_names_board_and_excess(tmp_path):
    with pytest.raises(BuildError) as info:
        build([FIRMWARE / "big_ram.c"], get_board("stm32f427"), tmp_path / "x.elf", defines=["RAM_BYTES=200000"])
    msg = str(info.value)
    assert "does not fit stm32f427: RAM" in msg and "overflowed by" in msg
    available = 192 * 1024 - 8192 - GUARD
    excess = int(msg.split("overflowed by ")[1].split()[0])
    assert excess >= 200000 - available  # plus .data/.bss of the runtime


@needs_gcc
def test_flash_overflow_names_board(tmp_path):
    with pytest.raises(BuildError, match=r"does not fit stm32f746: FLASH \(1048576 bytes available\) overflowed by"):
        build([FIRMWARE / "big_flash.c"], get_board("stm32f746"), tmp_path / "x.elf")


@needs_gcc
def test_compile_error_is_one_line_with_location(tmp_path):
    src = tmp_path / "broken.c"
    src.write_text("int main(void) { return undefined_thing; }\n")
    with pytest.raises(BuildError, match=r"broken.c:1:.*error.*undefined_thing") as info:
        build([src], get_board("stm32f746"), tmp_path / "x.elf")
    assert "\n" not in str(info.value)


@needs_gcc
def test_cache_hits_and_invalidates_on_header_change(tmp_path, monkeypatch, compiles):
    monkeypatch.setenv("MCUSIM_CACHE", str(tmp_path / "cache"))
    (tmp_path / "inc").mkdir()
    header = tmp_path / "inc" / "value.h"
    header.write_text("#define VALUE 1\n")
    src = tmp_path / "main.c"
    src.write_text('#include "value.h"\nint main(void) { return VALUE; }\n')
    board = get_board("stm32f746")
    first = build([src], board, tmp_path / "a.elf", include_dirs=[tmp_path / "inc"]).read_bytes()
    second = build([src], board, tmp_path / "b.elf", include_dirs=[tmp_path / "inc"]).read_bytes()
    assert len(compiles) == 1 and first == second
    header.write_text("#define VALUE 2\n")
    build([src], board, tmp_path / "c.elf", include_dirs=[tmp_path / "inc"])
    assert len(compiles) == 2


@pytest.mark.parametrize("kwargs, message", [
    ({"opt": "9"}, "optimization level"),
    ({"stack_size": 100}, "multiple of 8"),
    ({"stack_size": 1 << 20}, "does not fit"),
])
def test_bad_options(tmp_path, kwargs, message):
    with pytest.raises(BuildError, match=message):
        build([FIRMWARE / "hello.c"], get_board("stm32f746"), tmp_path / "x.elf", **kwargs)


def test_missing_source(tmp_path):
    with pytest.raises(BuildError, match="no such file"):
        build([tmp_path / "nope.c"], get_board("stm32f746"), tmp_path / "x.elf")


def test_elf_from_build_loads(firmware):
    assert isinstance(firmware("hello.c"), ElfImage)
