"""Budgets of whole graphs (issue 23): `mcusim check GRAPH --board B --max-cycles N --max-stack B
--max-sram B`. Over one, check fails as `run` does (exit 1, one line from mcusim.cli.over_budget)
naming the figure, its worst value over the random inputs, the budget and the input it came from;
--json adds over_budget, and always the worst figures."""
import argparse
import json

import pytest

from mcusim.boards import get_board
from mcusim.cli import main, over_budget
from mcusim.models import zoo
from mcusim.models.deploy import MemoryOptions, deploy
from mcusim.models.graph import Graph
from mcusim.models.pipeline import check_on_board
from mcusim.models.runner import BoardRunner

BOARD, INPUTS, SEED = "stm32f746", 3, 3  # seed 3: the worst cycles come from the last input, not the first
FIGURES = (("--max-cycles", "cycles", "cycles", ""), ("--max-stack", "stack_peak", "stack peak", " B"),
           ("--max-sram", "sram_peak", "SRAM peak", " B"))


@pytest.fixture(scope="module")
def graph_path():
    return str(zoo.get("vit-digits").graph)


@pytest.fixture(scope="module")
def per_input(graph_path):
    """(cycles, stack peak, SRAM peak) of each of check's random inputs, measured here in order."""
    runner = BoardRunner(deploy(Graph.load(graph_path), MemoryOptions.parse("none")), get_board(BOARD))
    _, measurements = check_on_board(runner, INPUTS, SEED)
    return [(m.cycles, m.stack_peak, m.total_peak) for m in measurements]


def check(capsys, graph_path, *budgets: str, json_output: bool = True) -> tuple[int, dict | str, str]:
    status = main(["check", graph_path, "--board", BOARD, "--inputs", str(INPUTS), "--seed", str(SEED), *budgets,
                   *(["--json"] if json_output else [])])
    out, err = capsys.readouterr()
    return status, json.loads(out) if json_output else out, err


@pytest.mark.toolchain
def test_json_names_the_worst_value_of_each_figure_and_its_input(graph_path, per_input, capsys):
    status, report, err = check(capsys, graph_path)
    assert status == 0 and "over_budget" not in report
    for column, (_, key, _, _) in enumerate(FIGURES):
        values = [run[column] for run in per_input]
        assert report["worst"][key] == {"value": max(values), "input": values.index(max(values)) + 1}
    assert report["worst"]["cycles"]["input"] == 3  # the worst is not the first input, which the report shows


@pytest.mark.toolchain
def test_check_within_its_budgets_passes(graph_path, per_input, capsys):
    at_the_worst = [w for column, (option, *_) in enumerate(FIGURES)
                    for w in (option, str(max(run[column] for run in per_input)))]
    status, out, err = check(capsys, graph_path, *at_the_worst, json_output=False)
    assert status == 0 and "bit-exact: 3 random inputs on stm32f746" in out and "mcusim:" not in err


@pytest.mark.toolchain
@pytest.mark.parametrize("column", range(len(FIGURES)))
def test_a_budget_overrun_is_one_line_naming_figure_worst_value_budget_and_input(graph_path, per_input, capsys,
                                                                                 column):
    option, key, figure, unit = FIGURES[column]
    values = [run[column] for run in per_input]
    worst, budget = max(values), max(values) - 1
    line = (f"{figure} {worst:,}{unit} over the budget of {budget:,}{unit} "
            f"(worst input: {values.index(worst) + 1} of {INPUTS}, seed {SEED})")
    status, report, err = check(capsys, graph_path, option, str(budget))
    assert status == 1 and report["over_budget"] == line and report["bit_exact"]
    assert err.splitlines()[-1] == f"mcusim: {line}" and err.count("mcusim:") == 1
    status, out, err = check(capsys, graph_path, option, str(budget), json_output=False)
    assert status == 1 and "bit-exact: 3 random inputs" in out and err.endswith(f"mcusim: {line}\n")


@pytest.mark.toolchain
def test_the_first_figure_over_its_budget_is_named(graph_path, capsys):
    """Cycles, then stack peak, then SRAM peak: one line, however many budgets are exceeded."""
    status, report, err = check(capsys, graph_path, "--max-sram", "0", "--max-stack", "0", "--max-cycles", "0")
    assert status == 1 and report["over_budget"].startswith("cycles ") and err.count("mcusim:") == 1
    status, report, _ = check(capsys, graph_path, "--max-sram", "0", "--max-stack", "0")
    assert status == 1 and report["over_budget"].startswith("stack peak ")


@pytest.mark.parametrize("budget", ["-1", "many"])
def test_a_budget_that_is_no_count_is_a_usage_error(budget, capsys):
    with pytest.raises(SystemExit) as e:
        main(["check", "g.graph", "--board", BOARD, "--max-cycles", budget])
    assert e.value.code == 64 and "--max-cycles: invalid non-negative integer value" in capsys.readouterr().err


def test_run_and_check_share_the_budget_line():
    """mcusim.cli.over_budget: the first figure over its budget, its largest value among the runs, and
    with `worst` the run it came from (the first of equal values); an option a command lacks is no budget."""
    args = argparse.Namespace(max_cycles=100, max_stack=None)  # no max_sram: no SRAM budget
    runs = [(90, 10**6, 10**6), (120, 0, 0), (120, 0, 0)]
    assert over_budget(args, *runs) == "cycles 120 over the budget of 100"
    assert over_budget(args, *runs, worst=lambda i: f"run {i}") == "cycles 120 over the budget of 100 (run 1)"
    assert over_budget(argparse.Namespace(max_cycles=120, max_stack=5, max_sram=None), *runs) == \
        "stack peak 1,000,000 B over the budget of 5 B"
    assert over_budget(argparse.Namespace(max_cycles=120, max_stack=None, max_sram=None), *runs) is None
