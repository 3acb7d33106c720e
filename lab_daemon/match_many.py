"""Many reference checks on one frame, in one call; references uploaded once, by content.

Localisation (which screen is this?) asks the same question of every screen a
navigation tree knows: "is this reference image in this region?". Asked one call at a
time that is a round trip per reference, each on another frame. Here the client names
each reference by the SHA-256 of its PNG bytes; :meth:`exposed_put_references` uploads
them once (each hash verified, decoded once, kept in a bounded LRU store), and
:meth:`exposed_match_many` evaluates every check on the *same* frame and returns, with
the match results, PNG crops of that frame (for OCR in the test process: the daemon
carries no OCR engine). A reference the store does not hold (never sent, or dropped
since) makes ``match_many`` answer ``{"missing": [...]}`` without evaluating anything:
the client uploads those and asks again.

Two things keep it cheap. Checks are evaluated in order, and ``stop_json`` may name
groups of checks (e.g. each screen's references, screens in the order they are tried):
once a whole group has matched, the checks after it are not evaluated (their results
are null). And results are remembered by the reference, parameters, region and the
region's pixels (a hash), so a screen that has not changed is not searched again.

The service knows nothing of navigation: these are generic frame-local primitives.

Wire format (plain values only)::

    put_references(lease_id, ((sha256_hex, png_bytes), ...))   -> {"stored": n, ...}
    match_many(lease_id, '[[sha256_hex, [x, y, w, h] | null, {params} | null], ...]',
               ((x, y, w, h) | None, ...),                      # crops
               '[[after, [check index, ...]], ...]' | None)     # stop groups
        -> ({"missing": [sha, ...]}, b"")
         | ({"time", "width", "height", "results": [match dict | null, ...],
             "crops": [{"region": [x, y, w, h], "bytes": n}, ...]}, png bytes concatenated)

>>> sha256_hex("ab" * 32, "checks[0][0]") == "ab" * 32
True
"""

from __future__ import annotations

import hashlib
import json
import string
from dataclasses import dataclass
from typing import Any

import numpy as np

from lab_daemon import screen_ops
from lab_daemon.call_limits import MAX_STR_CHARS
from lab_daemon.capture import FrameRing
from lab_daemon.exposing import ServiceBase, image_reply, plain_args, text
from lab_daemon.imaging import decode_bounded, encode_image, image_size, region_from_wire
from lab_daemon.lru import LruCache
from pytest_virtualpy import vision
from pytest_virtualpy.lab.wire import (
    MATCH_MANY_CHECKS,
    MATCH_MANY_CROPS,
    PUT_MAX_BYTES,
    PUT_MAX_PIXELS,
    REFERENCE_STORE_BYTES,
)

MEMO_ENTRIES = 4096  # match results kept by the content they were computed on

_store = LruCache(REFERENCE_STORE_BYTES)
_HEX = frozenset(string.hexdigits.lower())


def sha256_hex(value: Any, what: str) -> str:
    """``value`` if it is a SHA-256 as 64 lower-case hex digits, else a ValueError."""
    sha = text(value, what, 64)
    if len(sha) != 64 or not set(sha) <= _HEX:
        raise ValueError(
            f"{what} must be the SHA-256 of the PNG bytes as 64 lower-case hex digits "
            f"(hashlib.sha256(png).hexdigest()), got {value!r}"
        )
    return sha


