"""`mcusim fuzz` (issue 23): a C kernel against its annotated Python reference in the emulator, with the
shipped examples (runtime_c/examples/fuzz/): the correct relu_s8 passes, its seeded rounding bug and
overrun are found and shrunk; faults, writes into inputs, budgets; annotation errors in one line;
`mcusim run`'s budgets; mcusim.testing's annotations, strategies and requantize."""
import json
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcusim import testing
from mcusim.cli import main
from mcusim.errors import UsageError
from mcusim.testing import In, InOut, Int, Int32, Out, Scalar, Shift, Struct, ZeroPoint
from mcusim.toolchain import RUNTIME_C

EXAMPLES = RUNTIME_C / "examples" / "fuzz"
REFERENCE = f"{EXAMPLES / 'relu_ref.py'}:relu_s8"
REPORT_KEYS = {"passed", "examples", "shrinks", "seconds", "counterexample", "worst"}
needs_gcc = pytest.mark.toolchain


@pytest.fixture(autouse=True)
def own_sys_path(monkeypatch):
    """A reference's folder goes first on sys.path (as for a test file); this test's copy of it."""
    monkeypatch.setattr(sys, "path", list(sys.path))


def fuzz(capsys, *argv: str) -> tuple[int, dict, str]:
    """`mcusim fuzz ARGV --json`: its status, its JSON and its stderr."""
    status = main(["fuzz", *argv, "--json"])
    out, err = capsys.readouterr()
    return status, json.loads(out), err


def fuzz_own(capsys, tmp_path, kernel: str, reference: str, function: str, board: str, *argv: str):
    """`fuzz` of a test's own C source against its own reference module, written as k.c and ref.py."""
    (tmp_path / "k.c").write_text(kernel)
    (tmp_path / "ref.py").write_text(reference)
    return fuzz(capsys, str(tmp_path / "k.c"), "--reference", f"{tmp_path / 'ref.py'}:{function}", "--board", board,
                *argv)


# ---- the shipped examples ------------------------------------------------------------------------

@needs_gcc
@pytest.mark.parametrize("board, dsp", [("stm32f427", "--dsp"), ("stm32f746", "--dsp"), ("stm32f746", "--no-dsp")])
def test_the_correct_kernel_passes_1000_examples(build_dir, capsys, board, dsp):
    status, report, err = fuzz(capsys, str(EXAMPLES / "relu_s8.c"), "--reference", REFERENCE, "--board", board, dsp,
                               "--examples", "1000")
    assert status == 0 and err == ""
    assert report.keys() == REPORT_KEYS and report["passed"] and report["counterexample"] is None
    assert report["examples"] == 1000 and report["shrinks"] == 0
    assert report["worst"]["cycles"] > 256 and 0 < report["worst"]["stack"] < 256  # 256 elements at most


