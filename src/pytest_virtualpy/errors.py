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
    """Base class of every exception raised by virtualpy."""


class UsageError(VirtualpyError):
    """A mistake in the test code or its set-up: neither a product failure nor a lab error.

    >>> remote.press("KEY_MENUU")   # doctest: +SKIP
    Traceback (most recent call last):
    UnknownKeyError: unknown key 'KEY_MENUU' ...
    """


class ConfigError(UsageError):
    """The configuration (options, ini keys, labs.toml, lab.toml) is invalid."""


# --- the device under test misbehaved ------------------------------------------------


class UITestFailure(VirtualpyError, AssertionError):
    """The device under test did not behave as the test expected."""


class MatchTimeout(UITestFailure):
    """A reference image did not appear within the timeout.

    ``frame`` is the last frame seen, ``best`` the best match result seen (its
    ``first_pass_result`` is the best score and ``region`` where it was).
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
    """No motion was seen within the timeout."""

    def __init__(
        self, message: str, *, frame: Any = None, timeout_secs: float | None = None
    ) -> None:
        super().__init__(message)
        self.frame = frame
        self.timeout_secs = timeout_secs


class TextTimeout(UITestFailure):
    """Expected text was not read on screen within the timeout."""

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
    """The screen did not go black within the timeout."""


class FreezeTimeout(UITestFailure):
    """The screen did not freeze within the timeout."""


class TransitionTimeout(UITestFailure):
    """The screen did not change, or did not settle, after a key press."""


class SerialTimeout(UITestFailure):
    """Expected output did not appear on the serial console within the timeout."""

    def __init__(self, message: str, *, output: str = "") -> None:
        super().__init__(message)
        self.output = output


class AudioTimeout(UITestFailure):
    """Sound did not start (``wait_for_audio``) or stop (``wait_for_silence``) in time.

    ``level_db`` is the last level measured (dBFS), ``threshold_db`` the one asked for.
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
    """The device could not be driven to the requested navigation node."""


# --- the lab misbehaved -------------------------------------------------------------


class LabError(VirtualpyError):
    """The lab (daemon, network, hardware plumbing) failed; not the product."""


class LabConnectionError(LabError):
    """The lab daemon cannot be reached, or the connection dropped."""


class AuthenticationError(LabError):
    """The lab daemon refused our credentials."""


class DeviceUnavailable(LabError):
    """No device could be leased: unknown, busy, or powered by a broken rig."""


class LeaseLost(LabError):
    """Our lease on a device expired or was taken over."""


# --- the test code is wrong ---------------------------------------------------------


class UnknownKeyError(UsageError, ValueError):
    """A remote-control key name the device does not know; the message lists the known ones."""


class ImageError(UsageError, ValueError):
    """An image argument could not be read or has an unsupported format."""


class UnknownNodeError(UsageError, ValueError):
    """A navigation node the tree does not define; the message lists the nodes it has."""


class PatternError(UsageError, ValueError):
    """A regular expression (for ``serial.expect``) that does not compile."""


class BadArgument(UsageError, ValueError, TypeError):
    """An argument refused as invalid (wrong type or out of range): the test's mistake."""
