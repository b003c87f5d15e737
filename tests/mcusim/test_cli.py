"""The `mcusim` command as a user runs it: output, JSON keys, exit statuses (sysexits), the one
vocabulary of every registered command, and plugins that fail to load."""
import argparse
import json

import pytest

import mcusim.cli
from mcusim.boards import BOARDS
from mcusim.cli import main, parser
from mcusim.toolchain import RUNTIME_C

from .conftest import FIRMWARE

RUN_KEYS = {"exit_code", "output", "instructions", "cycles", "sram", "flash", "markers"}


def test_boards_table(capsys):
    assert main(["boards"]) == 0
    out = capsys.readouterr().out
    for name in ("stm32f427", "stm32f746", "stm32h743"):
        assert name in out


def test_boards_json(capsys):
    assert main(["boards", "--json"]) == 0
    boards = json.loads(capsys.readouterr().out)
    assert [b["name"] for b in boards] == list(BOARDS)
    assert all(b["ram"]["size"] == BOARDS[b["name"]].ram.size and b["clock_hz"] > 0 for b in boards)


def _commands() -> dict[str, argparse.ArgumentParser]:
    """Every command of `mcusim`, the plugins' too."""
    return next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction)).choices


IMAGE_ROLES = {"--train-images", "--val-images", "--int8-val-images", "--calibration-images", "--test-images"}
OLD_SPELLINGS = {"--limit", "--calibration-samples", "--validation", "--int8-images", "--samples"}


def test_every_command_speaks_the_one_vocabulary():
    """--json everywhere; image counts only by role; one --seed default; --board's help names the
    registry's boards; the old spellings parse but --help does not show them."""
    for name, p in _commands().items():
        shown = {s: a for a in p._actions if a.help != argparse.SUPPRESS for s in a.option_strings}
        hidden = {s for a in p._actions if a.help == argparse.SUPPRESS for s in a.option_strings}
        assert "--json" in shown, name
        assert not shown.keys() & OLD_SPELLINGS and hidden <= OLD_SPELLINGS, name
        assert {s for s in shown if s.endswith("-images")} <= IMAGE_ROLES, name
        if "--seed" in shown:
            assert shown["--seed"].default == 0, name
        if "--board" in shown:
            assert all(b in shown["--board"].help for b in BOARDS), name
        if "--output" in shown:
            assert "-o" in shown, name


class _EntryPoint:
    def __init__(self, name, register):
        self.name, self.value, self._register = name, f"tests:{name}", register

    def load(self):
        if self._register is None:
            raise ModuleNotFoundError("No module named 'mcusim_gone'")
        return self._register


def _half_register(sub):
    sub.add_parser("half")
    raise RuntimeError("boom\non two lines")


def test_a_broken_plugin_is_named_and_the_other_commands_work(monkeypatch, capsys):
    monkeypatch.setattr(mcusim.cli, "entry_points", lambda group: [_EntryPoint("gone", None),
                                                                   _EntryPoint("half", _half_register)])
    assert main(["boards"]) == 0
    out, err = capsys.readouterr()
    assert "stm32f746" in out
    gone, half = err.splitlines()
    assert gone.startswith("mcusim: warning:") and "'gone'" in gone and "ModuleNotFoundError: No module named" in gone
    assert "'half'" in half and "RuntimeError: boom on two lines" in half
    with pytest.raises(SystemExit) as e:  # what the half-registered plugin added is taken back
        main(["half"])
    assert e.value.code == 64


def test_unknown_board_is_a_usage_error(capsys):
    assert main(["run", "x.elf", "--board", "nrf52"]) == 64
    err = capsys.readouterr().err
    assert err.startswith("mcusim: unknown board 'nrf52'") and err.count("\n") == 1


def test_bad_elf_is_a_data_error(tmp_path, capsys):
    bad = tmp_path / "bad.elf"
    bad.write_bytes(b"not an elf")
    assert main(["run", str(bad), "--board", "stm32f746", "--json"]) == 65
    out, err = capsys.readouterr()
    assert "no ELF magic" in json.loads(out)["error"]
    assert err.count("\n") == 1


needs_gcc = pytest.mark.toolchain


