"""Drive a device to a navigation node: localise, plan, press, verify, recover.

:meth:`Navigator.navigate_to` finds where the screen is (one localisation call), plans
the cheapest route on measured edge costs, and walks it hop by hop. Each hop presses
the edge's keys, waits for the target's recogniser (and the edge's settle condition),
and is recorded as a step ``nav_hop FROM->TO`` holding its presses, and as a KPI
``nav:FROM->TO`` (first press to arrival, lab clock). When a hop does not arrive (a
dropped key, a popup), the navigator localises again, re-plans from where it is and
goes on, at most ``max_retries`` times; such a recovered hop is *not* a failed step
(its detail says ``arrived: False``). When it cannot get there, a
:class:`NavigationError` says what was planned, what was taken, where it got lost,
with a screenshot.

>>> nav = Navigator(tree, remote, tv_screen, log=log)   # doctest: +SKIP
>>> nav.navigate_to("settings/network")                # doctest: +SKIP
>>> nav.current_node()                                  # doctest: +SKIP
'settings/network'
"""

from __future__ import annotations

import time

from pytest_virtualpy.errors import BadArgument, ConfigError, NavigationError, UnknownKeyError
from pytest_virtualpy.keys import check_key
from pytest_virtualpy.navigation.costs import EdgeCosts, miss_kpi_name
from pytest_virtualpy.navigation.localise import Localiser
from pytest_virtualpy.navigation.model import (
    ANYWHERE,
    Edge,
    ImageCheck,
    NavigationTree,
    leaf_checks,
)
from pytest_virtualpy.navigation.pathfinding import shortest_path
from pytest_virtualpy.navigation.tree_checks import DEFAULT_RECOVERY_KEYS
from pytest_virtualpy.steps import StepLog

DEFAULT_MAX_RETRIES = 4
POLL_SECS = 0.01  # between two looks at the screen (each is a round trip to the daemon)
MAX_HOPS = 64  # a walk longer than this is a loop, not a route
RECOVERY_SECS = 3.0  # for a known screen to show after the recovery keys
MIN_MEASURED = 3  # arrivals of an edge before its usual duration bounds the wait for it
PATIENCE_FACTOR = 3.0  # ... to this many times its mean (and at least mean + 2 s)


