"""The ``remote`` fixture's object: press keys on the device under test."""

from __future__ import annotations

from dataclasses import dataclass

from pytest_virtualpy import vision
from pytest_virtualpy.errors import MatchTimeout
from pytest_virtualpy.keys import check_key
from pytest_virtualpy.lab.device import DeviceClient
from pytest_virtualpy.screen_wire import image_bytes, image_name, mask_bytes, region_tuple
from pytest_virtualpy.steps import StepLog
from pytest_virtualpy.tv_screen import TvScreen
from pytest_virtualpy.vision._diff import pick_threshold


@dataclass(frozen=True)
class Keypress:
    """A key that was sent; ``time`` is when, on the lab host's clock.

    The same clock as frame times, so "press to screen changed" is one subtraction:

    >>> press = remote.press("KEY_OK")                                  # doctest: +SKIP
    >>> m = tv_screen.wait_for_match("images/menu.png", timeout=5)      # doctest: +SKIP
    >>> print(f"menu after {m.time - press.time:.3f} s")                # doctest: +SKIP
    """

    key: str
    time: float


class Remote:
    """Sends remote-control keys and measures how the screen reacts.

    >>> remote.press("KEY_OK")                          # doctest: +SKIP
    >>> t = remote.press_and_wait("KEY_CHANNELUP")      # doctest: +SKIP
    >>> assert t, t.status                              # doctest: +SKIP
    >>> print(f"zap took {t.duration * 1000:.0f} ms")   # doctest: +SKIP
    """

    def __init__(self, device: DeviceClient, screen: TvScreen, log: StepLog):
        self._device = device
        self._screen = screen
        self._log = log
        self._keys: list[str] | None = None

    def keys(self) -> list[str]:
        """The key names this device's remote knows.

        >>> "KEY_OK" in remote.keys()                       # doctest: +SKIP
        True
        """
        if self._keys is None:
            self._keys = list(self._device.keys())
        return list(self._keys)

    def press(self, key: str, hold_secs: float | None = None) -> Keypress:
        """Press ``key`` (holding it for ``hold_secs`` if given); an unknown key is refused.

        >>> remote.press("KEY_MENU")                        # doctest: +SKIP
        Keypress(key='KEY_MENU', time=1764661234.512)
        >>> remote.press("KEY_RIGHT", hold_secs=2)          # doctest: +SKIP
        """
        check_key(key, self.keys())
        with self._log.step("press", key, hold_secs=hold_secs) as step:
            reply = self._device.press(key, hold_secs)
            step.detail["time"] = reply["time"]
        return Keypress(key, reply["time"])

    def press_and_wait(
        self,
        key: str,
        region: vision.Region = vision.Region.ALL,
        timeout: float = 10.0,
        stable_secs: float = 1.0,
        *,
        mask=None,
        noise_threshold: float | None = None,
        threshold: float | None = None,
        min_size: tuple[int, int] | None = None,
    ) -> vision.Transition:
        """Press ``key`` and wait for the screen to change and then settle.

        Timed in the daemon on frame timestamps, so ``duration`` (press to
        settled, in seconds) is accurate to a frame. The result is truthy when
        the transition completed; ``status`` says otherwise what timed out. Each
        call is also recorded as a KPI named ``press_and_wait:KEY``. A change is
        judged on colour, as in stb-tester: ``threshold`` (default 25;
        ``noise_threshold`` is its older name) and ``min_size`` (default (4, 4);
        raise it to ignore, say, a blinking cursor or a spinner) are as in
        :func:`vision.detect_motion`.

        >>> t = remote.press_and_wait("KEY_CHANNELUP", region=BANNER, timeout=5)  # doctest: +SKIP
        >>> assert t, t.status                                                    # doctest: +SKIP
        >>> t.duration                                                            # doctest: +SKIP
        0.62
        >>> remote.press_and_wait("KEY_A", region=SEARCH, min_size=(20, 20))      # doctest: +SKIP
        """
        check_key(key, self.keys())
        limit = pick_threshold(threshold, noise_threshold)
        with self._log.step("press_and_wait", key) as step:
            d = self._device.press_and_wait(
                key,
                region_tuple(region),
                mask_bytes(mask),
                float(timeout),
                float(stable_secs),
                limit,
                min_size,
            )
            t = vision.Transition.from_dict(d)
            step.ok = bool(t)
            step.detail.update(d)
        if t and t.duration is not None:
            self._log.kpi(
                f"press_and_wait:{key}", self._device.name, t.duration * 1000, t.press_time
            )
        return t

    def press_until_match(
        self,
        key: str,
        image,
        max_presses: int = 10,
        *,
        region: vision.Region = vision.Region.ALL,
        params: vision.MatchParameters | None = None,
        interval_secs: float = 1.0,
    ) -> vision.MatchResult:
        """Press ``key`` until ``image`` is on screen, at most ``max_presses`` times.

        Raises :class:`MatchTimeout` if it never appears.

        >>> remote.press_until_match("KEY_DOWN", "images/settings-focused.png",   # doctest: +SKIP
        ...                          max_presses=8, region=MENU)
        """
        check_key(key, self.keys())
        data = image_bytes(image)
        result = self._screen.match(data, region=region, params=params)
        presses = 0
        while not result and presses < max_presses:
            self.press(key)
            presses += 1
            try:
                return self._screen.wait_for_match(
                    data, timeout=interval_secs, region=region, params=params
                )
            except MatchTimeout:
                pass
        if result:
            return result
        raise self._screen.match_timeout(
            f"{image_name(image)} not on screen after pressing {key} {max_presses} times",
            data,
            region,
            params,
        )
