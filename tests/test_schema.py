"""`python -m bot schema` writes JSON Schemas an editor can use: the shipped config validates against
them with format checks on, and fields carry hover help taken from the models."""
from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import jsonschema
import pytest

from bot.__main__ import main
from bot.config.registry import FILES
from bot.config.yamlsrc import load_source
from tests.helpers import CONFIG


@pytest.fixture(scope="module")
def schemas(tmp_path_factory) -> dict[str, dict]:
    out = tmp_path_factory.mktemp("schema")
    assert main(["schema", "--out", str(out)]) == 0
    return {path.name.removesuffix(".schema.json"): json.loads(path.read_text(encoding="utf-8"))
            for path in out.glob("*.schema.json")}


def as_an_editor_reads_it(value):
    """YAML data as a YAML-aware editor hands it to a JSON Schema: dates as the text written."""
    if isinstance(value, dict):
        return {str(k): as_an_editor_reads_it(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_an_editor_reads_it(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def shipped_files():
    for spec in FILES:
        for path in sorted(CONFIG.glob(spec.pattern)):
            yield pytest.param(spec, path, id=str(path.relative_to(CONFIG)))


def test_format_checks_are_really_on():
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    assert {"date-time", "time", "uri"} <= set(checker.checkers)  # rfc3339-validator & co installed


@pytest.mark.parametrize("spec, path", list(shipped_files()))
def test_every_shipped_file_validates_against_its_schema(schemas, spec, path):
    name = spec.pattern.replace("/*.yaml", "").replace(".yaml", "")
    schema = schemas[name]
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    data = as_an_editor_reads_it(load_source(path).data)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]
    assert not errors, "\n".join(errors[:20])


def _properties(schema: dict, node: dict, seen: set) -> list[tuple[str, dict]]:
    """Every (name, property schema) reachable from `node`, following $refs once."""
    out = []
    if "$ref" in node:
        ref = node["$ref"].split("/")[-1]
        if ref in seen:
            return out
        seen.add(ref)
        node = schema["$defs"][ref]
    for name, prop in node.get("properties", {}).items():
        out.append((name, prop))
        out.extend(_properties(schema, prop, seen))
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            out.extend(_properties(schema, node[key], seen))
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in node.get(key, []):
            out.extend(_properties(schema, sub, seen))
    return out


@pytest.mark.parametrize("name", [spec.pattern.replace("/*.yaml", "").replace(".yaml", "") for spec in FILES])
def test_top_level_fields_have_hover_help(schemas, name):
    schema = schemas[name]
    missing = [key for key, prop in schema.get("properties", {}).items() if not prop.get("description")]
    assert not missing, f"{name}: top-level fields without a description: {missing}"


def test_most_fields_have_hover_help(schemas):
    total = described = 0
    for schema in schemas.values():
        for _, prop in _properties(schema, schema, set()):
            total += 1
            described += bool(prop.get("description"))
    assert total > 100 and described / total >= 0.6, f"{described}/{total} fields have a description"
