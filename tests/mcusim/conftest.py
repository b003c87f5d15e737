import hashlib
from pathlib import Path

import pytest

from mcusim.boards import get_board
from mcusim.elf import ElfImage
from mcusim.emulator import Emulator
from mcusim.toolchain import build

FIRMWARE = Path(__file__).parent / "firmware"


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory, monkeypatch_session):
    """A private build cache, so the suite never trusts ELFs from an earlier run."""
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch_session.setenv("MCUSIM_CACHE", str(cache))
    return tmp_path_factory.mktemp("elf")


@pytest.fixture(scope="session")
def monkeypatch_session():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


@pytest.fixture(scope="session")
def firmware(build_dir):
    """firmware(name, board, defines=(), **build options) -> ElfImage of tests/mcusim/firmware/<name>."""

    def make(name: str, board: str = "stm32f746", defines=(), **options) -> ElfImage:
        tag = hashlib.sha1(repr((name, board, sorted(defines), sorted(options.items()))).encode()).hexdigest()[:10]
        out = build([FIRMWARE / name], get_board(board), build_dir / f"{Path(name).stem}-{board}-{tag}.elf",
                    defines=list(defines), **options)
        return ElfImage(out)

    return make


@pytest.fixture
def emulator(firmware):
    """emulator(name, board, defines=(), **Emulator options) -> a fresh Emulator on that firmware."""

    def make(name: str, board: str = "stm32f746", defines=(), **options) -> Emulator:
        return Emulator(get_board(board), firmware(name, board, defines), **options)

    return make


@pytest.fixture
def compiles(monkeypatch) -> list:
    """The gcc commands that write a file (compile and link; not the dependency scan) run from now on."""
    import subprocess

    from mcusim import toolchain

    commands, real_run = [], subprocess.run

    def counting_run(cmd, *args, **kwargs):
        if "-o" in cmd:
            commands.append(cmd)
        return real_run(cmd, *args, **kwargs)

    monkeypatch.setattr(toolchain.subprocess, "run", counting_run)
    return commands
