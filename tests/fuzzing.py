"""Mutation fuzzing of the command line's file inputs (issue 21): a valid file is mutated (bytes, or
its structure where the format has one), handed to a command in-process, and the outcome must be a
person's: `main` returns one of the expected exit codes, stderr is empty or ends in one line
`mcusim: ...`, nothing raised, within a time and a memory bound.

    @fuzz_settings()
    @given(data=mutated_bytes(base))
    def test_x(tmp_path_factory, data):
        expect_clean(run_cli(["import", write(data), "-o", out]))

Hypothesis profiles (tests/conftest.py): `ci` runs FUZZ_EXAMPLES["ci"] mutants per format,
`fuzz` (`make fuzz`) FUZZ_EXAMPLES["fuzz"].
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import signal
import time
from dataclasses import dataclass

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from mcusim.cli import main

FUZZ_EXAMPLES = {"ci": 40, "dev": 100, "fuzz": 10_000}
TIME_LIMIT_S = 60            # one command on one mutant
MEMORY_GROWTH_LIMIT = 1 << 30  # growth of the process' peak RSS during one command
EXIT_CODES = (0, 64, 65, 70)


def fuzz_settings(**overrides):
    """The profile's number of mutants per format (`fuzz`, run by `make fuzz`: the long campaign)."""
    from tests.conftest import PROFILE

    return settings(max_examples=FUZZ_EXAMPLES.get(PROFILE, FUZZ_EXAMPLES["dev"]), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture], **overrides)


@dataclass
class Outcome:
    argv: list
    code: int
    stdout: str
    stderr: str
    seconds: float
    rss_growth: int  # bytes the peak RSS grew by


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_cli(argv: list[str]) -> Outcome:
    """`mcusim ARGV` in this process, its stdout and stderr captured, under TIME_LIMIT_S (SIGALRM: a
    backstop, the commands have their own bounds)."""
    out, err = io.StringIO(), io.StringIO()
    before, start = _peak_rss(), time.monotonic()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TIME_LIMIT_S)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    except _Timeout:
        raise AssertionError(f"mcusim {' '.join(argv)}: still running after {TIME_LIMIT_S} s") from None
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return Outcome(argv, code, out.getvalue(), err.getvalue(), time.monotonic() - start, _peak_rss() - before)


def expect_clean(o: Outcome, codes: tuple = EXIT_CODES) -> None:
    """The outcome a person can act on: an expected exit code, no traceback, an error (64, 65, 70) as
    one last stderr line `mcusim: ...`, the memory bound kept."""
    what = f"mcusim {' '.join(o.argv)} -> {o.code}; stderr: {o.stderr[-2000:]!r}"
    assert o.code in codes, what
    assert "Traceback" not in o.stderr, what
    if o.code in (64, 65, 70):
        lines = o.stderr.strip().splitlines()
        assert lines and lines[-1].startswith("mcusim: "), what
        assert len(lines[-1]) < 2000, what
    assert o.rss_growth < MEMORY_GROWTH_LIMIT, f"{what}: peak RSS grew by {o.rss_growth:,} bytes"


# Values that break parsers: sign and width edges, the float specials, wrong types, deep nesting.
INTERESTING_INTS = (0, 1, -1, 2, 3, 7, 255, 256, 65535, 65536, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**63 - 1,
                    -(2**31), -(2**63))


def _word(n: int) -> bytes:
    return (n & 0xFFFFFFFF).to_bytes(4, "little")


@st.composite
def mutated_bytes(draw, base: bytes, max_mutations: int = 4) -> bytes:
    """`base` with 1..max_mutations byte-level mutations: bit flips, a 4-byte word set to an
    interesting value, truncation, inserted or deleted runs, a duplicated chunk."""
    data = bytearray(base)
    for _ in range(draw(st.integers(1, max_mutations))):
        kind = draw(st.sampled_from(["flip", "word", "truncate", "insert", "delete", "duplicate"]))
        n = len(data)
        if n == 0:
            data += draw(st.binary(min_size=1, max_size=16))
            continue
        at = draw(st.integers(0, n - 1))
        if kind == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "word":
            data[at:at + 4] = _word(draw(st.sampled_from(INTERESTING_INTS) | st.integers(-(2**31), 2**32 - 1)))
        elif kind == "truncate":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 64))]
        else:
            size = draw(st.integers(1, 256))
            data[at:at] = data[at:at + size]
    return bytes(data)


def hostile_json_values():
    """JSON values of every type, at the edges: what a schema must refuse or accept knowingly."""
    scalars = st.one_of(st.sampled_from(INTERESTING_INTS), st.integers(), st.sampled_from([0.5, -0.0, 1e308, -1e308,
                        5e-324, 8.7, float("nan"), float("inf")]), st.booleans(), st.none(),
                        st.sampled_from(["", "1881", "no", "x" * 5000, "\u202e", "../../etc/passwd", "*/#include"]),
                        st.text(max_size=8))
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                                             max_size=3), max_leaves=8)


def _paths(value, prefix=()):
    """Every path (tuple of keys / indices) into a JSON value, the root included, down to 20 levels
    (below, a nest of an earlier mutation: nothing new to mutate)."""
    yield prefix
    if len(prefix) >= 20:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, prefix + (i,))


@st.composite
def mutated_json(draw, base, max_mutations: int = 3):
    """`base` (a JSON value) with 1..max_mutations structural mutations: a node replaced by a hostile
    value, deleted, or wrapped in 250 levels of lists (three such nests stay within what Python's json
    writes; a reader must refuse far less)."""
    value = json.loads(json.dumps(base))
    for _ in range(draw(st.integers(1, max_mutations))):
        paths = [p for p in _paths(value) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = value
        for key in path[:-1]:
            parent = parent[key]
        kind = draw(st.sampled_from(["replace", "replace", "delete", "nest"]))
        if kind == "replace":
            parent[path[-1]] = draw(hostile_json_values())
        elif kind == "delete":
            del parent[path[-1]]
        else:
            nested = parent[path[-1]]
            for _ in range(250):
                nested = [nested]
            parent[path[-1]] = nested
    return value


def dumps_lenient(value) -> bytes:
    """JSON as Python writes it (NaN and Infinity included, as a hostile writer might)."""
    return json.dumps(value, allow_nan=True).encode()


def write(tmp_dir, name: str, data: bytes) -> str:
    path = os.path.join(tmp_dir, name)
    with open(path, "wb") as f:
        f.write(data)
    return path
