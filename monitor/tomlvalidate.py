"""Reading a TOML file into a pydantic model, with every problem located as ``FILE:LINE: key: message``.

The machinery behind :func:`monitor.config.load_settings`, kept apart so other strict TOML inputs (rule
files) can report problems the same way: parse errors with their line, ``${VAR}`` interpolation,
``<secret>_file`` indirection, and pydantic's errors translated into one plain line each (unknown keys get
"did you mean", secret values are never quoted).
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, SecretStr, ValidationError

from monitor.errors import ConfigError, Problem
from monitor.tomlpos import KeyIndex, KeyPath

_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)(\})?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TOML_POSITION = re.compile(r"^(.*) \(at (?:line (\d+), column (\d+)|end of document)\)$", re.DOTALL)
_UNREADABLE = "<unreadable>"  # stands in for a secret whose file could not be read, already reported


def read_text(source: Path, shown: str, what: str = "config file") -> str:
    """The file's text; a file that cannot be read, or is not UTF-8, is one problem naming ``what`` it is (and,
    for bytes that are not UTF-8, the line and column of the first)."""
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise ConfigError([Problem(shown, None, "", f"cannot read the {what}: {exc.strerror}")]) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = len(data[data.rfind(b"\n", 0, exc.start) + 1 : exc.start].decode("utf-8", "replace")) + 1
        message = f"cannot read the {what}: not UTF-8 text (column {column}: byte 0x{data[exc.start]:02x})"
        raise ConfigError([Problem(shown, line, "", message)]) from None


def parse_toml(text: str, shown: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_POSITION.match(str(exc))
        message, line, column = (match.group(1), match.group(2), match.group(3)) if match else (str(exc), None, None)
        message = message[:1].lower() + message[1:]
        if column:
            message += f" (column {column})"
        problem = Problem(shown, int(line) if line else text.count("\n") + 1, "", f"invalid TOML: {message}")
        raise ConfigError([problem]) from None


class FromEnv(str):
    """Text a ``${VAR}`` reference produced. An environment variable is always text, so where a number or a
    boolean is expected, text from the environment is parsed (``max_qps = "${QPS}"``); text written in the file
    is not: ``max_qps = "10"`` and ``enabled = "yes"`` are refused (a quoted value is usually a mistake)."""


class Loader:
    """The state of one load: where problems are reported and the ones found so far."""

    def __init__(
        self, root: type[BaseModel], shown: str, config_dir: Path, env: Mapping[str, str], index: KeyIndex
    ) -> None:
        self.root = root
        self.shown = shown
        self.config_dir = config_dir
        self.env = env
        self.index = index
        self.problems: list[Problem] = []
        self.reported: list[KeyPath] = []  # found before validation: validation errors at or below are noise
        self.renamed: dict[KeyPath, KeyPath] = {}  # secret read from a file -> the *_file key that named it
        #: What a problem's key calls a table, instead of its path: ("rule", 2) -> 'rule "overspend"'.
        self.labels: dict[KeyPath, str] = {}

    def report(self, loc: KeyPath, message: str) -> None:
        self.problems.append(Problem(self.shown, self.index.line(loc), self.key(loc), message))

    def key(self, loc: KeyPath) -> str:
        """The key of a problem at ``loc``, dotted, starting from the label of the innermost labelled table."""
        for length in range(len(loc), 0, -1):
            label = self.labels.get(loc[:length])
            if label is not None:
                rest = _dotted(loc[length:])
                return f"{label}.{rest}" if rest and not rest.startswith("[") else label + rest
        return _dotted(loc)

    def fail(self, loc: KeyPath, message: str) -> None:
        """Report a problem found before validation, and silence validation errors at or below ``loc``."""
        self.report(loc, message)
        self.reported.append(loc)

    def sorted_problems(self) -> list[Problem]:
        return sorted(self.problems, key=lambda p: (p.line is None, p.line or 0))

    # --- ${VAR} ---

    def interpolate(self, value: Any, loc: KeyPath) -> Any:
        if isinstance(value, dict):
            return {key: self.interpolate(item, (*loc, key)) for key, item in value.items()}
        if isinstance(value, list):
            return [self.interpolate(item, (*loc, index)) for index, item in enumerate(value)]
        if not isinstance(value, str) or "$" not in value:
            return value
        errors: list[str] = []
        result = _REFERENCE.sub(lambda match: self._substitute(match, errors), value)
        for message in errors:
            self.fail(loc, message)
        if errors:
            return value
        if any(match.group(1) is not None for match in _REFERENCE.finditer(value)):
            return FromEnv(result)  # from the environment: may stand for a number or a boolean
        return result

    def _substitute(self, match: re.Match[str], errors: list[str]) -> str:
        name, closed = match.group(1), match.group(2)
        if name is None:
            return "${"  # $${ is a literal ${
        if not closed:
            errors.append("'${' without a closing '}' (write $${ for a literal ${)")
        elif not _NAME.fullmatch(name):
            errors.append(f"'${{{name}}}' is not a variable reference: expected ${{NAME}} (letters, digits, _)")
        elif name not in self.env:
            errors.append(f"environment variable {name} is not set")
        else:
            return self.env[name].strip()
        return match.group()

    # --- *_file secrets ---

    def read_secret_files(self, doc: dict[str, Any]) -> None:
        for section, model in _sections(self.root):
            table = doc.get(section)
            if not isinstance(table, dict):
                continue
            for name in _secret_fields(model):
                key = f"{name}_file"
                if key in table:
                    self._read_secret_file(table, (section,), name, key)
            for name, field in model.model_fields.items():  # arrays of tables, like [[tiktok.accounts]]
                item_model = _model_of(field.annotation)
                items = table.get(field.alias or name)
                if item_model is None or not isinstance(items, list):
                    continue
                for index, item in enumerate(items):
                    for secret in _secret_fields(item_model) if isinstance(item, dict) else ():
                        if f"{secret}_file" in item:
                            self._read_secret_file(
                                item, (section, field.alias or name, index), secret, f"{secret}_file"
                            )

    def _read_secret_file(self, table: dict[str, Any], loc: KeyPath, name: str, key: str) -> None:
        """Replace ``<name>_file`` by ``<name>`` = the file's content; on failure a stand-in, reported."""
        file_loc = (*loc, key)
        value = table.pop(key)
        if name in table:
            self.fail(file_loc, f"set either {name} or {key}, not both")
            return
        table[name] = _UNREADABLE
        if file_loc in self.reported:
            return  # e.g. an unset ${VAR} in the path
        if not isinstance(value, str):
            self.fail(file_loc, f"expected a file path, got {show_value(value)}")
            return
        if not value.strip():
            self.fail(file_loc, "must not be empty")
            return
        file = Path(value).expanduser()
        file = file if file.is_absolute() else self.config_dir / file
        try:
            content = file.read_bytes().decode("utf-8").strip()
        except OSError as exc:
            self.fail(file_loc, f"cannot read {file}: {exc.strerror}")
        except UnicodeDecodeError:
            self.fail(file_loc, f"cannot read {file}: not UTF-8 text")
        else:
            if not content:
                self.fail(file_loc, f"{file} is empty")
                return
            table[name] = content
            self.renamed[(*loc, name)] = file_loc

    # --- validation errors ---

    def add_validation_errors(self, exc: ValidationError) -> None:
        errors = exc.errors(include_url=False)
        # A misspelt required key is one mistake: "unknown key; did you mean 'x'?" says it all, so the
        # matching "x: required" is left out.
        meant = {_meant(self.root, tuple(e["loc"])) for e in errors if e["type"] == "extra_forbidden"}
        for error in errors:
            if error["type"] == "missing" and tuple(error["loc"]) in meant:
                continue
            for loc, message in _messages(self.root, error):
                for secret_loc, file_loc in self.renamed.items():
                    if loc[: len(secret_loc)] == secret_loc:
                        loc = (*file_loc, *loc[len(secret_loc) :])
                if not any(loc[: len(done)] == done for done in self.reported):
                    self.report(loc, message)


