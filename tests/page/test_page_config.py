"""``[page]``: off by default, beside /healthz unless it has a listener of its own, and never off the loopback
without authentication (an error naming file:line and the key); secrets from ``*_file`` and ``${ENV}``."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import load_settings
from monitor.errors import ConfigError
from monitor.page.auth import Authenticator, is_loopback

BASE = '[tiktok]\naccess_token = "t"\nadvertiser_ids = ["7000000000000000001"]\n'


def load(tmp_path: Path, text: str, env: dict[str, str] | None = None):
    path = tmp_path / "config.toml"
    path.write_text(BASE + text)
    return load_settings(path, env=env or {})


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    return [str(problem) for problem in caught.value.problems]


def test_the_page_is_off_by_default_and_beside_healthz_when_on(tmp_path: Path) -> None:
    assert load(tmp_path, "").page.enabled is False
    settings = load(tmp_path, '[health]\nlisten = "127.0.0.1:9200"\n[page]\nenabled = true\n')
    assert settings.page_listen() == "127.0.0.1:9200" and not settings.page.authenticated
    assert load(tmp_path, '[page]\nenabled = true\nlisten = "[::1]:9300"\n').page_listen() == "[::1]:9300"


def test_off_the_loopback_without_authentication_is_refused_at_the_key(tmp_path: Path) -> None:
    found = problems(tmp_path, '[page]\nenabled = true\nlisten = "0.0.0.0:9300"\n')
    assert found == [
        f"{tmp_path / 'config.toml'}:6: page.listen: the status page would listen on 0.0.0.0, not the loopback: "
        "set [page] token (or token_file) or users, or listen on 127.0.0.1"
    ]
    found = problems(tmp_path, '[health]\nlisten = "192.0.2.7:9108"\n[page]\nenabled = true\n')
    assert len(found) == 1 and found[0].startswith(f"{tmp_path / 'config.toml'}:5: health.listen: the status page")
    # with authentication, or disabled, anywhere is fine
    assert load(tmp_path, '[page]\nenabled = true\nlisten = "0.0.0.0:9300"\ntoken = "tok"\n').page.authenticated
    assert not load(tmp_path, '[health]\nlisten = "0.0.0.0:9108"\n').page.enabled
    assert problems(tmp_path, '[page]\nlisten = "nowhere"\n')[0].endswith(
        "expected HOST:PORT like '127.0.0.1:9108', got 'nowhere'"
    )


def test_secrets_come_from_files_and_the_environment_and_are_redacted(tmp_path: Path) -> None:
    (tmp_path / "page.token").write_text("file-token\n")
    (tmp_path / "page.users").write_text("# who may look\nbob:pass:with:colons\n\ncarol: spaced \n")
    settings = load(
        tmp_path,
        '[page]\nenabled = true\nlisten = "0.0.0.0:9300"\ntoken_file = "page.token"\nusers_file = "page.users"\n',
    )
    assert settings.page.token is not None and settings.page.token.get_secret_value() == "file-token"
    assert {n: p.get_secret_value() for n, p in settings.page.users.items()} == {
        "bob": "pass:with:colons",
        "carol": " spaced",
    }
    assert {"file-token", "pass:with:colons"} <= set(settings.secrets())
    settings = load(tmp_path, '[page]\nenabled = true\nusers = { alice = "${PAGE_ALICE}" }\n', {"PAGE_ALICE": "pw1"})
    assert settings.page.users["alice"].get_secret_value() == "pw1" and "pw1" in settings.secrets()
    assert "pw1" not in repr(settings)


def test_a_bad_users_file_line_is_named_without_its_content(tmp_path: Path) -> None:
    (tmp_path / "page.users").write_text("alice:ok\nno-colon-secret\n")
    (found,) = problems(tmp_path, '[page]\nusers_file = "page.users"\n')
    assert "line 2 of the users file: expected name:password" in found and "no-colon-secret" not in found


def test_the_loopback_and_who_is_who() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.8.0.1", "::1", "[::1]", "localhost", "LOCALHOST."))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.0.2.7", "monitor.internal"))  # noqa: S104
    assert Authenticator().who(None, None) == "page:local"
    auth = Authenticator(token="tok", users={"alice": "pw"})
    assert auth.who(None, None) is None and auth.who("Bearer nope", None) is None
    assert auth.who("Bearer tok", None) == "page:token" and auth.who(None, auth.session_value()) == "page:token"
    assert auth.who("Basic !!!", "tok") is None  # neither garbage nor the raw token as a cookie
