"""Typed calls on one leased device; the fixtures' only way to the daemon."""

from __future__ import annotations

import json
import time
from typing import Any

from pytest_virtualpy.lab.client import LabClient


class DeviceClient:
    """The daemon's device methods, bound to one connection and one lease."""

    def __init__(self, client: LabClient, lease: dict):
        self.client = client
        self.lease_id: str = lease["lease_id"]
        #: the renew key for the lease keeper's connection; like the id, kept out of ``info``
        self.key: str | None = lease.get("key")
        self.info = {k: v for k, v in lease.items() if k not in ("lease_id", "key")}

    @property
    def name(self) -> str:
        return self.info["name"]

    def _call(self, method: str, *args: Any, wait_secs: float = 0.0) -> Any:
        return self.client.call(method, self.lease_id, *args, wait_secs=wait_secs)

    def _call_bytes(self, method: str, *args: Any, wait_secs: float = 0.0) -> tuple[Any, bytes]:
        return self.client.call_bytes(method, self.lease_id, *args, wait_secs=wait_secs)

    def set_test(self, test: str | None) -> dict:
        """Tell the daemon which test runs on this device now (None: between tests)."""
        return self._call("set_test", test)

    # keys
    def keys(self) -> list[str]:
        return self._call("keys")

    def press(self, key: str, hold_secs: float | None = None) -> dict:
        return self._call("press", key, hold_secs, wait_secs=hold_secs or 0.0)

    def press_and_wait(
        self,
        key: str,
        region: tuple | None,
        mask: bytes | None,
        timeout_secs: float,
        stable_secs: float,
        noise_threshold: float | None,
    ) -> dict:
        return self._call(
            "press_and_wait",
            key,
            region,
            mask,
            timeout_secs,
            stable_secs,
            noise_threshold,
            wait_secs=timeout_secs + stable_secs,
        )

    # frames
    def get_frame(
        self,
        region: tuple | None = None,
        fmt: str = "png",
        after: float | None = None,
        quality: int = 90,
    ) -> tuple[dict, bytes]:
        return self._call_bytes("get_frame", fmt, region, after, quality, wait_secs=5.0)

    def match(self, image: bytes, region: tuple | None, params: dict | None) -> dict:
        return self._call("match", image, region, _json(params))

    def match_all(self, image: bytes, region: tuple | None, params: dict | None) -> list[dict]:
        return self._call("match_all", image, region, _json(params))

    def wait_for_match(
        self,
        image: bytes,
        region: tuple | None,
        params: dict | None,
        timeout_secs: float,
        consecutive: int,
    ) -> dict:
        return self._call(
            "wait_for_match",
            image,
            region,
            _json(params),
            timeout_secs,
            consecutive,
            wait_secs=timeout_secs,
        )

    def wait_for_motion(self, region, mask, timeout_secs, consecutive, noise_threshold) -> dict:
        return self._call(
            "wait_for_motion",
            region,
            mask,
            timeout_secs,
            consecutive,
            noise_threshold,
            wait_secs=timeout_secs,
        )

    def detect_motion(self, region, mask, noise_threshold, since, max_frames) -> list[dict]:
        return self._call(
            "detect_motion",
            region,
            mask,
            noise_threshold,
            since,
            max_frames,
            wait_secs=max_frames / 10,
        )

    def is_black(self, region, mask, threshold) -> dict:
        return self._call("is_black", region, mask, threshold)

    def wait_for_black(self, region, mask, threshold, timeout_secs) -> dict:
        return self._call(
            "wait_for_black", region, mask, threshold, timeout_secs, wait_secs=timeout_secs
        )

    def is_frozen(self, region, mask, freeze_secs, noise_threshold) -> dict:
        return self._call(
            "is_frozen", region, mask, freeze_secs, noise_threshold, wait_secs=freeze_secs
        )

    # serial
    def serial_write(self, data: bytes) -> int:
        return self._call("serial_write", data)

    def serial_read(self, timeout_secs: float) -> bytes:
        return self._call_bytes("serial_read", timeout_secs, wait_secs=timeout_secs)[1]

    def serial_expect(self, pattern: str, timeout_secs: float) -> dict:
        return self._call("serial_expect", pattern, timeout_secs, wait_secs=timeout_secs)

    def serial_discard(self, before: int) -> int:
        return self._call("serial_discard", before)

    def serial_log(self, since: int = 0) -> tuple[int, bytes]:
        meta, data = self._call_bytes("serial_log", since)
        return meta["end"], data

    # power
    def power(self, action: str, off_secs: float = 1.0) -> dict:
        return self._call("power", action, off_secs, wait_secs=off_secs)

    # adb
    def adb_shell(self, command: str, timeout_secs: float) -> dict:
        return self._call("adb_shell", command, timeout_secs, wait_secs=timeout_secs)

    # audio (levels in dBFS, lab-host times)
    def audio_level(self, secs: float = 1.0) -> dict:
        return self._call("audio_level", secs, wait_secs=3.0)

    def wait_for_audio(
        self, threshold_db: float, timeout_secs: float, window_secs: float | None = None
    ) -> dict:
        return self._call(
            "wait_for_audio", threshold_db, timeout_secs, window_secs, wait_secs=timeout_secs
        )

    def wait_for_silence(
        self, threshold_db: float, timeout_secs: float, window_secs: float | None = None
    ) -> dict:
        return self._call(
            "wait_for_silence", threshold_db, timeout_secs, window_secs, wait_secs=timeout_secs
        )

    def audio_samples(self, start: float, end: float) -> tuple[dict, bytes]:
        """``({"rate", "start", "samples"}, int16 little-endian mono)``; at most 130 s."""
        return self._call_bytes("audio_samples", start, end, wait_secs=10.0)

    # the rolling recording (lab-host times)
    def recording_info(self) -> dict:
        return self._call("recording_info")

    def recording_frames(
        self, start: float, end: float, after_index: int = 0, max_bytes: int = 4 << 20
    ) -> tuple[dict, bytes]:
        """One chunk of recorded JPEG frames; see lab_daemon.recording.methods."""
        return self._call_bytes(
            "recording_frames", start, end, after_index, max_bytes, wait_secs=10.0
        )

    # simulated devices only
    def sim_inject(self, fault: str, params: dict) -> dict:
        return self._call("sim_inject", fault, json.dumps(params))

    def sim_clear(self) -> dict:
        return self._call("sim_clear")

    def sim_faults(self) -> dict:
        return self._call("sim_faults")

    def sim_events(self) -> list[dict]:
        return self._call("sim_events")

    def sim_state(self) -> dict:
        return self._call("sim_state")

    def wait_for_sim_screen(self, screen: str, timeout_secs: float = 20.0) -> None:
        """Wait until the simulated box says it shows ``screen`` (scripts and tests only)."""
        end = time.monotonic() + timeout_secs
        while (state := self.sim_state())["screen"] != screen:
            if time.monotonic() > end:
                raise TimeoutError(
                    f"the simulated box shows {state['screen']!r}, not {screen!r}, "
                    f"after {timeout_secs:g} s"
                )
            time.sleep(0.05)


def _json(value: dict | None) -> str | None:
    return None if value is None else json.dumps(value)
