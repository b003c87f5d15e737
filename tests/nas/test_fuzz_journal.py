"""Mutation fuzzing of a search journal through `mcusim search --resume` (issue 21; tests/fuzzing.py):
bytes anywhere, the JSON of one line, whole lines deleted, duplicated, swapped or torn. The resume is
asked for a budget of one candidate, which the journal already holds, so no mutant evaluates
anything: every outcome is the journal check's (0, 64, 65), in one line, bounded."""
import json
import shutil

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzzing import expect_clean, fuzz_settings, mutated_bytes, mutated_json, run_cli

pytestmark = pytest.mark.toolchain

BOARD = "stm32f746"


def _cli(supernet, out, budget):
    return ["search", "--space", "mcuformer", "--board", BOARD, "--supernet", str(supernet), "--budget", str(budget),
            "--population", "2", "--int8-val-images", "20", "--test-images", "10", "-o", str(out)]


@pytest.fixture(scope="module")
def searched(tiny_supernet, tmp_path_factory):
    """A finished search of two candidates: (its supernet, its journal's lines)."""
    out = tmp_path_factory.mktemp("searched") / "run"
    expect_clean(run_cli(_cli(tiny_supernet, out, 2) + ["--json"]), codes=(0,))
    return tiny_supernet, (out / "journal.jsonl").read_bytes().splitlines(keepends=True)


@st.composite
def mutated_journal(draw, lines: list[bytes]) -> bytes:
    lines = list(lines)
    kind = draw(st.sampled_from(["bytes", "json", "json", "lines"]))
    if kind == "bytes":
        return draw(mutated_bytes(b"".join(lines)))
    if kind == "json":
        at = draw(st.integers(0, len(lines) - 1))
        lines[at] = json.dumps(draw(mutated_json(json.loads(lines[at]))), allow_nan=True).encode() + b"\n"
        return b"".join(lines)
    at = draw(st.integers(0, len(lines) - 1))
    op = draw(st.sampled_from(["delete", "duplicate", "swap", "tear"]))
    if op == "delete":
        del lines[at]
    elif op == "duplicate":
        lines.insert(at, lines[at])
    elif op == "swap":
        lines[at], lines[0] = lines[0], lines[at]
    else:
        lines[at] = lines[at][:draw(st.integers(0, len(lines[at]) - 1))]
        del lines[at + 1:]
    return b"".join(lines)


@fuzz_settings()
@given(data=st.data())
def test_mutated_journals(searched, tmp_path_factory, data):
    supernet, lines = searched
    out = tmp_path_factory.getbasetemp() / "resumed"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    (out / "journal.jsonl").write_bytes(data.draw(mutated_journal(lines)))
    expect_clean(run_cli(_cli(supernet, out, 1) + ["--resume", "--json"]), codes=(0, 64, 65))
