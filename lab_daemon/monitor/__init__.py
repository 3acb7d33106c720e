"""Monitoring (``[lab.monitor]`` in lab.toml): incidents while nobody is testing.

Every device gets a :class:`~lab_daemon.monitor.watchdog.Watchdog` worker that looks at
it every ``interval_secs`` for a stalled capture, no signal, a black or frozen picture
and silence; what it finds goes into the lab's
:class:`~lab_daemon.monitor.incidents.IncidentLog`, which ``MonitorMethods`` (in
:mod:`.methods`, imported by the service only) serves as ``incidents(since_seq)``, and
``virtualpy monitor`` writes to the results database's ``alerts`` table.

>>> host.incidents = attach_monitors(host)   # in LabHost.__init__, once per daemon
"""

from __future__ import annotations

from typing import Any

from lab_daemon.monitor.incidents import Incident, IncidentLog
from lab_daemon.monitor.watchdog import KINDS, THRESHOLDS, Watchdog
from pytest_virtualpy.errors import ConfigError

__all__ = ["KINDS", "Incident", "IncidentLog", "Watchdog", "attach_monitors", "check"]

INTERVAL = (0.1, 60.0)
SILENCE_DB = (-120.0, 0.0)
KEEP = (1, 100_000)


def check(options: dict, where: str = "lab.toml: [lab.monitor]") -> None:
    """Raise a ConfigError naming the key and the fix for a value that cannot work."""
    lo, hi = INTERVAL
    if not lo <= options["interval_secs"] <= hi:
        raise ConfigError(
            f"{where}: interval_secs must be {lo:g} to {hi:g} seconds, "
            f"not {options['interval_secs']!r}"
        )
    for key in THRESHOLDS.values():
        if not 0 <= options[key] <= 7 * 86400:
            raise ConfigError(
                f"{where}: {key} must be 0 (off) to 604800 seconds, not {options[key]!r}"
            )
    if not SILENCE_DB[0] <= options["silence_db"] <= SILENCE_DB[1]:
        raise ConfigError(
            f"{where}: silence_db must be -120 to 0 (dBFS), not {options['silence_db']!r}"
        )
    if not KEEP[0] <= options["keep"] <= KEEP[1]:
        raise ConfigError(f"{where}: keep must be 1 to 100000, not {options['keep']!r}")


def attach_monitors(host: Any) -> IncidentLog:
    """The lab's incident log, with a watchdog added to every device's workers (none
    with ``enabled = false``: the log then stays empty and says so)."""
    options = host.tables["monitor"]
    check(options)
    log = IncidentLog(host.name, host.started, options["keep"], options["enabled"])
    if not options["enabled"]:
        return log
    for rt in host.runtimes:

        def test_of(name: str = rt.device.name) -> str | None:
            lease = host.leases.snapshot().get(name)
            return lease.get("test") if lease else None

        rt.workers.append(Watchdog(rt, log, options, test_of))
    return log
