"""Two real lab daemons that differ, for the fleet tests (tests/test_fleet.py,
tests/test_lab_status.py).

``start_fleet(folder)`` serves, with ``virtualpy-lab serve``:

* ``north``: two simulated boxes of model ``acme-4k`` (every part: video, remote, power,
  serial, audio, sim);
* ``south``: a simulated box of model ``zeta-hd`` and a capture-only bench ``s-cam-0``
  of model ``cam-hd`` (video from FFmpeg's test pattern through PyAV, a command remote:
  no serial, no power, no sim).

``labs_toml`` names them, with the pool ``house`` of both.
"""

from __future__ import annotations

from pathlib import Path

from monitor_lab import Served, serve_lab

from pytest_virtualpy.lab.client import LabClient
from pytest_virtualpy.lab.device import DeviceClient

ACME = "acme-4k"
ALL_DEVICES = {
    "n-acme-0": ("north", ACME),
    "n-acme-1": ("north", ACME),
    "s-zeta-0": ("south", "zeta-hd"),
    "s-cam-0": ("south", "cam-hd"),
}
NORTH = "".join(
    f'[[devices]]\nname = "n-acme-{i}"\nkind = "sim"\nmodel = "{ACME}"\nfps = 10\n'
    "boot_secs = 0.5\n\n"
    for i in range(2)
)
SOUTH = (
    '[[devices]]\nname = "s-zeta-0"\nkind = "sim"\nmodel = "zeta-hd"\nfps = 10\n'
    "boot_secs = 0.5\n\n"
    '[[devices]]\nname = "s-cam-0"\nmodel = "cam-hd"\n'
    'video = { source = "testsrc=size=320x240:rate=10", demuxer = "lavfi" }\n'
    'remote = { kind = "command", command = "true {key}", keys = ["KEY_OK", "KEY_HOME"] }\n'
)
#: monitoring that reports no incident of its own in a test's time (health stays "ok")
QUIET = {"silence_secs": 3600.0, "freeze_secs": 3600.0, "black_secs": 3600.0}


def start_fleet(folder: Path) -> dict[str, Served]:
    """Both daemons, running; stop them with :func:`stop_fleet`."""
    north = serve_lab(folder, "north", NORTH, monitor=QUIET)
    try:
        south = serve_lab(folder, "south", SOUTH, monitor=QUIET)
    except Exception:
        north.stop()
        raise
    return {"north": north, "south": south}


def stop_fleet(fleet: dict[str, Served]) -> None:
    for served in fleet.values():
        served.stop()


def labs_toml(fleet: dict[str, Served], **extra: str) -> str:
    """A labs.toml naming every lab of ``fleet`` (and ``extra`` NAME=ADDRESS) and the
    pool ``house`` of north and south; lab NAME's token is in ``$NAME_TOKEN``."""
    labs = {name: served.address for name, served in fleet.items()} | extra
    body = "".join(
        f'[labs.{name}]\naddress = "{address}"\ntoken_env = "{name.upper()}_TOKEN"\n'
        for name, address in labs.items()
    )
    return body + '\n[pools.house]\nlabs = ["north", "south"]\n'


def hog(fleet: dict[str, Served], lab: str, device: str) -> tuple[LabClient, DeviceClient]:
    """Someone else holding ``device`` (on a connection of their own)."""
    client = LabClient.connect(fleet[lab].address, fleet[lab].token, client_name="hog")
    return client, DeviceClient(client, client.lease(device, "hog", 60))


def devices(fleet: dict[str, Served], lab: str) -> list[dict]:
    """``list_devices()`` of one lab, on a short connection."""
    with LabClient.connect(fleet[lab].address, fleet[lab].token, client_name="look") as c:
        return c.list_devices()
