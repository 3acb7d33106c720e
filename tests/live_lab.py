"""What the live-view tests share: where a daemon's live page is, and plain HTTP GETs."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass

from pytest_virtualpy.lab import live_link


@dataclass
class Live:
    address: str  # the RPyC daemon
    token: str
    port: int  # the live page

    def url(self, path: str = "/", query: str | None = None) -> str:
        q = live_link.query(self.token, 600) if query is None else query
        return f"http://127.0.0.1:{self.port}{path}?{q}"


def get(url: str, method: str = "GET", timeout: float = 20) -> tuple[int, dict, bytes]:
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()
