"""The ``tv_screen`` fixture's object: look at the device's screen.

Frame-local loops (match, motion, black, freeze) run in the lab daemon at
capture rate and only their small results come back. OCR runs here, in the
test process, on the cropped region the daemon sends, so lab hosts (a
Raspberry Pi) never carry an OCR engine.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from pytest_virtualpy import vision
from pytest_virtualpy.ai_check import AiChecker, AiCheckResult
from pytest_virtualpy.errors import (
    BlackTimeout,
    LabError,
    MatchTimeout,
    MotionTimeout,
    TextTimeout,
)
from pytest_virtualpy.lab.device import DeviceClient
from pytest_virtualpy.lab.imaging import decode_image
from pytest_virtualpy.screen_wire import (
    frame_from_wire,
    image_bytes,
    image_name,
    mask_bytes,
    params_dict,
    region_tuple,
)
from pytest_virtualpy.steps import StepLog
from pytest_virtualpy.vision._diff import pick_threshold

SaveArtifact = Callable[[str, bytes], Path]


class TvScreen:
    """What the device shows, and waiting for what it should show.

    >>> assert tv_screen.wait_for_match("images/home.png", timeout=5)   # doctest: +SKIP
    >>> assert tv_screen.wait_for_motion(timeout=5)                     # doctest: +SKIP
    >>> tv_screen.ocr(region=Region(80, 560, 600, 60))                  # doctest: +SKIP
    'News 24'
    """

    def __init__(
        self,
        device: DeviceClient,
        log: StepLog,
        save_artifact: SaveArtifact,
        ai: AiChecker | None = None,
    ):
        self._device = device
        self._log = log
        self._save = save_artifact
        self._ai = ai or AiChecker(None)  # None: AI checks are not configured and skip
        self.last_match_timeout: MatchTimeout | None = None

    # --- frames --------------------------------------------------------------------------

    def get_frame(self, region: vision.Region = vision.Region.ALL) -> vision.Frame:
        """The newest captured frame (cropped to ``region``), with its capture time.

        >>> frame = tv_screen.get_frame()                       # doctest: +SKIP
        >>> frame.shape, frame.time                             # doctest: +SKIP
        ((720, 1280, 3), 1764661234.517)
        >>> vision.match("images/logo.png", frame)              # doctest: +SKIP
        """
        return frame_from_wire(*self._device.get_frame(region_tuple(region)))

    def frames(
        self, timeout: float | None = None, region: vision.Region = vision.Region.ALL
    ) -> Iterator[vision.Frame]:
        """Yield successive frames as they are captured (for ``timeout`` seconds, or forever).

        Frames travel over the network, so a slow link may skip some; use the
        ``wait_for_*`` methods for frame-accurate work.

        >>> for frame in tv_screen.frames(timeout=2, region=CLOCK):   # doctest: +SKIP
        ...     cv2.imwrite(f"clock-{frame.time:.3f}.png", frame)
        """
        end = None if timeout is None else time.time() + timeout
        last = None
        while end is None or time.time() < end:
            frame = frame_from_wire(*self._device.get_frame(region_tuple(region), after=last))
            last = frame.time
            yield frame

    def screenshot(self, name: str = "screenshot") -> Path:
        """Save the current frame as a PNG artifact of this test; return its path.

        >>> tv_screen.screenshot("after-boot")                  # doctest: +SKIP
        PosixPath('.virtualpy/artifacts/<run>/<test>/after-boot.png')
        """
        _, png = self._device.get_frame(None)
        return self._save(name if name.endswith(".png") else f"{name}.png", png)

    # --- matching ------------------------------------------------------------------------

    def match(
        self,
        image,
        region: vision.Region = vision.Region.ALL,
        params: vision.MatchParameters | None = None,
    ) -> vision.MatchResult:
        """Match ``image`` against the current frame; the result is truthy on a match.

        A question, not a check: use `wait_for_match` to wait for it.

        >>> m = tv_screen.match("images/ok-button.png", region=DIALOG)   # doctest: +SKIP
        >>> if m:                                                        # doctest: +SKIP
        ...     print(m.region, m.first_pass_result)
        """
        with self._log.step("match", image_name(image)) as step:
            d = self._device.match(image_bytes(image), region_tuple(region), params_dict(params))
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
        """Every non-overlapping match of ``image`` on the current frame, best first.

        >>> len(tv_screen.match_all("images/lock-icon.png", region=EPG_GRID))  # doctest: +SKIP
        3
        """
        return [
            vision.MatchResult.from_dict(d)
            for d in self._device.match_all(
                image_bytes(image), region_tuple(region), params_dict(params)
            )
        ]

    def match_many(
        self,
        references: Mapping[str, bytes],
        checks: Sequence[tuple[str, vision.Region, vision.MatchParameters | None]],
        crops: Sequence[vision.Region] = (),
        stop: list[list] | None = None,
    ) -> tuple[list[vision.MatchResult | None], list[vision.Frame]]:
        """Internal (localisation): every check and crop on ONE frame, in one round trip.

        ``references`` maps the SHA-256 hex of each reference's PNG bytes to the bytes;
        each check is ``(sha256_hex, region, params)``. The daemon keeps references by
        content, so they are uploaded only when it says it lacks them. Returns the match
        results (in check order) and the crops (frames with the capture time). ``stop``:
        ``[after, [check indices]]`` groups: once check ``after`` is evaluated, if those
        all matched, the later checks are not evaluated (their results are None).

        >>> png = image_bytes("images/home.png")
        >>> sha = hashlib.sha256(png).hexdigest()
        >>> results, _ = tv_screen.match_many({sha: png}, [(sha, TITLE, None)])  # doctest: +SKIP
        """
        wire_checks = [(sha, region_tuple(r), params_dict(p)) for sha, r, p in checks]
        wire_crops = [region_tuple(r) for r in crops]
        reply = self._device.match_many(wire_checks, wire_crops, stop)
        if "missing" in reply:
            self._device.put_references({sha: references[sha] for sha in reply["missing"]})
            reply = self._device.match_many(wire_checks, wire_crops, stop)
            if "missing" in reply:
                raise LabError(
                    f"the lab daemon lost {len(reply['missing'])} reference image(s) right "
                    "after they were uploaded: its reference store is too small for them"
                )
        results = [None if d is None else vision.MatchResult.from_dict(d) for d in reply["results"]]
        t = reply["time"]
        return results, [vision.Frame(decode_image(png, "crop"), time=t) for png in reply["crops"]]

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

        >>> m = tv_screen.wait_for_match("images/home.png", timeout=10)   # doctest: +SKIP
        >>> m.region                                                      # doctest: +SKIP
        Region(x=64, y=446, width=1152, height=144)
        """
        with self._log.step("wait_for_match", image_name(image), timeout=timeout):
            data = image_bytes(image)
            d = self._device.wait_for_match(
                data, region_tuple(region), params_dict(params), float(timeout), int(consecutive)
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
        """Build a :class:`MatchTimeout` with the evidence a human needs.

        The frame, the best score and where, and why the confirm step refused it, for
        helpers that wait in their own way:

        >>> raise tv_screen.match_timeout("no OK button after 3 tries",   # doctest: +SKIP
        ...                               image_bytes("images/ok.png"), DIALOG, None)
        """
        frame = self.get_frame()
        if best is None:
            best = self._device.match(image, region_tuple(region), params_dict(params))
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
        threshold: float | None = None,
        min_size: tuple[int, int] | None = None,
    ) -> Iterator[vision.MotionResult]:
        """Yield a :class:`MotionResult` per captured frame for ``timeout`` seconds.

        ``threshold`` (the colour distance from which a pixel changed, default 25;
        ``noise_threshold`` is its older name) and ``min_size`` (the smallest
        ``(width, height)`` of a change, default (4, 4)) are as in
        :func:`vision.detect_motion`; the daemon runs it.

        >>> for m in tv_screen.detect_motion(2, region=VIDEO, min_size=(20, 20)):  # doctest: +SKIP
        ...     print(m.time, bool(m))
        """
        limit = pick_threshold(threshold, noise_threshold)
        end = time.time() + timeout
        since = time.time()
        reference = None  # the last frame that moved: what the next frame is compared with
        while time.time() < end:
            batch = self._device.detect_motion(
                region_tuple(region), mask_bytes(mask), limit, since, 10, min_size, reference
            )
            for d in batch:
                since = max(since, d["time"] + 1e-6)
                reference = d.get("reference", reference)
                yield vision.MotionResult.from_dict(d)

    def wait_for_motion(
        self,
        timeout: float = 10.0,
        *,
        region: vision.Region = vision.Region.ALL,
        consecutive: int | str = "10/20",
        mask=None,
        noise_threshold: float | None = None,
        threshold: float | None = None,
        min_size: tuple[int, int] | None = None,
    ) -> vision.MotionResult:
        """Wait for motion (``consecutive``: N frames, or "N/M" = N of the last M).

        ``threshold`` / ``noise_threshold`` and ``min_size`` are as in `detect_motion`.

        >>> assert tv_screen.wait_for_motion(timeout=5, region=VIDEO)       # doctest: +SKIP
        >>> tv_screen.wait_for_motion(timeout=5, min_size=(30, 30))          # doctest: +SKIP
        """
        limit = pick_threshold(threshold, noise_threshold)
        with self._log.step("wait_for_motion", str(region), timeout=timeout):
            d = self._device.wait_for_motion(
                region_tuple(region), mask_bytes(mask), float(timeout), consecutive, limit, min_size
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
        """True if the current frame is black (every pixel darker than ``threshold``).

        >>> assert not tv_screen.is_black(), "the picture went black"      # doctest: +SKIP
        """
        return self._device.is_black(region_tuple(region), mask_bytes(mask), threshold)["black"]

    def wait_for_black(
        self,
        timeout: float = 10.0,
        *,
        region: vision.Region = vision.Region.ALL,
        mask=None,
        threshold: int = 10,
    ) -> bool:
        """Wait for a black screen; raises :class:`BlackTimeout` if it never comes.

        >>> remote.press("KEY_CHANNELUP")                                   # doctest: +SKIP
        >>> tv_screen.wait_for_black(timeout=2)  # the zap's black gap     # doctest: +SKIP
        """
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
        threshold: float | None = None,
        min_size: tuple[int, int] | None = None,
    ) -> bool:
        """Watch for ``freeze_secs``; True if nothing changed in ``region`` meanwhile.

        A change is what `detect_motion` counts as motion (``threshold``, ``min_size``).

        >>> assert not tv_screen.is_frozen(1.0, region=VIDEO)               # doctest: +SKIP
        """
        limit = pick_threshold(threshold, noise_threshold)
        return self._device.is_frozen(
            region_tuple(region), mask_bytes(mask), float(freeze_secs), limit, min_size
        )["frozen"]

    # --- text ------------------------------------------------------------------------------

    def ocr(self, region: vision.Region = vision.Region.ALL, **kwargs) -> str:
        """Read the text in ``region`` of the current frame.

        >>> tv_screen.ocr(region=Region(80, 560, 600, 60))      # doctest: +SKIP
        'News 24'
        """
        return vision.ocr(self.get_frame(region), **kwargs)

    def match_text(
        self, text: str, region: vision.Region = vision.Region.ALL, **kwargs
    ) -> vision.TextMatchResult:
        """Whether ``text`` is shown in ``region`` now (truthy result with what was read).

        >>> r = tv_screen.match_text("Settings", region=MENU)   # doctest: +SKIP
        >>> assert r, f"menu reads {r.text!r}"                  # doctest: +SKIP
        """
        found = vision.match_text(text, self.get_frame(region), **kwargs)
        return found.translate(max(0, region.x), max(0, region.y))  # crop -> frame pixels

    def wait_for_text(
        self, text: str, region: vision.Region = vision.Region.ALL, timeout: float = 10.0, **kwargs
    ) -> vision.TextMatchResult:
        """Wait until OCR reads ``text`` in ``region``; raises :class:`TextTimeout`.

        >>> remote.press("KEY_INFO")                                           # doctest: +SKIP
        >>> assert tv_screen.wait_for_text("102", region=BANNER, timeout=5)    # doctest: +SKIP
        """
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
        return result.translate(max(0, region.x), max(0, region.y))  # crop -> frame pixels

    # --- AI checks -------------------------------------------------------------------------

    def ai_check(self, question: str, region: vision.Region = vision.Region.ALL) -> AiCheckResult:
        """Ask a vision model whether ``question`` is true of the current frame (optional).

        Truthy when the model says yes; ``.answer``, ``.reason``, ``.model``. Only
        ``region`` of the frame is sent. Needs ``--ai-url`` and ``--ai-model`` (key in env
        ``VIRTUALPY_AI_KEY``); without them the test is skipped (docs/ai-checks.md).

        >>> assert tv_screen.ai_check("a subtitle is shown at the bottom")  # doctest: +SKIP
        >>> tv_screen.ai_check("an error dialog is shown").reason          # doctest: +SKIP
        'The screen shows a home menu with six tiles and no dialog.'
        """
        frame = self.get_frame(region) if self._ai.client is not None else None
        return self._ai.check(question, frame, self._log, self._save)
