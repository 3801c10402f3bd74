"""The layering is one-way: no core module imports a plugin package (STYLE §9)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[1] / "adbench_dagmm"
PLUGIN_PACKAGES = ("adb_plugins", "adb_datasets")


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", sorted(CORE.rglob("*.py")), ids=lambda p: str(p.relative_to(CORE)))
def test_core_module_imports_no_plugin(path: Path) -> None:
    bad = [n for n in _imports(path) if n.split(".")[0] in PLUGIN_PACKAGES]
    assert not bad, f"{path.relative_to(CORE.parent)} imports {bad}"
