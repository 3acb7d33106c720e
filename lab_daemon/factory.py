"""Build devices from configuration: the simulator, or a bundle of real parts."""

from __future__ import annotations

from lab_daemon.config import DeviceConfig, parse_resolution
from lab_daemon.devices.base import Device
from lab_daemon.devices.registry import driver_class
from pytest_virtualpy.errors import ConfigError

#: lab.toml's part names -> the Device fields that hold them
PART_FIELDS = {
    "video": "video",
    "remote": "keys",
    "power": "power",
    "serial": "serial",
    "adb": "adb",
    "audio": "audio",
}


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
        device = SimDevice(SimulatedBox(cfg.name, width=width, height=height, **opts))
        device.files.update(_served_files(cfg))
        return device
    built: dict[str, object] = {}
    # the adb link first (others ride on it), then the audio (a stream's goes to its video)
    order = sorted(cfg.parts, key=lambda p: (p != "adb", p != "audio"))
    stream_audio = cfg.parts.get("audio", ("",))[0] == "stream"
    try:
        for part in order:
            kind, opts = cfg.parts[part]
            cls = driver_class(part, kind)
            if part == "video" and stream_audio:
                driver = stream_video(cls, opts, cfg.name, built["audio"])
            elif kind == "adb":
                driver = cls.from_options(opts, cfg.name, adb=built["adb"])
            else:
                driver = cls.from_options(opts, cfg.name)
            built[PART_FIELDS[part]] = driver
    except Exception as e:
        for driver in built.values():
            close = getattr(driver, "close", None)
            if close is not None:
                close()
        if isinstance(e, ConfigError):
            raise
        raise ConfigError(f"device {cfg.name!r}: {part} ({kind}) cannot be opened: {e}") from e
    files = _served_files(cfg)
    return Device(name=cfg.name, model=cfg.model or cfg.name, kind="hardware", files=files, **built)


def _served_files(cfg: DeviceConfig) -> dict[str, str]:
    """The device's named files that clients may fetch (see lab_daemon/file_methods.py)."""
    return {"navigation": cfg.navigation} if cfg.navigation else {}


def stream_video(cls, opts: dict, device: str, audio: object) -> object:
    """A video driver that also feeds ``audio`` (``audio = { kind = "stream" }``)."""
    if not getattr(cls, "CARRIES_AUDIO", False):
        raise ConfigError(
            f'device {device!r}: audio kind "stream" takes the sound of a video stream read '
            f"with FFmpeg (a file or URL), and this video ({cls.__name__}) carries none: use "
            'audio = { kind = "alsa", device = "hw:1,0" } (see `arecord -l`)'
        )
    return cls.from_options(opts, device, audio=audio)
