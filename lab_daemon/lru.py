"""A bounded, thread-safe least-recently-used cache: decoded images, remembered results.

The daemon decodes each reference image once and keeps its pixels for the next call
(:func:`lab_daemon.screen_ops.reference_image` keys them by a hash of the bytes sent
with each call, :mod:`lab_daemon.match_many` by the SHA-256 the client names them by),
and remembers match results by the content they were computed on. The bound is on the
sum of ``size(value)``: decoded bytes (``ndarray.nbytes``, the default) for images,
the memory that matters on a small lab host; 1 per entry for small results. A value
larger than the whole bound is never kept.

>>> cache = LruCache(1000)
>>> cache.put("a", np.zeros((10, 10), np.uint8))
>>> cache.get("a").shape, cache.get("b")
((10, 10), None)
>>> cache.put("b", np.zeros((31, 31), np.uint8))  # 961 bytes more: "a" is dropped
>>> cache.get("a"), cache.info()["entries"]
(None, 1)
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np


def _nbytes(value: np.ndarray) -> int:
    return value.nbytes


class LruCache:
    """Values by key, at most ``limit`` of ``size(value)`` in all."""

    def __init__(self, limit: int, size: Callable[[Any], int] = _nbytes) -> None:
        self.limit = int(limit)
        self._size = size
        self._values: collections.OrderedDict[Hashable, Any] = collections.OrderedDict()
        self._used = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        """The value stored under ``key`` (now the most recently used), or None."""
        with self._lock:
            value = self._values.get(key)
            if value is not None:
                self._values.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Any) -> None:
        """Keep ``value`` under ``key`` (callers must not modify it afterwards)."""
        size = self._size(value)
        with self._lock:
            if key in self._values or size > self.limit:
                return
            self._values[key] = value
            self._used += size
            while self._used > self.limit:
                self._used -= self._size(self._values.popitem(last=False)[1])

    def info(self) -> dict:
        """How many entries the cache holds, their size in all and the bound."""
        with self._lock:
            return {"entries": len(self._values), "size": self._used, "limit": self.limit}
