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
evaluation. A line torn by a kill is dropped; a journal with no complete header (killed as it began)
resumes as an empty one. The journal is also the measurement cache by architecture hash: a
candidate is measured once.

One search writes a journal at a time: it is created exclusively (O_EXCL; `replace`, the CLI's
--force, starts over one already there) and locked (flock) while the search runs; a second writer is
refused. Every line read back is checked (JSON, its shape, a record's architecture of the space and
hashed so): a damaged journal is a one-line JournalError naming the file and line.

Candidates are evaluated by a backend (nas/backends.py): in this process, in a pool of spawned
processes, or on Ray actors.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import stat
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from mcusim.errors import EX_DATAERR, McusimError, UsageError
from mcusim.files import MAX_INPUT_BYTES

from .backends import check_backend, open_backend
from .evaluate import EvalSpec
from .spaces import Arch, Space, arch_hash, from_json

FORMAT, VERSION = "mcusim-search-journal", 1
JOURNAL = "journal.jsonl"

# The shapes of a journal's entries (_fits): the header, and nas/evaluate.py's record. Every number in
# a line is finite and at most MAX_NUMBER in magnitude (far above any count of cycles or bytes), so
# that no figure read back overflows the report's arithmetic or plots.
MAX_NUMBER = 1e15
NUMBER, NULL = (int, float), type(None)
HEADER = {"format": str, "version": int, "space": dict, "supernet": {"path": str, "sha256": str}, "eval": dict,
          "search": dict}
MEASURED = {"board": str, **dict.fromkeys(("sram_peak", "static", "stack_peak", "arena_peak", "flash", "blob",
                                           "cycles", "latency_ms"), NUMBER)}
RECORD = {"hash": str, "arch": dict, "params": (int, NULL), "accuracy": (*NUMBER, NULL),
          "int8_accuracy": (*NUMBER, NULL), "measured": [MEASURED, NULL], "analytic": (dict, NULL),
          "bit_exact": (bool, NULL), "fits": bool, "violations": list, "seconds": (*NUMBER, NULL)}


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


def _fits(value, shape) -> bool:
    """Whether a JSON value has `shape`: a type or tuple of types, a dict of key -> shape (an object
    with at least those keys), or a list of alternative shapes."""
    if isinstance(shape, list):
        return any(_fits(value, s) for s in shape)
    if isinstance(shape, dict):
        return isinstance(value, dict) and all(k in value and _fits(value[k], s) for k, s in shape.items())
    return isinstance(value, shape)


def _is_record(r) -> bool:
    """A record as nas/evaluate.py writes it: measured when it fits, and then with its parameter count
    and analytic estimates (numbers)."""
    if not _fits(r, RECORD) or (r["fits"] and r["measured"] is None):
        return False
    return r["measured"] is None or (isinstance(r["params"], int) and isinstance(r["analytic"], dict)
                                     and all(isinstance(v, NUMBER) for v in r["analytic"].values()))


def _number(text: str) -> int | float:
    """A number of a JSON line, within MAX_NUMBER (NaN and the infinities are not)."""
    value = int(text) if text.lstrip("-").isdigit() else float(text)
    if not abs(value) <= MAX_NUMBER:
        raise ValueError(f"the number {text[:20]} is beyond {MAX_NUMBER:g}")
    return value


def json_lines(path: Path, raw: bytes) -> tuple[list, int]:
    """(the JSON values of the complete lines of `raw`, read from `path`; the length of the last line
    if a kill tore it: no newline yet, to be cut off). A complete line that is not JSON (of numbers
    within MAX_NUMBER) is a JournalError naming the file and the line."""
    *lines, torn = raw.split(b"\n")
    values = []
    for number, line in enumerate(lines, 1):
        try:
            values.append(json.loads(line, parse_int=_number, parse_float=_number, parse_constant=_number))
        except (ValueError, RecursionError) as e:
            raise JournalError(f"{path}:{number}: not a JSON line ({e}); the file is damaged") from None
    return values, len(torn)


