"""Evolutionary architecture search under a board's budget, every candidate measured in the emulator.

    records = search(EvalSpec("sn.npz", "stm32f746", budget), SearchOptions(budget=120), "out/", workers=2)

The evolution (AutoFormer's and MCUFormer's released search): a first generation of `population`
random candidates; then each generation takes the `select` most accurate candidates that fit the
budget so far as parents and makes `mutation` mutants and `crossover` children of them, all new,
filling up to `population` with random candidates; until `budget` candidates have been measured.
A generation is evaluated whole (in parallel where there are workers) before the next is made.

The journal (`DIR/journal.jsonl`): a header line (the space, the supernet file and its SHA-256, the
evaluation and search settings), then one line per evaluated candidate (nas/evaluate.py's record,
with its generation), appended and flushed to disk as each evaluation finishes, in the order they
finish. Candidates are a function of the seed and of the earlier generations' records only, so a
search resumed from its journal (`--resume`, after a crash or a kill) makes the candidates an
unbroken run makes, and evaluates only those whose record is missing: it loses no finished
evaluation. A line torn by a kill is dropped. The journal is also the measurement cache by
architecture hash: a candidate is measured once.

Candidates are evaluated by a backend (nas/backends.py): in this process, in a pool of spawned
processes, or on Ray actors.
"""
from __future__ import annotations

import hashlib
import json
import os
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from mcusim.errors import EX_DATAERR, McusimError, UsageError

from .backends import check_backend, open_backend
from .evaluate import EvalSpec
from .spaces import Arch, Space, arch_hash, from_json

FORMAT, VERSION = "mcusim-search-journal", 1
JOURNAL = "journal.jsonl"


class JournalError(McusimError):
    exit_code = EX_DATAERR


@dataclass(frozen=True)
class SearchOptions:
    budget: int = 120        # candidates measured in all
    population: int = 40
    select: int = 10         # parents: the most accurate candidates within budget
    mutation: int = 15
    crossover: int = 15
    m_prob: float = 0.2      # a layer's value redrawn in a mutation
    s_prob: float = 0.4      # the depth, or a global gene, redrawn in a mutation
    seed: int = 0


class Journal:
    """The append-only JSON-lines file of a search: a header, then records."""

    def __init__(self, path: Path, header: dict, records: list[dict]):
        self.path, self.header, self.records = path, header, records

    @classmethod
    def create(cls, path: Path, header: dict) -> "Journal":
        if path.exists():
            raise UsageError(f"{path} exists: pass --resume to continue that search, or choose another folder")
        path.parent.mkdir(parents=True, exist_ok=True)
        journal = cls(path, header, [])
        journal._write(header)
        return journal

    @classmethod
    def open(cls, path: Path) -> "Journal":
        """The journal at `path`; a last line torn by a kill is cut off the file."""
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise UsageError(f"{path}: no journal to resume (start the search without --resume)") from None
        *lines, torn = raw.split(b"\n")  # an entry is complete with its newline
        entries = []
        for number, line in enumerate(lines, 1):
            try:
                entries.append(json.loads(line))
            except ValueError:
                raise JournalError(f"{path}:{number}: not a JSON line; the journal is damaged") from None
        if not entries or entries[0].get("format") != FORMAT or entries[0].get("version") != VERSION:
            raise JournalError(f"{path}: not an mcusim search journal")
        if torn:
            with open(path, "r+b") as f:
                f.truncate(len(raw) - len(torn))
        return cls(path, entries[0], entries[1:])

    def append(self, record: dict) -> None:
        self.records.append(record)
        self._write(record)

    def _write(self, entry: dict) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps(entry) + "\n")
            f.flush()
            os.fsync(f.fileno())


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def header_of(spec: EvalSpec, space: Space, options: SearchOptions) -> dict:
    return {"format": FORMAT, "version": VERSION, "space": space.to_json(),
            "supernet": {"path": spec.supernet, "sha256": file_sha256(spec.supernet)},
            "eval": spec.to_json(), "search": asdict(options)}


