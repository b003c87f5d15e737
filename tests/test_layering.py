"""Imports flow one way: mcusim (the generic emulator) <- models <- nas."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "mcusim": ("mcusim.models", "mcusim.nas", "models", "nas"),
    "models": ("mcusim.nas", "nas"),
    "nas": (),
}


def _imports(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                # Relative import inside a package folder: resolve against the folder's namespace.
                yield from (f"{path.parent.name}.{node.module or ''}".rstrip("."),)
            elif node.module:
                yield node.module


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_flow_one_way(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"{package}/ has no Python files"
    bad = [(str(f.relative_to(ROOT)), name) for f in files for name in _imports(f)
           if any(name == p or name.startswith(p + ".") for p in FORBIDDEN[package])]
    assert not bad, f"{package} must not import {FORBIDDEN[package]}: {bad}"


def test_the_check_would_catch_a_violation(tmp_path):
    bad = tmp_path / "mcusim" / "x.py"
    bad.parent.mkdir()
    bad.write_text("from mcusim.models import graph\nimport nas.search\n")
    assert list(_imports(bad)) == ["mcusim.models", "nas.search"]
