"""docs/testing.md, run verbatim: every command of its ```console and ```sh blocks, in order, each in
a process of its own (mcusim.cli.main, or pytest), in a folder that sees the checkout's runtime_c/ and
models/ (as the page's "from the checkout's root"; what the commands write lands in that folder), each
exit status and each output line shown checked. The conventions are the page's own ("How to read the
commands"):

    $ mcusim ...  \\           a command; a trailing backslash continues it on the next line
        ... # exit N            its exit status when not 0
    text                        a line of its output (stdout and stderr together)
    ...                         lines left out; inside a line, text left out of it

A ```sh block is a script: each line a command (no output shown), with the same continuation and
`# exit N`. Every command is an `mcusim` or a `pytest` command. A ```python block whose first line is
`# NAME.py...` is a file the page has you write: it is written to the folder where it stands among
the commands. A command repeated verbatim (the CI script gathers the gates shown before it) is run
once: its figures, and what it writes, are the same."""
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "testing.md"
BLOCK = re.compile(r"^```(console|sh|python)\n(.*?)^```$", re.M | re.S)
FILE = re.compile(r"# (\w+\.py)\b")
PROGRAMS = {"mcusim": ["-c", "import sys; from mcusim.cli import main; sys.exit(main())"], "pytest": ["-m", "pytest"]}
EXIT = re.compile(r"\s+#\s*exit\s+(\d+)\s*$")
LEFT_OUT = "..."


@dataclass
class Command:
    line: str          # as the page shows it, continuations joined
    program: str       # a key of PROGRAMS
    argv: list[str]    # after the program
    status: int
    shown: list[str]   # the output lines shown, LEFT_OUT included


@dataclass
class File:
    name: str
    text: str


def _command(text: str) -> Command:
    match = EXIT.search(text)
    status = int(match.group(1)) if match else 0
    words = shlex.split(text[:match.start()] if match else text, comments=True)
    assert words[:1] and words[0] in PROGRAMS, f"docs/testing.md: not an mcusim or pytest command: {text}"
    return Command(text, words[0], words[1:], status, [])


def commands(page: str) -> list[Command | File]:
    """The commands of the page's console and sh blocks, each with the output lines shown, and the
    files of its python blocks, in order."""
    found = []
    for kind, body in BLOCK.findall(page):
        if kind == "python":
            name = FILE.match(body)
            if name:
                found.append(File(name.group(1), body))
            continue
        lines = body.splitlines()
        while lines:
            line = lines.pop(0)
            if kind == "console" and not line.startswith("$ "):
                assert found and isinstance(found[-1], Command), f"docs/testing.md: output before any command: {line}"
                found[-1].shown.append(line)
                continue
            text = line[2:] if kind == "console" else line
            while text.endswith("\\"):
                text = text[:-1].rstrip() + " " + lines.pop(0).strip()
            if text.strip():
                found.append(_command(text))
    return found


def _matches(shown: str, line: str) -> bool:
    """An output line shown on the page against one printed: LEFT_OUT inside it stands for any text."""
    return re.fullmatch(".*".join(map(re.escape, shown.split(LEFT_OUT))), line) is not None


def test_the_conventions_parse_as_the_page_states():
    page = ("```console\n$ mcusim fuzz a.c --reference 'r.py:f' \\\n    --board b  # exit 1\nFAILED: x\n...\n```\n"
            "```sh\nmcusim boards --json\n```\n```python\nmcusim = 1\n```\n"
            "```python\n# test_x.py: a test\nx = 1\n```\n```console\n$ pytest -q test_x.py\n1 passed\n```\n")
    fuzz, boards, written, tested = commands(page)
    assert fuzz.argv == ["fuzz", "a.c", "--reference", "r.py:f", "--board", "b"] and fuzz.status == 1
    assert fuzz.shown == ["FAILED: x", "..."] and boards.argv == ["boards", "--json"] and boards.status == 0
    assert written == File("test_x.py", "# test_x.py: a test\nx = 1\n")
    assert tested.program == "pytest" and tested.argv == ["-q", "test_x.py"] and tested.shown == ["1 passed"]
    assert _matches('{"seconds": ..., "n": 1}', '{"seconds": 0.25, "n": 1}')
    assert not _matches('{"n": 1}', '{"n": 12}')
    with pytest.raises(AssertionError, match="not an mcusim or pytest command"):
        commands("```sh\nmake demo\n```\n")


@pytest.fixture
def checkout(tmp_path):
    """A working folder whose runtime_c/ and models/ are the checkout's."""
    for name in ("runtime_c", "models"):
        (tmp_path / name).symlink_to(ROOT / name, target_is_directory=True)
    return tmp_path


@pytest.mark.toolchain
def test_the_tutorial_runs_as_written(build_dir, checkout):
    page_commands = commands(PAGE.read_text())
    assert len(page_commands) >= 10, "docs/testing.md: its commands were not found"
    run: dict[tuple, int] = {}  # argv -> exit status of each command run
    for command in page_commands:
        if isinstance(command, File):
            (checkout / command.name).write_text(command.text)
            continue
        key = (command.program, *command.argv)
        if key in run and not command.shown:
            assert run[key] == command.status, f"docs/testing.md: `{command.line}` exited {run[key]} before"
            continue
        # a process of its own, as typed: hypothesis draws from constants of the modules loaded, so a
        # command run inside this test process would draw other examples than the page shows
        done = subprocess.run([sys.executable, *PROGRAMS[command.program], *command.argv], cwd=checkout,
                              capture_output=True, text=True)
        status, out, err = done.returncode, done.stdout, done.stderr
        printed = [line.rstrip() for line in re.split(r"[\r\n]", out + err)]  # \r: tqdm's progress bars
        run[key] = status
        assert status == command.status, f"docs/testing.md: `{command.line}` exited {status}:\n{out}{err}"
        for shown in command.shown:
            assert shown == LEFT_OUT or any(_matches(shown, line) for line in printed), \
                f"docs/testing.md: `{command.line}` did not print\n  {shown}\nbut:\n{out}{err}"
