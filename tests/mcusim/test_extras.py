"""mcusim installed without an optional extra: every command registers, and one that needs the
missing dependency ends in one line naming the extra to install, exit 69. Each case runs in a fresh
interpreter where the dependency's module cannot be imported (sys.modules[name] = None), since this
process has imported it already."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mcusim.errors import EXTRAS

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
MODULE_OF = {"scikit-learn": "sklearn", "tflite-micro": "tflite_micro"}  # distribution -> module, where they differ


@pytest.mark.skipif(sys.version_info < (3, 11), reason="reads pyproject.toml with tomllib (Python 3.11+)")
def test_extras_table_matches_pyproject():
    import tomllib

    extras = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]
    expected = {}
    for extra, requirements in extras.items():
        if extra == "test":  # the union of the others and the test tools
            continue
        for requirement in requirements:
            name = requirement.split(";")[0].split("[")[0]
            for sep in "<>=!~ ":
                name = name.split(sep)[0]
            expected[MODULE_OF.get(name, name.replace("-", "_"))] = extra
    assert EXTRAS == expected


def _mcusim_without(modules: list[str], *argv: str, cwd) -> subprocess.CompletedProcess:
    script = (f"import sys\nfor m in {modules!r}:\n    sys.modules[m] = None\n"
              f"from mcusim.cli import main\nsys.exit(main({list(argv)!r}))\n")
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_every_command_registers_without_the_extras(tmp_path):
    proc = _mcusim_without(sorted(EXTRAS), "boards", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stderr == ""  # no plugin left out
    for command in ("demo", "train", "import", "search"):
        proc = _mcusim_without(sorted(EXTRAS), command, "--help", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("module, argv, extra", [
    ("torch", ["train", "--model", "vit-digits", "--dataset", "digits", "-o", "v.npz"], "models"),
    ("tflite_micro", ["import", "model.tflite", "-o", "model.graph"], "tflite"),
    ("sklearn", ["eval", "g.graph", "--dataset", "digits"], "models"),
])
def test_a_missing_extra_is_one_line_exit_69(tmp_path, module, argv, extra):
    (tmp_path / "model.tflite").write_bytes(b"")
    if argv[0] == "eval":
        from mcusim.models.zoo import get

        argv[1] = str(get("vit-digits").graph)
    proc = _mcusim_without([module], *argv, cwd=tmp_path)
    assert proc.returncode == 69
    assert proc.stderr == f"mcusim: {argv[0]} needs the '{extra}' extra: pip install 'mcusim[{extra}]'\n"


@pytest.mark.toolchain
def test_demo_without_tqdm_names_the_models_extra(tmp_path):
    """The reported case: `mcusim demo` ended in ModuleNotFoundError: No module named 'tqdm'."""
    proc = _mcusim_without(["tqdm"], "demo", "-o", str(tmp_path / "demo"), "--json", cwd=tmp_path)
    assert proc.returncode == 69
    assert proc.stderr == "mcusim: demo needs the 'models' extra: pip install 'mcusim[models]'\n"
    assert json.loads(proc.stdout) == {"error": "demo needs the 'models' extra: pip install 'mcusim[models]'"}


def test_a_module_that_is_no_extra_is_not_blamed_on_one(monkeypatch):
    """A missing module outside EXTRAS is a broken install or a bug: its traceback stays."""
    import mcusim.cli

    def broken(args):
        import mcusim_no_such_module  # noqa: F401

    monkeypatch.setattr(mcusim.cli, "cmd_boards", broken)
    with pytest.raises(ModuleNotFoundError):
        mcusim.cli.main(["boards"])
