"""policies/ is pure: it imports nothing from automator and no I/O modules."""

from __future__ import annotations

import ast
from pathlib import Path

import policies

FORBIDDEN = {"automator", "requests", "socket", "sqlite3", "pygit2", "docker", "subprocess"}


def test_policies_imports_nothing_forbidden() -> None:
    root = Path(policies.__file__).parent
    found = []
    for path in sorted(root.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            found += [(path.name, n) for n in names if n.split(".")[0] in FORBIDDEN]
    assert found == []
