"""A hand-written validator for the subset of JSON Schema docs/status.schema.json uses (jsonschema is not a
dependency): type (one or a list), enum, pattern, required, properties, additionalProperties (false or a schema),
items and local ``$ref``. Returns every problem as ``path: message``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "status.schema.json"
_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}
_KNOWN = {
    "$schema", "$id", "$ref", "$defs", "title", "description", "type", "enum", "pattern", "required", "properties",
    "additionalProperties", "items",
}  # fmt: skip


def load_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


def problems(value: Any, schema: dict[str, Any], root: dict[str, Any] | None = None, path: str = "$") -> list[str]:
    root = root if root is not None else schema
    unknown = set(schema) - _KNOWN
    if unknown:  # the schema uses a keyword this checker would silently ignore: fail loudly instead
        return [f"{path}: schema keyword(s) not checked: {sorted(unknown)}"]
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/$defs/")
        return problems(value, root["$defs"][name], root, path)
    found: list[str] = []
    types = schema.get("type")
    if types is not None:
        wanted = [types] if isinstance(types, str) else types
        if not any(_TYPES[t](value) for t in wanted):
            return [f"{path}: {value!r} is not of type {wanted}"]
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{path}: {value!r} not one of {schema['enum']}")
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        found.append(f"{path}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, dict):
        found += [f"{path}: missing {key!r}" for key in schema.get("required", []) if key not in value]
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in properties:
                found += problems(item, properties[key], root, f"{path}.{key}")
            elif extra is False:
                found.append(f"{path}: unexpected key {key!r}")
            elif isinstance(extra, dict):
                found += problems(item, extra, root, f"{path}.{key}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            found += problems(item, schema["items"], root, f"{path}[{index}]")
    return found
