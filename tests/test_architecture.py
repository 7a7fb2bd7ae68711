"""The one direction of imports (docs/architecture.md): rules -> storage -> messaging -> bot.
Read from the source with ast, so an import inside a function counts as much as one at the
top, and a new module is checked the day it is added."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = ("rules", "storage", "messaging", "bot")
# What each package may import of ours, besides itself.
ALLOWED: dict[str, set[str]] = {
    "rules": set(),
    "storage": {"rules"},
    "messaging": {"rules", "storage"},
    "bot": {"rules", "storage", "messaging"},
}


def imported_packages(path: Path, package: str) -> set[tuple[int, str]]:
    """(line, top-level package of ours) for every import in one file."""
    found: set[tuple[int, str]] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            # A relative import stays inside its own package.
            names = [package] if node.level else [node.module or ""]
        else:
            continue
        found |= {(node.lineno, top) for name in names if (top := name.split(".")[0]) in OURS}
    return found


@pytest.mark.parametrize("package", OURS)
def test_each_package_imports_only_those_below_it(package: str) -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {imported}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, imported in sorted(imported_packages(path, package))
        if imported != package and imported not in ALLOWED[package]
    ]
    assert wrong == [], "imports against the direction rules -> storage -> messaging -> bot"


def test_the_check_sees_an_import_against_the_direction(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from rules.codes import lookup\n\ndef f():\n    import bot.cli\n")
    assert imported_packages(module, "storage") == {(1, "rules"), (4, "bot")}
