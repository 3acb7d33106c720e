"""The lab-wide tables of ``lab.toml``: ``[lab.recording]``, ``[lab.live]``, ``[lab.monitor]``.

Each is declared once here, with its defaults, and checked by
:func:`~lab_daemon.devices.options.check_options` like a driver's table::

    [lab.recording]
    seconds = 120          # how much of every device's video is kept
    fps = 10               # frames kept per second (capture runs at full rate regardless)

    [lab.live]
    port = 18862           # the live page's own port (default: the lab's + 1); 0: any free
    fps = 5

    [lab.monitor]
    freeze_secs = 60       # unchanged picture this long is a "frozen" incident
"""

from __future__ import annotations

from lab_daemon.devices.options import Option

RECORDING = {
    "enabled": Option(bool, default=True, help="keep a rolling recording of every device"),
    "seconds": Option(float, default=120.0, help="how many seconds of video each device keeps"),
    "fps": Option(float, default=10.0, help="frames kept per second (at most the capture rate)"),
    "max_mb": Option(float, default=64.0, help="memory (or disk) one device's recording may use"),
    "quality": Option(int, default=70, help="JPEG quality of recorded frames (30-95)"),
    "storage": Option(str, default="memory", help='"memory" or "disk"'),
    "folder": Option(str, default="", help="where storage = disk keeps its segments"),
    "audio": Option(bool, default=True, help="clips carry the device's sound, where it has any"),
}

LIVE = {
    "enabled": Option(bool, default=True, help="serve the live page"),
    "bind": Option(str, default="127.0.0.1", help="address the live page listens on"),
    "port": Option(
        int,
        default=None,
        help="port of the live page (0: any free one; default: the lab's port + 1, "
        "any free one when that is 0)",
    ),
    "fps": Option(float, default=5.0, help="frames per second a tile shows (0.2-30)"),
    "tile_width": Option(int, default=480, help="width of a tile's picture in pixels"),
    "max_viewers": Option(int, default=8, help="viewers at once: open pages and streams"),
    "max_kbps": Option(int, default=4000, help="bandwidth one viewer may use (kbit/s)"),
    "quality": Option(int, default=70, help="JPEG quality of the live pictures (30-95)"),
}

MONITOR = {
    "enabled": Option(bool, default=True, help="watch every device for incidents"),
    "interval_secs": Option(float, default=1.0, help="how often each device is looked at"),
    "black_secs": Option(float, default=10.0, help="black screen this long is an incident"),
    "freeze_secs": Option(float, default=60.0, help="unchanged picture this long is an incident"),
    "silence_secs": Option(float, default=30.0, help="silence this long is an incident"),
    "silence_db": Option(float, default=-50.0, help="sound below this level (dBFS) is silence"),
    "stall_secs": Option(float, default=5.0, help="no frame captured this long is an incident"),
    "nosignal_secs": Option(float, default=5.0, help="no video signal this long is an incident"),
    "keep": Option(int, default=500, help="ended incidents each daemon remembers"),
}

#: [lab.NAME] -> its schema
TABLES = {"recording": RECORDING, "live": LIVE, "monitor": MONITOR}


def defaults(table: str) -> dict:
    """The table's values when lab.toml leaves it out."""
    return {key: opt.default for key, opt in TABLES[table].items()}
