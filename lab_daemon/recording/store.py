"""Where a device's recorded frames live: in memory, or in append-only segment files.

Each stored frame is one JPEG with its capture time (the lab host's clock) and its own
size, so a change of resolution or a stretch of black no-signal frames is just more
frames. Both stores keep an in-memory index and are bounded twice: frames older than
``seconds`` before the newest one are dropped, and so are the oldest frames while the
total is over ``max_bytes``.

>>> store = MemoryStore(seconds=120, max_bytes=64 << 20)
>>> store.append(1000.0, 1280, 720, b"\\xff\\xd8...")
1
>>> [(e.index, e.width) for e in store.select(999.0, 1001.0, 0)]
[(1, 1280)]
"""

from __future__ import annotations

import collections
import contextlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

SEGMENT_SECS = 4.0  # a disk segment holds about this much video


@dataclass(frozen=True)
class Entry:
    """One stored frame: its index (increasing, never reused), time, size and bytes."""

    index: int
    time: float
    width: int
    height: int
    size: int
    segment: int = 0  # disk: the segment file's number; memory: unused
    offset: int = 0  # disk: where in that file the JPEG starts


class _Store:
    def __init__(self, seconds: float, max_bytes: int):
        self.seconds = float(seconds)
        self.max_bytes = int(max_bytes)
        self._entries: collections.deque[Entry] = collections.deque()
        self._lock = threading.Lock()
        self._next_index = 1
        self.bytes_used = 0

    def append(self, t: float, width: int, height: int, jpeg: bytes) -> int:
        """Store one frame; returns its index."""
        with self._lock:
            index = self._next_index
            self._next_index += 1
            self._entries.append(self._put(index, t, width, height, jpeg))
            self.bytes_used += len(jpeg)
            self._trim()
            return index

    def _trim(self) -> None:
        newest = self._entries[-1].time
        while len(self._entries) > 1 and (
            self._entries[0].time < newest - self.seconds or self.bytes_used > self.max_bytes
        ):
            self._drop(self._entries.popleft())

    def select(self, start: float, end: float, after_index: int) -> list[Entry]:
        """The entries with ``start <= time <= end`` and ``index > after_index``, in order."""
        with self._lock:
            return [e for e in self._entries if start <= e.time <= end and e.index > after_index]

    def read(self, entries: list[Entry]) -> list[tuple[Entry, bytes]]:
        """``entries`` with their JPEG bytes (those dropped meanwhile are left out)."""
        with self._lock:
            pairs = [(e, self._get(e)) for e in entries]
        return [(e, b) for e, b in pairs if b is not None]

    def info(self) -> dict:
        with self._lock:
            first = self._entries[0] if self._entries else None
            last = self._entries[-1] if self._entries else None
            return {
                "frames": len(self._entries),
                "bytes": self.bytes_used,
                "oldest": first.time if first else None,
                "newest": last.time if last else None,
                "first_index": first.index if first else None,
                "last_index": last.index if last else None,
            }

    def close(self) -> None:
        """Forget everything (and, on disk, delete the segments)."""
        with self._lock:
            while self._entries:
                self._drop(self._entries.popleft())

    # subclasses
    def _put(self, index: int, t: float, width: int, height: int, jpeg: bytes) -> Entry:
        raise NotImplementedError

    def _get(self, entry: Entry) -> bytes | None:
        raise NotImplementedError

    def _drop(self, entry: Entry) -> None:
        raise NotImplementedError


class MemoryStore(_Store):
    """Frames kept as ``bytes`` objects in memory."""

    def __init__(self, seconds: float, max_bytes: int):
        super().__init__(seconds, max_bytes)
        self._data: dict[int, bytes] = {}

    def _put(self, index, t, width, height, jpeg):
        self._data[index] = bytes(jpeg)
        return Entry(index, t, width, height, len(jpeg))

    def _get(self, entry):
        return self._data.get(entry.index)

    def _drop(self, entry):
        self.bytes_used -= entry.size
        self._data.pop(entry.index, None)


class DiskStore(_Store):
    """Frames appended to segment files of about :data:`SEGMENT_SECS` each in ``folder``.

    A segment is deleted once none of its frames is indexed any more; the bytes bound
    therefore counts whole segments (the oldest one goes while the total is over it).
    The index is in memory only: segments left by an earlier daemon are deleted at start.
    """

    def __init__(self, seconds: float, max_bytes: int, folder: Path):
        super().__init__(seconds, max_bytes)
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("segment-*.jpegs"):
            old.unlink(missing_ok=True)
        self._segment = 0
        self._segment_start: float | None = None
        self._file = None
        self._offset = 0
        self._live: dict[int, int] = {}  # segment -> frames still indexed
        self._sizes: dict[int, int] = {}  # segment -> bytes in its file

    def _path(self, segment: int) -> Path:
        return self.folder / f"segment-{segment:08d}.jpegs"

    def _put(self, index, t, width, height, jpeg):
        if self._file is None or t - self._segment_start >= SEGMENT_SECS:
            if self._file is not None:
                self._file.close()
            self._segment += 1
            self._segment_start = t
            self._file = open(self._path(self._segment), "ab", buffering=0)  # noqa: SIM115
            self._offset = 0
        offset = self._offset
        self._file.write(jpeg)
        self._offset += len(jpeg)
        self._live[self._segment] = self._live.get(self._segment, 0) + 1
        self._sizes[self._segment] = self._offset
        return Entry(index, t, width, height, len(jpeg), self._segment, offset)

    def _get(self, entry):
        try:
            with open(self._path(entry.segment), "rb") as f:
                f.seek(entry.offset)
                data = f.read(entry.size)
        except FileNotFoundError:
            return None
        return data if len(data) == entry.size else None

    def _trim(self) -> None:
        super()._trim()
        # bytes on disk count whole segments: drop the oldest one while over the bound
        while len(self._sizes) > 1 and sum(self._sizes.values()) > self.max_bytes:
            oldest = min(self._sizes)
            while self._entries and self._entries[0].segment == oldest:
                self._drop(self._entries.popleft())

    def _drop(self, entry):
        self.bytes_used -= entry.size
        seg = entry.segment
        self._live[seg] -= 1
        if self._live[seg] == 0:
            del self._live[seg]
            del self._sizes[seg]
            if seg == self._segment and self._file is not None:
                self._file.close()
                self._file = None
            self._path(seg).unlink(missing_ok=True)

    def disk_bytes(self) -> int:
        """Bytes the segment files take on disk."""
        with self._lock:
            return sum(self._sizes.values())

    def close(self) -> None:
        super().close()
        if self._file is not None:
            self._file.close()
            self._file = None
        for path in self.folder.glob("segment-*.jpegs"):
            path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            os.rmdir(self.folder)
