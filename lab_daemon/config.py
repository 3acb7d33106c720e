"""``lab.toml``: what a lab host serves.

Example::

    [lab]
    name = "pi-03"
    bind = "127.0.0.1"      # loopback unless you mean it
    port = 18861

    [[devices]]
    name = "stb-1"
    kind = "sim"            # the built-in simulated set-top box
    fps = 60
    resolution = "720p"     # or "1080p"
    seed = 1
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pytest_virtualpy.errors import ConfigError

RESOLUTIONS = {"720p": (1280, 720), "1080p": (1920, 1080)}
DEVICE_KINDS = ("sim",)
SIM_OPTIONS = (
    "fps",
    "resolution",
    "seed",
    "input_latency_ms",
    "zap_ms",
    "boot_secs",
    "firmware_version",
    "model",
)


@dataclass
class DeviceConfig:
    name: str
    kind: str
    options: dict = field(default_factory=dict)


@dataclass
class LabConfig:
    name: str = "lab"
    bind: str = "127.0.0.1"
    port: int = 18861
    devices: list[DeviceConfig] = field(default_factory=list)


def parse_resolution(value: str) -> tuple[int, int]:
    try:
        return RESOLUTIONS[value]
    except KeyError:
        raise ConfigError(
            f"unknown resolution {value!r}; use one of {', '.join(RESOLUTIONS)}"
        ) from None


def load_config(path: Path) -> LabConfig:
    """Read and validate a lab.toml; every mistake becomes a :class:`ConfigError`."""
    try:
        data = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"lab config {path} does not exist") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} is not valid TOML: {e}") from None
    lab = data.get("lab", {})
    cfg = LabConfig(
        name=str(lab.get("name", Path(path).stem)),
        bind=str(lab.get("bind", "127.0.0.1")),
        port=int(lab.get("port", 18861)),
    )
    devices = data.get("devices")
    if not devices:
        raise ConfigError(f"{path} lists no devices; add a [[devices]] table")
    for i, d in enumerate(devices):
        name, kind = d.get("name"), d.get("kind")
        if not name or not kind:
            raise ConfigError(f"{path}: devices[{i}] needs a name and a kind")
        if kind not in DEVICE_KINDS:
            raise ConfigError(
                f"{path}: device {name!r} has kind {kind!r}; supported kinds: "
                + ", ".join(DEVICE_KINDS)
            )
        options = {k: v for k, v in d.items() if k not in ("name", "kind")}
        unknown = sorted(set(options) - set(SIM_OPTIONS))
        if unknown:
            raise ConfigError(
                f"{path}: device {name!r} has unknown option(s) {', '.join(unknown)}; "
                f"known: {', '.join(SIM_OPTIONS)}"
            )
        if "resolution" in options:
            parse_resolution(options["resolution"])
        cfg.devices.append(DeviceConfig(str(name), kind, options))
    if len({d.name for d in cfg.devices}) != len(cfg.devices):
        raise ConfigError(f"{path}: device names must be unique")
    return cfg
