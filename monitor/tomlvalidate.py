"""Validating a TOML document against a pydantic model, with every problem located as ``FILE:LINE: key: message``.

The machinery behind :func:`monitor.config.load_settings`, kept apart so other strict TOML inputs (rule
files, rule test files) report problems the same way. A :class:`Loader` is one load: ``${VAR}`` interpolation
(text from the environment marked :class:`FromEnv`), ``<secret>_file`` indirection, and pydantic's errors
translated into one plain line each (:mod:`monitor.tomlmessages`), each at the line of its key
(:class:`monitor.tomlpos.KeyIndex`). Reading and parsing the file come first: :mod:`monitor.tomlread`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from monitor.errors import Problem
from monitor.tomlfields import model_of, secret_fields, sections
from monitor.tomlmessages import dotted, meant, messages, show_value
from monitor.tomlpos import KeyIndex, KeyPath

_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)(\})?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_UNREADABLE = "<unreadable>"  # stands in for a secret whose file could not be read, already reported


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
                rest = dotted(loc[length:])
                return f"{label}.{rest}" if rest and not rest.startswith("[") else label + rest
        return dotted(loc)

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
        for section, model in sections(self.root):
            table = doc.get(section)
            if not isinstance(table, dict):
                continue
            for name in secret_fields(model):
                key = f"{name}_file"
                if key in table:
                    self._read_secret_file(table, (section,), name, key)
            for name, field in model.model_fields.items():  # arrays of tables, like [[tiktok.accounts]]
                item_model = model_of(field.annotation)
                items = table.get(field.alias or name)
                if item_model is None or not isinstance(items, list):
                    continue
                for index, item in enumerate(items):
                    for secret in secret_fields(item_model) if isinstance(item, dict) else ():
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
        meant_fields = {meant(self.root, tuple(e["loc"])) for e in errors if e["type"] == "extra_forbidden"}
        for error in errors:
            if error["type"] == "missing" and tuple(error["loc"]) in meant_fields:
                continue
            for loc, message in messages(self.root, error):
                for secret_loc, file_loc in self.renamed.items():
                    if loc[: len(secret_loc)] == secret_loc:
                        loc = (*file_loc, *loc[len(secret_loc) :])
                if not any(loc[: len(done)] == done for done in self.reported):
                    self.report(loc, message)