def put_references(refs: Any) -> dict:
    """Verify, decode and keep ``refs`` (``((sha256_hex, png_bytes), ...)``).

    All of them are checked (hash, header size) before any is decoded, and all are
    decoded before any is stored, so a bad one stores nothing.
    """
    if not isinstance(refs, tuple) or not refs:
        raise ValueError(
            "refs must be a non-empty tuple of (sha256_hex, png_bytes) pairs, got "
            f"{type(refs).__name__}"
        )
    total = pixels = 0
    checked = []
    for i, item in enumerate(refs):
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes)):
            raise ValueError(f"refs[{i}] must be a (sha256_hex, png_bytes) pair, got {item!r:.80}")
        sha, data = sha256_hex(item[0], f"refs[{i}][0]"), item[1]
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha:
            raise ValueError(
                f"refs[{i}]: its bytes have SHA-256 {actual}, not {sha}; name each reference "
                "by hashlib.sha256(png_bytes).hexdigest()"
            )
        total += len(data)
        width, height = image_size(data, f"reference refs[{i}]")
        pixels += width * height
        if total > PUT_MAX_BYTES or pixels > PUT_MAX_PIXELS:
            raise ValueError(
                f"refs hold more than {PUT_MAX_BYTES} bytes or {PUT_MAX_PIXELS} pixels in all "
                f"(at refs[{i}]); send them in several put_references calls"
            )
        checked.append((sha, data, i))
    decoded = [(sha, decode_bounded(data, f"reference refs[{i}]")) for sha, data, i in checked]
    for sha, image in decoded:
        _store.put(sha, image)
    return {"stored": len(decoded), **_store.info()}


@dataclass(frozen=True)
class Check:
    """One parsed check: which reference, where, with which parameters."""

    sha: str
    region: vision.Region
    params: vision.MatchParameters | None
    params_key: str = ""  # the parameters as canonical JSON ("" for the defaults)


def parse_checks(checks_json: Any) -> list[Check]:
    """The checks of a ``match_many`` call, every value checked (a ValueError names it)."""
    raw = text(checks_json, "checks_json", MAX_STR_CHARS)
    try:
        checks = json.loads(raw)
    except (ValueError, RecursionError):
        raise ValueError(f"checks_json is not valid JSON: {raw[:80]!r}") from None
    if not isinstance(checks, list) or len(checks) > MATCH_MANY_CHECKS:
        raise ValueError(
            f"checks_json must be a JSON list of at most {MATCH_MANY_CHECKS} checks "
            f"[sha256_hex, region or null, params or null], got {raw[:80]!r}"
        )
    out = []
    for i, check in enumerate(checks):
        if not isinstance(check, list) or not 1 <= len(check) <= 3:
            raise ValueError(
                f"checks[{i}] must be [sha256_hex, region or null, params or null], "
                f"got {check!r:.80}"
            )
        sha, region, params = (*check, None, None)[:3]
        if region is not None and not isinstance(region, list):
            raise ValueError(f"checks[{i}]: a region is [x, y, width, height], got {region!r:.80}")
        if params is not None and not isinstance(params, dict):
            raise ValueError(f"checks[{i}]: params must be a JSON object, got {params!r:.80}")
        key = json.dumps(params, sort_keys=True) if params else ""
        out.append(
            Check(
                sha256_hex(sha, f"checks[{i}][0]"),
                region_from_wire(None if region is None else tuple(region)),
                screen_ops.match_params(key) if params else None,
                key,
            )
        )
    return out


def parse_stops(stop_json: Any, checks: int) -> dict[int, list[list[int]]]:
    """``stop_json``: None, or JSON ``[[after, [i, j, ...]], ...]``: stop groups.

    Checks are evaluated in order; once check ``after`` has been evaluated, if checks
    ``i, j, ...`` (none after ``after``) all matched, evaluation stops: the rest are not
    needed (e.g. the first screen, in order, whose references all match, once every
    screen before it was judged). Returns the groups by their ``after``.
    """
    if stop_json is None:
        return {}
    raw = text(stop_json, "stop_json", MAX_STR_CHARS)
    try:
        groups = json.loads(raw)
    except (ValueError, RecursionError):
        raise ValueError(f"stop_json is not valid JSON: {raw[:80]!r}") from None
    if not isinstance(groups, list) or len(groups) > MATCH_MANY_CHECKS:
        raise ValueError(
            f"stop_json must be a list of at most {MATCH_MANY_CHECKS} groups of indices"
        )
    by_after: dict[int, list[list[int]]] = {}
    for g, entry in enumerate(groups):
        after, group = entry if isinstance(entry, list) and len(entry) == 2 else (None, None)
        if (
            type(after) is not int
            or not isinstance(group, list)
            or not group
            or not all(type(i) is int and 0 <= i <= after < checks for i in group)
        ):
            raise ValueError(
                f"stop_json[{g}] must be [after, [check indices up to after]] with indices "
                f"0 to {checks - 1}, got {entry!r:.80}"
            )
        by_after.setdefault(after, []).append(group)
    return by_after