@needs_gcc
def test_build_then_run_json(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MCUSIM_CACHE", str(tmp_path / "cache"))
    elf = tmp_path / "hello.elf"
    assert main(["build", str(FIRMWARE / "hello.c"), "--board", "stm32f427", "-o", str(elf), "-D", "LOOPS=10",
                 "-O", "s", "--json"]) == 0
    built = json.loads(capsys.readouterr().out)
    assert built["output"] == str(elf) and built["board"] == "stm32f427" and built["text"] > 0
    trace = tmp_path / "t.json"
    assert main(["run", str(elf), "--board", "stm32f427", "--json", "--trace", str(trace)]) == 3
    report = json.loads(capsys.readouterr().out)
    assert RUN_KEYS <= report.keys() and "fault" not in report
    assert report["exit_code"] == 3 and report["output"].startswith("hello 42")
    assert set(report["sram"]) == {"static", "stack_peak", "heap_peak", "total_peak"}
    assert set(report["flash"]) == {"text", "rodata", "data", "total"}
    assert [m["name"] for m in report["markers"]] == ["start", "end"]
    events = json.loads(trace.read_text())["traceEvents"]
    slices = [e for e in events if e["ph"] == "X"]
    assert [s["name"] for s in slices] == ["start", "end"]
    assert slices[0]["args"]["cycles"] == report["markers"][1]["cycles"] - report["markers"][0]["cycles"]


@pytest.fixture
def build_main(tmp_path, monkeypatch):
    """build_main(C text) -> path of the ELF that `mcusim build --board stm32f746` made of it."""
    monkeypatch.setenv("MCUSIM_CACHE", str(tmp_path / "cache"))

    def make(text: str) -> str:
        src, elf = tmp_path / "main.c", tmp_path / "main.elf"
        src.write_text(text)
        assert main(["build", str(src), "--board", "stm32f746", "-o", str(elf)]) == 0
        return str(elf)

    return make


@needs_gcc
def test_fault_exits_70_and_still_prints_json(build_main, capsys):
    elf = build_main("int main(void) { return *(volatile int *)0x60000000; }\n")
    assert main(["run", str(elf), "--board", "stm32f746", "--json"]) == 70
    out = capsys.readouterr().out
    fault = json.loads(out)["fault"]
    assert fault["kind"] == "unmapped_read" and fault["symbol"].startswith("main") and fault["address"] == 0x6000_0000
    assert main(["run", str(elf), "--board", "stm32f746"]) == 70
    err = capsys.readouterr().err
    assert "mcusim: read of 4 bytes at unmapped address 0x60000000 at main" in err


@needs_gcc
def test_runaway_firmware_stops_at_the_budget(build_main, capsys):
    elf = build_main("int main(void) { for (;;) { __asm__ volatile(\"nop\"); } }\n")
    assert main(["run", str(elf), "--board", "stm32f746", "--json", "--max-instructions", "50000"]) == 70
    report = json.loads(capsys.readouterr().out)
    assert report["fault"]["kind"] == "budget_exhausted"
    assert 50_000 < report["instructions"] < 50_100


@needs_gcc
def test_build_error_exits_65(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MCUSIM_CACHE", str(tmp_path / "cache"))
    src = tmp_path / "bad.c"
    src.write_text("int main(void) { return nope; }\n")
    assert main(["build", str(src), "--board", "stm32f746", "-o", str(tmp_path / "x.elf")]) == 65
    assert "error" in capsys.readouterr().err


@pytest.fixture
def matmul_bench(tmp_path, monkeypatch):
    """The bundled int8 matmul benchmark (runtime_c/examples/matmul_bench.c), built for the F746."""
    monkeypatch.setenv("MCUSIM_CACHE", str(tmp_path / "cache"))
    elf = str(tmp_path / "matmul_bench.elf")
    assert main(["build", str(RUNTIME_C / "examples" / "matmul_bench.c"), "--board", "stm32f746", "-o", elf,
                 "-D", "BENCH_PASSES=4"]) == 0
    return elf


@needs_gcc
def test_run_prints_a_report(matmul_bench, capsys):
    assert main(["run", matmul_bench, "--board", "stm32f746"]) == 0
    out = capsys.readouterr().out
    assert "matmul_s8 49x64x64" in out and "checksum" in out
    assert "stm32f746" in out and "SRAM" in out and "cycles" in out


@needs_gcc
def test_profile_attributes_every_cycle(matmul_bench, capsys):
    assert main(["run", matmul_bench, "--board", "stm32f746", "--json", "--profile"]) == 0
    report = json.loads(capsys.readouterr().out)
    profile = report["profile"]
    assert sum(e["cycles"] for e in profile) == report["cycles"]
    assert sum(e["instructions"] for e in profile) == report["instructions"]
    top = profile[0]
    assert top["function"] == "matmul_s8" and top["cycles"] > 0.9 * report["cycles"]
    assert "memchr" in {e["function"] for e in profile}  # sizeless assembly functions are named too
    memory = report["memory"]
    assert sum(e["stall"] for e in profile) == memory["fetch_stall"] + memory["data_stall"] > 0
    assert memory["icache_misses"] > 0 and memory["icache_hits"] > 100 * memory["icache_misses"]


@needs_gcc
def test_the_report_and_profile_show_the_flash_caches(matmul_bench, capsys):
    assert main(["run", matmul_bench, "--board", "stm32f746", "--profile"]) == 0
    out = capsys.readouterr().out
    caches = next(line for line in out.splitlines() if line.startswith("flash caches  I "))
    assert " misses; D " in caches and "wait states" in caches and "(fetch " in caches
    assert "wait states" in next(line for line in out.splitlines() if line.startswith("function"))
    assert main(["run", matmul_bench, "--board", "stm32f746", "--json", "--no-flash-cache"]) == 0
    off = json.loads(capsys.readouterr().out)["memory"]
    assert off["icache_hits"] == off["dcache_hits"] == 0 and off["fetch_stall"] > 0


@needs_gcc
def test_unwritable_trace_is_a_usage_error(build_main, capsys):
    elf = build_main("int main(void) { return 0; }\n")
    assert main(["run", elf, "--board", "stm32f746", "--trace", "/nonexistent/dir/t.json"]) == 64
    assert "--trace /nonexistent/dir/t.json: the folder /nonexistent/dir does not exist" in capsys.readouterr().err