class Navigator:
    """Moves the device along a :class:`NavigationTree` using the remote and the screen.

    ``log`` records the hops and KPIs (default: the remote's step log); ``costs``
    carries measured edge costs across tests (default: a fresh :class:`EdgeCosts`).

    >>> Navigator(tree, remote, tv_screen).navigate_to("guide")   # doctest: +SKIP
    """

    def __init__(
        self,
        tree: NavigationTree,
        remote,
        tv_screen,
        *,
        log: StepLog | None = None,
        costs: EdgeCosts | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        device: str | None = None,
    ):
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise BadArgument(f"max_retries must be a whole number >= 0, got {max_retries!r}")
        self.tree = tree
        self.remote = remote
        self.screen = tv_screen
        self.log = log if log is not None else remote._log
        self.costs = costs if costs is not None else EdgeCosts()
        self.max_retries = max_retries
        self.device = device if device is not None else remote._device.name
        self.localiser = Localiser(tree, tv_screen)
        self._proof: dict = {}  # the last arrival's match results, for its evidence

    # --- where are we ------------------------------------------------------------------

    def current_node(self) -> str | None:
        """The node on screen now (first in file order whose recogniser holds), or None."""
        return self.localiser.locate()

    def plan(self, start: str | None, target: str) -> list[Edge] | None:
        """The cheapest route on measured costs from ``start`` (None: unknown screen).

        >>> [e.target for e in nav.plan("about", "guide")]   # doctest: +SKIP
        ['home', 'guide']
        """
        per_key = self.costs.secs_per_key(self.tree.edges)
        return shortest_path(self.tree, start, target, lambda e: self.costs.cost(e, per_key))

    # --- walking ------------------------------------------------------------------------

    def follow(self, edge: Edge) -> bool:
        """Press ``edge``'s keys once and check that the screen arrives at its target.

        Recorded as a step (failed if it did not arrive) and, on arrival, as the KPI
        ``nav:FROM->TO``. No recovery: that is :meth:`navigate_to`'s.

        >>> nav.follow(tree.edges_from("home")[0])   # doctest: +SKIP
        True
        """
        return self._hop(edge, edge.source, edge.timeout_secs, recoverable=False)[0]

    def navigate_to(self, target: str, timeout: float = 30.0) -> None:
        """Reach ``target`` or raise :class:`NavigationError` saying where it got lost.

        A ``target`` the tree does not define is the test's mistake: ``UnknownNodeError``.
        """
        self.tree.node(target)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
            raise BadArgument(f"navigate_to timeout must be seconds > 0, got {timeout!r}")
        deadline = time.monotonic() + timeout
        here = self.current_node()
        taken: list[str | None] = [here]
        planned: list[str] = []
        retries = 0
        while here != target:
            path = self.plan(here, target)
            if path is None and here is None and retries < self.max_retries:
                retries += 1  # no "*" edge: the recovery keys may still get out of here
                here = self._recover(deadline)
                taken.append(here)
                continue
            if path is None:
                self._lost(
                    f"no path from {_name(here)} to {target!r} in {self.tree.path}; add an "
                    "edge (a '*' edge to a hub node lets the navigator recover from anywhere)",
                    target,
                    planned,
                    taken,
                    here,
                )
            if not planned:
                planned = [here or ANYWHERE, *(e.target for e in path)]
            for edge in path:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or len(taken) > MAX_HOPS:
                    self._lost(
                        f"could not reach {target!r} within {timeout:g} s",
                        target,
                        planned,
                        taken,
                        here,
                    )
                can_retry = retries < self.max_retries
                wait = min(edge.timeout_secs, remaining)
                arrived, now = self._hop(edge, here, wait, recoverable=can_retry)
                while not arrived and now == edge.target and retries < self.max_retries:
                    retries += 1  # there, but not settled: wait again (keys would leave it)
                    wait = min(edge.timeout_secs, deadline - time.monotonic())
                    arrived, now = self._settle_again(edge, wait)
                if arrived:
                    here = now
                    taken.append(here)
                    continue
                if now == edge.target:
                    self._lost(
                        f"could not reach {target!r}: {edge.target!r} is on screen but the "
                        f"settle condition of {_name(here)} -> {edge.target} ({edge.where}) "
                        f"did not hold, after {retries} retries",
                        target,
                        planned,
                        taken,
                        edge.target,
                    )
                if not can_retry:
                    self._lost(
                        f"could not reach {target!r}: {_name(here)} -> {edge.target} did not "
                        f"arrive ({'+'.join(edge.keys)}) and {self.max_retries} retries are "
                        "used up",
                        target,
                        planned,
                        taken,
                        here,
                    )
                retries += 1  # re-plan from where the screen is now
                here = now if now is not None else self._recover(deadline)
                taken.append(here)
                break

    def _hop(
        self, edge: Edge, here: str | None, timeout: float, *, recoverable: bool
    ) -> tuple[bool, str | None]:
        """Press, wait for arrival; record the step, the KPI and the measured cost.

        Returns whether it arrived, and the node on screen afterwards."""
        with self.log.step(
            "nav_hop", f"{_name(here, '?')}->{edge.target}", keys=list(edge.keys), edge=edge.where
        ) as step:
            first = None
            for key in edge.keys:
                t = self.remote.press(key).time
                first = t if first is None else first
            started = time.monotonic()
            arrived, now = self._arrival(edge, here, timeout)
            if arrived is not None:
                ms = max(0.0, (arrived - first) * 1000)
                step.detail.update(arrived=True, duration_ms=round(ms, 3))
                self.log.kpi(edge.kpi_name, self.device, ms, first)
                self.costs.record(edge, ms)
                self._evidence(edge.target)
                return True, edge.target
            lost_ms = (time.monotonic() - started) * 1000
            step.detail.update(arrived=False, now=now, recovering=recoverable)
            self.log.kpi(miss_kpi_name(edge), self.device, lost_ms, first)
            self.costs.record(edge, None)
            if not recoverable:
                step.ok = False
                step.error = (
                    f"NavigationError: not at {edge.target!r} after {'+'.join(edge.keys)} "
                    f"(waited {lost_ms / 1000:.1f} s of {timeout:g}); the screen shows "
                    f"{_name(now)}"
                )
            return False, now

    def _settle_again(self, edge: Edge, timeout: float) -> tuple[bool, str | None]:
        """Wait once more for ``edge``'s settle condition, pressing nothing: a step
        ``nav_settle`` (not failed when it does not hold: navigate_to decides)."""
        with self.log.step("nav_settle", edge.target, edge=edge.where) as step:
            arrived, now = self._arrival(edge, edge.target, max(0.0, timeout))
            step.detail.update(arrived=arrived is not None, now=now)
            if arrived is None:
                return False, now
        self._evidence(edge.target)
        return True, edge.target

    def _evidence(self, node: str) -> None:
        """A ``match`` step for each image check of ``node`` that the arrival's frame
        answered: the report shows which reference proved the arrival, and its score."""
        for check in dict.fromkeys(leaf_checks(self.tree.node(node).recogniser)):
            result = self._proof.get(check)
            if isinstance(check, ImageCheck) and result is not None:
                with self.log.step("match", str(check.image)) as step:
                    step.detail.update(matched=bool(result), score=result.first_pass_result)

    def _recover(self, deadline: float) -> str | None:
        """On an unrecognised screen after a missed hop, press the tree's recovery keys
        (``KEY_BACK``: a dialog that swallows other keys) and localise again."""
        known = list(self.remote.keys())
        keys = list(self.tree.recovery_keys)
        if keys == list(DEFAULT_RECOVERY_KEYS):  # the default: only those this remote has
            keys = [k for k in keys if k in known]
        for key in keys:  # the tree's own: a typo must not be skipped quietly
            try:
                check_key(key, known)
            except UnknownKeyError as e:
                raise ConfigError(f"{self.tree.path}: [recovery] keys: {e}") from None
        if not keys:
            return None
        with self.log.step("nav_recover", "+".join(keys), keys=keys) as step:
            for key in keys:
                self.remote.press(key)
            end = min(deadline, time.monotonic() + RECOVERY_SECS)
            now = self.current_node()
            while now is None and time.monotonic() < end:
                time.sleep(POLL_SECS)
                now = self.current_node()
            step.detail["now"] = now
        return now

    def _arrival(
        self, edge: Edge, here: str | None, timeout: float
    ) -> tuple[float | None, str | None]:
        """When (lab clock) the screen reached ``edge.target`` and settled, or None; and
        the node on screen then."""
        end = time.monotonic() + timeout
        now = self._reach(edge, here, end)
        self._proof = self.localiser.last_matches  # what recognised the target
        if now != edge.target:
            return None, now
        settle = edge.settle
        if settle is None:
            return self.localiser.last_time, now
        if settle.until is not None and not self._until(settle.until, end):
            return None, self.current_node()
        if settle.stable_secs > 0:
            while True:  # each look takes stable_secs: none may end after the wait does
                if time.monotonic() + settle.stable_secs > end:
                    return None, self.current_node()
                if self.screen.is_frozen(settle.stable_secs, region=settle.region):
                    break
            now = self.current_node()  # still there once it stopped moving?
            self._proof = self.localiser.last_matches
            if now != edge.target:
                return None, now
        return self.localiser.last_time, now

    def _reach(self, edge: Edge, here: str | None, end: float) -> str | None:
        """Localise until the screen is ``edge.target`` or the wait is over; the node seen.

        The wait ends early on an interrupt node (a popup: recover now) other than the
        one the hop leaves (which shows until the keys take effect), and once an edge
        measured often enough has taken far longer than usual (a dropped key: the screen
        will not move any more; a dialog the tree does not know)."""
        patience = end
        s = self.costs.stats(edge)
        if s is not None and s.count >= MIN_MEASURED:
            mean = s.mean_ms / 1000
            patience = min(end, time.monotonic() + max(PATIENCE_FACTOR * mean, mean + 2.0))
        while True:
            now = self.current_node()
            if now == edge.target:
                return now
            if now is not None and now != here and self.tree.node(now).interrupt:
                return now
            t = time.monotonic()
            if t >= end or t >= patience:
                return now
            time.sleep(POLL_SECS)

    def _until(self, recogniser, end: float) -> bool:
        while not self.localiser.holds(recogniser):
            if time.monotonic() >= end:
                return False
            time.sleep(POLL_SECS)
        return True

    def _lost(self, message, target, planned, taken, here) -> None:
        shot = self.screen.screenshot(f"navigation-lost-{target.replace('/', '_')}")
        raise NavigationError(
            f"{message}; planned {' -> '.join(planned) or 'nothing'}, taken "
            f"{' -> '.join(_name(n, '?') for n in taken)}; lost at {_name(here)}",
            target=target,
            planned=planned,
            taken=taken,
            lost_at=here,
            screenshot=shot,
        )


def _name(node: str | None, unknown: str = "an unrecognised screen") -> str:
    return unknown if node is None else node
