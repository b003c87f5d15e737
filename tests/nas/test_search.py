"""The search: every candidate measured and journaled as it finishes, a killed search resumed from
its journal loses no finished evaluation and makes the candidates an unbroken one makes, the
backends agree, and the results folder holds a best graph that runs on the board."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from mcusim.boards import get_board
from mcusim.errors import UsageError
from mcusim.models.deploy import deploy
from mcusim.models.evaluate import random_inputs
from mcusim.models.graph import Graph
from mcusim.models.interpreter import run
from mcusim.models.runner import BoardRunner
from mcusim.nas.evaluate import EvalSpec, Evaluator
from mcusim.nas.measure import Budget
from mcusim.nas.report import write_results
from mcusim.nas.search import Journal, JournalError, SearchOptions, search

pytestmark = pytest.mark.toolchain

BOARD = "stm32f746"
OPTIONS = SearchOptions(budget=7, population=4)  # as the CLI below runs it


def spec_of(supernet, **kw) -> EvalSpec:
    return EvalSpec(str(supernet), BOARD, Budget.of(get_board(BOARD)), "digits", int8_images=40, **kw)


@pytest.fixture(scope="module")
def unbroken(tiny_supernet, tmp_path_factory):
    out = tmp_path_factory.mktemp("unbroken")
    return out, search(spec_of(tiny_supernet), OPTIONS, out, progress=False)


def test_every_candidate_is_measured_and_journaled(unbroken):
    out, journal = unbroken
    records = journal.records
    assert len(records) == 7 and len({r["hash"] for r in records}) == 7
    assert [r["generation"] for r in records] == [0] * 4 + [1] * 3
    for r in records:
        assert r["bit_exact"] and r["fits"] and r["measured"]["board"] == BOARD
        m = r["measured"]  # the peak of static + stack + arena over the ops, each term's own peak beside it
        assert m["static"] + m["arena_peak"] <= m["sram_peak"] <= m["static"] + m["stack_peak"] + m["arena_peak"]
        assert set(r["analytic"]) == {"mcuformer", "layer_io", "planner", "lower_bound"}
        assert 0 <= r["accuracy"] <= 1 and 0 <= r["int8_accuracy"] <= 1
    with Journal.open(out / "journal.jsonl") as reread:
        assert reread.records == records and reread.header["search"]["budget"] == 7


def test_the_results_folder_holds_a_best_graph_that_fits_and_runs(unbroken, tiny_supernet):
    out, journal = unbroken
    best = write_results(journal, out, Evaluator(spec_of(tiny_supernet)), test_images=50, progress=False)
    assert best["accuracy"] == max(r["accuracy"] for r in journal.records)
    for name in ("best.graph", "best.json", "report.md", "residuals.md", "residuals.csv", "pareto.png",
                 "residuals.png"):
        assert (out / name).stat().st_size > 0, name
    assert len((out / "residuals.md").read_text().splitlines()) == 6 + len(journal.records)
    graph = Graph.load(out / "best.graph")
    assert graph.metadata["arch"] == best["arch"]
    x = random_inputs(graph, np.random.default_rng(0))
    outputs, m = BoardRunner(deploy(graph), get_board(BOARD)).run(x)
    assert np.array_equal(outputs[0], run(graph, x)[0])
    assert m.total_peak == best["measured"]["sram_peak"] and m.flash_total == best["measured"]["flash"]


def _cli(supernet, out, *extra):
    return [sys.executable, "-m", "mcusim.cli", "search", "--space", "mcuformer", "--board", BOARD, "--supernet",
            str(supernet), "--budget", "7", "--population", "4", "--int8-val-images", "40", "--test-images", "20",
            "-o", str(out), *extra]


def test_search_like_a_shipped_model_takes_its_measured_figures_as_the_budget(tiny_supernet, tmp_path):
    """`search --like vit-digits`: the budget is vit-digits' SRAM peak, flash and latency measured on
    the board, and the report sets the best candidate beside it on the same test images."""
    from mcusim.nas.evaluate import reference_figures

    figures = reference_figures("vit-digits", get_board(BOARD), "digits")
    out = tmp_path / "like"
    done = subprocess.run(_cli(tiny_supernet, out, "--like", "vit-digits"), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with Journal.open(out / "journal.jsonl") as journal:
        assert journal.header["eval"]["budget"] == {"sram": figures.sram_peak, "flash": figures.flash,
                                                    "latency_ms": figures.latency_ms}
        assert journal.header["eval"]["like"] == "vit-digits"
        fits = [r for r in journal.records if r["fits"]]
    assert all(not Budget(figures.sram_peak, figures.flash, figures.latency_ms).violations(
        type(figures)(**r["measured"])) for r in fits)
    report = (out / "report.md").read_text()
    assert "## Against vit-digits, whose measured figures are the budget" in report
    assert "| vit-digits | " in report and f"{figures.sram_peak:,}" in report
    assert fits  # the tiny space's candidates are smaller than vit-digits
    best = json.loads((out / "best.json").read_text())
    assert best["reference"]["model"] == "vit-digits" and best["reference"]["test_images"] == 20
    assert best["reference"]["test_accuracy"] > 0.5 and "points less accurate than vit-digits" in report


@pytest.mark.parametrize("extra, message", [
    (["--like", "vit-digits", "--sram", "100"], "--like vit-digits sets the budget: drop --sram"),
    (["--like", "vit-fmnist"], "model vit-fmnist is a fashion-mnist model; the search is on digits"),
    (["--like", "nope"], "nope"),
])
def test_search_like_refuses_what_it_cannot_use(tiny_supernet, tmp_path, extra, message):
    done = subprocess.run(_cli(tiny_supernet, tmp_path / "x", *extra), capture_output=True, text=True)
    assert done.returncode == 64 and message in done.stderr and not (tmp_path / "x").exists()


def test_a_killed_search_resumes_without_losing_a_finished_evaluation(unbroken, tiny_supernet, tmp_path):
    out = tmp_path / "killed"
    proc = subprocess.Popen(_cli(tiny_supernet, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journal = out / "journal.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and (not journal.exists() or len(journal.read_text().splitlines()) < 4):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = journal.read_text().splitlines()
    assert 4 <= len(before) < 8, "the search was killed in the middle"
    with open(journal, "a") as f:
        f.write('{"hash": "torn by the kill", "arch"')  # a line cut short as the process died
    done = subprocess.run(_cli(tiny_supernet, out, "--resume", "--json"), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    after = journal.read_text().splitlines()
    assert after[:len(before)] == before  # every finished evaluation kept, as written
    records = [json.loads(line) for line in after[1:]]
    assert len(records) == 7 and len({r["hash"] for r in records}) == 7  # none evaluated twice
    expected = {r["hash"]: r for r in unbroken[1].records}
    got = {r["hash"]: r for r in records}
    assert got.keys() == expected.keys()  # the candidates an unbroken run makes
    for key, r in got.items():
        assert (r["accuracy"], r["measured"]) == (expected[key]["accuracy"], expected[key]["measured"])
    assert json.loads(done.stdout)["candidates"] == 7


@pytest.mark.parametrize("backend", ["local", "ray"])
def test_parallel_backends_measure_what_one_process_measures(unbroken, tiny_supernet, tmp_path, backend):
    one_generation = SearchOptions(budget=4, population=4)
    journal = search(spec_of(tiny_supernet), one_generation, tmp_path, workers=2, backend=backend, progress=False)
    expected = {r["hash"]: r for r in unbroken[1].records if r["generation"] == 0}
    got = {r["hash"]: r for r in journal.records}
    assert got.keys() == expected.keys()
    for key, r in got.items():
        assert r["measured"]["sram_peak"] == expected[key]["measured"]["sram_peak"]
        assert r["measured"]["flash"] == expected[key]["measured"]["flash"]
        assert r["accuracy"] == pytest.approx(expected[key]["accuracy"], abs=0.02)


def test_resume_refuses_other_settings_and_damaged_journals(unbroken, tiny_supernet, tmp_path):
    out, _ = unbroken
    with pytest.raises(UsageError, match="other settings"):
        search(spec_of(tiny_supernet, memory_opts="token-overwrite"), OPTIONS, out, resume=True, progress=False)
    with pytest.raises(UsageError, match="exists: pass --resume"):
        search(spec_of(tiny_supernet), OPTIONS, out, progress=False)
    with pytest.raises(UsageError, match="no journal to resume"):
        search(spec_of(tiny_supernet), OPTIONS, tmp_path, resume=True, progress=False)
    bad = tmp_path / "journal.jsonl"
    bad.write_text('{"format": "mcusim-search-journal", "version": 1}\nnot json\n{}\n')
    with pytest.raises(JournalError, match=":2: not a JSON line"):
        Journal.open(bad)
    bad.write_text('{"something": "else"}\n')
    with pytest.raises(JournalError, match="not an mcusim search journal"):
        Journal.open(bad)


def test_sparsenas_second_stage_fine_tunes_the_best_under_its_pruning(tinyformer_supernet, tmp_path):
    from mcusim.models.prune import block_sparsity
    from mcusim.nas.spaces import Arch

    spec = spec_of(tinyformer_supernet)
    journal = search(spec, SearchOptions(budget=3, population=3), tmp_path, progress=False)
    evaluator = Evaluator(spec)
    best = write_results(journal, tmp_path, evaluator, test_images=30, finetune=1, progress=False)
    tuned = best["finetuned"]
    assert tuned["epochs"] == 1 and tuned["bit_exact"] and tuned["violations"] == []
    assert "Fine-tuned on its own for 1 epochs" in (tmp_path / "report.md").read_text()
    space = evaluator.space
    arch = Arch({**space.largest(), **{g.name: 0.5 for g in space.genes if g.name.startswith("sparsity")}})
    model = evaluator.finetune(arch, 1, progress=False)
    measured = block_sparsity(model, evaluator.pruning(arch, model))
    assert measured and all(abs(layer.sparsity - 0.5) < 0.1 for layer in measured.values())  # AGP reached it


def test_plots_of_records_without_analytic_estimates(tmp_path):
    """A journal's record may hold no analytic estimates (found by `make fuzz`: `"analytic": {}` ended
    the results in a TypeError): the residual plot has the measured values alone."""
    from mcusim.nas.report import _plots, residual_rows

    record = {"hash": "f1d8dc3e1903", "params": 10858, "accuracy": 0.1, "fits": True, "analytic": {},
              "measured": {"sram_peak": 3288, "latency_ms": 3.36}}
    _plots([record], [record], residual_rows([record]), tmp_path)
    assert (tmp_path / "pareto.png").exists()
