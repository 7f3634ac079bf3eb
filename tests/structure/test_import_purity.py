"""The pure layers load no adapter: the rules, the guards and the domain vocabulary import none of the
database, HTTP, Slack or template libraries (docs/architecture.md, dependency direction)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

ADAPTER_LIBRARIES = ("sqlalchemy", "sqlmodel", "alembic", "aiohttp", "slack_sdk", "aiosmtplib", "jinja2", "apscheduler")


def loaded_after_import(module: str) -> list[str]:
    """The adapter libraries a fresh interpreter has loaded after ``import module``."""
    probe = (
        f"import json, sys; import {module}; "
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({list(ADAPTER_LIBRARIES)!r}))))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    return json.loads(done.stdout)


@pytest.mark.parametrize(
    "module",
    ["monitor.domain", "monitor.rules", "monitor.rules.engine", "monitor.rules.lifecycle", "monitor.actions.guard"],
)
def test_pure_layers_load_no_adapter(module: str) -> None:
    assert loaded_after_import(module) == []


def test_the_probe_sees_an_adapter_when_one_is_loaded() -> None:
    # the check above can fail: importing the store's database side does load sqlalchemy
    assert "sqlalchemy" in loaded_after_import("monitor.store.repo")


@pytest.mark.parametrize(
    ("face", "use", "library"),
    [
        ("monitor.store", "Store", "sqlalchemy"),
        ("monitor.notify", "Templates", None),  # the templates load jinja2 when they render: not before
        ("monitor.notify", "Templates().check()", "jinja2"),
    ],
)
def test_package_faces_load_their_adapters_on_first_use(face: str, use: str, library: str | None) -> None:
    assert (library or "jinja2") not in loaded_after_import(face)
    probe = f"import sys, {face}; {face}.{use}; print({library or 'jinja2'!r} in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == str(library is not None)
