"""`mcusim build`'s own options as a user runs them: --cflags and --ldflags reach gcc (and the cache
key), refused flags are one line with exit 64, --keep makes a function callable, --warnings prints
the compiler's warnings, and --no-main builds call-only firmware."""

import pytest

from mcusim import toolchain
from mcusim.boards import get_board
from mcusim.cli import main
from mcusim.elf import ElfImage
from mcusim.emulator import Emulator
from mcusim.toolchain import build

needs_gcc = pytest.mark.toolchain

# No main(): call-only firmware. Nothing calls its functions, so --gc-sections drops them unless kept.
LIBRARY = """\
int triple(int x) { return 3 * x; }
#ifdef OFFSET
int offset(void) { return OFFSET; }
#endif
"""
WITH_MAIN = """\
int triple(int x) { return 3 * x; }
int main(void) { int unused; return 0; }
"""


@pytest.fixture
def source(tmp_path, monkeypatch):
    """source(C text) -> the path of a C file holding it, with a private build cache."""
    monkeypatch.setenv("MCUSIM_CACHE", str(tmp_path / "cache"))

    def make(text: str, name: str = "lib.c") -> str:
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    return make


def _build(src: str, elf, *options: str) -> int:
    return main(["build", src, "--board", "stm32f746", "-o", str(elf), *options])


def _call(elf, function: str, *args: int) -> int:
    return Emulator(get_board("stm32f746"), ElfImage(elf)).call(function, *args)


@pytest.mark.parametrize("option, value, named", [
    ("--cflags", "-O3 -o /tmp/elsewhere.elf", "-o"),
    ("--cflags", "-MD -MF deps.d", "-MD"),
    ("--cflags", "-specs=/etc/evil.specs", "-specs=/etc/evil.specs"),
    ("--cflags", "-I/etc", "-I/etc"),
    ("--cflags", "-B/tmp/bin", "-B/tmp/bin"),
    ("--cflags", "-fplugin=/tmp/p.so", "-fplugin=/tmp/p.so"),
    ("--cflags", "-save-temps", "-save-temps"),
    ("--cflags", "-c", "-c"),
    ("--cflags", "--output=x.elf", "--output=x.elf"),
    ("--cflags", "/etc/passwd", "/etc/passwd"),
    ("--ldflags", "@args.txt", "@args.txt"),
    ("--ldflags", "-Wl,-Map=out.map", "-Map=out.map"),
    ("--ldflags", "-Wl,--outp=x.elf", "--outp=x.elf"),  # ld takes abbreviations: an allowlist
    ("--ldflags", "-Xlinker -T -Xlinker evil.ld", "-T"),
    ("--ldflags", "-L/usr/lib -lfoo", "-L/usr/lib"),
    ("--cflags", "'unbalanced", "No closing quotation"),
    ("--keep", "f,-Map=x", "f,-Map=x"),
])
def test_a_refused_flag_is_one_line_exit_64(tmp_path, capsys, option, value, named):
    """Refused before any work, gcc or not: nothing is written."""
    elf = tmp_path / "x.elf"
    assert _build(str(tmp_path / "any.c"), elf, option, value) == 64
    err = capsys.readouterr().err
    assert err.startswith(f"mcusim: {option}") and err.count("\n") == 1 and named in err
    assert not elf.exists()


def test_check_flags_lets_code_generation_and_linking_through():
    toolchain.check_flags(["-O3", "-funroll-loops", "-flto", "-D", "X=1", "-UY", "-Wextra", "-Werror", "-mno-unaligned-access",
                           "--param", "max-inline-insns-auto=30"], "--cflags")
    toolchain.check_flags(["-u", "_printf_float", "-lm", "-Wl,--wrap=malloc,-u,f,--print-memory-usage",
                           "-Xlinker", "--defsym", "-Xlinker", "X=1"], "--ldflags")


@needs_gcc
def test_cflags_reach_gcc(source, tmp_path):
    src, elf = source(LIBRARY), tmp_path / "lib.elf"
    assert _build(src, elf, "--no-main", "--keep", "offset", "--cflags", "-DOFFSET=7 -funroll-loops") == 0
    assert _call(elf, "offset") == 7
    assert _build(src, elf, "--no-main", "--keep", "offset", "--cflags=-DOFFSET=9", "--cflags", "-flto") == 0
    assert _call(elf, "offset") == 9


@needs_gcc
def test_ldflags_reach_the_linker(source, tmp_path):
    elf = tmp_path / "lib.elf"
    assert _build(source(WITH_MAIN), elf, "--ldflags", "-u _printf_float") == 0
    assert ElfImage(elf).has_symbol("_printf_float")  # newlib-nano's float printf, linked in on request


@needs_gcc
def test_keep_makes_a_function_callable(source, tmp_path):
    src, elf = source(WITH_MAIN), tmp_path / "main.elf"
    assert _build(src, elf) == 0
    assert not ElfImage(elf).has_symbol("triple")  # nothing calls it: --gc-sections dropped it
    assert _build(src, elf, "--keep", "triple") == 0
    assert _call(elf, "triple", 14) == 42


@needs_gcc
def test_keeping_a_symbol_the_sources_lack_is_one_line(source, tmp_path, capsys):
    assert _build(source(WITH_MAIN), tmp_path / "x.elf", "--keep", "quadruple") == 65
    err = capsys.readouterr().err
    assert err.startswith("mcusim: build for stm32f746 failed: --keep quadruple: no function or variable")
    assert err.count("\n") == 1


@needs_gcc
def test_warnings_are_printed_on_request_cache_hit_too(source, tmp_path, capsys):
    src = source(WITH_MAIN)
    assert _build(src, tmp_path / "a.elf") == 0
    assert "warning:" not in capsys.readouterr().err
    for _ in range(2):  # the second build is a cache hit
        assert _build(src, tmp_path / "a.elf", "--warnings") == 0
        assert "warning: unused variable 'unused'" in capsys.readouterr().err


@needs_gcc
def test_call_only_firmware(source, tmp_path, capsys):
    src, elf = source(LIBRARY), tmp_path / "lib.elf"
    assert _build(src, elf) == 65
    err = capsys.readouterr().err
    assert "define no main()" in err and "--no-main" in err and err.count("\n") == 1
    assert _build(src, elf, "--no-main", "--keep", "triple") == 0
    assert _call(elf, "triple", -5) == -15
    assert main(["run", str(elf), "--board", "stm32f746", "--json"]) == 0  # from reset: main() returns 0


@needs_gcc
def test_the_cache_distinguishes_flags(source, tmp_path, compiles):
    src = source(WITH_MAIN)
    board = get_board("stm32f746")
    for cflags, ldflags in [((), ()), (("-DX",), ()), (("-DX",), ()), ((), ("-DX",)), (("-DY",), ()),
                            (("-DX", "-DY"), ()), (("-DX",), ("-DY",))]:
        build([src], board, tmp_path / "x.elf", cflags=cflags, ldflags=ldflags)
    assert len(compiles) == 6  # one hit: the same -DX again
    build([src], board, tmp_path / "x.elf", keep=["triple"])
    build([src], board, tmp_path / "x.elf", keep=["triple"], call_only=False)
    assert len(compiles) == 7
