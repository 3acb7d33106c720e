"""``virtualpy-lab check``: open every part of every device in a lab.toml and try it.

For each device it builds the driver stack with :func:`lab_daemon.factory.build_device`
(the code ``serve`` runs), then, at the same time for all parts of the device:

- ``video``: reads frames through the real :class:`~lab_daemon.devices.base.VideoSource`
  for ``seconds`` (after waiting up to ``signal_wait_secs`` for the first real frame) and
  reports the frames' real size and the rate measured from their timestamps;
- ``remote``: asks it for its keys (lircd: ``LIST``); no key is pressed;
- ``power``: reads its state (a command switch runs its ``status`` command); it is never
  switched;
- ``serial``: counts the bytes that arrive while the video is measured; nothing is written;
- ``adb``: ``info()`` (the device's model and serial);
- ``audio``: reads sound for ``seconds``: the rate measured and its level (dBFS).

A part that cannot even be opened is reported with the reason, and the device is built
again without it so that the other parts are still tried. Every device is closed
afterwards. Nothing here imports pytest: it runs on a lab host.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lab_daemon.config import DeviceConfig, LabConfig
from lab_daemon.devices.base import Device
from lab_daemon.factory import PART_FIELDS, build_device

#: a part that says nothing within this long (beyond its measuring time) has failed
ANSWER_SECS = 20.0


@dataclass(frozen=True)
class PartResult:
    """One row of the table; true when the part worked.

    >>> bool(PartResult("stb-1", "video", "v4l2", False, "no frame in 20 s"))
    False
    """

    device: str
    part: str
    kind: str
    ok: bool
    detail: str  # what was measured, or why it failed

    def __bool__(self) -> bool:
        return self.ok


@dataclass(frozen=True)
class CheckReport:
    """What ``virtualpy-lab check`` found; true when every part of every device worked.

    >>> bool(CheckReport((PartResult("stb-1", "power", "tapo", True, "on/off ok"),)))
    True
    >>> bool(CheckReport(()))
    False
    """

    results: tuple[PartResult, ...]

    @property
    def ok(self) -> bool:
        return bool(self.results) and all(r.ok for r in self.results)

    def __bool__(self) -> bool:
        return self.ok

    def table(self) -> str:
        header = ("DEVICE", "PART", "KIND", "RESULT", "DETAIL")
        rows = [header]
        rows += [
            (r.device, r.part, r.kind, "OK" if r.ok else "FAIL", r.detail) for r in self.results
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        lines = []
        for row in rows:
            cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
            lines.append("  ".join([*cells, row[4]]))
        failed = sum(not r.ok for r in self.results)
        if failed:
            lines.append(f"{failed} of {len(self.results)} part(s) FAILED")
        else:
            lines.append(f"all {len(self.results)} part(s) OK")
        return "\n".join(lines)


def _reason(e: BaseException, device: str) -> str:
    text = str(e) or type(e).__name__
    prefix = f"device {device!r}: "
    text = text.removeprefix(prefix)
    if not isinstance(e, Exception) or type(e).__module__.startswith("pytest_virtualpy"):
        return text
    return f"{type(e).__name__}: {text}"


# --- opening -------------------------------------------------------------------------------


def _close(device: Device) -> None:
    try:
        device.stop()
    finally:
        close = getattr(device.power, "close", None)  # Device.stop leaves the power switch be
        if close is not None:
            close()


def _build(cfg: DeviceConfig, parts: list[str]) -> tuple[Device | None, str]:
    sub = dataclasses.replace(cfg, parts={p: cfg.parts[p] for p in cfg.parts if p in parts})
    try:
        return build_device(sub), ""
    except Exception as e:
        return None, _reason(e, cfg.name)


def open_device(cfg: DeviceConfig) -> tuple[Device | None, dict[str, str]]:
    """The device with every part that opens, and why each part that did not failed."""
    device, error = _build(cfg, list(cfg.parts))
    if device is not None:
        return device, {}
    if cfg.kind == "sim":
        return None, {"device": error}
    rides = {p for p, (kind, _) in cfg.parts.items() if kind == "adb" and p != "adb"}
    base = ["video", "adb"] if "video" in rides else ["video"]
    probe, error = _build(cfg, base)
    if probe is None:
        why = "not tried: the device cannot be built without its video"
        return None, {p: error if p in base else why for p in cfg.parts}
    _close(probe)
    good, failed = list(base), {}
    for part in sorted(cfg.parts, key=lambda p: p != "adb"):  # the link before what rides on it
        if part in good:
            continue
        if part in rides and "adb" in failed:
            failed[part] = "not tried: it needs the device's adb part, which failed"
            continue
        probe, error = _build(cfg, [*good, part])
        if probe is None:
            failed[part] = error
        else:
            _close(probe)
            good.append(part)
    device, error = _build(cfg, good)
    if device is None:  # it opened a moment ago: something is flaky
        failed.update({p: error for p in good})
    return device, failed


# --- trying each part ------------------------------------------------------------------------


def check_video(video, seconds: float, signal_wait_secs: float) -> tuple[bool, str]:
    """Read frames for ``seconds``: their real size and the rate of their timestamps."""

    def signal() -> bool:
        return bool(getattr(video, "signal", True))  # AvVideo: False while it shows no-signal

    def lost() -> str:
        return getattr(video, "last_error", None) or "no frames"

    give_up = time.monotonic() + signal_wait_secs
    while True:
        image, t = video.read()
        if signal():
            break
        if time.monotonic() > give_up:
            return False, f"no signal within {signal_wait_secs:g} s: {lost()}"
    times = [t]
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        image, t = video.read()
        if not signal():
            return False, f"signal lost after {len(times)} frame(s): {lost()}"
        times.append(t)
    height, width = image.shape[:2]
    span = times[-1] - times[0]
    if len(times) < 2 or span <= 0:
        return False, f"{width}x{height}, but only {len(times)} frame(s) in {seconds:g} s"
    fps = (len(times) - 1) / span
    nominal = float(getattr(video, "fps", 0) or 0)
    detail = f"{width}x{height} at {fps:.1f} fps ({len(times)} frames in {span:.1f} s"
    detail += f"; nominal {nominal:g})" if nominal else ")"
    if nominal and fps < nominal / 2:
        detail += "; WARNING: under half the nominal rate"
    return True, detail


def check_remote(keys) -> tuple[bool, str]:
    names = keys.keys()
    if not names:
        return False, (
            "the remote has no keys we can press: name its buttons KEY_... in lircd.conf or "
            'map them with keymap = { KEY_OK = "ok", ... }'
        )
    shown = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
    return True, f"{len(names)} keys: {shown}"


def check_power(power) -> tuple[bool, str]:
    state = "on" if power.get() else "off"
    commands = getattr(power, "_commands", None)  # CommandPower: a status command is optional
    if isinstance(commands, dict) and not commands.get("status"):
        return True, f"{state} (assumed: no status command to ask; not switched)"
    return True, state


def check_serial(port, seconds: float) -> tuple[bool, str]:
    """Collect what arrives for ``seconds`` (and since the port was opened); write nothing."""
    seen = bytearray()
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        port.wait_for_data(min(left, 0.5))
        seen += port.read_available()
    seen += port.read_available()
    where = getattr(port, "path", None)
    detail = f"{where} open" if where else "open"
    detail += f", {len(seen)} bytes seen in {seconds:g} s"
    if seen:
        tail = seen.decode("utf-8", "replace").strip().splitlines()
        if tail:
            last = "".join(c if c.isprintable() else "." for c in tail[-1])
            detail += f', last line: "{last[-40:]}"'
    else:
        detail += " (a quiet console is normal: nothing is written to it)"
    return True, detail


def check_adb(adb) -> tuple[bool, str]:
    info = adb.info()
    facts = [f"model {info['model']}"] if info.get("model") else []
    facts += [f"{k} {v}" for k, v in info.items() if k != "model" and isinstance(v, str | int)]
    return True, ", ".join(facts) or "connected"


def check_audio(audio, seconds: float) -> tuple[bool, str]:
    """Read sound for ``seconds``: how many samples came a second, and how loud."""
    from lab_daemon.audio import rms_db

    chunks, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        chunks.append(audio.read()[0])
    samples = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
    rate = len(samples) / seconds
    detail = f"{rate:.0f} samples/s (nominal {audio.rate}), level {rms_db(samples):.1f} dBFS"
    if not getattr(audio, "signal", True):
        why = getattr(audio, "last_error", None) or "no sound"
        return False, f"{detail}; silence only: {why}"
    return rate > audio.rate / 2, detail


def _run_parts(
    device: Device, kinds: dict[str, str], seconds: float, signal_wait_secs: float, say
) -> list[PartResult]:
    checks: dict[str, Callable[[], tuple[bool, str]]] = {}
    for part, attr in PART_FIELDS.items():
        driver = getattr(device, attr, None)
        if driver is None:
            continue
        checks[part] = {
            "video": lambda d=driver: check_video(d, seconds, signal_wait_secs),
            "remote": lambda d=driver: check_remote(d),
            "power": lambda d=driver: check_power(d),
            "serial": lambda d=driver: check_serial(d, seconds),
            "adb": lambda d=driver: check_adb(d),
            "audio": lambda d=driver: check_audio(d, seconds),
        }[part]
    answers: dict[str, tuple[bool, str]] = {}

    def run(part: str) -> None:
        try:
            answers[part] = checks[part]()
        except Exception as e:
            answers[part] = (False, _reason(e, device.name))
        ok, detail = answers[part]
        say(f"{device.name}: {part}: {'OK' if ok else 'FAIL'}: {detail}")

    if "video" in checks:
        say(f"{device.name}: video: reading frames for {seconds:g} s ...")
    threads = {p: threading.Thread(target=run, args=(p,), daemon=True) for p in checks}
    for t in threads.values():
        t.start()
    allowed = seconds + signal_wait_secs + ANSWER_SECS
    deadline = time.monotonic() + allowed
    results = []
    for part, t in threads.items():
        t.join(max(0.0, deadline - time.monotonic()))
        ok, detail = answers.get(part, (False, f"no answer within {allowed:g} s"))
        results.append(PartResult(device.name, part, kinds.get(part, "?"), ok, detail))
    return results


def check_device(
    cfg: DeviceConfig,
    seconds: float = 2.0,
    signal_wait_secs: float = 5.0,
    say: Callable[[str], None] = lambda _: None,
) -> list[PartResult]:
    """Open ``cfg``'s device, try each of its parts, close it: one result per part."""
    if cfg.kind == "sim":
        kinds = {part: "sim" for part in PART_FIELDS}
        say(f"{cfg.name}: opening the simulated box ...")
    else:
        kinds = {part: kind for part, (kind, _) in cfg.parts.items()}
        say(f"{cfg.name}: opening {', '.join(cfg.parts)} ...")
    device, failed = open_device(cfg)
    for part, why in failed.items():
        say(f"{cfg.name}: {part}: FAIL: {why}")
    results = [PartResult(cfg.name, p, kinds.get(p, cfg.kind), False, w) for p, w in failed.items()]
    if device is not None:
        try:
            device.start()
            results += _run_parts(device, kinds, seconds, signal_wait_secs, say)
        finally:
            try:
                _close(device)
            except Exception as e:
                results.append(PartResult(cfg.name, "close", cfg.kind, False, _reason(e, cfg.name)))
    order = list(PART_FIELDS)
    return sorted(results, key=lambda r: order.index(r.part) if r.part in order else -1)


def check_lab(
    cfg: LabConfig,
    seconds: float = 2.0,
    signal_wait_secs: float = 5.0,
    say: Callable[[str], None] = lambda _: None,
) -> CheckReport:
    """Check every device of a lab, one after the other (parts of one device at once)."""
    results = []
    for device in cfg.devices:
        results += check_device(device, seconds, signal_wait_secs, say)
    return CheckReport(tuple(results))