#: match results by (reference, parameters, region, the region's pixels): a screen that
#: did not change (a menu; a lossless capture of it is bit for bit the same) is not
#: searched again
_memo = LruCache(MEMO_ENTRIES, size=lambda result: 1)


def _evaluate(image: np.ndarray, frame, c: Check, r: vision.Region, pixels: dict) -> dict:
    """One check's match dict on ``frame`` (``r``: its region clipped to the frame)."""
    if r not in pixels:  # checks often share a region (a title bar): hash it once
        pixels[r] = hashlib.blake2b(frame[r.y : r.bottom, r.x : r.right].tobytes()).digest()
    key = (c.sha, c.params_key, c.region.to_tuple(), frame.shape, pixels[r])
    result = _memo.get(key)
    if result is None:
        result = vision.match(image, frame, region=c.region, params=c.params).to_dict()
        _memo.put(key, result)
    return {**result, "time": frame.time}


def parse_crops(crops: Any) -> list[vision.Region]:
    """The crop regions of a ``match_many`` call (None: the whole frame)."""
    if crops is None:
        return []
    if not isinstance(crops, tuple) or len(crops) > MATCH_MANY_CROPS:
        raise ValueError(
            f"crops must be a tuple of at most {MATCH_MANY_CROPS} regions (x, y, width, height) "
            f"or None, got {crops!r:.80}"
        )
    return [region_from_wire(c) for c in crops]


def _on_frame(region: vision.Region, frame: np.ndarray, what: str) -> vision.Region:
    r = region.clip(frame.shape[1], frame.shape[0])
    if r is None:
        raise ValueError(
            f"{what} {region.to_tuple()} lies outside the {frame.shape[1]}x{frame.shape[0]} "
            "frame; use a region inside it"
        )
    return r


def match_many(
    ring: FrameRing,
    checks: list[Check],
    crops: list[vision.Region],
    stops: dict[int, list[list[int]]] | None = None,
) -> tuple[dict, bytes]:
    """Evaluate ``checks`` (up to the first complete ``stops`` group that matched) and cut
    ``crops`` on the newest frame (see the module doc)."""
    images = {c.sha: _store.get(c.sha) for c in checks}
    missing = [sha for sha, image in images.items() if image is None]
    if missing:
        return {"missing": missing}, b""
    frame = ring.latest()
    regions = [_on_frame(c.region, frame, f"checks[{i}] region") for i, c in enumerate(checks)]
    cut = [_on_frame(r, frame, f"crops[{i}]") for i, r in enumerate(crops)]
    results: list[dict | None] = [None] * len(checks)
    pixels: dict = {}
    for i, c in enumerate(checks):
        results[i] = _evaluate(images[c.sha], frame, c, regions[i], pixels)
        if any(all(results[j]["match"] for j in g) for g in (stops or {}).get(i, ())):
            break
    pngs = [encode_image(frame[r.y : r.bottom, r.x : r.right], "png") for r in cut]
    meta = {
        "time": frame.time,
        "width": frame.shape[1],
        "height": frame.shape[0],
        "results": results,
        "crops": [
            {"region": list(r.to_tuple()), "bytes": len(p)} for r, p in zip(cut, pngs, strict=True)
        ],
    }
    return meta, b"".join(pngs)


class MatchManyMethods(ServiceBase):
    """The exposed methods (a group of :class:`~lab_daemon.service.LabService`)."""

    @plain_args
    def exposed_put_references(self, lease_id, refs) -> dict:
        """Upload references for ``match_many``; a lease is needed (the store is shared)."""
        self._rt(lease_id)
        return put_references(refs)

    @image_reply
    def exposed_match_many(self, lease_id, checks_json, crops, stop_json=None):
        """Every check and crop on one frame; ``{"missing": [...]}`` if a reference is unknown."""
        checks, regions = parse_checks(checks_json), parse_crops(crops)
        stops = parse_stops(stop_json, len(checks))
        if not checks and not regions:
            raise ValueError("match_many needs at least one check or one crop")
        return match_many(self._rt(lease_id).ring, checks, regions, stops)