@needs_gcc
def test_the_pass_line_names_examples_rate_and_the_worst_call(build_dir, capsys):
    assert main(["fuzz", str(EXAMPLES / "relu_s8.c"), "--reference", REFERENCE, "--board", "stm32f746",
                 "--examples", "50"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("relu_s8 on stm32f746: 50 examples passed (seed 0, ") and "examples/s" in out
    assert "worst call: " in out and " cycles, " in out and "stack peak" in out


@needs_gcc
def test_a_rounding_bug_is_found_and_shrunk_to_one_element(build_dir, capsys):
    """relu_s8.c with SEED_ROUNDING_BUG rounds the halves of its doubling multiply down: the minimal
    counterexample is one element whose product is an exact half, off by one."""
    argv = [str(EXAMPLES / "relu_s8.c"), "-D", "SEED_ROUNDING_BUG", "--reference", REFERENCE, "--board", "stm32f746"]
    status, report, err = fuzz(capsys, *argv)
    assert status == 1 and not report["passed"]
    c = report["counterexample"]
    assert c["kind"] == "mismatch" and c["sizes"] == {"n": 1} and len(c["inputs"]["x"]) == 1
    d = c["first_difference"]
    assert d["output"] == "y" and d["index"] == [0] and abs(d["kernel"] - d["reference"]) == 1
    assert c["outputs"]["y"] == {"kernel": [d["kernel"]], "reference": [d["reference"]]}
    assert err == f"mcusim: {c['message']}\n" and "differs from the reference at y[0]" in err
    assert c["replay"].startswith("mcusim fuzz ") and "--seed 0" in c["replay"]
    # the same command replays the same counterexample
    again = fuzz(capsys, *argv)[1]
    assert {k: v for k, v in again.items() if k != "seconds"} == {k: v for k, v in report.items() if k != "seconds"}


@needs_gcc
def test_the_text_report_shows_inputs_both_outputs_and_the_replay(build_dir, capsys):
    assert main(["fuzz", str(EXAMPLES / "relu_s8.c"), "-D", "SEED_ROUNDING_BUG", "--reference", REFERENCE,
                 "--board", "stm32f427"]) == 1
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].startswith("FAILED: relu_s8 differs from the reference at y[0]")
    for name in ("x", "n", "input_zp", "multiplier", "shift", "output_zp", "y", "first difference"):
        assert any(line.split()[:len(name.split())] == name.split() for line in lines), name
    assert any("kernel" in line for line in lines) and any("reference" in line for line in lines)
    assert lines[-1].startswith("replay: mcusim fuzz ") and "--board stm32f427" in lines[-1]
    assert err.count("\n") == 1


@needs_gcc
def test_a_write_past_the_output_is_caught_by_the_guard(build_dir, capsys):
    status, report, err = fuzz(capsys, str(EXAMPLES / "relu_s8.c"), "-D", "SEED_OVERRUN_BUG", "--reference", REFERENCE,
                               "--board", "stm32f746")
    c = report["counterexample"]
    assert status == 1 and c["kind"] == "overrun" and c["sizes"] == {"n": 1}
    assert c["overrun"] == {"array": "y", "offsets": [1]}  # the byte just after y[0]
    assert "wrote outside y, a 1-byte array, at byte offset 1" in err and err.count("\n") == 1


@needs_gcc
@pytest.mark.parametrize("option, figure", [("--max-cycles", "cycles"), ("--max-stack", "stack peak")])
def test_a_budget_overrun_fails_with_one_line_naming_the_figure(build_dir, capsys, option, figure):
    status, report, err = fuzz(capsys, str(EXAMPLES / "relu_s8.c"), "--reference", REFERENCE, "--board",
                               "stm32f746", option, "40")
    c = report["counterexample"]
    assert status == 1 and c["kind"] == option[len("--max-"):]
    value = c["cycles"] if figure == "cycles" else c["stack"]
    assert value > 40
    unit = " B" if figure == "stack peak" else ""
    assert err == f"mcusim: relu_s8: {figure} {value:,}{unit} over the budget of 40{unit}\n"
    assert f"{option} 40" in c["replay"]


@needs_gcc
def test_the_cycle_budget_shrinks_to_the_smallest_size_over_it(build_dir, capsys):
    """A generous budget: the counterexample is the smallest n whose call exceeds it (n - 1 fits)."""
    argv = [str(EXAMPLES / "relu_s8.c"), "--reference", REFERENCE, "--board", "stm32f746"]
    c = fuzz(capsys, *argv, "--max-cycles", "1500")[1]["counterexample"]
    n = c["sizes"]["n"]
    assert c["kind"] == "cycles" and c["cycles"] > 1500 and n > 1
    assert "x" in c["inputs"] and len(c["inputs"]["x"]) == n


# ---- other failures, on small kernels of the test's own ------------------------------------------

COPY_REF = """
import numpy as np
from mcusim.testing import In, Int, Out

def copy_s8(x: In[np.int8, "n"], y: Out[np.int8, "n"], n: Int["n", 1, 16]):
    y[:] = x
    {ret}
"""
BROKEN_COPIES = {  # C body -> (the failure kind, the reference's return statement)
    "if (n > 5) { *(volatile int8_t *)0x60000000 = 1; } for (int32_t i = 0; i < n; i++) y[i] = x[i]; return 0;":
        ("fault", ""),
    "for (int32_t i = 0; i < n; i++) { y[i] = x[i]; ((int8_t *)x)[i] = 0; } return 0;": ("input_written", ""),
    "for (int32_t i = 0; i < n; i++) y[i] = x[i]; y[-1] = 0; return 0;": ("overrun", ""),
    "for (int32_t i = 1; i < n; i++) y[i] = x[i]; return 0;": ("mismatch", ""),  # y[0] never written
    "for (int32_t i = 0; i < n; i++) y[i] = x[i]; return n;": ("return", "return n + (n > 3)"),
    "for (int32_t i = 0; i < n; i++) y[i] = x[i]; return 0;": ("reference", "assert n < 4"),
}


@needs_gcc
@pytest.mark.parametrize("body", BROKEN_COPIES)
def test_each_kind_of_failure_is_a_counterexample(build_dir, tmp_path, capsys, body):
    kind, ret = BROKEN_COPIES[body]
    status, report, err = fuzz_own(
        capsys, tmp_path, f"#include <stdint.h>\nint32_t copy_s8(const int8_t *x, int8_t *y, int32_t n) {{ {body} }}\n",
        COPY_REF.format(ret=ret), "copy_s8", "stm32f427", "--examples", "200")
    c = report["counterexample"]
    assert status == 1 and c["kind"] == kind, c
    assert err.count("\n") == 1
    minimal = {"fault": 6, "return": 4, "reference": 4}.get(kind, 1)  # shrunk to the least n that fails
    assert c["sizes"] == {"n": minimal}, c


@needs_gcc
def test_the_output_holds_fill_bytes_on_both_sides(build_dir, tmp_path, capsys):
    """A reference that leaves an element alone expects the C function to leave it alone too."""
    status, report, _ = fuzz_own(
        capsys, tmp_path, "#include <stdint.h>\nvoid half(const int8_t *x, int8_t *y, int32_t n) "
        "{ for (int32_t i = 0; i < n; i += 2) y[i] = x[i]; }\n",
        "import numpy as np\nfrom mcusim.testing import In, Int, Out\n"
        "def half(x: In[np.int8, 'n'], y: Out[np.int8, 'n'], n: Int['n', 0, 9]):\n    y[::2] = x[::2]\n",
        "half", "stm32f746", "--examples", "100")
    assert status == 0 and report["passed"]


@needs_gcc
def test_shapes_named_by_two_sizes_and_fixed_dims(build_dir, tmp_path, capsys):
    status, report, _ = fuzz_own(
        capsys, tmp_path,
        "#include <stdint.h>\nvoid row_sums(const int8_t *x, int32_t *y, const int16_t *bias, int32_t rows, "
        "int32_t cols) { for (int32_t r = 0; r < rows; r++) { int32_t s = bias[0] + bias[1]; "
        "for (int32_t c = 0; c < cols; c++) s += x[r * cols + c]; y[r] = s; } }\n",
        "import numpy as np\nfrom mcusim.testing import In, Int, Out\n"
        "def row_sums(x: In[np.int8, 'rows', 'cols'], y: Out[np.int32, 'rows'], bias: In[np.int16, 2],\n"
        "             rows: Int['rows', 1, 7], cols: Int['cols', 1, 9]):\n"
        "    y[:] = x.astype(np.int32).sum(axis=1) + int(bias[0]) + int(bias[1])\n",
        "row_sums", "stm32f427", "--examples", "150")
    assert status == 0 and report["examples"] == 150


@needs_gcc
def test_structs_carry_sizes_and_params_and_assume_keeps_the_contract(build_dir, tmp_path, capsys):
    """A dims struct that binds the sizes, a params struct of drawn fields, and a reference that
    rejects lo > hi (outside the contract: the C function would clamp in the wrong order)."""
    status, report, _ = fuzz_own(
        capsys, tmp_path,
        "#include <stdint.h>\ntypedef struct { int32_t n, h, w, c; } dims;\n"
        "typedef struct { int32_t lo, hi, offset; } range;\n"
        "int32_t clamp_s8(const range *p, const dims *d, const int8_t *x, int8_t *y) {\n"
        "  const int32_t count = d->n * d->h * d->w * d->c;\n"
        "  for (int32_t i = 0; i < count; i++) { int32_t v = x[i] + p->offset;\n"
        "    y[i] = (int8_t)(v < p->lo ? p->lo : v > p->hi ? p->hi : v); }\n  return count; }\n",
        "import numpy as np\nfrom hypothesis import assume\nfrom mcusim.testing import In, Int, Out, Struct, ZeroPoint\n"
        "def clamp_s8(p: Struct[ZeroPoint, ZeroPoint, ZeroPoint[-64, 64]], d: Struct[1, Int['h', 1, 5], 1, Int['c', 1, 9]],\n"
        "             x: In[np.int8, 'h', 'c'], y: Out[np.int8, 'h', 'c']):\n"
        "    lo, hi, offset = map(int, p)\n    assume(lo <= hi)\n"
        "    y[:] = np.clip(x.astype(np.int32) + offset, lo, hi)\n    return int(d[1] * d[3])\n",
        "clamp_s8", "stm32f746", "--examples", "150")
    assert status == 0 and report["examples"] == 150, report


INPLACE_BODIES = {  # C body of shift_left(int8_t *x, int32_t n): x[i] = x[i + 1], the last x[n - 1] = 0
    "for (int32_t i = 0; i + 1 < n; i++) x[i] = x[i + 1]; x[n - 1] = 0;": True,
    "for (int32_t i = n - 1; i > 0; i--) x[i - 1] = x[i]; x[n - 1] = 0;": False,  # reads what it wrote
}


@needs_gcc
@pytest.mark.parametrize("body", INPLACE_BODIES)
def test_an_inout_array_is_compared_after_the_call(build_dir, tmp_path, capsys, body):
    status, report, _ = fuzz_own(
        capsys, tmp_path, f"#include <stdint.h>\nvoid shift_left(int8_t *x, int32_t n) {{ {body} }}\n",
        "import numpy as np\nfrom mcusim.testing import InOut, Int\n"
        "def shift_left(x: InOut[np.int8, 'n'], n: Int['n', 1, 40]):\n    x[:-1] = x[1:].copy()\n    x[-1] = 0\n",
        "shift_left", "stm32f427", "--examples", "100")
    if INPLACE_BODIES[body]:
        assert status == 0 and report["passed"], report
    else:
        c = report["counterexample"]
        assert status == 1 and c["kind"] == "mismatch" and c["sizes"] == {"n": 3}, c
        assert c["first_difference"]["output"] == "x" and set(c["outputs"]) == {"x"}


@needs_gcc
def test_check_runs_one_example_of_ones_own(build_dir):
    from mcusim.boards import get_board
    from mcusim.fuzz import Failure, build_fuzzer, load_reference

    ref = load_reference(REFERENCE)
    fuzzer = build_fuzzer([EXAMPLES / "relu_s8.c"], get_board("stm32f427"), ref, defines=["SEED_ROUNDING_BUG"])
    args = dict(n=1, input_zp=0, multiplier=1 << 30, shift=1, output_zp=0)
    fuzzer.check(x=np.array([5], np.int8), **args)  # no half to round: the bug does not show
    with pytest.raises(Failure, match=r"(?s)differs from the reference at y\[0\]: 0 != 1\n.*kernel    \[0\]"):
        fuzzer.check(x=np.array([0], np.int8), **{**args, "input_zp": -1, "shift": 0})  # 1 * 2^30 / 2^31 = 0.5
    with pytest.raises(UsageError, match="check\\(\\) takes input_zp, multiplier, n, output_zp, shift, x; got n"):
        fuzzer.check(n=1)
    with pytest.raises(UsageError, match="x must be int8 of shape \\(1,\\), not int64 of shape \\(2,\\)"):
        fuzzer.check(x=np.array([1, 2]), **args)


# ---- errors a person can act on: one line, exit 64 -----------------------------------------------

BAD_REFERENCES = {
    "unannotated": ("def f(x: In[np.int8, 'n'], y, n: Int['n', 1, 8]): pass", "parameter y has no mcusim.testing"),
    "unbound": ("def f(x: In[np.int8, 'm'], n: Int['n', 1, 8]): pass", "size 'm' of x is bound by no Int['m'"),
    "bound_twice": ("def f(a: Int['n', 1, 8], b: Int['n', 1, 9]): pass", "size 'n' is bound twice"),
    "struct_unbound": ("def f(d: Struct[1, 'm'], n: Int['n', 1, 8]): pass", "size 'm' of d is bound by no"),
    "struct_bound_twice": ("def f(d: Struct[Int['n', 1, 4]], n: Int['n', 1, 8]): pass", "size 'n' is bound twice"),
    "rejects_all": ("def f(n: Int['n', 1, 8]):\n    assume(n > 8)", "it rejected (assume) every example drawn"),
    "keyword_only": ("def f(x: In[np.int8, 'n'], *, n: Int['n', 1, 8]): pass", "parameter n is keyword-only"),
    "float_array": ("def f(x: In[np.float32, 'n'], n: Int['n', 1, 8]): pass", "arrays are of int8, uint8"),
    "bad_size": ("def f(n: Int['n', 9, 1]): pass", "give Int[\"name\", lo, hi] with 0 <= lo <= hi"),
    "raises": ("raise RuntimeError('not today')\ndef f(): pass", "failed: RuntimeError: not today"),
    "no_such_function": ("def g(): pass", "defines no function f"),
    "too_big": ("def f(x: In[np.int32, 'n'], n: Int['n', 1, 1 << 20]): pass", "lower the Int parameters' upper bounds"),
}


@needs_gcc
@pytest.mark.parametrize("case", BAD_REFERENCES)
def test_a_bad_reference_is_one_line_exit_64(build_dir, tmp_path, capsys, case):
    source, message = BAD_REFERENCES[case]
    status, report, err = fuzz_own(
        capsys, tmp_path, "void f(void) {}\n",
        f"import numpy as np\nfrom hypothesis import assume\nfrom mcusim.testing import In, Int, Out, Struct\n{source}\n",
        "f", "stm32f746")
    assert status == 64 and err.count("\n") == 1 and err.startswith("mcusim: ") and message in err, err
    assert report == {"error": err[len("mcusim: "):-1]}


@pytest.mark.parametrize("reference, message", [
    ("missing.py:f", "--reference missing.py:f: no such file missing.py"),
    ("{ref}", "--reference {ref}: name the function: --reference {ref}:FUNC"),
])
def test_a_reference_path_that_names_nothing_is_one_line_exit_64(tmp_path, capsys, reference, message):
    (tmp_path / "ref.py").write_text("def f(): pass\n")
    reference, message = (s.format(ref=tmp_path / "ref.py") for s in (reference, message))
    assert main(["fuzz", str(tmp_path / "k.c"), "--reference", reference, "--board", "stm32f746"]) == 64
    assert capsys.readouterr().err == f"mcusim: {message}\n"


@needs_gcc
@pytest.mark.parametrize("function, message", [
    ("absent", "absent: no external function of that name in the sources"),
    ("not-a-name", "--function 'not-a-name': not a C function name"),
])
def test_a_function_not_in_the_sources_is_one_line_exit_64(build_dir, capsys, function, message):
    status, _, err = fuzz(capsys, str(EXAMPLES / "relu_s8.c"), "--reference", REFERENCE, "--board", "stm32f746",
                          "--function", function)
    assert status == 64 and err.startswith(f"mcusim: {message}") and err.count("\n") == 1


# ---- mcusim run's budgets ------------------------------------------------------------------------

@needs_gcc
def test_run_budgets_fail_with_one_line_naming_figure_value_and_budget(build_dir, tmp_path, capsys):
    src, elf = tmp_path / "main.c", tmp_path / "main.elf"
    src.write_text("int main(void) { volatile int s = 0; for (int i = 0; i < 100; i++) s += i; return 0; }\n")
    assert main(["build", str(src), "--board", "stm32f746", "-o", str(elf)]) == 0
    capsys.readouterr()
    assert main(["run", str(elf), "--board", "stm32f746", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    cycles, stack, sram = figures["cycles"], figures["sram"]["stack_peak"], figures["sram"]["total_peak"]
    within = ["--max-cycles", str(cycles), "--max-stack", str(stack), "--max-sram", str(sram)]
    assert main(["run", str(elf), "--board", "stm32f746", *within]) == 0
    capsys.readouterr()
    for option, line in (("--max-cycles", f"cycles {cycles:,} over the budget of {cycles - 1:,}"),
                         ("--max-stack", f"stack peak {stack:,} B over the budget of {stack - 1:,} B"),
                         ("--max-sram", f"SRAM peak {sram:,} B over the budget of {sram - 1:,} B")):
        budget = {"--max-cycles": cycles, "--max-stack": stack, "--max-sram": sram}[option] - 1
        assert main(["run", str(elf), "--board", "stm32f746", option, str(budget)]) == 1
        assert capsys.readouterr().err == f"mcusim: {line}\n"
        assert main(["run", str(elf), "--board", "stm32f746", option, str(budget), "--json"]) == 1
        out, err = capsys.readouterr()
        assert json.loads(out)["over_budget"] == line and err == f"mcusim: {line}\n"


# ---- mcusim.testing ------------------------------------------------------------------------------

def test_annotations_describe_the_signature():
    assert In[np.int8, "n"] == testing.Array("in", np.dtype(np.int8), ("n",))
    assert Out[np.int32, ("rows", "cols")].dims == ("rows", "cols") == Out[np.int32, "rows", "cols"].dims
    assert In[np.uint16, 4, "n"].shape({"n": 3}) == (4, 3)
    assert Int["n", 1, 256] == testing.Size("n", 1, 256)
    assert repr(Int32[-5, 5]) == "Int32[-5, 5]" and repr(Shift[-3, 0]) == "Shift[-3, 0]"
    assert isinstance(Scalar[st.just(7)], Scalar)
    assert repr(InOut[np.int16, "n", 2]) == "InOut[int16, 'n', 2]" and InOut[np.int8, "n"].role == "inout"
    dims = Struct[1, Int["h", 1, 4], "w", -5]
    assert dims.role == "in" and dims.dtype == np.int32 and dims.dims == (4,) and dims.size_names == ["w"]
    assert repr(dims) == "Struct[1, Int['h', 1, 4], 'w', -5]" and Struct[Shift].fields == (testing.BARE[Shift],)
    for bad in (lambda: In[np.float32, "n"], lambda: In[np.int8], lambda: Out[np.int8, "not a name"],
                lambda: Int["n", 3, 2], lambda: Int["n", 1], lambda: Int32[1, 0], lambda: Shift[-32, 0],
                lambda: Scalar[5], lambda: In["nonsense", "n"], lambda: Struct[()], lambda: Struct[1.5],
                lambda: Struct[1 << 31], lambda: Struct["not a name"]):
        with pytest.raises(TypeError):
            bad()


@given(testing.sizes(1, 256), testing.int8_arrays((7,)), testing.multipliers(), testing.shifts(), ZeroPoint[-3, 3]
       .strategy)
def test_strategies_stay_in_their_ranges(n, x, multiplier, shift, zp):
    assert 1 <= n <= 256 and x.dtype == np.int8 and x.shape == (7,)
    assert multiplier == 0 or 1 << 30 <= multiplier <= testing.INT32_MAX
    assert -31 <= shift <= 30 and -3 <= zp <= 3


def test_strategies_lean_to_the_edges():
    """The values kernels get wrong come up often: the ends of ranges and SIMD tails."""
    from hypothesis import find

    for strategy, value in ((testing.sizes(1, 256), 1), (testing.sizes(1, 256), 256), (testing.sizes(4, 256), 5),
                            (testing.elements(np.int8), -128), (testing.elements(np.int8), 127),
                            (testing.multipliers(), testing.INT32_MAX), (testing.shifts(), -31),
                            (testing.zero_points(), 127)):
        assert find(strategy, lambda v, value=value: v == value) == value


@given(st.integers(-(1 << 31), (1 << 31) - 1), testing.multipliers(), testing.shifts())
def test_requantize_is_tflites(x, multiplier, shift):
    """The same figures as the kernels' own twin of MultiplyByQuantizedMultiplier (models/quant.py)."""
    from mcusim.models.quant import multiply_by_quantized_multiplier

    assert int(testing.requantize(x, multiplier, shift)) == int(multiply_by_quantized_multiplier(x, multiplier, shift))


def test_requantize_rounds_as_tflite():
    """The doubling high multiply rounds halves up; the division by 2^-shift halves away from zero."""
    assert testing.requantize(np.array([1, -1, 3, -3]), 1 << 30, 0).tolist() == [1, 0, 2, -1]  # x / 2
    assert testing.requantize(np.array([2, -2, 6]), 1 << 30, -1).tolist() == [1, -1, 2]  # x / 4: 0.5, -0.5, 1.5


def test_without_hypothesis_fuzz_names_the_testing_extra(tmp_path):
    """hypothesis comes with the 'testing' extra: without it, `mcusim fuzz` is one line, exit 69."""
    import subprocess

    script = ("import sys\nsys.modules['hypothesis'] = None\nfrom mcusim.cli import main\n"
              f"sys.exit(main(['fuzz', 'k.c', '--reference', {REFERENCE!r}, '--board', 'stm32f746']))\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 69
    assert proc.stderr == "mcusim: fuzz needs the 'testing' extra: pip install 'mcusim[testing]'\n"
