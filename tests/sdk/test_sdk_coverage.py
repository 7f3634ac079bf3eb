"""Every endpoint the monitor calls is driven through TikTok's SDK by some test of tests/sdk (see sdk_coverage):
the monitor's endpoints are read from monitor/tiktok's code, so a new one without an SDK test fails here."""

from __future__ import annotations

from pathlib import Path

import pytest
from sdk_coverage import declared_endpoints, monitor_endpoints


def test_every_endpoint_the_monitor_calls_has_an_sdk_test() -> None:
    used = monitor_endpoints()
    # the reading itself: the ordinary, Smart+ and Change Log paths, literal and built by f-strings
    assert {"campaign/get/", "smart_plus/ad/status/update/", "changelog/task/download/"} <= used
    assert len(used) >= 27
    missing = sorted(used - set(declared_endpoints()))
    assert not missing, f"endpoints the monitor calls without a tests/sdk test (@pytest.mark.endpoints): {missing}"


def test_the_reading_expands_path_f_strings_and_refuses_unknown_placeholders(tmp_path: Path) -> None:
    (tmp_path / "client_x.py").write_text(
        'A = "report/task/check/"\n'
        "B = f\"{SMART_PLUS_PREFIX if smart_plus else ''}{level.value}/status/update/\"\n"
        'C = "not a path"\nD = f"{count} items"\n'
    )
    assert monitor_endpoints(tmp_path) == {
        "report/task/check/",
        *(f"{p}{kind}/status/update/" for p in ("", "smart_plus/") for kind in ("campaign", "adgroup", "ad")),
    }
    (tmp_path / "client_y.py").write_text('E = f"{kind}/get/"\n')
    with pytest.raises(ValueError, match=r"client_y.py:1: the path f-string's \{kind\}"):
        monitor_endpoints(tmp_path)


def test_declarations_are_read_from_the_test_files(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text(
        '@pytest.mark.endpoints("a/get/", "b/get/")\ndef test_one():\n    pass\n\ndef test_two():\n    pass\n'
    )
    assert declared_endpoints(tmp_path) == {"a/get/": ["test_x.py::test_one"], "b/get/": ["test_x.py::test_one"]}
