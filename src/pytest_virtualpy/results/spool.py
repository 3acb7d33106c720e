"""The local spool: every record is written here first, so nothing is lost.

Layout: ``SPOOL/RUN_UID/records.jsonl`` (one JSON record per line, appended by the
recording process: the run record at start and end, one line per finished test),
``shipped.txt`` (sequence numbers of lines that reached the sink) and ``meta.json``
(where the run meant to ship: results database URL, artifacts target, local artifacts
folder). Artifact files are not copied: records reference their local paths.

A record's identity is its ``key`` (``run`` or ``test:NODEID``); the latest line of a
key wins, so pending work is "latest line per key whose sequence is not shipped".
When a run has nothing pending, its folder is removed.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path
from typing import Any

RECORDS = "records.jsonl"
SHIPPED = "shipped.txt"
META = "meta.json"


def record_key(record: dict[str, Any]) -> str:
    return "run" if record.get("type") == "run" else f"test:{record['nodeid']}"


class Spool:
    """The spool folder of one run."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._lock = threading.Lock()
        self._seq = 0
        self._file: Any = None

    @property
    def run_uid(self) -> str:
        return self.folder.name

    # -- writing (the recording process) -------------------------------------------

    def open_for_append(self, meta: dict[str, Any]) -> None:
        """Create the folder and remember where this run ships to."""
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / META).write_text(json.dumps(meta, indent=1))
        records = self.folder / RECORDS
        if records.exists():  # resumed run id (e.g. VIRTUALPY_RUN_ID reused)
            self._seq = max((r["seq"] for r in self._read_records()), default=0)
        self._file = records.open("a", encoding="utf-8")

    def append(self, record: dict[str, Any]) -> dict[str, Any]:
        """Write ``record`` durably (to the OS) with the next sequence number; returns it."""
        with self._lock:
            self._seq += 1
            record = {**record, "seq": self._seq}
            self._file.write(json.dumps(record, default=str) + "\n")
            self._file.flush()
        return record

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    # -- shipping ------------------------------------------------------------------

    def mark_shipped(self, seqs: list[int]) -> None:
        """Remember that these lines reached the sink."""
        if not seqs:
            return
        with self._lock, (self.folder / SHIPPED).open("a", encoding="utf-8") as f:
            f.write("".join(f"{s}\n" for s in seqs))

    def meta(self) -> dict[str, Any]:
        try:
            return json.loads((self.folder / META).read_text())
        except (OSError, ValueError):
            return {}

    def _read_records(self) -> list[dict[str, Any]]:
        out = []
        try:
            text = (self.folder / RECORDS).read_text(encoding="utf-8")
        except OSError:
            return out
        for line in text.splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue  # a line cut short by a crash: the rest is still good
        return out

    def _shipped(self) -> set[int]:
        try:
            text = (self.folder / SHIPPED).read_text()
        except OSError:
            return set()
        return {int(x) for x in text.split() if x.isdigit()}

    def pending(self) -> list[dict[str, Any]]:
        """Records still to ship: the latest line per key, unless it was shipped."""
        latest: dict[str, dict[str, Any]] = {}
        for r in self._read_records():
            latest[record_key(r)] = r
        shipped = self._shipped()
        return [r for r in latest.values() if r["seq"] not in shipped]

    def pending_count(self) -> int:
        return len(self.pending())

    def remove_if_done(self) -> bool:
        """Delete the folder when everything in it has been shipped."""
        if self._file is None and self.folder.exists() and not self.pending():
            shutil.rmtree(self.folder, ignore_errors=True)
            return True
        return False


def spooled_runs(root: Path) -> list[Spool]:
    """The run folders in a spool root, oldest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    folders = [p for p in root.iterdir() if (p / RECORDS).exists()]
    return [Spool(p) for p in sorted(folders, key=lambda p: (p / RECORDS).stat().st_mtime)]


def _pending_index() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "virtualpy" / "pending-spools"


def remember_pending(root: Path) -> None:
    """Note a spool root that holds unshipped runs, so a plain ``sync`` finds it anywhere."""
    roots = remembered_roots()
    root = Path(root).resolve()
    if root not in roots:
        index = _pending_index()
        index.parent.mkdir(parents=True, exist_ok=True)
        with index.open("a") as f:
            f.write(f"{root}\n")


def remembered_roots() -> list[Path]:
    """Spool roots noted by :func:`remember_pending` that still hold runs."""
    try:
        lines = _pending_index().read_text().splitlines()
    except OSError:
        return []
    return [Path(line) for line in dict.fromkeys(lines) if line and spooled_runs(Path(line))]


def forget_empty_roots() -> None:
    """Drop roots that no longer hold unshipped runs from the index."""
    index = _pending_index()
    if index.exists():
        keep = remembered_roots()
        index.write_text("".join(f"{r}\n" for r in keep))
