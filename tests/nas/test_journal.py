"""Issue 21, the search journal: a damaged or wrong-shaped line is one line naming the file and line
(exit 65), a journal killed before its header was whole resumes as empty and can be started over,
one search writes a journal at a time, the space-level searches' trails are read as carefully, and
pool workers keep their temporary files apart."""
import json
import os
import tempfile

import pytest

from mcusim.cli import main
from mcusim.errors import UsageError
from mcusim.nas import backends
from mcusim.nas.probe import read_trail
from mcusim.nas.search import FORMAT, JOURNAL, VERSION, Journal, JournalError, _continue
from mcusim.nas.spaces import arch_hash

from .conftest import TINY

HEADER = {"format": FORMAT, "version": VERSION, "space": TINY.to_json(), "supernet": {"path": "sn.npz", "sha256": "0"},
          "eval": {}, "search": {"budget": 3}}
ARCH = TINY.largest()
RECORD = {"hash": arch_hash(TINY, ARCH), "arch": ARCH.to_json(), "params": None, "accuracy": None,
          "int8_accuracy": None, "measured": None, "analytic": None, "bit_exact": None, "fits": False,
          "violations": ["not deployable"], "seconds": None, "generation": 0}
SEARCH = ["search", "--space", "mcuformer", "--board", "stm32f746", "--budget", "1"]  # the shipped supernet


def lines(*entries) -> str:
    return "".join((e if isinstance(e, str) else json.dumps(e)) + "\n" for e in entries)


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("mcusim: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("text, message", [
    (lines(HEADER, [1, 2]), ":2: not a search record"),
    (lines(HEADER, RECORD, {k: v for k, v in RECORD.items() if k != "hash"}), ":3: not a search record"),
    (lines(HEADER, {**RECORD, "fits": True}), ":2: not a search record"),  # fits, yet never measured
    (lines(HEADER, {**RECORD, "measured": {"sram_peak": "big"}}), ":2: not a search record"),
    (lines([HEADER]), "not an mcusim search journal"),
    (lines({**HEADER, "supernet": "sn.npz"}), "not an mcusim search journal"),
    (lines(HEADER, "[" * 100_000), ":2: not a JSON line"),
    (lines(HEADER, "\xff"), ":2: not a JSON line"),
    (lines(HEADER, json.dumps(RECORD).replace('"seconds": null', '"seconds": NaN')), ":2: not a JSON line"),
    (lines(HEADER, json.dumps(RECORD).replace('"seconds": null', '"seconds": 1e400')), ":2: not a JSON line"),
    (lines(HEADER, json.dumps(RECORD).replace('"params": null', f'"params": {10**40}')), ":2: not a JSON line"),
])
def test_a_wrong_shaped_line_is_named(tmp_path, text, message):
    path = tmp_path / JOURNAL
    path.write_text(text)
    with pytest.raises(JournalError, match=message):
        Journal.open(path)
    assert path.read_text() == text


def test_resume_names_the_damaged_line_in_one_line(tmp_path, capsys):
    (tmp_path / JOURNAL).write_text(lines(HEADER, RECORD, [1, 2]))
    assert main([*SEARCH, "-o", str(tmp_path), "--resume"]) == 65
    assert f"{tmp_path / JOURNAL}:3: not a search record" in one_line(capsys)


def test_a_record_of_another_space_or_hash_is_refused(tmp_path):
    path = tmp_path / JOURNAL
    path.write_text(lines(HEADER, RECORD, {**RECORD, "hash": "0123456789ab"}))
    with Journal.open(path) as journal, pytest.raises(JournalError, match=":3: not a candidate of the mcuformer"):
        _continue(journal, HEADER, TINY)
    path.write_text(lines(HEADER, {**RECORD, "arch": {"depth": "deep"}}))
    with Journal.open(path) as journal, pytest.raises(JournalError, match=":2: not a candidate"):
        _continue(journal, HEADER, TINY)
    path.write_text(lines(HEADER, RECORD))
    with Journal.open(path) as journal:
        _continue(journal, HEADER, TINY)
        assert journal.records == [RECORD]


