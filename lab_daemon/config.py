"""``lab.toml``: what a lab host serves.

Example::

    [lab]
    name = "pi-03"
    bind = "0.0.0.0"                 # anything beyond loopback needs a token
    port = 18861
    token_file = "/etc/virtualpy/lab-token"   # read if it exists, created (0600) if not

    [lab.tls]                        # optional: TLS, clients need a certificate signed by ca
    cert = "certs/server.pem"        # paths are relative to this file
    key = "certs/server.key"         # (make them with `virtualpy-lab certs`)
    ca = "certs/ca.pem"

    [[devices]]
    name = "living-room"
    model = "acme-4k"
    video  = { source = "/dev/video0", width = 1280, height = 720, fps = 60, format = "MJPG" }
    remote = { kind = "lirc", socket = "/var/run/lirc/lircd", remote = "acme" }
    power  = { kind = "command", on = "...", off = "..." }
    serial = { port = "/dev/ttyUSB0", baudrate = 115200 }

    [[devices]]
    name = "stb-1"
    kind = "sim"            # the built-in simulated set-top box
    fps = 60
    resolution = "720p"     # or "1080p"

A device is a bundle of parts, each bound to a driver by its ``kind``
(:mod:`lab_daemon.devices.registry`); every part but ``video`` is optional. Every
mistake is one :class:`ConfigError` naming the file, the device, the key and the fix.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from lab_daemon import lab_options
from lab_daemon.devices.options import check_options
from lab_daemon.devices.registry import PARTS, driver_class, infer_kind, kinds
from pytest_virtualpy.errors import ConfigError
from pytest_virtualpy.lab.tls import TlsFiles

RESOLUTIONS = {"720p": (1280, 720), "1080p": (1920, 1080)}
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
    kind: str  # "sim", or "hardware" for a device built from parts
    options: dict = field(default_factory=dict)  # the simulator's options
    model: str | None = None
    parts: dict[str, tuple[str, dict]] = field(default_factory=dict)  # part -> (kind, options)
    navigation: str | None = None


@dataclass
class LabConfig:
    name: str = "lab"
    bind: str = "127.0.0.1"
    port: int = 18861
    devices: list[DeviceConfig] = field(default_factory=list)
    token_file: str | None = None
    tls: TlsFiles | None = None  # [lab.tls]: TLS with client certificates
    #: [lab.recording], [lab.live], [lab.monitor], checked, with defaults filled in
    tables: dict[str, dict] = field(
        default_factory=lambda: {t: lab_options.defaults(t) for t in lab_options.TABLES}
    )


LAB_KEYS = {"name": str, "bind": str, "port": int, "token_file": str}
DEVICE_KEYS = ("name", "model", "kind", "navigation", *PARTS)


def parse_resolution(value: str) -> tuple[int, int]:
    try:
        return RESOLUTIONS[value]
    except KeyError:
        raise ConfigError(
            f"unknown resolution {value!r}; use one of {', '.join(RESOLUTIONS)}"
        ) from None


def _lab_table(path: Path, lab: object) -> LabConfig:
    if not isinstance(lab, dict):
        raise ConfigError(f"{path}: [lab] must be a table")
    known = [*LAB_KEYS, "tls", *lab_options.TABLES]
    unknown = sorted(set(lab) - set(known))
    if unknown:
        raise ConfigError(
            f"{path}: [lab] has unknown key(s) {', '.join(unknown)}; known: {', '.join(known)}"
        )
    tables = {}
    for table, schema in lab_options.TABLES.items():
        values = lab.get(table, {})
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: lab.{table} must be a table: [lab.{table}]")
        tables[table] = check_options(values, schema, f"{path}: [lab.{table}]", path.parent)
    for key, wanted in LAB_KEYS.items():
        if key in lab and (not isinstance(lab[key], wanted) or isinstance(lab[key], bool)):
            what = "an integer" if wanted is int else "a string"
            raise ConfigError(f"{path}: [lab] {key} must be {what}, not {lab[key]!r}")
    token_file = lab.get("token_file")
    if token_file and not Path(token_file).is_absolute():
        token_file = str(path.parent / token_file)
    return LabConfig(
        name=lab.get("name", path.stem),
        bind=lab.get("bind", "127.0.0.1"),
        port=lab.get("port", 18861),
        token_file=token_file,
        tls=TlsFiles.from_table(lab["tls"], path.parent, f"{path}: [lab.tls]")
        if "tls" in lab
        else None,
        tables=tables,
    )


def _sim_device(path: Path, name: str, d: dict) -> DeviceConfig:
    options = {k: v for k, v in d.items() if k not in ("name", "kind", "navigation")}
    unknown = sorted(set(options) - set(SIM_OPTIONS))
    if unknown:
        raise ConfigError(
            f"{path}: device {name!r} has unknown option(s) {', '.join(unknown)}; "
            f"known: navigation, {', '.join(SIM_OPTIONS)}"
        )
    if "resolution" in options:
        parse_resolution(options["resolution"])
    navigation = _navigation(path, d.get("navigation"), f"{path}: device {name!r}")
    return DeviceConfig(name, "sim", options, navigation=navigation)


def _hardware_device(path: Path, name: str, d: dict) -> DeviceConfig:
    where = f"{path}: device {name!r}"
    unknown = sorted(set(d) - set(DEVICE_KEYS))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; a device has "
            f'{", ".join(DEVICE_KEYS)} (or kind = "sim" for the simulated box)'
        )
    if "video" not in d:
        present = [p for p in PARTS if p in d]
        raise ConfigError(
            f"{where}: 'video' is missing; every device needs video = {{ source = ... }}"
            + (f" (it has {', '.join(present)})" if present else "")
        )
    parts = {}
    for part in PARTS:
        if part not in d:
            continue
        table = d[part]
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: {part} must be a table, e.g. {part} = {{ kind = ... }}")
        kind = infer_kind(part, table)
        if kind is None:
            raise ConfigError(f"{where}: {part} needs kind = one of {', '.join(kinds(part))}")
        try:
            cls = driver_class(part, kind)
        except ConfigError as e:
            raise ConfigError(f"{where}: {e}") from None
        values = {k: v for k, v in table.items() if k != "kind"}
        opts = check_options(values, cls.OPTIONS, f"{where}: {part}", path.parent)
        if part == "video" and kind == "ffmpeg" and _is_file(opts):
            opts["source"] = str(_existing(path, opts["source"], f"{where}: video: 'source'"))
        parts[part] = (kind, opts)
    riding = [p for p, (kind, _) in parts.items() if kind == "adb" and p != "adb"]
    if riding and "adb" not in parts:
        raise ConfigError(
            f"{where}: {' and '.join(riding)} of kind adb need the device's ADB link: add "
            'adb = { serial = "USB-SERIAL or HOST:PORT" }'
        )
    model = d.get("model")
    if model is not None and not isinstance(model, str):
        raise ConfigError(f"{where}: model must be a string")
    navigation = _navigation(path, d.get("navigation"), where)
    return DeviceConfig(name, "hardware", model=model, parts=parts, navigation=navigation)


def _navigation(path: Path, value: object, where: str) -> str | None:
    """The device's navigation tree file (served to clients with the files of its folder)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{where}: navigation must be a path to a navigation tree (TOML)")
    tree = _existing(path, value, f"{where}: 'navigation'")
    if not tree.is_file():
        raise ConfigError(f"{where}: navigation {tree} is not a file (a navigation tree, TOML)")
    return str(tree)


