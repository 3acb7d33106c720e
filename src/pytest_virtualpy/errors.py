"""The exception hierarchy.

Three families, kept apart on purpose so that a report never blames the product for
a lab fault or for a mistake in the test itself:

* :class:`UITestFailure` -- the device under test misbehaved (a screen never
  appeared, text was wrong, navigation got lost). It subclasses
  ``AssertionError`` so pytest, Allure and JUnit report it as a *failure*.
* :class:`LabError` -- the test lab misbehaved (daemon unreachable, device leased
  by someone else, lease expired, bad token). It is **not** an ``AssertionError``,
  and the plugin reports it as an *error* ("broken" in Allure).
* :class:`UsageError` -- the test code or its configuration is wrong (a misspelt
  key, a reference image that does not exist, an unknown navigation node, a bad
  regular expression). Reported as an *error* with its message, recorded with
  ``usage_error`` set, and kept out of the product's pass rate.

Everything here is plain Python so that the ``vision`` package and the lab daemon
can raise the same types without importing pytest.
"""

from __future__ import annotations

from typing import Any


class VirtualpyError(Exception):
    """Base class of every exception raised by virtualpy.

    Example::

        try:
            run_suite()
        except VirtualpyError as e:  # anything virtualpy raised, of any family
            log.error("virtualpy: %s", e)
    """


class UsageError(VirtualpyError):
    """A mistake in the test code or its set-up: neither a product failure nor a lab error.

    >>> remote.press("KEY_MENUU")   # doctest: +SKIP
    Traceback (most recent call last):
    UnknownKeyError: unknown key 'KEY_MENUU' ...
    """


class ConfigError(UsageError):
    """The configuration (options, ini keys, labs.toml, lab.toml) is invalid.

    >>> stb.navigate_to("home")   # doctest: +SKIP
    Traceback (most recent call last):
    ConfigError: no navigation tree is configured: set virtualpy_navigation in your pytest ini ...
    """


# --- the device under test misbehaved ------------------------------------------------


class UITestFailure(VirtualpyError, AssertionError):
    """The device under test did not behave as the test expected.

    It is an ``AssertionError``, so pytest reports it as a failure. Raise your own
    product failures from it::

        class WrongChannel(UITestFailure):
            pass  # the box tuned to another channel

        if banner != "102":
            raise WrongChannel(f"expected channel 102, the banner says {banner!r}")
    """


class MatchTimeout(UITestFailure):
    """A reference image did not appear within the timeout.

    ``frame`` is the last frame seen, ``best`` the best match result seen (its
    ``first_pass_result`` is the best score and ``region`` where it was).

    Example::

        with pytest.raises(MatchTimeout) as info:
            tv_screen.wait_for_match("images/error-dialog.png", timeout=2)
        print(info.value.best.first_pass_result, info.value.best.region)
    """

    def __init__(
        self,
        message: str,
        *,
        frame: Any = None,
        best: Any = None,
        image: Any = None,
        timeout_secs: float | None = None,
    ) -> None:
        super().__init__(message)
        self.frame = frame
        self.best = best
        self.image = image
        self.timeout_secs = timeout_secs


class MotionTimeout(UITestFailure):
    """No motion was seen within the timeout; ``frame`` is the last frame seen.

    >>> tv_screen.wait_for_motion(timeout=5, region=VIDEO)   # doctest: +SKIP
    Traceback (most recent call last):
    MotionTimeout: no motion in Region(x=0, y=0, width=640, height=360) within 5 s
    """

    def __init__(
        self, message: str, *, frame: Any = None, timeout_secs: float | None = None
    ) -> None:
        super().__init__(message)
        self.frame = frame
        self.timeout_secs = timeout_secs


class TextTimeout(UITestFailure):
    """Expected text was not read on screen within the timeout.

    ``last_text`` is what OCR read last, ``frame`` the frame it read it from.

    >>> tv_screen.wait_for_text("102", region=BANNER, timeout=5)   # doctest: +SKIP
    Traceback (most recent call last):
    TextTimeout: text '102' not seen in Region(...) within 5 s; last read '101 News 24'
    """

    def __init__(
        self,
        message: str,
        *,
        frame: Any = None,
        last_text: str | None = None,
        timeout_secs: float | None = None,
    ) -> None:
        super().__init__(message)
        self.frame = frame
        self.last_text = last_text
        self.timeout_secs = timeout_secs


class BlackTimeout(UITestFailure):
    """The screen did not go black within the timeout.

    >>> tv_screen.wait_for_black(timeout=3)   # doctest: +SKIP
    Traceback (most recent call last):
    BlackTimeout: the screen did not go black within 3 s
    """


class FreezeTimeout(UITestFailure):
    """The screen did not freeze within the timeout.

    Example::

        try:
            vision.wait_for_freeze(frames, freeze_secs=2, timeout_secs=10)
        except FreezeTimeout:
            pass  # the picture kept moving: the fault injection did not take
    """


class TransitionTimeout(UITestFailure):
    """The screen did not change, or did not settle, after a key press.

    Example::

        t = remote.press_and_wait("KEY_OK", region=MENU)
        if not t:
            raise TransitionTimeout(f"the menu did not react to KEY_OK: {t.status}")
    """


class SerialTimeout(UITestFailure):
    """Expected output did not appear on the serial console within the timeout.

    ``output`` is everything the console printed meanwhile.

    >>> serial.expect("login:", timeout=5)   # doctest: +SKIP
    Traceback (most recent call last):
    SerialTimeout: 'login:' not seen on the serial console within 5 s; last output: ...
    """

    def __init__(self, message: str, *, output: str = "") -> None:
        super().__init__(message)
        self.output = output


