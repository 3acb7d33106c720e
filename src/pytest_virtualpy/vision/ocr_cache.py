"""A small memory of OCR results, keyed by the exact pixels read and how they were read.

Why: OCR is by far the test process's biggest CPU cost (the example suite spent about 85%
of a worker's CPU in it), and tests read the same pixels again and again: every
``tune(101)`` reads the same banner, ``wait_for_text`` polls a region whose text has not
changed yet, a volume test reads one overlay several times. OCR of the same pixels with
the same settings gives the same lines, so the second read can be answered from memory.

The key is a 128-bit BLAKE2b digest of the prepared crop (after cropping, trimming,
upscaling and padding) plus everything else that shapes the answer: the engine, mode,
whitelist, scale, padding, and where the crop sits in the frame (the lines carry frame
coordinates). Hashing a 720p frame costs about 2 ms; OCR of it costs about a second.
The memory is bounded by entries (results are a few short strings each).

>>> cache = ResultCache(max_entries=2)
>>> key = cache.key(np.zeros((4, 4, 3), np.uint8), ("rapidocr", "block"))
>>> cache.get(key) is None
True
>>> cache.put(key, [("ok", 0.9)])
>>> cache.get(key)
[('ok', 0.9)]
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

import numpy as np

from pytest_virtualpy.errors import ConfigError

DEFAULT_ENTRIES = 256
ENTRIES_ENV = "VIRTUALPY_OCR_CACHE"  # entries to keep; 0 turns the memory off


class ResultCache:
    """A thread-safe least-recently-used map from (pixels, settings) to OCR results."""

    def __init__(self, max_entries: int = DEFAULT_ENTRIES):
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(crop: np.ndarray, settings: tuple) -> Hashable:
        """The key of ``crop`` read with ``settings`` (a tuple of hashable values)."""
        data = np.ascontiguousarray(crop)
        digest = hashlib.blake2b(data.data, digest_size=16).digest()
        return (digest, data.shape, str(data.dtype), settings)

    def get(self, key: Hashable) -> Any:
        """The result stored under ``key`` (now the most recent), or None."""
        with self._lock:
            value = self._items.get(key)
            if value is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: Hashable, value: Any) -> None:
        """Remember ``value`` under ``key``, forgetting the least recently used beyond the cap."""
        if self.max_entries <= 0:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0


def entries_from_env() -> int:
    """``$VIRTUALPY_OCR_CACHE`` (entries to keep, 0 = off), or the default.

    >>> entries_from_env() >= 0
    True
    """
    raw = os.environ.get(ENTRIES_ENV, "").strip()
    if not raw:
        return DEFAULT_ENTRIES
    if not raw.isdigit():
        raise ConfigError(
            f"${ENTRIES_ENV} must be a whole number of OCR results to remember (0 turns the "
            f"memory off), not {raw!r}"
        )
    return int(raw)