def _is_file(video: dict) -> bool:
    """A video source that names a local file (not a URL, nor a demuxer's own input)."""
    return "://" not in video["source"] and not video.get("demuxer")


def _existing(path: Path, value: str, where: str) -> Path:
    """``value`` as a path relative to lab.toml's folder; a :class:`ConfigError` if missing."""
    p = Path(value).expanduser()
    p = p if p.is_absolute() else path.parent / p
    if not p.exists():
        raise ConfigError(f"{where}: {p} does not exist (relative paths are from {path.parent})")
    return p


def load_config(path: Path) -> LabConfig:
    """Read and validate a lab.toml; every mistake becomes a :class:`ConfigError`."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"lab config {path} does not exist") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} is not valid TOML: {e}") from None
    unknown = sorted(set(data) - {"lab", "devices"})
    if unknown:
        raise ConfigError(
            f"{path}: unknown table(s) {', '.join(unknown)}; use [lab] and [[devices]]"
        )
    cfg = _lab_table(path, data.get("lab", {}))
    devices = data.get("devices")
    if not devices:
        raise ConfigError(f"{path} lists no devices; add a [[devices]] table")
    for i, d in enumerate(devices):
        name = d.get("name")
        if not name or not isinstance(name, str):
            raise ConfigError(f'{path}: devices[{i}] needs name = "..."')
        kind = d.get("kind")
        if kind == "sim":
            cfg.devices.append(_sim_device(path, name, d))
        elif kind is None:
            cfg.devices.append(_hardware_device(path, name, d))
        else:
            raise ConfigError(
                f'{path}: device {name!r} has kind {kind!r}; a device is kind = "sim" or '
                "is built from parts (video = {...}, remote = {...}, ...) with no kind"
            )
    if len({d.name for d in cfg.devices}) != len(cfg.devices):
        raise ConfigError(f"{path}: device names must be unique")
    return cfg
