"""Signed links to a daemon's live page: what ``virtualpy-lab live-url`` prints.

A link carries an expiry and an HMAC-SHA256 of it, keyed with the lab token, never the
token itself, so a link that leaks (a chat, a browser history, a proxy log) opens the
live page until it expires and grants nothing else: it cannot lease or drive a device.
Both sides import this module: the command that signs and the daemon that checks.

>>> url = make_url("10.0.0.23", 18862, "the-lab-token", valid_secs=3600, now=1000)
>>> url.startswith("http://10.0.0.23:18862/?exp=4600&sig=") and "the-lab-token" not in url
True
>>> bool(verify("the-lab-token", url.split("?")[1], now=2000))
True
>>> verify("the-lab-token", url.split("?")[1], now=5000).reason
'the link expired'
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode

#: what a signature is for: a token-keyed MAC made for anything else never passes
PURPOSE = b"virtualpy-lab live view, v1, expires at "
#: the longest a link may stay valid (the daemon refuses links that claim longer)
MAX_VALID_SECS = 31 * 86400
MAX_QUERY = 1024  # characters of a query string worth parsing
_DIGITS = re.compile(r"[0-9]{1,12}")
_HEX = re.compile(r"[0-9a-f]{64}")


def sign(token: str, expires: int) -> str:
    """The signature (hex) of a link that expires at ``expires`` (Unix time, lab clock)."""
    if not token:
        raise ValueError("an empty token signs nothing")
    msg = PURPOSE + str(int(expires)).encode()
    return hmac.new(token.encode(), msg, hashlib.sha256).hexdigest()


def query(token: str, valid_secs: float, now: float | None = None) -> str:
    """``exp=...&sig=...`` for a link valid ``valid_secs`` from ``now`` (default: now)."""
    if not 0 < valid_secs <= MAX_VALID_SECS:
        raise ValueError(f"a link is valid for 1 s to {MAX_VALID_SECS // 86400} days")
    expires = int((time.time() if now is None else now) + valid_secs)
    return urlencode({"exp": expires, "sig": sign(token, expires)})


def make_url(host: str, port: int, token: str, valid_secs: float, now: float | None = None) -> str:
    """The signed URL of the live page at ``host:port``.

    ``now`` should be the daemon's clock (its ``hello()["time"]``) so that clock skew
    between the machines does not shorten or lengthen the link.
    """
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    return f"http://{host}:{int(port)}/?{query(token, valid_secs, now)}"


@dataclass(frozen=True)
class LinkCheck:
    """The outcome of :func:`verify`: truthy when the link is good, else says why not."""

    ok: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ok


def _one(values: Mapping, key: str) -> str | None:
    v = values.get(key)
    if isinstance(v, list | tuple):
        return v[0] if len(v) == 1 else None
    return v


def verify(token: str, query_: str | Mapping, now: float | None = None) -> LinkCheck:
    """Check a request's query (a string, or ``parse_qs`` output) against the token."""
    if isinstance(query_, str):
        if len(query_) > MAX_QUERY:
            return LinkCheck(False, "the query string is too long")
        query_ = parse_qs(query_)
    exp, sig = _one(query_, "exp"), _one(query_, "sig")
    if not exp or not sig:
        return LinkCheck(False, "the link is not signed")
    if not (_DIGITS.fullmatch(exp) and _HEX.fullmatch(sig)):
        return LinkCheck(False, "the link's signature is malformed")
    now = time.time() if now is None else now
    if not hmac.compare_digest(sign(token, int(exp)), sig):
        return LinkCheck(False, "the link's signature is wrong (another lab, or altered)")
    if int(exp) <= now:
        return LinkCheck(False, "the link expired")
    if int(exp) > now + MAX_VALID_SECS:
        return LinkCheck(False, "the link claims to stay valid for too long")
    return LinkCheck(True)