def _messages(root: type[BaseModel], error: Any) -> Iterator[tuple[KeyPath, str]]:
    """One pydantic error from validating ``root`` as (location, one-line message) pairs."""
    loc: KeyPath = tuple(error["loc"])
    kind: str = error["type"]
    ctx: dict[str, Any] = error.get("ctx") or {}
    if kind == "config":
        for key, message in ctx["problems"]:
            yield (*loc, *_split_key(key)), message
        return
    if kind == "missing":
        name = str(loc[-1])
        model = _model_at(root, loc[:-1])
        also = f" or {name}_file" if model is not None and name in _secret_fields(model) else ""
        yield loc, f"required: set {name}{also}"
        return
    if kind == "extra_forbidden":
        yield loc, _unknown_key(root, loc)
        return
    expected = _EXPECTED.get(kind)
    if kind in _BOUNDS:
        phrase, bound = _BOUNDS[kind]
        expected = f"{phrase} {ctx.get(bound)}"
    if expected is None:
        expected = error["msg"].splitlines()[0]
    if _is_secret(root, loc):
        yield loc, expected
    else:
        yield loc, f"{expected}, got {show_value(error.get('input'))}"


_EXPECTED = {
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "int_from_float": "expected an integer",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "string_type": "expected a string",
    "list_type": "expected an array",
    "model_type": "expected a table",
    "model_attributes_type": "expected a table",
    "dict_type": "expected a table",
    "path_type": "expected a path",
}
_BOUNDS = {
    "greater_than_equal": ("must be at least", "ge"),
    "greater_than": ("must be more than", "gt"),
    "less_than_equal": ("must be at most", "le"),
    "less_than": ("must be less than", "lt"),
}


