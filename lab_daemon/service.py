"""The RPyC service: the only surface the daemon exposes on the network.

Every exposed method takes plain values (str, bytes, numbers, tuples) and
returns JSON text, or ``(json_text, bytes)`` for images. Device methods take the
caller's lease id first; nothing touches a device without a live lease. Errors
come back as data (see :mod:`pytest_virtualpy.lab.wire`), never as remote
exception objects.
"""

from __future__ import annotations

import time

import rpyc

from lab_daemon import arg_checks as args
from lab_daemon import lease_guard, screen_ops
from lab_daemon.audio.methods import AudioMethods
from lab_daemon.capture import STALL_SECS
from lab_daemon.connection import LOCAL, Peer
from lab_daemon.console import compile_pattern
from lab_daemon.exposing import ServiceBase, image_reply, integer, plain_args, text, timeout
from lab_daemon.file_methods import FileMethods
from lab_daemon.host import LabHost
from lab_daemon.imaging import encode_image, mask_from_wire, region_from_wire
from lab_daemon.lease_methods import LeaseMethods
from lab_daemon.match_many import MatchManyMethods
from lab_daemon.monitor.methods import MonitorMethods
from lab_daemon.recording.methods import RecordingMethods
from pytest_virtualpy import __version__
from pytest_virtualpy.errors import LabError
from pytest_virtualpy.lab.handshake import SERVICE_VERSION

PROTOCOL_VERSION = SERVICE_VERSION  # the handshake carries it: see its history there
MAX_ADB_COMMAND = 4096  # characters of one adb shell command
POWER_ACTIONS = ("on", "off", "cycle", "status")
MAX_MOTION_FRAMES = 600  # results one detect_motion call returns (the client asks for 10)


