"""Where the daemon's shared token comes from, and whether it is strong enough to bind with.

A daemon reachable beyond loopback needs a token of at least :data:`MIN_TOKEN_BITS`
bits, estimated as ``length * log2(alphabet)``: 32 hex characters, 22 URL-safe base64
characters (what ``secrets.token_urlsafe(16)`` makes; the daemon makes 43), or 20 of
any other printable characters.

>>> round(token_bits("0123456789abcdef" * 2))
128
"""

from __future__ import annotations

import errno
import ipaddress
import math
import os
import secrets
import stat
import string
from pathlib import Path

from pytest_virtualpy.errors import ConfigError

TOKEN_ENV = "VIRTUALPY_LAB_TOKEN"
MIN_TOKEN_BITS = 128
_HEX = set(string.hexdigits)
_URLSAFE = set(string.ascii_letters + string.digits + "-_")


def token_bits(token: str) -> float:
    """An upper bound on the token's entropy: its length times log2 of its alphabet."""
    chars = set(token)
    if chars <= _HEX:
        alphabet = 16
    elif chars <= _URLSAFE:
        alphabet = 64
    else:
        alphabet = 95  # printable ASCII
    return len(token) * math.log2(alphabet)


def is_loopback(bind: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``: only this host can connect."""
    if bind.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(bind.strip("[]")).is_loopback
    except ValueError:
        return False


def check_token_strength(token: str, bind: str) -> None:
    """Refuse (with the fix) to listen beyond loopback with no token or a weak one."""
    if is_loopback(bind):
        return
    bits = token_bits(token or "")
    if bits < MIN_TOKEN_BITS:
        raise ConfigError(
            f"refusing to listen on {bind} (beyond loopback) with a token of about {bits:.0f} "
            f"bits; it needs at least {MIN_TOKEN_BITS} (32 hex or 22 URL-safe characters). "
            f'Make one with: python -c "import secrets; print(secrets.token_urlsafe(32))" and '
            f"put it in ${TOKEN_ENV} or the token file (or delete the token file to have one "
            "made), or bind to 127.0.0.1"
        )


def default_token_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "virtualpy" / "lab-token"


def load_or_create_token(token_file: Path | None = None) -> tuple[str, str]:
    """Return ``(token, where)``: from ``$VIRTUALPY_LAB_TOKEN``, else from the token file.

    An existing file is read, never overwritten, so a restart (or a start that then fails
    on a busy port) keeps every client working. It must be readable by its owner only; a
    file others can read is refused, saying how to fix it. Only a missing file is created,
    with a new token, mode 0600; clients then set ``VIRTUALPY_LAB_TOKEN`` (or a lab's
    ``token_env``) to it.
    """
    token = os.environ.get(TOKEN_ENV, "").strip()
    if token:
        return token, _env_token_and_file(token, token_file)
    path = Path(token_file or default_token_file())
    try:
        token = _read_token_file(path)
    except FileNotFoundError:
        return _create(path), str(path)
    if not token:
        raise ConfigError(f"the token file {path} is empty; delete it to have a new one made")
    return token, str(path)


def _read_token_file(path: Path) -> str:
    """The file's token; refused (with the fix) if it is a symlink, not a file, or readable
    by others. ``FileNotFoundError`` if it does not exist."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as e:
        if e.errno != errno.ELOOP:
            raise
        raise ConfigError(
            f"the token file {path} is a symbolic link (to {os.readlink(path)}); it is not "
            "followed, so nobody can point it elsewhere. Use the real file: set token_file "
            f"to {os.path.realpath(path)}, or replace the link with a copy (mode 0600)"
        ) from None
    with os.fdopen(fd) as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise ConfigError(
                f"the token file {path} is not a regular file; point token_file at one"
            )
        mode = st.st_mode
        if mode & 0o077:
            raise ConfigError(
                f"the token file {path} can be read by other users (mode {mode & 0o777:o}); "
                f"run: chmod 600 {path}"
            )
        return f.read(4096).strip()


def _env_token_and_file(token: str, token_file: Path | None) -> str:
    """The environment's token wins; a ``token_file`` named in lab.toml is kept in step.

    An absent file is written with that token (0600), so clients that read it agree with
    the daemon; a file holding another token is left alone and the mismatch is said.
    """
    where = f"${TOKEN_ENV}"
    if token_file is None:
        return where
    path = Path(token_file)
    if not path.exists() and not path.is_symlink():
        _create(path, token)
        return f"{where} (also written to {path})"
    try:
        same = _read_token_file(path) == token
    except (OSError, ConfigError):
        same = False
    if same:
        return f"{where} (the same as {path})"
    return (
        f"{where}; WARNING: {path} holds another token, so clients that read that file are "
        f"refused: unset {TOKEN_ENV} to use the file, or delete the file"
    )


def _create(path: Path, token: str | None = None) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    token = token or secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another daemon made it meanwhile: use theirs
        return load_or_create_token(path)[0]
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token
