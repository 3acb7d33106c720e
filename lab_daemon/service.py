"""The RPyC service: the only surface the daemon exposes on the network.

Every exposed method takes plain values (str, bytes, numbers, tuples) and
returns JSON text, or ``(json_text, bytes)`` for images. Device methods take the
caller's lease id first; nothing touches a device without a live lease. Errors
come back as data (see :mod:`pytest_virtualpy.lab.wire`), never as remote
exception objects.
"""

from __future__ import annotations

import json
import time

import rpyc

from lab_daemon import screen_ops
from lab_daemon.audio.methods import AudioMethods
from lab_daemon.connection import LOCAL, Peer
from lab_daemon.exposing import ServiceBase, image_reply, plain_args, timeout
from lab_daemon.host import LabHost
from lab_daemon.imaging import encode_image, mask_from_wire, region_from_wire
from lab_daemon.monitor.methods import MonitorMethods
from lab_daemon.recording.methods import RecordingMethods
from pytest_virtualpy import __version__

PROTOCOL_VERSION = 5  # 2: serial_discard; 3: adb_shell; 4: audio, clips, live view, incidents;
# 5: queued leases with requirements, leases bound to their connection, mutual handshake
MAX_ADB_COMMAND = 4096  # characters of one adb shell command


class LabService(AudioMethods, RecordingMethods, MonitorMethods, ServiceBase, rpyc.Service):
    """One instance per connection; all state lives in the shared :class:`LabHost`."""

    def __init__(self, host: LabHost, peer: Peer = LOCAL):
        self.host = host
        self.peer = peer  # the connection this instance serves (leases are bound to it)

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
    def exposed_list_devices(self) -> list[dict]:
        leases = self.host.leases.snapshot()
        return [dict(rt.info(), lease=leases[rt.device.name]) for rt in self.host.runtimes]

    @plain_args
    def exposed_health(self) -> dict:
        return {
            "lab": self.host.name,
            "uptime_secs": round(time.time() - self.host.started, 3),
            "devices": {rt.device.name: rt.health() for rt in self.host.runtimes},
            # per device: the incident kinds open now and how many it had (monitoring)
            "incidents": self.host.incidents.summary(),
        }

    # --- leases ------------------------------------------------------------------------

    @plain_args
    def exposed_lease(self, device: str | None, owner: str, ttl_secs: float) -> dict:
        lease = self.host.leases.acquire(device or None, str(owner)[:128], float(ttl_secs))
        info = self.host.runtime(lease.device).info()
        return dict(info, lease_id=lease.lease_id, ttl=lease.ttl)

    @plain_args
    def exposed_renew(self, lease_id: str) -> dict:
        lease = self.host.leases.renew(str(lease_id))
        return {"device": lease.device, "ttl": lease.ttl}

    @plain_args
    def exposed_release(self, lease_id: str) -> bool:
        return self.host.leases.release(str(lease_id))

    @plain_args
    def exposed_set_test(self, lease_id: str, test: str | None) -> dict:
        """Say which test now runs on the leased device (None: none); shown to lab owners."""
        lease = self.host.leases.set_test(str(lease_id), test)
        return {"device": lease.device, "test": lease.test}

    # --- keys --------------------------------------------------------------------------

    @plain_args
    def exposed_keys(self, lease_id: str) -> list[str]:
        return self._part(lease_id, "keys")[1].keys()

    @plain_args
    def exposed_press(self, lease_id: str, key: str, hold_secs: float | None) -> dict:
        t = self._part(lease_id, "keys")[1].press(str(key), hold_secs)
        return {"key": key, "time": t}

    @plain_args
    def exposed_press_and_wait(
        self, lease_id, key, region, mask_png, timeout_secs, stable_secs, noise_threshold
    ) -> dict:
        rt, keys = self._part(lease_id, "keys")
        t = keys.press(str(key), None)
        return screen_ops.transition(
            rt.ring,
            t,
            key,
            region_from_wire(region),
            mask_from_wire(mask_png),
            timeout(timeout_secs),
            float(stable_secs),
            noise_threshold,
        )

    # --- frames and frame-local vision ---------------------------------------------------

    @image_reply
    def exposed_get_frame(self, lease_id, fmt: str, region, after: float | None, quality: int = 90):
        rt = self._rt(lease_id)
        if after is None:
            frame = rt.ring.latest()
        else:
            frame = next(f for f in rt.ring.frames(since=float(after)) if f.time > after)
        r = region_from_wire(region).clip(frame.shape[1], frame.shape[0])
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

    @plain_args
    def exposed_match(self, lease_id, image_png: bytes, region, params_json) -> dict:
        rt = self._rt(lease_id)
        return screen_ops.match_once(
            rt.ring,
            screen_ops.reference_image(image_png),
            region_from_wire(region),
            screen_ops.match_params(params_json),
        )

    @plain_args
    def exposed_match_all(self, lease_id, image_png: bytes, region, params_json) -> list[dict]:
        rt = self._rt(lease_id)
        return screen_ops.match_all(
            rt.ring,
            screen_ops.reference_image(image_png),
            region_from_wire(region),
            screen_ops.match_params(params_json),
        )

    @plain_args
    def exposed_wait_for_match(
        self, lease_id, image_png: bytes, region, params_json, timeout_secs, consecutive
    ) -> dict:
        rt = self._rt(lease_id)
        return screen_ops.wait_for_match(
            rt.ring,
            screen_ops.reference_image(image_png),
            region_from_wire(region),
            screen_ops.match_params(params_json),
            timeout(timeout_secs),
            int(consecutive),
        )

    @plain_args
    def exposed_wait_for_motion(
        self, lease_id, region, mask_png, timeout_secs, consecutive, noise_threshold
    ) -> dict:
        rt = self._rt(lease_id)
        return screen_ops.wait_for_motion(
            rt.ring,
            region_from_wire(region),
            mask_from_wire(mask_png),
            timeout(timeout_secs),
            consecutive,
            noise_threshold,
        )

    @plain_args
    def exposed_detect_motion(
        self, lease_id, region, mask_png, noise_threshold, since, max_frames
    ) -> list[dict]:
        rt = self._rt(lease_id)
        return screen_ops.detect_motion(
            rt.ring,
            region_from_wire(region),
            mask_from_wire(mask_png),
            noise_threshold,
            since,
            max(1, min(int(max_frames), 600)),
        )

    @plain_args
    def exposed_is_black(self, lease_id, region, mask_png, threshold) -> dict:
        rt = self._rt(lease_id)
        return screen_ops.is_black(
            rt.ring, region_from_wire(region), mask_from_wire(mask_png), threshold
        )

    @plain_args
    def exposed_wait_for_black(self, lease_id, region, mask_png, threshold, timeout_secs) -> dict:
        rt = self._rt(lease_id)
        return screen_ops.wait_for_black(
            rt.ring,
            region_from_wire(region),
            mask_from_wire(mask_png),
            threshold,
            timeout(timeout_secs),
        )

    @plain_args
    def exposed_is_frozen(self, lease_id, region, mask_png, freeze_secs, noise_threshold) -> dict:
        rt = self._rt(lease_id)
        return screen_ops.is_frozen(
            rt.ring,
            region_from_wire(region),
            mask_from_wire(mask_png),
            timeout(freeze_secs),
            noise_threshold,
        )

    # --- serial --------------------------------------------------------------------------

    @plain_args
    def exposed_serial_write(self, lease_id, data: bytes) -> int:
        rt, _ = self._part(lease_id, "serial")
        rt.console.write(bytes(data))
        return len(data)

    @image_reply
    def exposed_serial_read(self, lease_id, timeout_secs):
        rt, _ = self._part(lease_id, "serial")
        return {}, rt.console.read(timeout(timeout_secs))

    @plain_args
    def exposed_serial_expect(self, lease_id, pattern: str, timeout_secs) -> dict:
        rt, _ = self._part(lease_id, "serial")
        return rt.console.expect(str(pattern), timeout(timeout_secs))

    @plain_args
    def exposed_serial_discard(self, lease_id, before: int) -> int:
        """Drop unread output logged before offset ``before`` (a test's start)."""
        rt, _ = self._part(lease_id, "serial")
        return rt.console.discard(int(before))

    @image_reply
    def exposed_serial_log(self, lease_id, since: int):
        rt, _ = self._part(lease_id, "serial")
        end, data = rt.console.log(int(since))
        return {"end": end}, data

    # --- adb -----------------------------------------------------------------------------

    @plain_args
    def exposed_adb_shell(self, lease_id, command: str, timeout_secs) -> dict:
        """Run ``command`` in the device's shell: ``{"status", "output"}`` (output bounded)."""
        _, adb = self._part(lease_id, "adb")
        command = str(command)
        if not command.strip() or len(command) > MAX_ADB_COMMAND or "\0" in command:
            raise ValueError(
                f"an adb shell command must be 1 to {MAX_ADB_COMMAND} characters without NUL"
            )
        status, output = adb.shell(command, timeout(timeout_secs))
        return {"status": status, "output": bytes(output).decode("utf-8", "replace")}

    # --- power ---------------------------------------------------------------------------

    @plain_args
    def exposed_power(self, lease_id, action: str, off_secs: float = 1.0) -> dict:
        _, power = self._part(lease_id, "power")
        if action == "on":
            power.set(True)
        elif action == "off":
            power.set(False)
        elif action == "cycle":
            power.set(False)
            time.sleep(timeout(off_secs))
            power.set(True)
        elif action != "status":
            raise ValueError(f"unknown power action {action!r}; use on, off, cycle or status")
        return {"on": power.get()}

    # --- simulated devices only -------------------------------------------------------------

    @plain_args
    def exposed_sim_inject(self, lease_id, fault: str, params_json: str) -> dict:
        _, sim = self._part(lease_id, "sim")
        sim.inject(str(fault), json.loads(params_json or "{}"))
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
