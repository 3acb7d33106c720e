"""The local spool: every record is written here first, so nothing is lost.

Layout: ``SPOOL/RUN_UID/records.jsonl`` (one JSON record per line, appended by the
recording process: the run record at start and end, one line per finished test),
``shipped.txt`` (sequence numbers of lines that reached the sink), ``meta.json``
(where the run meant to ship: results database URL, artifacts target, local artifacts
folder) and ``writer.lock``. Artifact files are not copied: records reference their
local paths.

A record's identity is its ``key`` (``run`` or ``test:NODEID``); the latest line of a
key wins, so pending work is "latest line per key whose sequence is not shipped".
When a run has nothing pending, its folder is removed.

Ownership: the recording process holds an exclusive ``flock`` on ``writer.lock`` for
its whole life, and ``virtualpy results sync`` must :meth:`Spool.claim` the same lock
(without waiting) before it ships or deletes anything. So a sync never touches a spool
that is still being written, and a writer that crashed (even by SIGKILL) frees its
spool by itself: the kernel drops the lock with the process.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import socket
import threading
import time
from pathlib import Path
from typing import Any

from pytest_virtualpy.results.records import OUTCOMES

RECORDS = "records.jsonl"
SHIPPED = "shipped.txt"
META = "meta.json"
LOCK = "writer.lock"


WRITER_WAIT_SECS = 30.0  # how long a new writer waits for a sync shipping the same run id
_OWNED_FDS: set[int] = set()  # spool locks this process holds (see _forget_in_child)


class SpoolBusy(Exception):
    """Another live process records into the same spool folder (the same run id)."""


def _forget_in_child() -> None:
    """A forked child must not keep its parent's spools locked after the parent dies.

    flock belongs to the open file, which fork shares; closing the child's copy leaves the
    parent's lock in place and lets the kernel free it when the parent goes.
    """
    for fd in list(_OWNED_FDS):
        with contextlib.suppress(OSError):
            os.close(fd)
    _OWNED_FDS.clear()


os.register_at_fork(after_in_child=_forget_in_child)


def _flock(path: Path, create: bool, wait_secs: float = 0.0) -> int | None:
    """An fd holding an exclusive flock on ``path``, or None if another process has it.

    ``create`` (the writer) makes the folder and the file; a sync does not, so it never
    brings back a spool that its writer has just shipped and removed. The folder may be
    removed by whoever held the lock before us; a lock on a file that is no longer at
    ``path`` protects nothing, so look again.
    """
    deadline = time.monotonic() + wait_secs
    while True:
        try:
            if create:
                path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | (os.O_CREAT if create else 0), 0o644)
        except FileNotFoundError:
            if not create:
                return None
            continue  # removed between mkdir and open: make it again
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)
            continue
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            _OWNED_FDS.add(fd)
            return fd
        os.close(fd)
        if not create:
            return None


def _end_line(path: Path) -> None:
    """Make sure the next append starts a line of its own (a crash may have cut one)."""
    try:
        with path.open("rb+") as f:
            size = f.seek(0, os.SEEK_END)
            if size:
                f.seek(size - 1)
                if f.read(1) != b"\n":
                    f.write(b"\n")
    except FileNotFoundError:
        pass


def record_key(record: dict[str, Any]) -> str:
    return "run" if record.get("type") == "run" else f"test:{record['nodeid']}"


class Spool:
    """The spool folder of one run."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._lock = threading.Lock()
        self._seq = 0
        self._file: Any = None
        self._owner_fd: int | None = None  # our flock on writer.lock, while we own it

    @property
    def run_uid(self) -> str:
        return self.folder.name

    # -- writing (the recording process) -------------------------------------------

    def open_for_append(self, meta: dict[str, Any]) -> None:
        """Take the writer lock, create the folder and remember where this run ships to.

        Waits a little for a sync that is shipping an older spool of the same run id (a
        reused ``VIRTUALPY_RUN_ID``); syncs hold the lock only while they ship. Raises
        :class:`SpoolBusy` if another live run holds it.
        """
        self._owner_fd = _flock(self.folder / LOCK, create=True, wait_secs=WRITER_WAIT_SECS)
        if self._owner_fd is None:
            raise SpoolBusy(
                f"another live pytest process records run {self.run_uid} into "
                f"{self.folder} ({self.holder()}); give this run its own VIRTUALPY_RUN_ID"
            )
        os.ftruncate(self._owner_fd, 0)
        os.pwrite(self._owner_fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
        (self.folder / META).write_text(json.dumps(meta, indent=1))
        records = self.folder / RECORDS
        if records.exists():  # resumed run id (e.g. VIRTUALPY_RUN_ID reused)
            self._seq = max((r["seq"] for r in self._read_records()), default=0)
            _end_line(records)
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
        """Stop appending (the lock is kept until :meth:`release`)."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    # -- ownership -----------------------------------------------------------------

    def claim(self) -> bool:
        """Take the spool for shipping; False while a live process holds it (its writer, or
        another sync), or when it is gone (shipped meanwhile)."""
        if self._owner_fd is None:
            self._owner_fd = _flock(self.folder / LOCK, create=False)
            if self._owner_fd is not None and not (self.folder / RECORDS).exists():
                self.release()  # shipped and removed between our listing and our claim
        return self._owner_fd is not None

    def release(self) -> None:
        """Give up the lock (the writer at its very end, a sync when it is done)."""
        self.close()
        if self._owner_fd is not None:
            _OWNED_FDS.discard(self._owner_fd)
            os.close(self._owner_fd)
            self._owner_fd = None

    def holder(self) -> str:
        """Who holds this spool: its writer as it noted itself, or a sync shipping it."""
        try:
            writer = (self.folder / LOCK).read_text().strip()
        except OSError:
            writer = ""
        return f"its writer ({writer}) or a sync" if writer else "another process"

    def close_abandoned(self) -> bool:
        """Record a run whose writer died (we hold the claim) as ``aborted``.

        A run whose latest run record still says ``running`` lost its process before the
        session ended. Its counts are taken from the tests it recorded and its end from
        the last thing it wrote. Returns True if the run was closed here.
        """
        records = self._read_records()
        latest: dict[str, dict[str, Any]] = {}
        for r in records:
            latest[record_key(r)] = r
        run = latest.get("run")
        if run is None or run.get("status") != "running":
            return False
        tests = [r for k, r in latest.items() if k != "run"]
        counts = dict.fromkeys(OUTCOMES, 0)
        for t in tests:
            counts[t.get("outcome", "error")] = counts.get(t.get("outcome", "error"), 0) + 1
        ends = [t["finished_at"] for t in tests if t.get("finished_at")]
        try:
            last_write = (self.folder / RECORDS).stat().st_mtime
        except OSError:
            last_write = time.time()
        closed = {**run, "status": "aborted", "counts": counts}
        closed["finished_at"] = max([*ends, run.get("started_at") or 0, last_write])
        closed.pop("seq", None)
        self._seq = max((r["seq"] for r in records), default=0)
        _end_line(self.folder / RECORDS)
        self._file = (self.folder / RECORDS).open("a", encoding="utf-8")
        try:
            self.append(closed)
        finally:
            self.close()
        return True

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
        """Delete the folder when everything in it has been shipped (owners only)."""
        if self._owner_fd is None:
            raise RuntimeError("remove_if_done() needs the spool's lock: claim() it first")
        if self._file is None and self.folder.exists() and not self.pending():
            shutil.rmtree(self.folder, ignore_errors=True)
            return True
        return False


def spooled_runs(root: Path) -> list[Spool]:
    """The run folders in a spool root, oldest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = []
    for p in root.iterdir():
        try:
            found.append(((p / RECORDS).stat().st_mtime, p))
        except OSError:  # not a run folder, or removed while we looked
            continue
    return [Spool(p) for _, p in sorted(found)]


def _pending_index() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "virtualpy" / "pending-spools"


def _edit_index(keep: Path | None = None) -> None:
    """Rewrite the index under its own lock: roots that hold runs, plus ``keep``."""
    index = _pending_index()
    index.parent.mkdir(parents=True, exist_ok=True)
    with index.open("a+", encoding="utf-8") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # concurrent runs and syncs edit it too
        f.seek(0)
        lines = [line for line in dict.fromkeys(f.read().splitlines()) if line]
        roots = [Path(line) for line in lines if spooled_runs(Path(line))]
        if keep is not None and keep not in roots:
            roots.append(keep)
        if [str(r) for r in roots] != lines:
            f.seek(0)
            f.truncate()
            f.write("".join(f"{r}\n" for r in roots))


def remember_pending(root: Path) -> None:
    """Note a spool root that holds unshipped runs, so a plain ``sync`` finds it anywhere."""
    _edit_index(keep=Path(root).resolve())


def remembered_roots() -> list[Path]:
    """Spool roots noted by :func:`remember_pending` that still hold runs."""
    try:
        lines = _pending_index().read_text().splitlines()
    except OSError:
        return []
    return [Path(line) for line in dict.fromkeys(lines) if line and spooled_runs(Path(line))]


def forget_empty_roots() -> None:
    """Drop roots that no longer hold unshipped runs from the index."""
    if _pending_index().exists():
        _edit_index()
