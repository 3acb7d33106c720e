"""A leased device's configured files, read by clients: one file per call, bounded, confined.

lab.toml can give a device named files (today ``navigation = "nav/tree.toml"``); the
device list shows each by its name in its folder (``info["files"]``), and
:meth:`FileMethods.exposed_device_file` returns that file, or another file of the same
folder (the images a tree refers to), as bytes. The daemon does not read or interpret
the files: a path must stay inside that folder (no ``..``, no absolute paths, no
symbolic link out of it), be a regular file, and be at most :data:`MAX_FILE_BYTES`.

>>> client.call_bytes("device_file", lease_id, "navigation", "tree.toml")  # doctest: +SKIP
({'name': 'navigation', 'path': 'tree.toml', 'bytes': 1234}, b'[nodes.home]...')
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from lab_daemon.exposing import ServiceBase, image_reply, text
from pytest_virtualpy.errors import BadArgument

MAX_FILE_BYTES = 8 << 20  # one file; a reference image is far smaller
MAX_PATH_CHARS = 512
MAX_NAME_CHARS = 64


def confined(folder: Path, path: str) -> Path:
    """``path`` (relative, ``/``-separated) inside ``folder``, or a BadArgument saying why.

    >>> confined(Path("/srv/nav"), "../etc/passwd")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    pytest_virtualpy.errors.BadArgument: path '../etc/passwd' ...
    """
    rel = PurePosixPath(path)
    if not path or rel.is_absolute() or "\\" in path or ".." in rel.parts or "\x00" in path:
        raise BadArgument(
            f"path {path!r} must be relative to the device file's folder, without '..'"
        )
    root = folder.resolve()
    full = (root / rel).resolve()
    if not full.is_relative_to(root):
        raise BadArgument(f"path {path!r} leads out of the device file's folder")
    return full


class FileMethods(ServiceBase):
    """``device_file``: the bytes of a file of a leased device's configured folders."""

    @image_reply
    def exposed_device_file(self, lease_id, name, path):
        """``(meta, bytes)`` of ``path`` in the folder of the device's file ``name``;
        meta is ``{"name", "path", "bytes"}``; a missing file is ``{"missing": true}``."""
        name = text(name, "name", MAX_NAME_CHARS)
        path = text(path, "path", MAX_PATH_CHARS)
        device = self._rt(lease_id).device
        if name not in device.files:
            known = ", ".join(sorted(device.files)) or "none"
            raise BadArgument(
                f"device {device.name!r} has no file {name!r} (it has: {known}); lab.toml "
                'names a device\'s files (e.g. navigation = "tree.toml")'
            )
        full = confined(Path(device.files[name]).parent, path)
        meta = {"name": name, "path": path}
        if not full.is_file():
            return dict(meta, missing=True), b""
        size = full.stat().st_size
        if size > MAX_FILE_BYTES:
            raise BadArgument(
                f"{path} is {size} bytes; a device file is at most {MAX_FILE_BYTES} bytes"
            )
        data = full.read_bytes()[: MAX_FILE_BYTES + 1]
        if len(data) > MAX_FILE_BYTES:  # grew since stat
            raise BadArgument(f"{path} is over {MAX_FILE_BYTES} bytes")
        return dict(meta, bytes=len(data)), data
