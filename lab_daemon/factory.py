"""Build devices from configuration: the simulator, or a bundle of real parts."""

from __future__ import annotations

from lab_daemon.config import DeviceConfig, parse_resolution
from lab_daemon.devices.base import Device
from lab_daemon.devices.registry import driver_class
from pytest_virtualpy.errors import ConfigError

#: lab.toml's part names -> the Device fields that hold them
_FIELDS = {"video": "video", "remote": "keys", "power": "power", "serial": "serial", "adb": "adb"}


def build_device(cfg: DeviceConfig) -> Device:
    """Instantiate the driver stack for one configured device.

    A part that cannot be opened is a :class:`ConfigError` naming the device and the part;
    the parts opened before it are closed again.
    """
    if cfg.kind == "sim":
        from lab_daemon.devices.sim import SimDevice
        from lab_daemon.sim import SimulatedBox

        opts = dict(cfg.options)
        width, height = parse_resolution(opts.pop("resolution", "720p"))
        return SimDevice(SimulatedBox(cfg.name, width=width, height=height, **opts))
    built: dict[str, object] = {}
    order = sorted(cfg.parts, key=lambda p: p != "adb")  # the adb link first: others ride on it
    try:
        for part in order:
            kind, opts = cfg.parts[part]
            cls = driver_class(part, kind)
            if kind == "adb":
                driver = cls.from_options(opts, cfg.name, adb=built["adb"])
            else:
                driver = cls.from_options(opts, cfg.name)
            built[_FIELDS[part]] = driver
    except Exception as e:
        for driver in built.values():
            close = getattr(driver, "close", None)
            if close is not None:
                close()
        if isinstance(e, ConfigError):
            raise
        raise ConfigError(f"device {cfg.name!r}: {part} ({kind}) cannot be opened: {e}") from e
    extra = {"navigation": cfg.navigation} if cfg.navigation else {}
    return Device(name=cfg.name, model=cfg.model or cfg.name, kind="hardware", extra=extra, **built)
