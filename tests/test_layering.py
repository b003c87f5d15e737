"""Imports flow one way: mcusim (the generic emulator) <- models <- nas.

Every import is resolved to an absolute module name before it is checked: a relative import against
the importing file's installed package, as Python resolves it (`from ..nas import search` in
models/ is mcusim.nas.search), and `from P import name` also as P.name, since the name may be a
module (`from mcusim import nas`)."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"mcusim": "mcusim", "models": "mcusim.models", "nas": "mcusim.nas"}  # folder -> package (pyproject)
FORBIDDEN = {  # folder -> what its files must not import
    "mcusim": ("mcusim.models", "mcusim.nas", "models", "nas"),
    "models": ("mcusim.nas", "nas"),
    "nas": (),
}


def package_of(root: Path, path: Path) -> str:
    """The installed package a file below `root` belongs to: models/ops/add.py -> mcusim.models.ops."""
    top, *sub = path.relative_to(root).parent.parts
    return ".".join([PACKAGES[top], *sub])


def imports(source: str, package: str, filename: str = "<source>"):
    """The absolute names of the modules a source imports, or may import, inside `package`."""
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".")
            # level 1 is the package itself, each further level one package up; climbing above
            # `mcusim` (an ImportError at run time) lands among the top-level folders' names
            base = parts[:max(0, len(parts) - node.level + 1)] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names if alias.name != "*")


def violations(root: Path, folder: str) -> list[tuple[str, str]]:
    """(file, module) for every import by which a file of root/folder reaches a layer above it."""
    found = []
    for path in sorted((root / folder).rglob("*.py")):
        for name in imports(path.read_text(), package_of(root, path), str(path)):
            if any(name == p or name.startswith(p + ".") for p in FORBIDDEN[folder]):
                found.append((str(path.relative_to(root)), name))
    return found


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_imports_flow_one_way(folder):
    assert any((ROOT / folder).rglob("*.py")), f"{folder}/ has no Python files"
    bad = violations(ROOT, folder)
    assert not bad, f"{folder}/ must not import {FORBIDDEN[folder]}: {bad}"


def test_relative_imports_resolve_as_python_resolves_them():
    assert package_of(ROOT, ROOT / "models" / "ops" / "add.py") == "mcusim.models.ops"
    assert list(imports("from ..nas import search\n", "mcusim.models")) == ["mcusim.nas", "mcusim.nas.search"]
    assert list(imports("from .. import quant\n", "mcusim.models.ops")) == ["mcusim.models", "mcusim.models.quant"]
    assert list(imports("from .graph import *\n", "mcusim.models")) == ["mcusim.models.graph"]
    assert list(imports("import nas.search\n", "mcusim")) == ["nas.search"]


PLANTED = {  # folder/file -> (source, the imports the check must report)
    "mcusim/absolute.py": ("from mcusim.models import graph\nimport nas.search\n",
                           ["mcusim.models", "mcusim.models.graph", "nas.search"]),
    "mcusim/climbs.py": ("from ..models import graph\n", ["models", "models.graph"]),
    "mcusim/sibling.py": ("from . import nas\n", ["mcusim.nas"]),
    "models/climbs.py": ("from ..nas import search\n", ["mcusim.nas", "mcusim.nas.search"]),
    "models/names_a_package.py": ("from .. import nas\n", ["mcusim.nas"]),
    "models/ops/deeper.py": ("from ...nas.spaces import Arch\n", ["mcusim.nas.spaces", "mcusim.nas.spaces.Arch"]),
}
ALLOWED = {  # imports down the layers, and inside one
    "mcusim/fine.py": "from .errors import UsageError\nfrom mcusim import boards\n",
    "models/fine.py": "from ..errors import UsageError\nfrom .. import boards\nfrom .graph import Graph\n",
    "models/ops/fine.py": "from .. import kernels\nfrom ...toolchain import build\nfrom ..quant import round_half_away\n",
    "nas/fine.py": "from ..models.train import TrainOptions\nfrom mcusim.models import zoo\nfrom .spaces import Arch\n",
}


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_the_check_catches_planted_violations(tmp_path, folder):
    for name, source in [*((n, s) for n, (s, _) in PLANTED.items()), *ALLOWED.items()]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(source)
    expected = [(name, module) for name, (_, modules) in sorted(PLANTED.items()) if name.startswith(folder + "/")
                for module in modules]
    assert sorted(violations(tmp_path, folder)) == sorted(expected)


def test_the_ir_loads_no_emulator():
    """The graph IR, the op registry, the interpreter and the importer load neither Unicorn nor Capstone:
    kernel harnesses (models/kernels.py) are imported by the tests and the deployment only."""
    import subprocess
    import sys

    code = ("import sys, mcusim.models.graph, mcusim.models.interpreter, mcusim.models.tflite_import\n"
            "from mcusim.models.ops import registry\nregistry()\n"
            "print(sorted(m for m in ('unicorn', 'capstone', 'elftools') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
