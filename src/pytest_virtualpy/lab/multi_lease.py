"""Queue for a device on several labs at once and take the first one given.

Each lab daemon keeps its own queue, in arrival order, beside its devices; no central
coordinator is needed. A client that may use any of several labs queues on each of them
at the same moment (one thread and one connection per lab, each wait named by a random
ticket), takes the first device granted, and gives its other places up at once with
``cancel_wait(ticket)``. A grant that still arrives after that is released straight away.
"""

from __future__ import annotations

import contextlib
import queue
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from pytest_virtualpy.errors import DeviceUnavailable, LabError
from pytest_virtualpy.lab.client import LabClient
from pytest_virtualpy.lab.inventory import LabSpec
from pytest_virtualpy.lab.requirements import NoMatchingDevice, Requirements

#: how long a lease may take before the caller is told that it has to wait
NOTICE_SECS = 1.0
#: beyond the wait itself: connecting, and the client's own margin on a call
GRACE_SECS = 30.0

Connect = Callable[[LabSpec, str], LabClient]


@dataclass
class Place:
    """One lab's place in the queue: its connection, the wait's ticket, how it ended."""

    spec: LabSpec
    token: str
    ticket: str
    client: LabClient | None = None
    lease: dict | None = None
    error: LabError | None = None


@dataclass
class Granted:
    """The lease won: which lab, its token, the holder connection and the lease reply."""

    spec: LabSpec
    token: str
    client: LabClient
    lease: dict


class _Race:
    """The places of one lease call and who won it (None once the caller gave up)."""

    def __init__(self, places: list[Place]):
        self.places = places
        self.done: queue.Queue[Place] = queue.Queue()
        self._lock = threading.Lock()
        self._settled = False

    def claim(self) -> bool:
        """True for the first grant only; later ones (and any after giving up) are late."""
        with self._lock:
            first, self._settled = not self._settled, True
            return first


def lease_first(
    candidates: list[tuple[LabSpec, str]],
    connect: Connect,
    owner: str,
    ttl_secs: float,
    wait_secs: float,
    requirements: Requirements | None = None,
    on_wait: Callable[[], None] | None = None,
) -> Granted:
    """Lease a device meeting ``requirements`` from whichever lab grants one first.

    Waits in the daemons up to ``wait_secs``; ``on_wait`` is called once if no device
    came within :data:`NOTICE_SECS`. Raises the lab's own error with one lab, else one
    naming what each lab said: :class:`DeviceUnavailable` if any lab was only busy.
    """
    if not candidates:
        raise LabError("no lab to lease a device from: the run was given none")
    req = requirements or Requirements()
    race = _Race([Place(spec, token, secrets.token_urlsafe(18)) for spec, token in candidates])
    for place in race.places:
        threading.Thread(
            target=_queue_on,
            args=(race, place, connect, owner, ttl_secs, wait_secs, req),
            name=f"virtualpy-lease-{place.spec.name}",
            daemon=True,
        ).start()
    deadline = time.monotonic() + wait_secs + GRACE_SECS
    pending, told = len(race.places), on_wait is None
    while pending:
        timeout = NOTICE_SECS if not told else deadline - time.monotonic()
        try:
            place = race.done.get(timeout=max(0.05, timeout))
        except queue.Empty:
            if not told:
                told = True
                on_wait()
                continue
            if time.monotonic() < deadline:
                continue
            race.claim()  # give up: a grant from now on is released as it arrives
            _cancel_others(race, connect, None)
            raise DeviceUnavailable(
                f"no answer to lease() from lab(s) {', '.join(p.spec.name for p in race.places)} "
                f"within {wait_secs + GRACE_SECS:g} s; the daemon(s) may be hung"
            ) from None
        pending -= 1
        if place.lease is not None:
            _cancel_others(race, connect, place)
            return Granted(place.spec, place.token, place.client, place.lease)
    raise _failure([p for p in race.places if p.error is not None])


def _queue_on(
    race: _Race,
    place: Place,
    connect: Connect,
    owner: str,
    ttl_secs: float,
    wait_secs: float,
    req: Requirements,
) -> None:
    """One lab's wait, on its own connection; a late grant is given back at once."""
    try:
        place.client = connect(place.spec, place.token)
        lease = place.client.lease(
            None,
            owner,
            ttl_secs,
            wait_secs=wait_secs,
            requirements=req.to_json(),
            ticket=place.ticket,
        )
    except LabError as e:
        place.error = e
        if place.client is not None:
            place.client.close()
    except Exception as e:  # a bug must not leave the caller waiting for this place
        place.error = LabError(f"lab {place.spec.name}: {type(e).__name__}: {e}")
        if place.client is not None:
            place.client.close()
    else:
        if race.claim():
            place.lease = lease
        else:
            with contextlib.suppress(LabError):
                place.client.release(lease["lease_id"])
            place.client.close()  # closing alone frees it too: the lease is bound to it
            place.error = DeviceUnavailable("a device came from another lab first")
    race.done.put(place)


def _cancel_others(race: _Race, connect: Connect, winner: Place | None) -> None:
    """Give up every other place now: ``cancel_wait`` on a fresh connection to each lab."""
    for place in race.places:
        if place is winner or place.lease is not None or place.error is not None:
            continue

        def cancel(p: Place = place) -> None:
            with contextlib.suppress(LabError), connect(p.spec, p.token) as client:
                client.cancel_wait(p.ticket)

        threading.Thread(target=cancel, name="virtualpy-cancel-wait", daemon=True).start()


def _failure(places: list[Place]) -> LabError:
    """One error for every lab's: the lab's own with one lab, else a summary.

    Labs that all said no device of theirs could ever match make a usage error.
    """
    errors = [p.error for p in places]
    said = "; ".join(f"lab {p.spec.name}: {p.error}" for p in places)
    if all(_no_match(e) for e in errors):
        return NoMatchingDevice(said if len(places) > 1 else str(errors[0]))
    if len(places) == 1:
        return errors[0]
    if any(isinstance(e, DeviceUnavailable) and not _no_match(e) for e in errors):
        return DeviceUnavailable(said)
    return type(errors[0])(said) if len({type(e) for e in errors}) == 1 else LabError(said)


def _no_match(error: LabError) -> bool:
    """Whether a daemon said that none of its devices could ever meet the requirements."""
    return isinstance(error, DeviceUnavailable) and str(error).startswith("no device on lab")