def _locked(path: Path, flags: int):
    """`path` opened to read and append (os.open `flags` added: O_CREAT, O_EXCL) and locked for this
    search alone until closed; a link, a folder, a FIFO or a device is refused, and so is a journal
    another search holds. FileExistsError (O_EXCL) is the caller's."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_NOFOLLOW | flags, 0o644)
    except FileExistsError:
        raise
    except OSError as e:
        raise UsageError(f"{path}: cannot open the journal: {e.strerror or e}") from None
    f = os.fdopen(fd, "r+b")
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise JournalError(f"{path}: not a regular file (a FIFO or a device)")
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.close()
        raise UsageError(f"{path}: another search is writing this journal; wait for it to end or use another "
                         "folder") from None
    except OSError as e:  # a file system without locks
        f.close()
        raise UsageError(f"{path}: cannot lock the journal: {e.strerror or e}") from None
    except BaseException:
        f.close()
        raise
    return f


class Journal:
    """The append-only JSON-lines file of a search: a header, then records; held open and locked by
    one search (close() releases it, as does the end of a `with` block)."""

    def __init__(self, path: Path, file, header: dict | None, records: list[dict]):
        self.path, self.file, self.header, self.records = path, file, header, records

    @classmethod
    def create(cls, path: Path, header: dict, replace: bool = False) -> "Journal":
        """A new journal of `header` at `path`; one already there is refused unless `replace`."""
        try:
            journal = cls(path, _locked(path, os.O_CREAT | (0 if replace else os.O_EXCL)), None, [])
        except FileExistsError:
            raise UsageError(f"{path} exists: pass --resume to continue that search, or --force to start "
                             "over") from None
        journal.file.truncate(0)
        journal.start(header)
        return journal

    @classmethod
    def open(cls, path: Path) -> "Journal":
        """The journal at `path`, to continue: every line checked, a last line torn by a kill cut off
        the file. One with no complete header (killed as it began) is empty: header None, start()."""
        if not os.path.lexists(path):
            raise UsageError(f"{path}: no journal to resume (start the search without --resume)")
        f = _locked(path, 0)
        try:
            raw = f.read(MAX_INPUT_BYTES + 1)
            if len(raw) > MAX_INPUT_BYTES:
                raise JournalError(f"{path}: more than {MAX_INPUT_BYTES:,} bytes, the limit for a search journal")
            entries, torn = json_lines(path, raw)
            if entries and not (_fits(entries[0], HEADER) and entries[0]["format"] == FORMAT
                                and entries[0]["version"] == VERSION):
                raise JournalError(f"{path}: not an mcusim search journal")
            for number, entry in enumerate(entries[1:], 2):
                if not _is_record(entry):
                    raise JournalError(f"{path}:{number}: not a search record; the journal is damaged")
            f.truncate(len(raw) - torn)
        except BaseException:
            f.close()
            raise
        return cls(path, f, entries[0] if entries else None, entries[1:])

    def start(self, header: dict) -> None:
        """Write the header of a journal that has none."""
        self.header = header
        self._write(header)

    def append(self, record: dict) -> None:
        self.records.append(record)
        self._write(record)

    def _write(self, entry: dict) -> None:
        self.file.write((json.dumps(entry) + "\n").encode())
        self.file.flush()
        os.fsync(self.file.fileno())

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc) -> bool:
        self.close()
        return False


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


def _continue(journal: Journal, header: dict, space: Space) -> None:
    """Check that a journal opened to resume is this search's (only the budget may differ) and that
    each record is a candidate of its space under its own hash; one with no header starts now."""
    if journal.header is None:
        journal.start(header)
        return
    if _comparable(journal.header) != _comparable(header):
        raise UsageError(f"{journal.path} was written by a search with other settings; resume it with the same space, "
                         "supernet, board, budgets and options (only --budget may change)")
    for number, r in enumerate(journal.records, 2):
        try:
            hashed = arch_hash(space, space.check(r["arch"])) == r["hash"]
        except (McusimError, TypeError, ValueError):
            hashed = False
        if not hashed:
            raise JournalError(f"{journal.path}:{number}: not a candidate of the {space.name} space under its hash; "
                               "the journal is damaged")
    journal.header = header


def search(spec: EvalSpec, options: SearchOptions, out: str | Path, workers: int = 1, backend: str = "local",
           resume: bool = False, progress: bool = True, replace: bool = False) -> Journal:
    """Run (or resume) the search into the folder `out`; returns its journal (closed). replace: start
    over a journal already there instead of refusing it."""
    path = Path(out) / JOURNAL
    check_backend(backend)
    space = _space_of(spec.supernet)
    header = header_of(spec, space, options)
    path.parent.mkdir(parents=True, exist_ok=True)
    journal = Journal.open(path) if resume else Journal.create(path, header, replace)
    with journal:
        if resume:
            _continue(journal, header, space)
        _evolve(journal, space, spec, options, workers, backend, progress)
    return journal


def _evolve(journal: Journal, space: Space, spec: EvalSpec, options: SearchOptions, workers: int, backend: str,
            progress: bool) -> None:
    """The generations, each candidate not in the journal evaluated and appended to it."""
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