def _comparable(header: dict) -> dict:
    """A header less what a resumed search may change: the budget and where the supernet lies."""
    return {**header, "supernet": header["supernet"]["sha256"], "search": {**header["search"], "budget": None},
            "eval": {**header["eval"], "supernet": None}}


def search(spec: EvalSpec, options: SearchOptions, out: str | Path, workers: int = 1, backend: str = "local",
           resume: bool = False, progress: bool = True) -> Journal:
    """Run (or resume) the search into the folder `out`; returns its journal."""
    path = Path(out) / JOURNAL
    check_backend(backend)
    space = _space_of(spec.supernet)
    header = header_of(spec, space, options)
    if resume:
        journal = Journal.open(path)
        if _comparable(journal.header) != _comparable(header):
            raise UsageError(f"{path} was written by a search with other settings; resume it with the same space, "
                             "supernet, board, budgets and options (only --budget may change)")
        journal.header = header
    else:
        journal = Journal.create(path, header)
    done = {r["hash"]: r for r in journal.records}
    rng = np.random.default_rng(options.seed)
    visited: set[str] = set()
    made: list[Arch] = []
    with tqdm(total=options.budget, initial=min(len(done), options.budget), desc=f"search {space.name}",
              unit="candidate", disable=not progress) as bar, ExitStack() as stack:
        pool = None  # started at the first candidate to evaluate (none when resuming a finished search)
        generation = 0
        while len(made) < options.budget:
            fresh = _generation(space, options, rng, visited, [done[arch_hash(space, a)] for a in made],
                                generation, options.budget - len(made))
            if not fresh:
                break  # the space is exhausted
            made += fresh
            pending = [a for a in fresh if arch_hash(space, a) not in done]
            if pending:
                pool = pool or stack.enter_context(open_backend(backend, spec, workers))
                for _, record in pool.map_unordered(pending):
                    record["generation"] = generation
                    journal.append(record)
                    done[record["hash"]] = record
                    bar.update()
                    best = max((r["accuracy"] for r in done.values() if r["fits"]), default=None)
                    if best is not None:
                        bar.set_postfix(best=f"{best:.4f}")
            generation += 1
    return journal


def _space_of(supernet: str) -> Space:
    from mcusim.models.train import read_checkpoint_file

    meta, _, _ = read_checkpoint_file(supernet)
    if "space" not in meta:
        raise UsageError(f"{supernet}: a checkpoint of model {meta.get('model')!r}, not a supernet")
    return from_json(meta["space"])


def _generation(space: Space, options: SearchOptions, rng: np.random.Generator, visited: set[str], earlier: list[dict],
                generation: int, room: int) -> list[Arch]:
    """The new candidates of one generation (at most `room`); `visited` grows by them."""
    fresh: list[Arch] = []

    def take(arch: Arch) -> None:
        key = arch_hash(space, arch)
        if key not in visited and len(fresh) < room:
            visited.add(key)
            fresh.append(arch)

    if generation > 0:
        ranked = sorted((r for r in earlier if r["fits"] and r["accuracy"] is not None),
                        key=lambda r: (-r["accuracy"], r["hash"]))
        parents = [space.check(r["arch"]) for r in ranked[:options.select]]
        if parents:
            for _ in range(10 * options.mutation):
                if len(fresh) >= options.mutation:
                    break
                take(space.mutate(parents[rng.integers(len(parents))], rng, options.m_prob, options.s_prob))
            target = len(fresh) + options.crossover
            for _ in range(10 * options.crossover):
                if len(fresh) >= target or len(parents) < 2:
                    break
                a, b = rng.choice(len(parents), 2, replace=False)
                take(space.crossover(parents[a], parents[b], rng))
    for _ in range(100 * options.population):
        if len(fresh) >= min(options.population, room):
            break
        take(space.sample(rng))
    return fresh
