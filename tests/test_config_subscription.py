"""``[tiktok.subscription]`` and ``[monitor] adaptive`` / ``min_poll_gap``: defaults, and problems named by file, line
and key."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config import load_settings
from monitor.errors import ConfigError

TIKTOK = '[tiktok]\naccess_token = "t"\nadvertiser_ids = ["1"]\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    return [str(problem) for problem in caught.value.problems]


def test_defaults_are_off(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, TIKTOK), env={})
    assert settings.tiktok.subscription.enabled is False
    assert settings.monitor.adaptive is False
    assert settings.monitor.min_poll_gap == timedelta(seconds=15)


def test_the_receiver_path_defaults_to_the_callback_urls(tmp_path: Path) -> None:
    text = TIKTOK + 'app_id = "42"\nsecret = "s"\n[tiktok.subscription]\nenabled = true\n'
    text += 'callback_url = "https://m.example.com/hooks/tt?x=1"\n[monitor]\nadaptive = true\nmin_poll_gap = "5s"\n'
    settings = load_settings(write(tmp_path, text), env={})
    assert settings.tiktok.subscription.receiver_path == "/hooks/tt"
    assert settings.tiktok.subscription.notify_frequency == "5_MINUTE"
    assert settings.monitor.adaptive and settings.monitor.min_poll_gap == timedelta(seconds=5)


def test_problems_name_the_line_and_the_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        TIKTOK
        + """[tiktok.subscription]
        enabled = true
        notify_frequency = "1_MINUTE"
        path = "healthz"
        [monitor]
        min_poll_gap = "0s"
        """,
    )
    found = problems(path)
    assert any(p.startswith(f"{path}:6: tiktok.subscription.notify_frequency:") for p in found), found
    assert any(p.startswith(f"{path}:7: tiktok.subscription.path: expected a path like") for p in found), found
    assert any(p.startswith(f"{path}:9: monitor.min_poll_gap:") for p in found), found


def test_enabled_needs_a_callback_url_the_app_and_the_health_listener(tmp_path: Path) -> None:
    path = write(tmp_path, TIKTOK + "[tiktok.subscription]\nenabled = true\n")
    assert problems(path) == [
        f"{path}:4: tiktok.subscription.callback_url: required when enabled: the public URL TikTok calls"
    ]
    text = TIKTOK + '[tiktok.subscription]\nenabled = true\ncallback_url = "https://m.example.com/"\n'
    found = problems(write(tmp_path, text))
    assert any("tiktok.subscription.path: the callback URL has no path of its own" in p for p in found), found
    text = TIKTOK + '[tiktok.subscription]\nenabled = true\ncallback_url = "https://m.example.com/h"\n'
    found = problems(write(tmp_path, text))
    assert any("tiktok.app_id: required when [tiktok.subscription] is enabled" in p for p in found), found
    assert any("tiktok.secret: required when [tiktok.subscription] is enabled" in p for p in found), found
    text = TIKTOK + 'app_id = "42"\nsecret = "s"\n[tiktok.subscription]\nenabled = true\n'
    text += 'callback_url = "https://m.example.com/h"\n[health]\nenabled = false\n'
    found = problems(write(tmp_path, text))
    assert any("tiktok.subscription.enabled: the receiver answers on the [health] listener" in p for p in found)