def _unknown_key(root: type[BaseModel], loc: KeyPath) -> str:
    model = _model_at(root, loc[:-1])
    if model is None:
        return "unknown key"
    close = _closest(root, loc)
    if close:
        return f"unknown key; did you mean {close!r}?"
    return "unknown key; expected one of: " + ", ".join(_keys(model))


def _closest(root: type[BaseModel], loc: KeyPath) -> str | None:
    """The valid key most like the unknown key at ``loc``, if any is close: the model's ``SYNONYMS`` (a class
    attribute mapping what people write to our key) first, then the closest spelling."""
    model = _model_at(root, loc[:-1])
    if model is None:
        return None
    synonym = getattr(model, "SYNONYMS", {}).get(str(loc[-1]).lower())  # e.g. condition -> when
    if synonym in _keys(model):
        return str(synonym)
    close = difflib.get_close_matches(str(loc[-1]), _keys(model), n=1)
    return close[0] if close else None


def _meant(root: type[BaseModel], loc: KeyPath) -> KeyPath | None:
    """The field an unknown key was probably meant to be (``x_file`` means ``x``)."""
    close = _closest(root, loc)
    if close is None:
        return None
    model = _model_at(root, loc[:-1])
    if model is not None and close.endswith("_file") and close[: -len("_file")] in _secret_fields(model):
        close = close[: -len("_file")]
    return (*loc[:-1], close)


def _sections(root: type[BaseModel]) -> Iterator[tuple[str, type[BaseModel]]]:
    for name, field in root.model_fields.items():
        model = _model_of(field.annotation)
        if model is not None:
            yield field.alias or name, model


def _keys(model: type[BaseModel]) -> list[str]:
    """The keys a table takes, as suggested to people: deprecated ones are still read, never suggested."""
    keys = [
        field.alias or name
        for name, field in model.model_fields.items()
        if not (isinstance(field.json_schema_extra, dict) and field.json_schema_extra.get("deprecated"))
    ]
    return keys + [f"{name}_file" for name in _secret_fields(model)]


def _secret_fields(model: type[BaseModel]) -> list[str]:
    return [name for name, field in model.model_fields.items() if _mentions(field.annotation, SecretStr)]


def _model_at(root: type[BaseModel], loc: KeyPath) -> type[BaseModel] | None:
    """The model validating the table at ``loc`` under ``root`` (list indices skipped), or None."""
    model: type[BaseModel] | None = root
    for part in loc:
        if isinstance(part, int):
            continue
        if model is None:
            return None
        field = next((f for n, f in model.model_fields.items() if part in (n, f.alias)), None)
        model = _model_of(field.annotation) if field is not None else None
    return model


def _is_secret(root: type[BaseModel], loc: KeyPath) -> bool:
    names = [part for part in loc if isinstance(part, str)]
    if not names:
        return False
    model = _model_at(root, tuple(names[:-1]))
    return model is not None and names[-1] in _secret_fields(model)


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _mentions(annotation: Any, wanted: type) -> bool:
    if annotation is wanted:
        return True
    return any(_mentions(arg, wanted) for arg in get_args(annotation))


def _split_key(key: str) -> KeyPath:
    return tuple(int(part) if part.isdigit() else part for part in key.split(".")) if key else ()


def _dotted(loc: KeyPath) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = part if re.fullmatch(r"[A-Za-z0-9_-]+", part) else f'"{part}"'
            out += f".{text}" if out else text
    return out


def show_value(value: object) -> str:
    """A value as it would be written in TOML, shortened."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."
