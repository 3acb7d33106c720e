"""The ``tv_screen`` fixture's object: look at the device's screen.

Frame-local loops (match, motion, black, freeze) run in the lab daemon at
capture rate and only their small results come back. OCR runs here, in the
test process, on the cropped region the daemon sends, so lab hosts (a
Raspberry Pi) never carry an OCR engine.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

from pytest_virtualpy import vision
from pytest_virtualpy.errors import BlackTimeout, MatchTimeout, MotionTimeout, TextTimeout
from pytest_virtualpy.lab.device import DeviceClient
from pytest_virtualpy.lab.imaging import decode_image, encode_image
from pytest_virtualpy.steps import StepLog

SaveArtifact = Callable[[str, bytes], Path]


def region_tuple(region: vision.Region | None) -> tuple | None:
    """A region as it crosses the wire."""
    if region is None or region == vision.Region.ALL:
        return None
    return tuple(int(v) for v in (region.x, region.y, region.width, region.height))


def image_bytes(image) -> bytes:
    """A reference image (path, array or PNG bytes) as PNG bytes, alpha kept."""
    if isinstance(image, bytes | bytearray):
        return bytes(image)
    return encode_image(vision.load_image(image), "png")


def mask_bytes(mask) -> bytes | None:
    if mask is None:
        return None
    return image_bytes(mask)


def image_name(image) -> str:
    """How to name an image argument in a message."""
    if isinstance(image, str | Path):
        return str(image)
    return "the reference image"


def _frame(meta: dict, png: bytes) -> vision.Frame:
    return vision.Frame(decode_image(png, "frame"), time=meta["time"])


class TvScreen:
    """What the device shows, and waiting for what it should show.

    >>> assert tv_screen.wait_for_match("images/home.png", timeout=5)   # doctest: +SKIP
    >>> assert tv_screen.wait_for_motion(timeout=5)                     # doctest: +SKIP
    >>> tv_screen.ocr(region=Region(80, 560, 600, 60))                  # doctest: +SKIP
    'News 24'
    """

    def __init__(self, device: DeviceClient, log: StepLog, save_artifact: SaveArtifact):
        self._device = device
        self._log = log
        self._save = save_artifact
        self.last_match_timeout: MatchTimeout | None = None

    # --- frames --------------------------------------------------------------------------

    def get_frame(self, region: vision.Region = vision.Region.ALL) -> vision.Frame:
        """The newest captured frame (cropped to ``region``), with its capture time."""
        return _frame(*self._device.get_frame(region_tuple(region)))

    def frames(
        self, timeout: float | None = None, region: vision.Region = vision.Region.ALL
    ) -> Iterator[vision.Frame]:
        """Yield successive frames as they are captured (for ``timeout`` seconds, or forever).

        Frames travel over the network, so a slow link may skip some; use the
        ``wait_for_*`` methods for frame-accurate work.
        """
        end = None if timeout is None else time.time() + timeout
        last = None
        while end is None or time.time() < end:
            frame = _frame(*self._device.get_frame(region_tuple(region), after=last))
            last = frame.time
            yield frame

    def screenshot(self, name: str = "screenshot") -> Path:
        """Save the current frame as a PNG artifact of this test; return its path."""
        _, png = self._device.get_frame(None)
        return self._save(name if name.endswith(".png") else f"{name}.png", png)

    # --- matching ------------------------------------------------------------------------

    def match(
        self,
        image,
        region: vision.Region = vision.Region.ALL,
        params: vision.MatchParameters | None = None,
    ) -> vision.MatchResult:
        """Match ``image`` against the current frame; the result is truthy on a match."""
        with self._log.step("match", image_name(image)) as step:
            d = self._device.match(image_bytes(image), region_tuple(region), _params(params))
            result = vision.MatchResult.from_dict(d)
            # a query, not a check: "not on screen" is an answer, so the step stays ok
            step.detail["matched"] = bool(result)
            step.detail["score"] = result.first_pass_result
        return result

    def match_all(
        self,
        image,
        region: vision.Region = vision.Region.ALL,
        params: vision.MatchParameters | None = None,
    ) -> list[vision.MatchResult]:
        """Every non-overlapping match of ``image`` on the current frame, best first."""
        return [
            vision.MatchResult.from_dict(d)
            for d in self._device.match_all(
                image_bytes(image), region_tuple(region), _params(params)
            )
        ]

    def wait_for_match(
        self,
        image,
        timeout: float = 10.0,
        *,
        region: vision.Region = vision.Region.ALL,
        consecutive: int = 1,
        params: vision.MatchParameters | None = None,
    ) -> vision.MatchResult:
        """Wait until ``image`` is on screen for ``consecutive`` frames.

        Raises :class:`MatchTimeout` (a product failure) carrying the last frame
        and the best score seen and where.
        """
        with self._log.step("wait_for_match", image_name(image), timeout=timeout):
            data = image_bytes(image)
            d = self._device.wait_for_match(
                data, region_tuple(region), _params(params), float(timeout), int(consecutive)
            )
            if d["timed_out"]:
                raise self.match_timeout(
                    f"{image_name(image)} did not appear within {timeout:g} s",
                    data,
                    region,
                    params,
                    timeout=timeout,
                    best=d["result"],
                )
        return vision.MatchResult.from_dict(d["result"])

    def match_timeout(
        self,
        message: str,
        image: bytes,
        region,
        params,
        *,
        timeout: float | None = None,
        best: dict | None = None,
    ) -> MatchTimeout:
        """Build a :class:`MatchTimeout` with the evidence a human needs."""
        frame = self.get_frame()
        if best is None:
            best = self._device.match(image, region_tuple(region), _params(params))
        best_result = vision.MatchResult.from_dict(best, frame=frame) if best else None
        threshold = (params or vision.MatchParameters()).match_threshold
        if best_result is not None:
            message += f"; best score {best_result.first_pass_result:.3f} at {best_result.region}"
            if best_result.first_pass_result >= threshold:
                message += (
                    " (it passed the first pass but the confirm step rejected it: its pixels "
                    "differ in detail, e.g. other text or another highlight)"
                )
        exc = MatchTimeout(
            message,
            frame=frame,
            best=best_result,
            image=decode_image(image, "reference image"),
            timeout_secs=timeout,
        )
        exc.region = region
        self.last_match_timeout = exc
        return exc

    # --- motion, black, freeze -------------------------------------------------------------

    def detect_motion(
        self,
        timeout: float = 10.0,
        *,
        region: vision.Region = vision.Region.ALL,
        mask=None,
        noise_threshold: float | None = None,
    ) -> Iterator[vision.MotionResult]:
        """Yield a :class:`MotionResult` per captured frame for ``timeout`` seconds."""
        end = time.time() + timeout
        since = time.time()
        while time.time() < end:
            batch = self._device.detect_motion(
                region_tuple(region), mask_bytes(mask), noise_threshold, since, 10
            )
            for d in batch:
                since = max(since, d["time"] + 1e-6)
                yield vision.MotionResult.from_dict(d)

    def wait_for_motion(
        self,
        timeout: float = 10.0,
        *,
        region: vision.Region = vision.Region.ALL,
        consecutive: int | str = "10/20",
        mask=None,
        noise_threshold: float | None = None,
    ) -> vision.MotionResult:
        """Wait for motion (``consecutive``: N frames, or "N/M" = N of the last M)."""
        with self._log.step("wait_for_motion", str(region), timeout=timeout):
            d = self._device.wait_for_motion(
                region_tuple(region), mask_bytes(mask), float(timeout), consecutive, noise_threshold
            )
            if d["timed_out"]:
                raise MotionTimeout(
                    f"no motion in {region} within {timeout:g} s",
                    frame=self.get_frame(),
                    timeout_secs=timeout,
                )
        return vision.MotionResult.from_dict(d["result"])

    def is_black(
        self, region: vision.Region = vision.Region.ALL, *, mask=None, threshold: int = 10
    ) -> bool:
        """True if the current frame is black (every pixel darker than ``threshold``)."""
        return self._device.is_black(region_tuple(region), mask_bytes(mask), threshold)["black"]

    def wait_for_black(
        self,
        timeout: float = 10.0,
        *,
        region: vision.Region = vision.Region.ALL,
        mask=None,
        threshold: int = 10,
    ) -> bool:
        """Wait for a black screen; raises :class:`BlackTimeout` if it never comes."""
        d = self._device.wait_for_black(
            region_tuple(region), mask_bytes(mask), threshold, float(timeout)
        )
        if d["timed_out"]:
            raise BlackTimeout(f"the screen did not go black within {timeout:g} s")
        return True

    def is_frozen(
        self,
        freeze_secs: float = 2.0,
        *,
        region: vision.Region = vision.Region.ALL,
        mask=None,
        noise_threshold: float | None = None,
    ) -> bool:
        """Watch for ``freeze_secs``; True if nothing changed in ``region`` meanwhile."""
        return self._device.is_frozen(
            region_tuple(region), mask_bytes(mask), float(freeze_secs), noise_threshold
        )["frozen"]

    # --- text ------------------------------------------------------------------------------

    def ocr(self, region: vision.Region = vision.Region.ALL, **kwargs) -> str:
        """Read the text in ``region`` of the current frame."""
        return vision.ocr(self.get_frame(region), **kwargs)

    def match_text(
        self, text: str, region: vision.Region = vision.Region.ALL, **kwargs
    ) -> vision.TextMatchResult:
        """Whether ``text`` is shown in ``region`` now (truthy result with what was read)."""
        return vision.match_text(text, self.get_frame(region), **kwargs)

    def wait_for_text(
        self, text: str, region: vision.Region = vision.Region.ALL, timeout: float = 10.0, **kwargs
    ) -> vision.TextMatchResult:
        """Wait until OCR reads ``text`` in ``region``; raises :class:`TextTimeout`."""
        with self._log.step("wait_for_text", text, timeout=timeout) as step:

            def newest():  # OCR is slow: always read the newest frame, not a backlog
                while True:
                    yield self.get_frame(region)

            try:
                result = vision.wait_for_text(text, newest(), timeout, **kwargs)
            except TextTimeout as e:
                step.detail["read"] = e.last_text
                raise TextTimeout(
                    f"text {text!r} not seen in {region} within {timeout:g} s; "
                    f"last read {e.last_text!r}",
                    frame=e.frame,
                    last_text=e.last_text,
                    timeout_secs=timeout,
                ) from None
            step.detail["read"] = result.text
        return result


def _params(params: vision.MatchParameters | None) -> dict | None:
    return None if params is None else params.to_dict()
