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
import inspect
import json
import logging
from collections.abc import Callable
from typing import Any

from lab_daemon import call_limits, lease_guard
from lab_daemon.host import DeviceRuntime, LabHost
from lab_daemon.numbers import number
from pytest_virtualpy.errors import BadArgument, DeviceUnavailable, LabError, UsageError
from pytest_virtualpy.lab import wire

log = logging.getLogger("lab_daemon.service")

MAX_WAIT_SECS = 600.0


def _exposed(fn: Callable, *, image: bool) -> Callable:
    """Reject anything but plain values; turn the result or the error into wire values.

    With ``image``, ``fn`` returns ``(meta, bytes)`` and so does the wrapper.
    """
    name = fn.__name__.removeprefix("exposed_")
    signature = inspect.signature(fn)
    params = list(signature.parameters)[1:]  # without self

    @functools.wraps(fn)
    def wrapper(self, *args):
        try:
            call_limits.check_args(name, params, args)
            try:
                signature.bind(self, *args)
            except TypeError:
                raise BadArgument(
                    f"{name}() takes the arguments ({', '.join(params)}), got {len(args)} values"
                ) from None
            with call_limits.in_flight(getattr(self, "peer", None), name):
                result = fn(self, *args)
            return (wire.encode_ok(result[0]), result[1]) if image else wire.encode_ok(result)
        except Exception as e:
            if not (isinstance(e, LabError | UsageError) or type(e) is ValueError):
                log.exception("%s failed", name)  # a daemon bug: keep its traceback
            return (wire.encode_error(e), b"") if image else wire.encode_error(e)
        finally:
            lease_guard.leave()  # the lease _rt entered guards this call only

    return wrapper


def plain_args(fn: Callable) -> Callable:
    """An exposed method returning JSON."""
    return _exposed(fn, image=False)


def image_reply(fn: Callable) -> Callable:
    """An exposed method returning ``(meta_json, bytes)`` (an image, a clip, a log)."""
    return _exposed(fn, image=True)


def timeout(value: Any, what: str = "timeout") -> float:
    """A wait of 0 to :data:`MAX_WAIT_SECS` seconds."""
    return number(value, what, 0.0, MAX_WAIT_SECS)


def integer(value: Any, what: str, low: int, high: int) -> int:
    """``value`` as a whole number in ``[low, high]`` (a float like 3.0 too), or a ValueError.

    >>> integer(3.0, "consecutive", 1, 100)
    3
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} must be a whole number, got {value!r}")
    v = number(value, what, low, high)
    if v != int(v):
        raise ValueError(f"{what} must be a whole number, got {value!r}")
    return int(v)


def optional_number(value: Any, what: str, low: float, high: float) -> float | None:
    """None, or a finite number in ``[low, high]`` (see :func:`number`)."""
    return None if value is None else number(value, what, low, high)


def text(value: Any, what: str, max_chars: int) -> str:
    """``value`` as a str of at most ``max_chars`` characters, or a ValueError that says so."""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a str, got {type(value).__name__}")
    if len(value) > max_chars:
        raise ValueError(f"{what} is too long: {len(value)} characters (at most {max_chars})")
    return value


def json_object(value: Any, what: str, max_chars: int) -> dict:
    """``value``, JSON text of at most ``max_chars``, as the object it holds; or a
    ValueError naming ``what``.

    >>> json_object('{"a": 1}', "params_json", 100)
    {'a': 1}
    """
    raw = text(value, what, max_chars)
    try:
        parsed = json.loads(raw)
    except (ValueError, RecursionError):
        raise ValueError(f"{what} is not valid JSON: {raw[:80]!r}") from None
    if not isinstance(parsed, dict):
        raise ValueError(f"{what} must be a JSON object, got {raw[:80]!r}")
    return parsed


class ServiceBase:
    """Lookups every method group needs; all state lives in the shared :class:`LabHost`."""

    host: LabHost

    def _rt(self, lease_id: str) -> DeviceRuntime:
        """The leased device's runtime; the lease must be held by this connection.

        The rest of the call runs under the lease (:mod:`lab_daemon.lease_guard`): once
        it ends, the call's waits raise :class:`LeaseLost` and leave the device alone.
        """
        peer = getattr(self, "peer", None)
        lease = self.host.leases.check(str(lease_id), getattr(peer, "conn_id", None))
        lease_guard.enter(self.host.leases, lease, getattr(self, "_client_gone", None))
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
