"""``virtualpy-lab certs``: a small private CA, a daemon certificate, client certificates.

Writes, into ``--out``::

    ca.pem, ca.key                      the CA (keep ca.key offline once done)
    server.pem, server.key              the daemon's certificate, naming every --host
    client-NAME.pem, client-NAME.key    one per --client (its common name is NAME)

Keys are written mode 0600 and never overwritten (delete them to make new ones);
an existing CA and server certificate are kept, so running it again with another
``--client`` adds that client. Made with the
``cryptography`` package: ECDSA P-256 keys, SHA-256 signatures.

>>> sorted(split_names("pi-03, 10.0.0.23"))
['10.0.0.23', 'pi-03']
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path

from pytest_virtualpy.errors import ConfigError

CA_DAYS = 3650
LEAF_DAYS = 825


def split_names(value: str) -> list[str]:
    """``"a,b"`` -> ``["a", "b"]``, refusing empty or odd names with the fix."""
    names = [n.strip() for n in (value or "").split(",") if n.strip()]
    for n in names:
        if not all(c.isalnum() or c in "-._:" for c in n):
            raise ConfigError(f"certs: {n!r} is not a host or client name (letters, digits, -._:)")
    return names


def _write(path: Path, data: bytes, private: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600 if private else 0o644)
    except FileExistsError:
        raise ConfigError(f"certs: {path} exists; delete it to make a new one") from None
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def make_certs(out: Path, hosts: list[str], clients: list[str]) -> list[Path]:
    """Make (or reuse) the CA, then the server and client certificates; the files written."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    if not hosts:
        raise ConfigError("certs: give --host NAME[,NAME]: the names clients dial the daemon by")
    out.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    written: list[Path] = []

    def pem_key(key) -> bytes:
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    ca_pem, ca_key_path = out / "ca.pem", out / "ca.key"
    if ca_pem.exists() and ca_key_path.exists():
        ca_cert = x509.load_pem_x509_certificate(ca_pem.read_bytes())
        ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), None)
    else:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(name("virtualpy lab CA"))
            .issuer_name(name("virtualpy lab CA"))
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
            .sign(ca_key, hashes.SHA256())
        )
        _write(ca_key_path, pem_key(ca_key), private=True)
        _write(ca_pem, ca_cert.public_bytes(serialization.Encoding.PEM), private=False)
        written += [ca_pem, ca_key_path]

    def leaf(stem: str, cn: str, usage, sans: list[x509.GeneralName]) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(cn))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=LEAF_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        _write(out / f"{stem}.key", pem_key(key), private=True)
        _write(out / f"{stem}.pem", cert.public_bytes(serialization.Encoding.PEM), private=False)
        written.extend([out / f"{stem}.pem", out / f"{stem}.key"])

    sans: list[x509.GeneralName] = []
    for h in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            sans.append(x509.DNSName(h))
    if not ((out / "server.pem").exists() and (out / "server.key").exists()):
        leaf("server", hosts[0], ExtendedKeyUsageOID.SERVER_AUTH, sans)
    for c in clients:
        leaf(f"client-{c}", c, ExtendedKeyUsageOID.CLIENT_AUTH, [])
    return written


def paste_lines(out: Path, hosts: list[str], clients: list[str]) -> str:
    """What to paste into lab.toml and labs.toml for these files."""
    out = out.resolve()
    lines = [
        "# lab.toml on the lab host (copy ca.pem, server.pem and server.key there):",
        "[lab.tls]",
        f'cert = "{out / "server.pem"}"',
        f'key = "{out / "server.key"}"',
        f'ca = "{out / "ca.pem"}"',
        "",
        "# labs.toml where tests run (copy ca.pem and that client's .pem and .key there):",
    ]
    for c in clients or ["NAME"]:
        lines.append(
            f'# [labs.LAB] address = "{hosts[0]}:18861"  (client {c}):'
            if len(clients) > 1
            else f'[labs.LAB]\naddress = "{hosts[0]}:18861"'
        )
        lines.append(
            f'tls = {{ ca = "{out / "ca.pem"}", cert = "{out / f"client-{c}.pem"}", '
            f'key = "{out / f"client-{c}.key"}" }}'
        )
    return "\n".join(lines)
