"""What a pydantic model of a TOML input takes, found from its fields: the model of the table at a key path, the
keys a table takes, its secrets.

Used to read ``<secret>_file`` keys (:class:`monitor.tomlvalidate.Loader`) and to phrase problems
(:mod:`monitor.tomlmessages`: "did you mean", "set x or x_file", secret values never quoted). A field is a
secret when its annotation mentions :class:`pydantic.SecretStr`; a table is a field whose annotation mentions a
model (``Section``, ``list[Account] | None``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, get_args

from pydantic import BaseModel, SecretStr

from monitor.tomlpos import KeyPath


def sections(root: type[BaseModel]) -> Iterator[tuple[str, type[BaseModel]]]:
    """The top-level tables of ``root``: (key, model)."""
    for name, field in root.model_fields.items():
        model = model_of(field.annotation)
        if model is not None:
            yield field.alias or name, model


def suggested_keys(model: type[BaseModel]) -> list[str]:
    """The keys a table takes, as suggested to people: deprecated ones are still read, never suggested."""
    keys = [
        field.alias or name
        for name, field in model.model_fields.items()
        if not (isinstance(field.json_schema_extra, dict) and field.json_schema_extra.get("deprecated"))
    ]
    return keys + [f"{name}_file" for name in secret_fields(model)]


def secret_fields(model: type[BaseModel]) -> list[str]:
    return [name for name, field in model.model_fields.items() if _mentions(field.annotation, SecretStr)]


def model_at(root: type[BaseModel], loc: KeyPath) -> type[BaseModel] | None:
    """The model validating the table at ``loc`` under ``root`` (list indices skipped), or None."""
    model: type[BaseModel] | None = root
    for part in loc:
        if isinstance(part, int):
            continue
        if model is None:
            return None
        field = next((f for n, f in model.model_fields.items() if part in (n, f.alias)), None)
        model = model_of(field.annotation) if field is not None else None
    return model


def is_secret(root: type[BaseModel], loc: KeyPath) -> bool:
    names = [part for part in loc if isinstance(part, str)]
    if not names:
        return False
    model = model_at(root, tuple(names[:-1]))
    return model is not None and names[-1] in secret_fields(model)


def model_of(annotation: Any) -> type[BaseModel] | None:
    """The model an annotation mentions (``Section``, ``list[Account] | None``), or None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = model_of(arg)
        if found is not None:
            return found
    return None


def _mentions(annotation: Any, wanted: type) -> bool:
    if annotation is wanted:
        return True
    return any(_mentions(arg, wanted) for arg in get_args(annotation))