@pytest.mark.parametrize("torn", ["", '{"format": "mcusim-search-jou'])
def test_a_journal_without_a_whole_header_resumes_as_empty(tmp_path, torn):
    path = tmp_path / JOURNAL
    path.write_text(torn)
    with Journal.open(path) as journal:
        assert journal.header is None and journal.records == []
        _continue(journal, HEADER, TINY)
        journal.append(RECORD)
    assert path.read_text() == lines(HEADER, RECORD)


def test_a_torn_last_record_is_cut_off(tmp_path):
    path = tmp_path / JOURNAL
    path.write_text(lines(HEADER, RECORD) + '{"hash": "torn by a ki')
    with Journal.open(path) as journal:
        assert journal.records == [RECORD]
    assert path.read_text() == lines(HEADER, RECORD)


def test_a_journal_is_started_over_only_when_asked(tmp_path, capsys):
    path = tmp_path / JOURNAL
    path.write_text('{"format": "mcusim-sea')
    with pytest.raises(UsageError, match="exists: pass --resume to continue that search, or --force"):
        Journal.create(path, HEADER)
    assert main([*SEARCH, "-o", str(tmp_path)]) == 64
    assert "--resume" in one_line(capsys) and path.read_text() == '{"format": "mcusim-sea'
    Journal.create(path, HEADER, replace=True).close()
    assert path.read_text() == lines(HEADER)


def test_one_search_writes_a_journal_at_a_time(tmp_path, capsys):
    path = tmp_path / JOURNAL
    with Journal.create(path, HEADER):
        for second in (lambda: Journal.open(path), lambda: Journal.create(path, HEADER, replace=True)):
            with pytest.raises(UsageError, match="another search is writing this journal"):
                second()
        with pytest.raises(UsageError, match="exists: pass --resume"):
            Journal.create(path, HEADER)
        assert main([*SEARCH, "-o", str(tmp_path), "--resume"]) == 64
        assert "another search is writing" in one_line(capsys)
    assert path.read_text() == lines(HEADER)
    Journal.open(path).close()  # free again


def test_starting_over_never_follows_a_link(tmp_path):
    mine = tmp_path / "mine.txt"
    mine.write_text("a user's file\n")
    (tmp_path / JOURNAL).symlink_to(mine)
    for start in (lambda: Journal.create(tmp_path / JOURNAL, HEADER, replace=True),
                  lambda: Journal.open(tmp_path / JOURNAL)):
        with pytest.raises(UsageError, match="cannot open the journal"):
            start()
    assert mine.read_text() == "a user's file\n"


def test_a_trail_is_read_with_its_torn_line_cut_and_its_damage_named(tmp_path):
    path = tmp_path / "supernas.jsonl"
    assert read_trail(path, lambda r: r["variant"]) == {}
    path.write_text(lines({"variant": "small"}) + '{"variant": "nor')
    assert read_trail(path, lambda r: r["variant"]) == {"small": {"variant": "small"}}
    assert path.read_text() == lines({"variant": "small"})
    for bad in ([1, 2], {"space": "no variant"}, {"variant": ["unhashable"]}):
        path.write_text(lines({"variant": "small"}, bad))
        with pytest.raises(JournalError, match=":2: not a record of this search"):
            read_trail(path, lambda r: r["variant"])


def test_each_worker_has_a_temporary_folder_of_its_own(monkeypatch):
    """Pool and Ray workers copy the firmware to a fixed name in the temporary folder: each its own."""
    cleanups = []
    monkeypatch.setattr(tempfile, "tempdir", None)
    monkeypatch.setattr(backends.atexit, "register", lambda *args, **kwargs: cleanups.append((args, kwargs)))
    folders = []
    for _ in range(2):
        backends._private_tempdir()
        folders.append(tempfile.gettempdir())
    assert folders[0] != folders[1] and all(os.path.isdir(f) for f in folders)
    for (function, *args), kwargs in cleanups:
        function(*args, **kwargs)
    assert not any(os.path.exists(f) for f in folders)
