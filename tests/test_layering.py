"""The layering is one-way: no core module imports a plugin package (STYLE §9)."""

from __future__ import annotations

import ast
import re
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


#: Names of detectors, datasets and papers that the core must not spell out (issue 15).
PLUGIN_WORDS = ("dagmm", "kdd", "zong", "goad", "thyroid", "arrhythmia", "iforest", "ecod")
#: What may contain them: the package's own name, the built-in protocols, CLI help examples.
ALLOWED = ("adbench_dagmm", "adbench-dagmm", "zong2018")


def _code_texts(path: Path) -> list[tuple[int, str]]:
    """Identifiers and string constants of a module, without docstrings and ``help=`` texts."""
    tree = ast.parse(path.read_text(), str(path))
    skip: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(
                body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            skip.add(id(body[0].value))  # a docstring
        if isinstance(node, ast.keyword) and node.arg == "help":
            skip.update(id(n) for n in ast.walk(node.value))
    texts = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            texts.append((node.lineno, node.value))
        elif isinstance(node, ast.Name):
            texts.append((node.lineno, node.id))
        elif isinstance(node, ast.Attribute):
            texts.append((node.lineno, node.attr))
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            texts.append((node.lineno, node.name))
        elif isinstance(node, ast.arg):
            texts.append((node.lineno, node.arg))
    return texts


@pytest.mark.parametrize("path", sorted(CORE.rglob("*.py")), ids=lambda p: str(p.relative_to(CORE)))
def test_core_code_names_no_detector_dataset_or_paper(path: Path) -> None:
    found = []
    for line, text in _code_texts(path):
        lowered = text.lower()
        for allowed in ALLOWED:
            lowered = lowered.replace(allowed, "")
        words = re.findall(r"[a-z0-9]+", lowered)  # 'kddcup99' names KDD, 'decode' no ECOD
        found += [f"line {line}: {text!r}" for word in PLUGIN_WORDS
                  if any(w.startswith(word) for w in words)]
    assert not found, f"{path.relative_to(CORE.parent)} names plugins: {found}"
