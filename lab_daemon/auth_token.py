"""Where the daemon's shared token comes from."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pytest_virtualpy.errors import ConfigError

TOKEN_ENV = "VIRTUALPY_LAB_TOKEN"


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
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return _create(path), str(path)
    with os.fdopen(fd) as f:
        mode = os.fstat(f.fileno()).st_mode
        if mode & 0o077:
            raise ConfigError(
                f"the token file {path} can be read by other users (mode {mode & 0o777:o}); "
                f"run: chmod 600 {path}"
            )
        token = f.read().strip()
    if not token:
        raise ConfigError(f"the token file {path} is empty; delete it to have a new one made")
    return token, str(path)


def _env_token_and_file(token: str, token_file: Path | None) -> str:
    """The environment's token wins; a ``token_file`` named in lab.toml is kept in step.

    An absent file is written with that token (0600), so clients that read it agree with
    the daemon; a file holding another token is left alone and the mismatch is said.
    """
    where = f"${TOKEN_ENV}"
    if token_file is None:
        return where
    path = Path(token_file)
    if not path.exists():
        _create(path, token)
        return f"{where} (also written to {path})"
    try:
        same = path.read_text().strip() == token
    except OSError:
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
