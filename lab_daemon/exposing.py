"""What every exposed RPyC method shares: plain-value checks, errors as data, lookups.

:class:`LabService` is assembled from small method groups (frames, audio, recordings,
monitoring...), each a subclass of :class:`ServiceBase` in the module of the feature it
serves, so each group stays beside its feature and the service stays one flat surface.

>>> class PingMethods(ServiceBase):
...     @plain_args
...     def exposed_ping(self) -> str:
...         return "pong"
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable
from typing import Any

from lab_daemon.host import DeviceRuntime, LabHost
from pytest_virtualpy.errors import BadArgument, DeviceUnavailable, LabError, UsageError
from pytest_virtualpy.lab import wire

log = logging.getLogger("lab_daemon.service")

MAX_WAIT_SECS = 600.0


def _exposed(fn: Callable, *, image: bool) -> Callable:
    """Reject anything but plain values; turn the result or the error into wire values.

    With ``image``, ``fn`` returns ``(meta, bytes)`` and so does the wrapper.
    """
    name = fn.__name__.removeprefix("exposed_")

    @functools.wraps(fn)
    def wrapper(self, *args):
        try:
            for a in args:
                if not wire.is_plain(a):
                    raise BadArgument(
                        f"{name}() takes plain values only "
                        f"(str, bytes, numbers, tuples), got {type(a).__name__}"
                    )
            result = fn(self, *args)
            return (wire.encode_ok(result[0]), result[1]) if image else wire.encode_ok(result)
        except Exception as e:
            if not (isinstance(e, LabError | UsageError) or type(e) is ValueError):
                log.exception("%s failed", name)  # a daemon bug: keep its traceback
            return (wire.encode_error(e), b"") if image else wire.encode_error(e)

    return wrapper


def plain_args(fn: Callable) -> Callable:
    """An exposed method returning JSON."""
    return _exposed(fn, image=False)


def image_reply(fn: Callable) -> Callable:
    """An exposed method returning ``(meta_json, bytes)`` (an image, a clip, a log)."""
    return _exposed(fn, image=True)


def number(value: Any, what: str, low: float, high: float) -> float:
    """``value`` as a finite float in ``[low, high]``, or a ValueError that says so."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number, got {value!r}") from None
    if not (math.isfinite(v) and low <= v <= high):
        raise ValueError(f"{what} must be between {low:g} and {high:g}, got {value!r}")
    return v


def timeout(value: Any) -> float:
    """A wait of 0 to :data:`MAX_WAIT_SECS` seconds."""
    return number(value, "timeout", 0.0, MAX_WAIT_SECS)


class ServiceBase:
    """Lookups every method group needs; all state lives in the shared :class:`LabHost`."""

    host: LabHost

    def _rt(self, lease_id: str) -> DeviceRuntime:
        lease = self.host.leases.check(str(lease_id))
        return self.host.runtime(lease.device)

    def _part(self, lease_id: str, part: str):
        rt = self._rt(lease_id)
        value = getattr(rt.device, part)
        if value is None:
            what = "remote" if part == "keys" else part
            raise DeviceUnavailable(
                f"device {rt.device.name!r} has no {what}: add {what} = {{ kind = ... }} to its "
                "lab.toml entry, or skip the test on this device"
            )
        return rt, value
