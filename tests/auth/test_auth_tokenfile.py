"""The token file: mode 0600, atomic replacement, refusal of unsafe places, and no token in any message."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from monitor.auth import TokenFileError, default_token_path, load_token, save_token

TOKEN = "5f1c0ffee0ddba11deadbeef0123456789abcdef"


@pytest.fixture
def private(tmp_path: Path) -> Path:
    directory = tmp_path / "state"
    directory.mkdir(mode=0o700)
    directory.chmod(0o700)
    return directory


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_saved_with_mode_0600_and_read_back(private: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    path = save_token(private / "access_token", SecretStr(TOKEN))
    assert mode(path) == 0o600
    assert path.read_text() == TOKEN + "\n"
    assert load_token(path).get_secret_value() == TOKEN
    assert TOKEN not in caplog.text and str(path) in caplog.text


def test_a_loose_umask_still_gives_0600(private: Path) -> None:
    old = os.umask(0)
    try:
        path = save_token(private / "access_token", TOKEN)
    finally:
        os.umask(old)
    assert mode(path) == 0o600


def test_a_missing_directory_is_created_private(tmp_path: Path) -> None:
    path = save_token(tmp_path / "new" / "access_token", TOKEN)
    assert mode(path.parent) == 0o700 and mode(path) == 0o600


def test_replacing_is_atomic_and_leaves_no_temporary_file(private: Path) -> None:
    path = save_token(private / "access_token", TOKEN)
    before = path.stat().st_ino
    save_token(path, "second-token")
    assert path.read_text() == "second-token\n" and path.stat().st_ino != before
    assert sorted(p.name for p in private.iterdir()) == ["access_token"]


@pytest.mark.parametrize("loose", [0o755, 0o750, 0o711 | 0o020, 0o777, 0o1777])
def test_refuses_a_directory_others_may_read_or_write(private: Path, loose: int) -> None:
    private.chmod(loose)
    with pytest.raises(TokenFileError) as refused:
        save_token(private / "access_token", TOKEN)
    message = str(refused.value)
    assert str(private) in message and f"chmod 700 {private}" in message
    assert TOKEN not in message
    assert list(private.iterdir()) == []


def test_refuses_to_overwrite_a_file_others_may_read(private: Path) -> None:
    path = private / "access_token"
    path.write_text("old-token\n")
    path.chmod(0o644)
    with pytest.raises(TokenFileError, match="chmod 600") as refused:
        save_token(path, TOKEN)
    assert str(path) in str(refused.value) and "old-token" not in str(refused.value)
    assert path.read_text() == "old-token\n"


def test_refuses_a_symlink_and_an_empty_token(private: Path, tmp_path: Path) -> None:
    (private / "access_token").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(TokenFileError, match="not a regular file"):
        save_token(private / "access_token", TOKEN)
    with pytest.raises(TokenFileError, match="empty or malformed"):
        save_token(private / "other", " ")


def test_load_refuses_a_readable_file_unless_told(private: Path) -> None:
    path = private / "access_token"
    path.write_text(TOKEN + "\n")
    path.chmod(0o640)
    with pytest.raises(TokenFileError, match="accessible to other users") as refused:
        load_token(path)
    assert TOKEN not in str(refused.value)
    assert load_token(path, check_permissions=False).get_secret_value() == TOKEN


def test_load_explains_a_missing_or_empty_file(private: Path) -> None:
    with pytest.raises(TokenFileError, match="auth login"):
        load_token(private / "access_token")
    empty = private / "empty"
    empty.touch(mode=0o600)
    with pytest.raises(TokenFileError, match="empty"):
        load_token(empty)


def test_a_directory_others_may_only_traverse_is_fine(private: Path) -> None:
    private.chmod(0o711)
    assert mode(save_token(private / "access_token", TOKEN)) == 0o600


def test_default_path_follows_systemd_then_xdg_then_home() -> None:
    assert default_token_path({"STATE_DIRECTORY": "/var/lib/tm:/x"}) == Path("/var/lib/tm/access_token")
    assert default_token_path({"XDG_STATE_HOME": "/s"}) == Path("/s/tiktok-monitor/access_token")
    assert default_token_path({"HOME": "/home/u"}) == Path("/home/u/.local/state/tiktok-monitor/access_token")
