"""TLS for the lab protocol, shared by both ends: who loads which files, how strictly.

The daemon (``[lab.tls] cert, key, ca`` in lab.toml) requires every client to show a
certificate signed by ``ca`` and speaks TLS 1.2 or newer. A client (``tls = { ca,
cert, key }`` for a lab in labs.toml) checks the daemon's certificate against ``ca``
and the host name or IP it dialled, and shows its own certificate. A client without
one gets nothing: the TLS handshake fails before the daemon says a word. The token
handshake then runs inside TLS as well.

>>> TlsFiles("ca.pem", "c.pem", "c.key").describe()
'ca=ca.pem cert=c.pem key=c.key'
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from pytest_virtualpy.errors import ConfigError

KEYS = ("ca", "cert", "key")


@dataclass(frozen=True)
class TlsFiles:
    """The PEM files of one end: the CA that signs the peer, our certificate, its key."""

    ca: str
    cert: str
    key: str

    def describe(self) -> str:
        return f"ca={self.ca} cert={self.cert} key={self.key}"

    @classmethod
    def from_table(cls, table: object, base: Path, where: str) -> TlsFiles:
        """Read ``{ca, cert, key}`` (paths relative to ``base``); a :class:`ConfigError`
        naming ``where`` and the fix when a key or file is missing."""
        if not isinstance(table, dict):
            raise ConfigError(
                f'{where}: tls must be a table: {{ ca = "...", cert = "...", key = "..." }}'
            )
        unknown = sorted(set(table) - set(KEYS))
        missing = [k for k in KEYS if k not in table]
        if unknown or missing:
            raise ConfigError(
                f"{where}: tls needs exactly ca, cert and key"
                + (f"; unknown: {', '.join(unknown)}" if unknown else "")
                + (f"; missing: {', '.join(missing)}" if missing else "")
                + " (make them with `virtualpy-lab certs`)"
            )
        paths = {}
        for k in KEYS:
            if not isinstance(table[k], str) or not table[k]:
                raise ConfigError(f"{where}: tls {k} must be a path to a PEM file")
            p = Path(table[k]).expanduser()
            p = p if p.is_absolute() else base / p
            if not p.is_file():
                raise ConfigError(
                    f"{where}: tls {k} = {table[k]!r}: {p} does not exist (relative paths are "
                    f"from {base}; make the files with `virtualpy-lab certs`)"
                )
            paths[k] = str(p)
        return cls(**paths)


def _load(ctx: ssl.SSLContext, files: TlsFiles, who: str) -> ssl.SSLContext:
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_verify_locations(files.ca)
        ctx.load_cert_chain(files.cert, files.key)
    except (OSError, ssl.SSLError) as e:
        raise ConfigError(
            f"{who} TLS files do not load ({files.describe()}): {e}. Are they PEM, does the "
            "key belong to the certificate, and can this user read them?"
        ) from None
    return ctx


def server_context(files: TlsFiles) -> ssl.SSLContext:
    """The daemon's context: our certificate, and a client certificate signed by ``ca``."""
    ctx = _load(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER), files, "the daemon's")
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def client_context(files: TlsFiles) -> ssl.SSLContext:
    """A client's context: the daemon's certificate must be signed by ``ca`` and name the host."""
    ctx = _load(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), files, "this lab's")
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def peer_subject(sock: ssl.SSLSocket) -> str | None:
    """The common name of the certificate the peer showed, if any."""
    cert = sock.getpeercert() or {}
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None
