"""Where a test's artifacts (screenshots, logs) are written: a local folder.

Layout: ``ROOT/RUN_ID/TEST_SLUG/NAME``. The test slug is the node id made safe
for a file name, so a failing test's screenshot is easy to find by eye.
"""

from __future__ import annotations

import re
from pathlib import Path

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def slug(test_id: str, limit: int = 120) -> str:
    """A file-system-safe name for a pytest node id."""
    s = _UNSAFE.sub("_", test_id.replace("::", "__")).strip("_")
    return s[:limit] or "test"


class LocalArtifacts:
    """Stores artifacts under a run folder."""

    def __init__(self, root: Path, run_id: str):
        self.root = Path(root)
        self.run_id = run_id

    @property
    def run_dir(self) -> Path:
        return self.root / self.run_id

    def save(self, test_id: str, name: str, data: bytes) -> Path:
        """Write ``data`` as artifact ``name`` of test ``test_id``; return its path."""
        folder = self.run_dir / slug(test_id)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / _UNSAFE.sub("_", name)
        stem, suffix, n = path.stem, path.suffix, 1
        while path.exists():
            n += 1
            path = folder / f"{stem}-{n}{suffix}"
        path.write_bytes(data)
        return path