class LabService(
    LeaseMethods,
    AudioMethods,
    RecordingMethods,
    MonitorMethods,
    MatchManyMethods,
    FileMethods,
    ServiceBase,
    rpyc.Service,
):
    """One instance per connection; all state lives in the shared :class:`LabHost`."""

    def __init__(self, host: LabHost, peer: Peer = LOCAL):
        self.host = host
        self.peer = peer  # the connection this instance serves (leases are bound to it)

    def on_connect(self, conn) -> None:
        """Keep the connection's socket, so that a wait notices its client hanging up."""
        stream = getattr(getattr(conn, "_channel", None), "stream", None)
        self._sock = getattr(stream, "sock", None)

    def on_disconnect(self, conn) -> None:
        """The connection closed: its leases end (their devices go to the next waiter)
        and its waits are dropped."""
        self.host.leases.drop_connection(self.peer.conn_id)

    # --- lab ---------------------------------------------------------------------------

    @plain_args
    def exposed_hello(self) -> dict:
        return {
            "daemon": __version__,
            "protocol": PROTOCOL_VERSION,
            "lab": self.host.name,
            "time": time.time(),
            "live": self.host.live,  # {"port": N, "bind": ...}, None if the page is off
        }

    @plain_args
    def exposed_health(self) -> dict:
        return {
            "lab": self.host.name,
            "uptime_secs": round(time.time() - self.host.started, 3),
            "devices": {rt.device.name: rt.health() for rt in self.host.runtimes},
            # per device: the incident kinds open now and how many it had (monitoring)
            "incidents": self.host.incidents.summary(),
        }

    # --- leases: see lab_daemon/lease_methods.py ----------------------------------------

    # --- keys --------------------------------------------------------------------------

    @plain_args
    def exposed_keys(self, lease_id: str) -> list[str]:
        return self._part(lease_id, "keys")[1].keys()

    @plain_args
    def exposed_press(self, lease_id: str, key: str, hold_secs: float | None) -> dict:
        key, hold = args.key_name(key), args.hold_secs(hold_secs)
        t = self._part(lease_id, "keys")[1].press(key, hold)
        return {"key": key, "time": t}

    @plain_args
    def exposed_press_and_wait(
        self,
        lease_id,
        key,
        region,
        mask_png,
        timeout_secs,
        stable_secs,
        noise_threshold,
        min_size=None,
    ) -> dict:
        key = args.key_name(key)
        region, mask = region_from_wire(region), mask_from_wire(mask_png)
        wait, stable = timeout(timeout_secs), timeout(stable_secs, "stable_secs")
        noise, size = args.noise_threshold(noise_threshold), args.min_size(min_size)
        rt, keys = self._part(lease_id, "keys")
        t = keys.press(key, None)
        return screen_ops.transition(rt.ring, t, key, region, mask, wait, stable, noise, size)

    # --- frames and frame-local vision ---------------------------------------------------

    @image_reply
    def exposed_get_frame(self, lease_id, fmt: str, region, after: float | None, quality: int = 90):
        fmt, quality = args.image_format(fmt, quality)
        wanted, after = region_from_wire(region), args.frame_after(after)
        rt = self._rt(lease_id)
        if after is None:
            frame = rt.ring.latest()
        else:  # bounded: ``after`` is at most a few seconds ahead, and a stall raises
            deadline = time.monotonic() + max(0.0, after - time.time()) + STALL_SECS
            for frame in rt.ring.frames(since=after):
                if frame.time > after:
                    break
                if time.monotonic() > deadline:
                    raise LabError(f"no frame captured after {after} within {STALL_SECS:g} s")
        r = wanted.clip(frame.shape[1], frame.shape[0])
        if r is None:
            raise ValueError(
                f"region {region!r} lies outside the {frame.shape[1]}x{frame.shape[0]} frame"
            )
        crop = frame[r.y : r.bottom, r.x : r.right]
        return {
            "time": frame.time,
            "region": r.to_tuple(),
            "width": frame.shape[1],
            "height": frame.shape[0],
        }, encode_image(crop, fmt, quality)

    def _reference(self, image_png, region, params_json) -> tuple:
        """The checked arguments every match method takes."""
        return (
            screen_ops.reference_image(image_png),
            region_from_wire(region),
            screen_ops.match_params(params_json),
        )

    @plain_args
    def exposed_match(self, lease_id, image_png: bytes, region, params_json) -> dict:
        reference = self._reference(image_png, region, params_json)
        return screen_ops.match_once(self._rt(lease_id).ring, *reference)

    @plain_args
    def exposed_match_all(self, lease_id, image_png: bytes, region, params_json) -> list[dict]:
        reference = self._reference(image_png, region, params_json)
        return screen_ops.match_all(self._rt(lease_id).ring, *reference)

    @plain_args
    def exposed_wait_for_match(
        self, lease_id, image_png: bytes, region, params_json, timeout_secs, consecutive
    ) -> dict:
        reference = self._reference(image_png, region, params_json)
        wait, n = timeout(timeout_secs), args.consecutive_matches(consecutive)
        return screen_ops.wait_for_match(self._rt(lease_id).ring, *reference, wait, n)

    @plain_args
    def exposed_wait_for_motion(
        self,
        lease_id,
        region,
        mask_png,
        timeout_secs,
        consecutive,
        noise_threshold,
        min_size=None,
    ) -> dict:
        region, mask = region_from_wire(region), mask_from_wire(mask_png)
        wait, n = timeout(timeout_secs), args.consecutive_frames(consecutive)
        noise, size = args.noise_threshold(noise_threshold), args.min_size(min_size)
        rt = self._rt(lease_id)
        return screen_ops.wait_for_motion(rt.ring, region, mask, wait, n, noise, size)

    @plain_args
    def exposed_detect_motion(
        self,
        lease_id,
        region,
        mask_png,
        noise_threshold,
        since,
        max_frames,
        min_size=None,
        reference=None,
    ) -> list[dict]:
        region, mask = region_from_wire(region), mask_from_wire(mask_png)
        noise, size = args.noise_threshold(noise_threshold), args.min_size(min_size)
        since = args.optional_lab_time(since, "since")
        reference = args.optional_lab_time(reference, "reference")
        frames = integer(max_frames, "max_frames", 1, MAX_MOTION_FRAMES)
        rt = self._rt(lease_id)
        return screen_ops.detect_motion(
            rt.ring, region, mask, noise, since, frames, size, reference
        )

    @plain_args
    def exposed_is_black(self, lease_id, region, mask_png, threshold) -> dict:
        region, mask = region_from_wire(region), mask_from_wire(mask_png)
        level = args.black_threshold(threshold)
        return screen_ops.is_black(self._rt(lease_id).ring, region, mask, level)

    @plain_args
    def exposed_wait_for_black(self, lease_id, region, mask_png, threshold, timeout_secs) -> dict:
        region, mask = region_from_wire(region), mask_from_wire(mask_png)
        level, wait = args.black_threshold(threshold), timeout(timeout_secs)
        return screen_ops.wait_for_black(self._rt(lease_id).ring, region, mask, level, wait)

    @plain_args
    def exposed_is_frozen(
        self, lease_id, region, mask_png, freeze_secs, noise_threshold, min_size=None
    ) -> dict:
        region, mask = region_from_wire(region), mask_from_wire(mask_png)
        secs = timeout(freeze_secs, "freeze_secs")
        noise, size = args.noise_threshold(noise_threshold), args.min_size(min_size)
        return screen_ops.is_frozen(self._rt(lease_id).ring, region, mask, secs, noise, size)

    # --- serial --------------------------------------------------------------------------

    @plain_args
    def exposed_serial_write(self, lease_id, data: bytes) -> int:
        data = args.serial_data(data)
        rt, _ = self._part(lease_id, "serial")
        rt.console.write(data)
        return len(data)

    @image_reply
    def exposed_serial_read(self, lease_id, timeout_secs):
        wait = timeout(timeout_secs)
        rt, _ = self._part(lease_id, "serial")
        data = rt.console.read(wait)
        return {"dropped": rt.console.dropped}, data

    @plain_args
    def exposed_serial_expect(self, lease_id, pattern: str, timeout_secs) -> dict:
        compile_pattern(pattern)  # a bad pattern is refused before anything is read
        wait = timeout(timeout_secs)
        rt, _ = self._part(lease_id, "serial")
        return rt.console.expect(pattern, wait)

    @plain_args
    def exposed_serial_discard(self, lease_id, before: int) -> int:
        """Drop unread output logged before offset ``before`` (a test's start)."""
        before = args.offset(before, "before")
        rt, _ = self._part(lease_id, "serial")
        return rt.console.discard(before)

    @image_reply
    def exposed_serial_log(self, lease_id, since: int):
        since = args.offset(since, "since")
        rt, _ = self._part(lease_id, "serial")
        end, data = rt.console.log(since)
        return {"end": end}, data

    # --- adb -----------------------------------------------------------------------------

    @plain_args
    def exposed_adb_shell(self, lease_id, command: str, timeout_secs) -> dict:
        """Run ``command`` in the device's shell: ``{"status", "output"}`` (output bounded)."""
        if not isinstance(command, str):
            raise ValueError(f"an adb shell command is a str, got {type(command).__name__}")
        wait = timeout(timeout_secs)
        _, adb = self._part(lease_id, "adb")
        if not command.strip() or len(command) > MAX_ADB_COMMAND or "\0" in command:
            raise ValueError(
                f"an adb shell command must be 1 to {MAX_ADB_COMMAND} characters without NUL"
            )
        status, output = adb.shell(command, wait)
        return {"status": status, "output": bytes(output).decode("utf-8", "replace")}

    # --- power ---------------------------------------------------------------------------

    @plain_args
    def exposed_power(self, lease_id, action: str, off_secs: float = 1.0) -> dict:
        if action not in POWER_ACTIONS:  # every argument is checked before the device
            raise ValueError(f"unknown power action {action!r}; use on, off, cycle or status")
        off = timeout(off_secs, "off_secs")
        _, power = self._part(lease_id, "power")
        if action == "on":
            power.set(True)
        elif action == "off":
            power.set(False)
        elif action == "cycle":
            power.set(False)
            lease_guard.sleep(off)  # a lease lost meanwhile: LeaseLost, the device stays off
            power.set(True)
        elif action != "status":
            raise ValueError(f"unknown power action {action!r}; use on, off, cycle or status")
        return {"on": power.get()}

    # --- simulated devices only -------------------------------------------------------------

    @plain_args
    def exposed_sim_inject(self, lease_id, fault: str, params_json: str) -> dict:
        fault = text(fault, "fault", 32)
        params = args.sim_params(params_json)
        _, sim = self._part(lease_id, "sim")
        sim.inject(fault, params)
        return sim.faults()

    @plain_args
    def exposed_sim_clear(self, lease_id) -> dict:
        _, sim = self._part(lease_id, "sim")
        sim.clear()
        return sim.faults()

    @plain_args
    def exposed_sim_faults(self, lease_id) -> dict:
        _, sim = self._part(lease_id, "sim")
        return sim.faults()

    @plain_args
    def exposed_sim_events(self, lease_id) -> list[dict]:
        _, sim = self._part(lease_id, "sim")
        return sim.events()

    @plain_args
    def exposed_sim_state(self, lease_id) -> dict:
        _, sim = self._part(lease_id, "sim")
        return sim.state()
