"""The package faces say what they export, and export what they say (as httpx's test_exported_members)."""

from __future__ import annotations

import importlib

import pytest

FACES = ["monitor.domain", "monitor.store", "monitor.notify", "monitor.actions", "monitor.rules", "monitor.sandbox"]


@pytest.mark.parametrize("face", FACES)
def test_every_name_in_all_resolves(face: str) -> None:
    module = importlib.import_module(face)
    missing = [name for name in module.__all__ if getattr(module, name, None) is None]
    assert missing == []


@pytest.mark.parametrize("face", FACES)
def test_every_public_name_imported_into_the_face_is_in_all(face: str) -> None:
    module = importlib.import_module(face)
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and getattr(value, "__module__", "").startswith("monitor.")  # classes and functions the face re-exports
        and name not in ("annotations", "TYPE_CHECKING", "lazy_exports")
    }
    assert sorted(public - set(module.__all__)) == []


def test_the_domain_exports_the_whole_vocabulary() -> None:
    import monitor.domain as domain

    vocabulary = {"Level", "EntityKey", "EntityState", "Snapshot", "MetricValue", "Severity", "AlertState"}
    vocabulary |= {"Outcome", "Account", "Hold", "WINDOWS", "window_dates", "DAILY_MODES", "BUDGET_MODES"}
    assert vocabulary <= set(domain.__all__)
