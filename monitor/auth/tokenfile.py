"""The advertiser token on disk: written atomically with mode 0600, only into a private directory.

``save_token`` refuses (with :class:`TokenFileError` naming the path and the fix) a directory that other
users may read or write or that belongs to someone else, and an existing token file that others may read:
the token never expires (tiktok-api.md §2.1), so whoever reads it can run the ad accounts until it is revoked.
The file is first created as a new temporary file (O_CREAT|O_EXCL, 0600: never a moment with looser mode)
and then renamed over the target. The token itself is never logged.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path

from pydantic import SecretStr

from monitor.auth.errors import TokenFileError

log = logging.getLogger(__name__)

TOKEN_FILE_NAME = "access_token"  # noqa: S105 - a file name
APP_DIR = "tiktok-monitor"
_OTHERS_RW = stat.S_IRGRP | stat.S_IWGRP | stat.S_IROTH | stat.S_IWOTH
_OTHERS_ANY = stat.S_IRWXG | stat.S_IRWXO


def default_token_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where ``auth login`` keeps the token: systemd's ``$STATE_DIRECTORY``, else
    ``$XDG_STATE_HOME/tiktok-monitor``, else ``~/.local/state/tiktok-monitor``; file ``access_token``."""
    env = os.environ if environ is None else environ
    state = env.get("STATE_DIRECTORY", "").split(":")[0]
    if state:
        return Path(state) / TOKEN_FILE_NAME
    base = env.get("XDG_STATE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local" / "state")
    return Path(base) / APP_DIR / TOKEN_FILE_NAME


def save_token(path: str | os.PathLike[str], token: str | SecretStr) -> Path:
    """Store ``token`` at ``path`` (mode 0600), replacing an older one atomically. A missing directory is
    created with mode 0700. Returns the path written."""
    target = Path(path).expanduser().absolute()
    value = token.get_secret_value() if isinstance(token, SecretStr) else token
    if not value or value != value.strip() or "\n" in value:
        raise TokenFileError(f"{target}: refusing to store an empty or malformed token")
    directory = target.parent
    if not directory.exists():
        directory.mkdir(mode=0o700, parents=True)
    _check_directory(directory)
    if target.is_symlink() or (target.exists() and not target.is_file()):
        raise TokenFileError(f"{target}: exists and is not a regular file; fix: remove it or choose another path")
    if target.exists():
        _check_file(target)
    temporary = directory / f".{target.name}.{secrets.token_hex(6)}.tmp"
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(temporary, flags, 0o600)
        try:
            os.fchmod(fd, 0o600)  # the umask can only remove bits; make the mode exact anyway
            data = (value + "\n").encode()
            while data:
                data = data[os.write(fd, data) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, target)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise TokenFileError(f"{target}: cannot write the token ({exc.strerror or type(exc).__name__})") from None
    _sync_directory(directory)
    log.info("stored the access token in %s (mode 0600)", target)
    return target


def load_token(path: str | os.PathLike[str], *, check_permissions: bool = True) -> SecretStr:
    """The token stored at ``path``. With ``check_permissions`` (the default) a file that others may read
    is refused, as ssh refuses such a private key; pass False for secrets mounted by an orchestrator."""
    target = Path(path).expanduser().absolute()
    try:
        if check_permissions:
            _check_file(target)
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TokenFileError(f"{target}: no token stored here; fix: run `tiktok-monitor auth login`") from None
    except OSError as exc:
        raise TokenFileError(f"{target}: cannot read the token ({exc.strerror or type(exc).__name__})") from None
    value = text.strip()
    if not value:
        raise TokenFileError(f"{target}: the file is empty; fix: run `tiktok-monitor auth login`")
    return SecretStr(value)


def _check_directory(directory: Path) -> None:
    info = directory.stat()
    if not stat.S_ISDIR(info.st_mode):
        raise TokenFileError(f"{directory}: is not a directory")
    mode = stat.S_IMODE(info.st_mode)
    if mode & _OTHERS_RW:
        raise TokenFileError(
            f"{directory}: the directory is readable or writable by other users (mode {mode:04o}), so the token "
            f"would not stay private; fix: `chmod 700 {directory}` or store the token in a private directory"
        )
    if hasattr(os, "getuid") and info.st_uid not in (os.getuid(), 0):
        raise TokenFileError(
            f"{directory}: the directory belongs to another user (uid {info.st_uid}), who could replace the "
            "token; fix: store the token in a directory of your own"
        )


def _check_file(target: Path) -> None:
    mode = stat.S_IMODE(target.stat().st_mode)
    if mode & _OTHERS_ANY:
        raise TokenFileError(
            f"{target}: the token file is accessible to other users (mode {mode:04o}) and may have leaked; "
            f"fix: `chmod 600 {target}` (and revoke the token if others could read it)"
        )


def _sync_directory(directory: Path) -> None:
    """Make the rename durable (POSIX); harmless where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
