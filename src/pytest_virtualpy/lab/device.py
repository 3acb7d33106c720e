"""Typed calls on one leased device; the fixtures' only way to the daemon."""

from __future__ import annotations

import json
import time
from typing import Any

from pytest_virtualpy.errors import ImageError
from pytest_virtualpy.lab.client import LabClient
from pytest_virtualpy.lab.imaging import png_pixels
from pytest_virtualpy.lab.wire import PUT_MAX_PIXELS

#: how many references, and PNG bytes, one put_references call carries at most (the
#: daemon refuses more than 64 items, 16 MB or PUT_MAX_PIXELS decoded pixels)
PUT_BATCH_ITEMS = 32
PUT_BATCH_BYTES = 8 << 20


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

    def file(self, name: str, path: str) -> bytes | None:
        """``path`` of the folder of the device's lab.toml file ``name`` (``info["files"]``),
        or None if that folder has no such file.

        >>> device.file("navigation", device.info["files"]["navigation"])  # doctest: +SKIP
        b'[nodes.home]\\nimage = "images/home.png"...'
        """
        meta, data = self._call_bytes("device_file", name, path)
        return None if meta.get("missing") else data

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
        min_size: tuple[int, int] | None = None,
    ) -> dict:
        return self._call(
            "press_and_wait",
            key,
            region,
            mask,
            timeout_secs,
            stable_secs,
            noise_threshold,
            min_size,
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

    def put_references(self, refs: dict[str, bytes]) -> int:
        """Upload reference PNGs for :meth:`match_many`, keyed by the SHA-256 hex of
        their bytes; in as many calls as the daemon's bounds need. Returns how many.

        >>> device.put_references({hashlib.sha256(png).hexdigest(): png})  # doctest: +SKIP
        1
        """
        stored, batch, size, pixels = 0, [], 0, 0
        for sha, png in refs.items():
            try:
                count = png_pixels(png)[0]
            except ImageError:
                count = 0  # not a PNG: the daemon says what is wrong with it
            full = size + len(png) > PUT_BATCH_BYTES or pixels + count > PUT_MAX_PIXELS
            if batch and (len(batch) >= PUT_BATCH_ITEMS or full):
                stored += self._call("put_references", tuple(batch))["stored"]
                batch, size, pixels = [], 0, 0
            batch.append((sha, png))
            size += len(png)
            pixels += count
        if batch:
            stored += self._call("put_references", tuple(batch))["stored"]
        return stored

    def match_many(
        self,
        checks: list[tuple[str, tuple | None, dict | None]],
        crops: list[tuple | None],
        stop: list[list] | None = None,
    ) -> dict:
        """Every check ``(sha256_hex, region, params)`` and crop on one frame.

        Returns ``{"missing": [sha, ...]}`` if the daemon lacks a reference (upload it with
        :meth:`put_references` and ask again), else ``{"time", "width", "height",
        "results": [match dicts], "crops": [png bytes, ...]}``. ``stop``: groups
        ``[after, [indices]]``: once check ``after`` is evaluated, if those all matched,
        the checks after it are not evaluated (their results are None).

        >>> device.match_many([(sha, (0, 0, 1280, 60), None)], [])  # doctest: +SKIP
        {'time': ..., 'results': [{'match': True, ...}], 'crops': []}
        """
        stop_json = None if stop is None else json.dumps(stop)
        meta, data = self._call_bytes("match_many", json.dumps(checks), tuple(crops), stop_json)
        if "missing" not in meta:
            pngs, at = [], 0
            for crop in meta["crops"]:
                pngs.append(data[at : at + crop["bytes"]])
                at += crop["bytes"]
            meta["crops"] = pngs
        return meta

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

    def wait_for_motion(
        self, region, mask, timeout_secs, consecutive, noise_threshold, min_size=None
    ) -> dict:
        return self._call(
            "wait_for_motion",
            region,
            mask,
            timeout_secs,
            consecutive,
            noise_threshold,
            min_size,
            wait_secs=timeout_secs,
        )

    def detect_motion(
        self, region, mask, noise_threshold, since, max_frames, min_size=None, reference=None
    ) -> list[dict]:
        return self._call(
            "detect_motion",
            region,
            mask,
            noise_threshold,
            since,
            max_frames,
            min_size,
            reference,
            wait_secs=max_frames / 10,
        )

    def is_black(self, region, mask, threshold) -> dict:
        return self._call("is_black", region, mask, threshold)

    def wait_for_black(self, region, mask, threshold, timeout_secs) -> dict:
        return self._call(
            "wait_for_black", region, mask, threshold, timeout_secs, wait_secs=timeout_secs
        )

    def is_frozen(self, region, mask, freeze_secs, noise_threshold, min_size=None) -> dict:
        return self._call(
            "is_frozen",
            region,
            mask,
            freeze_secs,
            noise_threshold,
            min_size,
            wait_secs=freeze_secs,
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
