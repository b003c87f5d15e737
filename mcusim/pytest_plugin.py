"""mcusim's pytest plugin: your C kernels against their Python references, from your own test suite.

Installed with mcusim (entry point pytest11), it gives any test suite these fixtures; references are
annotated as for `mcusim fuzz` (mcusim.testing):

    import numpy as np
    from mcusim.testing import In, Int, Out

    def relu_s8(x: In[np.int8, "n"], y: Out[np.int8, "n"], n: Int["n", 1, 256]):
        y[:] = np.maximum(x, 0)

    def test_relu(mcusim_fuzz):
        report = mcusim_fuzz(["relu_s8.c"], relu_s8, max_cycles=5000)   # fails the test on a counterexample

mcusim_board   the Board of the test. A test that uses it, or a fixture below, runs once per board of
               --mcusim-board (repeatable; default: DEFAULT_BOARDS).
mcusim_fuzz    mcusim_fuzz(sources, reference, *, examples=None, seed=None, **build) -> fuzz.Report:
               fuzzes the C function on mcusim_board and returns the report; a counterexample (a
               mismatch, an overrun, a fault, a budget exceeded) fails the test with its text.
               examples and seed default to --mcusim-examples and --mcusim-seed.
mcusim_kernel  mcusim_kernel(sources, reference, **build) -> fuzz.Fuzzer, for property tests of your
               own strategies: `@given(...)` then `kernel.check(x=..., n=...)`, which raises an
               AssertionError naming what differs. Module-scoped, so hypothesis accepts it.

**build: function (default: the reference's name), include_dirs, defines, dsp (default True: the
sources see -DMCUSIM_DSP=1), opt, max_cycles, max_stack (budgets per call), max_instructions. The
reference is a function or "REF.py:FUNC". Relative paths (sources, include_dirs, REF.py) are taken
from the test file's folder. Firmware is built once per session and board (and the build cache of
mcusim.toolchain keeps it across sessions).
"""
from __future__ import annotations

from pathlib import Path

import pytest

DEFAULT_BOARDS = ("stm32f427", "stm32f746")  # a Cortex-M4 and a Cortex-M7
DEFAULT_EXAMPLES = 100
_FUZZERS = pytest.StashKey[dict]()


def pytest_addoption(parser):
    group = parser.getgroup("mcusim", "mcusim: C kernels fuzzed in the Cortex-M emulator")
    group.addoption("--mcusim-board", action="append", metavar="NAME",
                    help=f"run tests that use mcusim_board on this board (repeatable; default: {', '.join(DEFAULT_BOARDS)})")
    group.addoption("--mcusim-examples", type=int, default=DEFAULT_EXAMPLES, metavar="N",
                    help="examples per mcusim_fuzz call (default %(default)s)")
    group.addoption("--mcusim-seed", type=int, default=0, metavar="S", help="seed of mcusim_fuzz (default 0)")


def pytest_configure(config):
    from .boards import BOARDS

    unknown = [n for n in config.getoption("mcusim_board") or () if n not in BOARDS]
    if unknown:
        raise pytest.UsageError(f"--mcusim-board {unknown[0]}: no such board; boards: {', '.join(BOARDS)}")
    if config.getoption("mcusim_examples") < 1:
        raise pytest.UsageError("--mcusim-examples: give 1 or more")
    config.stash[_FUZZERS] = {}


def pytest_generate_tests(metafunc):
    if "mcusim_board" in metafunc.fixturenames:
        names = metafunc.config.getoption("mcusim_board") or DEFAULT_BOARDS
        metafunc.parametrize("mcusim_board", list(dict.fromkeys(names)), indirect=True, scope="session")


@pytest.fixture(scope="session")
def mcusim_board(request):
    """The Board a test runs on (parametrized by --mcusim-board)."""
    from .boards import get_board

    return get_board(request.param)


def _resolve(folder: Path, path) -> Path:
    path = Path(path)
    return path if path.is_absolute() else folder / path


@pytest.fixture(scope="module")
def mcusim_kernel(request, mcusim_board):
    """A factory: (sources, reference, **build) -> Fuzzer on mcusim_board (module docstring)."""
    folder = request.path.parent
    fuzzers = request.config.stash[_FUZZERS]

    def kernel(sources, reference, *, function: str | None = None, include_dirs=(), defines=(), dsp: bool = True,
               opt: str = "2", max_cycles: int | None = None, max_stack: int | None = None,
               max_instructions: int | None = None):
        from .errors import McusimError, missing_extra

        try:
            from . import fuzz
        except ModuleNotFoundError as e:
            missing = missing_extra(e)
            if missing is None:
                raise
            pytest.fail(f"mcusim: {missing}", pytrace=False)
        sources = tuple(_resolve(folder, s) for s in ([sources] if isinstance(sources, (str, Path)) else sources))
        include_dirs = tuple(_resolve(folder, d) for d in include_dirs)
        key = (sources, mcusim_board.name, reference, function, include_dirs, tuple(defines), dsp, opt,
               max_cycles, max_stack, max_instructions)
        if key not in fuzzers:
            try:
                if isinstance(reference, (str, Path)):
                    reference = fuzz.load_reference(str(reference), function, folder)
                fuzzers[key] = fuzz.build_fuzzer(
                    list(sources), mcusim_board, reference, function=function, include_dirs=list(include_dirs),
                    defines=list(defines), dsp=dsp, opt=opt, budgets=fuzz.Budgets(max_cycles, max_stack),
                    max_instructions=max_instructions or fuzz.CALL_MAX_INSTRUCTIONS)
            except McusimError as e:
                pytest.fail(f"mcusim: {e}", pytrace=False)
        return fuzzers[key]

    return kernel


@pytest.fixture
def mcusim_fuzz(request, mcusim_kernel):
    """A function: (sources, reference, *, examples=None, seed=None, **build) -> Report (module docstring)."""
    config = request.config

    def fuzz(sources, reference, *, examples: int | None = None, seed: int | None = None, **build):
        from .errors import UsageError

        fuzzer = mcusim_kernel(sources, reference, **build)
        option = config.getoption("mcusim_seed")
        try:
            report = fuzzer.run(examples or config.getoption("mcusim_examples"), option if seed is None else seed)
        except UsageError as e:
            pytest.fail(f"mcusim: {e}", pytrace=False)
        if not report.passed:
            # the draws are the seed's: the same test on the same options replays the counterexample
            report.counterexample["replay"] = f"pytest '{request.node.nodeid}'" + (
                f" --mcusim-seed {option}" if seed is None and option else "")
            pytest.fail(f"{report.function} on {report.board}: {report.text()}", pytrace=False)
        return report

    return fuzz
