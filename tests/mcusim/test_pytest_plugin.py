"""mcusim's pytest plugin (mcusim/pytest_plugin.py), as a user's test suite sees it: a folder of the
user's own tests, run by pytest in a process of its own (the plugin comes from the installed entry
point), each test's outcome and failure text read from the JUnit XML report."""
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET

import pytest

from mcusim.toolchain import RUNTIME_C

EXAMPLES = RUNTIME_C / "examples" / "fuzz"

USER_TESTS = f'''
import numpy as np
import pytest
from hypothesis import given, settings

from mcusim.testing import In, Int, Out, int8_arrays, sizes

KERNEL = "{EXAMPLES / 'relu_s8.c'}"
REFERENCE = "{EXAMPLES / 'relu_ref.py'}:relu_s8"


def test_passes(mcusim_fuzz, mcusim_board):
    report = mcusim_fuzz([KERNEL], REFERENCE, examples=150, max_stack=256)
    assert report.passed and report.examples == 150 and report.board == mcusim_board.name
    assert 0 < report.worst["cycles"] and 0 < report.worst["stack"] <= 256


def test_rounding_bug(mcusim_fuzz):
    mcusim_fuzz([KERNEL], REFERENCE, defines=["SEED_ROUNDING_BUG"])


def test_overrun_bug(mcusim_fuzz):
    mcusim_fuzz([KERNEL], REFERENCE, defines=["SEED_OVERRUN_BUG"])


def test_cycle_budget(mcusim_fuzz):
    mcusim_fuzz([KERNEL], REFERENCE, max_cycles=2000)


def copy_s8(x: In[np.int8, "n"], y: Out[np.int8, "n"], n: Int["n", 1, 64]):
    y[:] = x


@settings(max_examples=40, deadline=None)
@given(x=int8_arrays(7))
def test_own_property(mcusim_kernel, x):
    kernel = mcusim_kernel(["copy.c"], copy_s8)
    kernel.check(x=x, n=7)


@settings(max_examples=40, deadline=None)
@given(x=int8_arrays(7))
def test_own_property_bug(mcusim_kernel, x):
    kernel = mcusim_kernel(["copy.c"], copy_s8, defines=["DROP_LAST"])
    kernel.check(x=x, n=7)


def test_build_error(mcusim_fuzz):
    mcusim_fuzz(["missing.c"], copy_s8)
'''

COPY_C = """
#include <stdint.h>
void copy_s8(const int8_t *x, int8_t *y, int32_t n)
{
#ifdef DROP_LAST
    n -= 1;
#endif
    for (int32_t i = 0; i < n; i++) {
        y[i] = x[i];
    }
}
"""


def run_pytest(folder, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args], cwd=folder,
                          capture_output=True, text=True)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """Test id -> (outcome, failure text) of USER_TESTS run on the default boards."""
    folder = tmp_path_factory.mktemp("user-suite")
    (folder / "test_user.py").write_text(USER_TESTS)
    (folder / "copy.c").write_text(COPY_C)
    done = run_pytest(folder, "--junitxml", str(folder / "report.xml"))
    assert done.returncode == 1, done.stdout + done.stderr  # some tests are meant to fail
    found = {}
    for case in ET.parse(folder / "report.xml").getroot().iter("testcase"):
        failed = case.find("failure")
        error = case.find("error")
        text = (failed if failed is not None else error)
        found[case.get("name")] = ("failed" if failed is not None else "error" if error is not None else "passed",
                                   "" if text is None else text.get("message", "") + "\n" + (text.text or ""))
    return found


pytestmark = pytest.mark.toolchain


def test_the_fixtures_run_once_per_default_board(outcomes):
    assert {name for name in outcomes if name.startswith("test_passes")} == \
        {"test_passes[stm32f427]", "test_passes[stm32f746]"}
    assert outcomes["test_passes[stm32f427]"][0] == outcomes["test_passes[stm32f746]"][0] == "passed"


def test_a_rounding_bug_fails_the_test_with_the_shrunk_counterexample(outcomes):
    outcome, text = outcomes["test_rounding_bug[stm32f746]"]
    assert outcome == "failed"
    assert "relu_s8 on stm32f746: FAILED: relu_s8 differs from the reference at y[0]" in text
    assert "first difference" in text and "reference" in text
    assert "replay: pytest 'test_user.py::test_rounding_bug[stm32f746]'" in text
    assert "Traceback" not in text


def test_an_overrun_fails_naming_the_guard(outcomes):
    outcome, text = outcomes["test_overrun_bug[stm32f427]"]
    assert outcome == "failed" and "wrote outside y" in text and "a guard byte changed" in text


def test_a_budget_fails_naming_the_figure(outcomes):
    outcome, text = outcomes["test_cycle_budget[stm32f746]"]
    assert outcome == "failed" and "relu_s8: cycles" in text and "over the budget of 2,000" in text


def test_property_tests_of_ones_own_strategies(outcomes):
    assert outcomes["test_own_property[stm32f746]"][0] == "passed"
    outcome, text = outcomes["test_own_property_bug[stm32f746]"]
    assert outcome == "failed" and "copy_s8 differs from the reference at y[6]" in text


def test_a_build_error_is_one_line(outcomes):
    outcome, text = outcomes["test_build_error[stm32f427]"]
    assert outcome == "failed" and "mcusim:" in text and "missing.c" in text and "Traceback" not in text


def test_boards_and_examples_come_from_the_command_line(tmp_path):
    (tmp_path / "test_one.py").write_text(textwrap.dedent(f'''
        def test_relu(mcusim_fuzz, mcusim_board):
            report = mcusim_fuzz(["{EXAMPLES / 'relu_s8.c'}"], "{EXAMPLES / 'relu_ref.py'}:relu_s8")
            assert report.examples == 30 and report.seed == 5
            print("ran on", mcusim_board.name)
        '''))
    done = run_pytest(tmp_path, "-s", "--mcusim-board", "stm32h743", "--mcusim-examples", "30", "--mcusim-seed", "5")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ran on stm32h743" in done.stdout and "1 passed" in done.stdout


@pytest.mark.parametrize("args, message", [
    (["--mcusim-board", "stm32f999"], "--mcusim-board stm32f999: no such board; boards: stm32f427"),
    (["--mcusim-examples", "0"], "--mcusim-examples: give 1 or more"),
])
def test_a_bad_option_is_a_usage_error(tmp_path, args, message):
    (tmp_path / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    done = run_pytest(tmp_path, *args)
    assert done.returncode == 4 and message in done.stderr and "Traceback" not in done.stderr


def test_without_hypothesis_the_fixtures_name_the_testing_extra(tmp_path):
    """pytest without hypothesis (mcusim installed without its 'testing' extra): the plugin loads,
    and a test that uses its fixtures fails in one line naming the extra."""
    (tmp_path / "conftest.py").write_text("import sys\nsys.modules['hypothesis'] = None\n")
    (tmp_path / "test_one.py").write_text("def test_relu(mcusim_fuzz):\n    mcusim_fuzz(['k.c'], 'ref.py:f')\n")
    done = run_pytest(tmp_path, "-p", "no:hypothesispytest", "--mcusim-board", "stm32f746")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "mcusim: hypothesis is not installed; it comes with the 'testing' extra: pip install 'mcusim[testing]'" \
        in done.stdout and "Traceback" not in done.stdout
