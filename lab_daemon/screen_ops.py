"""Frame-local primitives: the vision loops the daemon runs at capture rate.

Each takes a device's frame ring and plain arguments and returns a plain dict,
so that only small results cross the network.
"""

from __future__ import annotations

import hashlib
import itertools

import numpy as np

from lab_daemon.capture import FrameRing
from lab_daemon.exposing import json_object
from lab_daemon.imaging import decode_bounded
from lab_daemon.lru import LruCache
from pytest_virtualpy import vision
from pytest_virtualpy.errors import BlackTimeout, MatchTimeout, MotionTimeout

CACHE_BYTES = 64 << 20  # decoded reference images kept, least recently used dropped first
MAX_PARAMS_CHARS = 4096  # characters of a match parameters JSON
MAX_ERODE_PASSES = 16

_cache = LruCache(CACHE_BYTES)


def reference_image(data: bytes) -> np.ndarray:
    """Decode a reference image, cached by content so repeated waits stay cheap.

    Its size is checked before decoding (:func:`~lab_daemon.imaging.decode_bounded`) and
    the cache holds at most :data:`CACHE_BYTES` of decoded pixels. Callers must not
    modify the returned array: it is shared between calls.
    """
    if not isinstance(data, bytes):
        raise ValueError(f"a reference image is PNG or JPEG bytes, got {type(data).__name__}")
    key = hashlib.blake2b(data, digest_size=20).digest()
    image = _cache.get(key)
    if image is None:
        image = decode_bounded(data, "reference image")
        _cache.put(key, image)
    return image


def cache_info() -> dict:
    """How many decoded references the cache holds, and their bytes."""
    info = _cache.info()
    return {"images": info["entries"], "bytes": info["size"], "limit": info["limit"]}


def match_params(params_json: str | None) -> vision.MatchParameters | None:
    """MatchParameters from their JSON (None: the defaults); a ValueError if bad."""
    if not params_json:
        return None
    params = json_object(params_json, "match parameters", MAX_PARAMS_CHARS)
    erode = params.get("erode_passes", 1)
    if isinstance(erode, bool) or not isinstance(erode, int) or not 0 <= erode <= MAX_ERODE_PASSES:
        raise ValueError(f"erode_passes must be a whole number from 0 to {MAX_ERODE_PASSES}")
    for name in ("match_threshold", "confirm_threshold"):
        if name in params and (
            isinstance(params[name], bool) or not isinstance(params[name], int | float)
        ):
            raise ValueError(f"MatchParameters.{name} must be a number, got {params[name]!r}")
    for name in ("match_method", "confirm_method"):
        if name in params and not isinstance(params[name], str):
            raise ValueError(f"MatchParameters.{name} must be a str, got {params[name]!r}")
    try:
        return vision.MatchParameters(**params)
    except TypeError as e:
        raise ValueError(f"bad match parameters {params!r}: {e}") from None


def match_once(ring: FrameRing, image: np.ndarray, region, params) -> dict:
    return vision.match(image, ring.latest(), region=region, params=params).to_dict()


def match_all(ring: FrameRing, image: np.ndarray, region, params) -> list[dict]:
    return [
        m.to_dict() for m in vision.match_all(image, ring.latest(), region=region, params=params)
    ]


def wait_for_match(ring, image, region, params, timeout_secs, consecutive) -> dict:
    """Match every new frame (skipping to the newest if matching falls behind).

    ``frames`` and ``skipped`` say how many frames were examined and how many
    were passed over because matching was slower than capture.
    """
    stats: dict = {}
    try:
        result = vision.wait_for_match(
            image,
            ring.frames(latest=True, stats=stats),
            timeout_secs=timeout_secs,
            consecutive_matches=consecutive,
            region=region,
            params=params,
        )
        return {"timed_out": False, "result": result.to_dict(), **stats}
    except MatchTimeout as e:
        best = e.best.to_dict() if e.best is not None else None
        return {
            "timed_out": True,
            "result": best,
            "frame_time": getattr(e.frame, "time", None),
            **stats,
        }


def wait_for_motion(ring, region, mask, timeout_secs, consecutive, threshold, min_size) -> dict:
    try:
        result = vision.wait_for_motion(
            ring.frames(),
            timeout_secs=timeout_secs,
            consecutive_frames=consecutive,
            threshold=threshold,
            min_size=min_size,
            mask=mask,
            region=region,
        )
        return {"timed_out": False, "result": result.to_dict()}
    except MotionTimeout as e:
        return {"timed_out": True, "result": None, "frame_time": getattr(e.frame, "time", None)}


def detect_motion(
    ring, region, mask, threshold, since, max_frames, min_size, reference=None
) -> list[dict]:
    """Motion results for up to ``max_frames`` consecutive frames from ``since``.

    Each frame is compared with the last frame that moved (stb-tester's way), also
    across calls: ``reference`` is that frame's capture time, which each result carries
    as ``"reference"`` for the next call. The frame itself is kept here (a ring holds
    a fraction of a second at 720p, less than a slow fade takes to add up), a few per
    device. Without it, or once it is dropped, the reference is the frame before
    ``since``."""
    kept = None if reference is None else _motion_refs.get((id(ring), reference))
    frames = ring.frames(since=since)
    if kept is None:
        first = next(frames)
    else:
        first = kept
        frames = (f for f in frames if since is None or f.time is None or f.time >= since)
    last_moved = first
    results = []
    for result in vision.detect_motion(
        itertools.chain([first], frames), threshold=threshold, min_size=min_size, mask=mask,
        region=region,
    ):  # fmt: skip
        last_moved = result.frame if result.motion else last_moved
        results.append({**result.to_dict(), "reference": last_moved.time})
        if len(results) >= max_frames:
            break
    if last_moved.time is not None:
        _motion_refs.put((id(ring), last_moved.time), last_moved)
    return results


MOTION_REF_BYTES = 32 << 20  # reference frames of detect_motion streams kept (LRU)
_motion_refs = LruCache(MOTION_REF_BYTES)


def is_black(ring, region, mask, threshold) -> dict:
    frame = ring.latest()
    result = vision.is_black(frame, region=region, mask=mask, threshold=threshold)
    return {"black": bool(result), "time": frame.time}


def wait_for_black(ring, region, mask, threshold, timeout_secs) -> dict:
    try:
        result = vision.wait_for_black(
            ring.frames(), timeout_secs=timeout_secs, region=region, mask=mask, threshold=threshold
        )
        return {"timed_out": False, "black": bool(result), "time": result.time}
    except BlackTimeout:
        return {"timed_out": True, "black": False, "time": None}


def is_frozen(ring, region, mask, freeze_secs, threshold, min_size) -> dict:
    result = vision.is_frozen(
        ring.frames(),
        freeze_secs=freeze_secs,
        region=region,
        mask=mask,
        threshold=threshold,
        min_size=min_size,
    )
    return {"frozen": bool(result), "time": getattr(result, "time", None)}


def transition(
    ring, press_time, key, region, mask, timeout_secs, stable_secs, threshold, min_size
) -> dict:
    result = vision.wait_for_transition(
        ring.frames(since=press_time),
        press_time,
        key=key,
        region=region,
        mask=mask,
        timeout_secs=timeout_secs,
        stable_secs=stable_secs,
        threshold=threshold,
        min_size=min_size,
    )
    return result.to_dict()
