"""Build devices from configuration."""

from __future__ import annotations

from lab_daemon.config import DeviceConfig, parse_resolution
from lab_daemon.devices.base import Device


def build_device(cfg: DeviceConfig) -> Device:
    """Instantiate the driver stack for one configured device."""
    if cfg.kind == "sim":
        from lab_daemon.devices.sim import SimDevice
        from lab_daemon.sim import SimulatedBox

        opts = dict(cfg.options)
        width, height = parse_resolution(opts.pop("resolution", "720p"))
        return SimDevice(SimulatedBox(cfg.name, width=width, height=height, **opts))
    raise ValueError(f"unsupported device kind {cfg.kind!r}")