class AudioTimeout(UITestFailure):
    """Sound did not start (``wait_for_audio``) or stop (``wait_for_silence``) in time.

    ``level_db`` is the last level measured (dBFS), ``threshold_db`` the one asked for.

    >>> stb.audio.wait_for_audio(timeout=5)   # doctest: +SKIP
    Traceback (most recent call last):
    AudioTimeout: the sound never reached -50 dBFS within 5 s (last level -120.0 dBFS over 0.1 s)
    """

    def __init__(
        self,
        message: str,
        *,
        level_db: float | None = None,
        threshold_db: float | None = None,
        timeout_secs: float | None = None,
    ) -> None:
        super().__init__(message)
        self.level_db = level_db
        self.threshold_db = threshold_db
        self.timeout_secs = timeout_secs


class NavigationError(UITestFailure):
    """The device could not be driven to the requested navigation node.

    ``target`` is where it was asked to go, ``planned`` the first plan (node names,
    from where it started), ``taken`` the nodes it actually saw on the way (None: an
    unrecognised screen), ``lost_at`` the last node it knew it was on before the walk
    failed, and ``screenshot`` the path of the screen's PNG at that moment (also an
    artifact of the test).

    >>> try:                                   # doctest: +SKIP
    ...     stb.navigate_to("about")
    ... except NavigationError as e:
    ...     print(e.planned, e.taken, e.lost_at, e.screenshot)
    ['home', 'settings', 'about'] ['home', 'home'] 'home' .../navigation-lost.png
    """

    def __init__(
        self,
        message: str,
        *,
        target: str | None = None,
        planned: list[str] | None = None,
        taken: list[str | None] | None = None,
        lost_at: str | None = None,
        screenshot: Any = None,
    ) -> None:
        super().__init__(message)
        self.target = target
        self.planned = list(planned or [])
        self.taken = list(taken or [])
        self.lost_at = lost_at
        self.screenshot = screenshot


# --- the lab misbehaved -------------------------------------------------------------


class LabError(VirtualpyError):
    """The lab (daemon, network, hardware plumbing) failed; not the product.

    Not an ``AssertionError``: reported as an error (``LAB ERROR``, "broken" in
    Allure), never as a product failure. A script can tell the two apart::

        try:
            remote.press("KEY_OK")
        except LabError:
            retry_on_another_bench()
    """


class LabConnectionError(LabError):
    """The lab daemon cannot be reached, or the connection dropped.

    >>> LabClient.connect("pi-03:18861", token)   # doctest: +SKIP
    Traceback (most recent call last):
    LabConnectionError: ... pi-03:18861 ...
    """


class AuthenticationError(LabError):
    """The lab daemon refused our credentials.

    Example (a wrong ``VIRTUALPY_LAB_TOKEN``)::

        $ pytest --lab=pi-03
        LAB ERROR test_zap.py::test_zap - AuthenticationError: the lab daemon at
        pi-03:18861 refused us ...
    """


class DeviceUnavailable(LabError):
    """No device could be leased: unknown, busy, or powered by a broken rig.

    Example::

        @pytest.mark.device(model="acme-4k")   # no free acme-4k within the lease timeout
        def test_4k_menu(stb): ...             # -> DeviceUnavailable: no free device on lab(s) ...
    """


class LeaseLost(LabError):
    """Our lease on a device expired or was taken over.

    Example (the test process was paused past the lease's time to live)::

        remote.press("KEY_OK")   # -> LeaseLost: the lease on stb-1 expired ...
    """


class AiServiceError(LabError):
    """The vision model behind ``tv_screen.ai_check`` failed: unreachable, overloaded after
    retries, or a reply that is not an answer. Test infrastructure, not the product.

    >>> tv_screen.ai_check("a subtitle is shown at the bottom")   # doctest: +SKIP
    Traceback (most recent call last):
    AiServiceError: cannot reach the AI endpoint http://127.0.0.1:9/v1/chat/completions ...
    """


# --- the test code is wrong ---------------------------------------------------------


class UnknownKeyError(UsageError, ValueError):
    """A remote-control key name the device does not know; the message lists the known ones.

    >>> remote.press("KEY_MENUU")   # doctest: +SKIP
    Traceback (most recent call last):
    UnknownKeyError: unknown key 'KEY_MENUU'. Did you mean KEY_MENU? remote.keys() lists ...
    """


class ImageError(UsageError, ValueError):
    """An image argument could not be read or has an unsupported format.

    >>> from pytest_virtualpy.vision import load_image
    >>> load_image("images/no-such.png")   # doctest: +ELLIPSIS
    Traceback (most recent call last):
    pytest_virtualpy.errors.ImageError: Image file 'images/no-such.png' does not exist ...
    """


class UnknownNodeError(UsageError, ValueError):
    """A navigation node the tree does not define; the message lists the nodes it has.

    >>> stb.navigate_to("setings")   # doctest: +SKIP
    Traceback (most recent call last):
    UnknownNodeError: unknown navigation node 'setings' ...
    """


class PatternError(UsageError, ValueError):
    """A regular expression (for ``serial.expect``) that does not compile.

    >>> serial.expect(r"firmware (\\S+")   # doctest: +SKIP
    Traceback (most recent call last):
    PatternError: serial.expect: 'firmware (\\S+' is not a valid regular expression: missing ), ...
    """


class BadArgument(UsageError, ValueError, TypeError):
    """An argument refused as invalid (wrong type or out of range): the test's mistake.

    >>> from pytest_virtualpy.vision import Region
    >>> Region(0, 0, width=10)   # doctest: +ELLIPSIS
    Traceback (most recent call last):
    pytest_virtualpy.errors.BadArgument: Region takes either height= or bottom=, not neither ...
    """
