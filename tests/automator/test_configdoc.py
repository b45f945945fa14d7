"""Every config key is described; docs/config.md is the reference the schema makes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from automator.config import json_schema
from automator.configdoc import reference
from tests.e2e.test_skeleton import automator

ROOT = Path(__file__).resolve().parents[2]


def objects(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [("Config", schema), *schema.get("$defs", {}).items()]


def test_every_key_and_object_has_a_description() -> None:
    missing = [
        f"{name}.{key}"
        for name, node in objects(json_schema())
        for key, prop in node.get("properties", {}).items()
        if not prop.get("description")
    ]
    missing += [name for name, node in objects(json_schema()) if not node.get("description")]
    assert missing == [], "give each a docstring in automator/config.py"


def test_docs_config_md_is_up_to_date() -> None:
    expected = reference(json_schema())
    actual = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    assert actual == expected, "run: automator config reference > docs/config.md"


def test_every_object_has_a_section() -> None:
    text = reference(json_schema())
    for path in ("`sources[]`", "`sources[].auth`", "`write.commit.sign`", "`rules[]`"):
        assert f"## {path}\n" in text


def test_config_schema_prints_the_schema(tmp_path: Path) -> None:
    result = automator("config", "schema", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == json_schema()
