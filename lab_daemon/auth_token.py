"""Where the daemon's shared token comes from."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

TOKEN_ENV = "VIRTUALPY_LAB_TOKEN"


def default_token_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "virtualpy" / "lab-token"


def load_or_create_token(token_file: Path | None = None) -> tuple[str, str]:
    """Return ``(token, where)``: from ``$VIRTUALPY_LAB_TOKEN``, else a new one written to a file.

    A generated token is written with mode 0600 so only this user can read it;
    clients then set ``VIRTUALPY_LAB_TOKEN`` (or a lab's ``token_env``) to it.
    """
    token = os.environ.get(TOKEN_ENV, "").strip()
    if token:
        return token, f"${TOKEN_ENV}"
    path = token_file or default_token_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token, str(path)
