"""One test process's hold on the fleet: the leased device, its lab, cleanup.

A :class:`LabSession` holds at most one device at a time. Its state is the fields
``spec`` (the lab the device came from), ``client`` (the holder connection: the lease
is bound to it), ``device`` (the leased :class:`DeviceClient`) and ``keeper`` (the
renewer, on its own connection); they are all set together by :meth:`LabSession._hold`
and cleared together by :meth:`LabSession.release_device`. ``catalog`` is every chosen
lab's device list as fetched at session start, used to refuse requirements that no
device could ever meet before any waiting.

Used by the plugin; free of pytest so it can be driven from scripts too (the
benchmarks use it).
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pytest_virtualpy.errors import DeviceUnavailable, LabConnectionError, LabError
from pytest_virtualpy.lab import lease as leases
from pytest_virtualpy.lab.client import LabClient
from pytest_virtualpy.lab.device import DeviceClient
from pytest_virtualpy.lab.inventory import LabSpec
from pytest_virtualpy.lab.local import LocalLab, start_sim_lab
from pytest_virtualpy.lab.multi_lease import Granted, lease_first
from pytest_virtualpy.lab.requirements import NoMatchingDevice, Requirements, no_match_message

DEFAULT_TTL_SECS = 30.0
DEFAULT_LEASE_TIMEOUT_SECS = 60.0
PROBE_SECS = 5.0  # connect timeout of the short look-ups (device lists, holders)

#: a lab's devices (``list_devices`` entries), or why the lab could not be asked
Catalog = dict[str, list[dict] | str]


@dataclass
class SimOptions:
    fps: float = 60.0
    resolution: str = "720p"
    boot_secs: float = 3.0
    seed: int = 0


@dataclass
class LabSession:
    """Leases a device from the chosen labs (or the local sim) that meets a test's needs.

    ``specs`` empty means the built-in simulated lab, started on first use. It is the
    ``lab`` fixture, and works from a script too (the benchmarks use it)::

        session = LabSession([])            # the built-in simulated lab
        device = session.open()             # a leased DeviceClient
        print(session.name, device.name)
        session.close()
    """

    specs: list[LabSpec]
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    lease_timeout_secs: float = DEFAULT_LEASE_TIMEOUT_SECS
    ttl_secs: float = DEFAULT_TTL_SECS
    sim: SimOptions = field(default_factory=SimOptions)
    workers: int = 1
    worker: str = ""  # the xdist worker id ("gw0"...), empty without xdist
    catalog: Catalog = field(default_factory=dict)
    local: LocalLab | None = None
    spec: LabSpec | None = None
    client: LabClient | None = None
    device: DeviceClient | None = None
    keeper: leases.LeaseKeeper | None = None
    lease_wait_ms: float = 0.0  # how long open() waited for a free device, until reported
    on_wait: Callable[[str], None] | None = None  # told once when open() has to wait

    @property
    def name(self) -> str:
        """The lab the held device came from (``"sim"`` for the built-in one).

        >>> lab.name           # doctest: +SKIP
        'pi-03'
        """
        return self.spec.name if self.spec else "sim"

    @property
    def address(self) -> str | None:
        """That lab's ``HOST:PORT`` (None for the built-in simulated lab).

        >>> lab.address        # doctest: +SKIP
        'pi-03.lab:18861'
        """
        return self.spec.address if self.spec else None

    def take_lease_wait_ms(self) -> float:
        """The lease wait, once: it is charged to the first test that needed a device.

        >>> lab.take_lease_wait_ms(), lab.take_lease_wait_ms()   # doctest: +SKIP
        (1520.4, 0.0)
        """
        wait, self.lease_wait_ms = self.lease_wait_ms, 0.0
        return wait

    def devices(self) -> list[dict]:
        """Every device of the lab this session leased from, with who holds it.

        >>> [d["name"] for d in lab.devices()]                   # doctest: +SKIP
        ['stb-1', 'stb-2', 'stb-3']
        """
        self.open()
        return self.client.list_devices()

    def health(self) -> dict:
        """The daemon's view of its devices: frames captured and dropped, capture alive.

        >>> lab.health()["devices"]["stb-1"]["capturing"]        # doctest: +SKIP
        True
        """
        self.open()
        return self.client.health()

    def _connect(self, spec: LabSpec, token: str) -> LabClient:
        return spec.connect(self.owner, token)

    def open(self, requirements: Requirements | None = None) -> DeviceClient:
        """The held device if it meets ``requirements`` (None: anything), else a new lease.

        A held device that does not meet them is given back first. Raises
        :class:`NoMatchingDevice` at once if no device of the chosen labs could ever meet
        them, and a :class:`LabError` if none was granted within ``lease_timeout_secs``.

        >>> device = lab.open(Requirements.of("VPY-STB-1", ["serial"]))   # doctest: +SKIP
        """
        requirements = requirements or Requirements()
        self._drop_dead_lab()
        if self.device is not None:
            if requirements.meets(self.device.info) and not self._wanted_by_others():
                return self.device
            self.release_device()
        candidates = self._candidates()
        self._refuse_impossible(requirements, candidates)
        candidates = [c for c in candidates if self._could_serve(c[0], requirements)]
        started = time.monotonic()
        try:
            granted = lease_first(
                candidates,
                self._connect,
                self.owner,
                self.ttl_secs,
                self.lease_timeout_secs,
                requirements,
                on_wait=lambda: self._announce_wait(candidates, requirements),
            )
        except DeviceUnavailable as e:
            raise DeviceUnavailable(
                f"no free device on lab(s) {', '.join(s.name for s, _ in candidates)} after "
                f"waiting {self.lease_timeout_secs:g} s (--lease-timeout) for "
                f"{requirements.describe()} ({e}). With pytest -n N, each worker needs a "
                "device of its own: use fewer workers or add devices."
            ) from None
        finally:
            self.lease_wait_ms = round((time.monotonic() - started) * 1000, 3)
        return self._hold(granted)

    def _wanted_by_others(self) -> bool:
        """Whether someone queues for the held device: then it goes to them between tests
        and this session queues again, so a worker never sits on a device others need."""
        if self.spec is None or self.spec.name == "sim":
            return False
        try:
            devices = self.client.list_devices()
        except LabError:
            return False  # the test's own calls will say what is wrong with the lab
        mine = next((d for d in devices if d.get("name") == self.device.name), {})
        return bool(mine.get("waiting"))

    def _candidates(self) -> list[tuple[LabSpec, str]]:
        """The labs to lease from, with their tokens; starts the local sim on first use."""
        if self.specs:
            return [(spec, spec.token()) for spec in self.specs]
        if self.local is None:
            self.local = start_sim_lab(
                1,
                fps=self.sim.fps,
                resolution=self.sim.resolution,
                boot_secs=self.sim.boot_secs,
                seed=self.sim.seed,
                name=f"sim-{self.worker}" if self.worker else "sim",
            )
        return [(LabSpec("sim", self.local.address), self.local.token)]

    def _refuse_impossible(
        self, requirements: Requirements, candidates: list[tuple[LabSpec, str]]
    ) -> None:
        """:class:`NoMatchingDevice` if no device of the candidate labs could ever meet
        the needs."""
        if not requirements:
            return
        specs = [spec for spec, _ in candidates]
        missing = [s for s in specs if s.name not in self.catalog]
        if missing:  # a script, or the local sim: ask once
            self.catalog.update(fetch_catalog(missing, {s.name: t for s, t in candidates}))
        message = no_match_message(requirements, {s.name: self.catalog[s.name] for s in specs})
        if message:
            raise NoMatchingDevice(message)

    def _could_serve(self, spec: LabSpec, requirements: Requirements) -> bool:
        """Whether the lab has a device meeting ``requirements`` (True if not known)."""
        devices = self.catalog.get(spec.name)
        return not isinstance(devices, list) or any(requirements.meets(d) for d in devices)

    def _hold(self, granted: Granted) -> DeviceClient:
        """Take over a granted lease: holder connection, device, renewer."""
        spec, token, lease = granted.spec, granted.token, granted.lease
        self.spec, self.client = spec, granted.client
        self.device = DeviceClient(granted.client, lease)
        self.keeper = leases.LeaseKeeper(
            lambda: self._connect(spec, token),
            lease["lease_id"],
            self.ttl_secs,
            on_dead=granted.client.abort,  # a hung lab ends the call in flight (#10)
            key=lease.get("key"),  # the keeper renews on a connection of its own
        ).start()
        return self.device

    def _announce_wait(
        self, candidates: list[tuple[LabSpec, str]], requirements: Requirements
    ) -> None:
        """Say who holds the devices we wait for, since when, and how long we will wait."""
        if self.on_wait is None:
            return
        held = []
        for spec, token in candidates:
            try:
                with spec.connect(self.owner, token, PROBE_SECS) as client:
                    devices = client.list_devices()
            except LabError as e:
                held.append(f"{spec.name} unreachable ({e})")
                continue
            prefix = f"{spec.name}/" if len(candidates) > 1 else ""
            held += [
                f"{prefix}{d['name']} held by {_holder(d['lease'])}"
                for d in devices
                if d.get("lease") and (not requirements or requirements.meets(d))
            ]
        labs = ", ".join(s.name for s, _ in candidates)
        wanted = f" ({requirements.describe()})" if requirements else ""
        self.on_wait(
            f"virtualpy: waiting up to {self.lease_timeout_secs:g} s for a free device{wanted} "
            f"on lab{'s' if len(candidates) > 1 else ''} {labs}: "
            f"{'; '.join(held) or 'every device is leased'}"
        )

    def _drop_dead_lab(self) -> None:
        """Forget a held device whose lab broke under us, so that :meth:`open` leases anew.

        The daemon was killed or restarted, hung, or the network was cut or stalled: the
        test that was running got a :class:`LabConnectionError` (a LAB ERROR); the next
        test comes here and reconnects. A lost lease is forgotten the same way. The
        built-in simulated daemon is never restarted behind the user's back: once it has
        exited, every later test says so.
        """
        if self.local is not None and self.local.process.poll() is not None:
            self.release_device()
            raise LabConnectionError(
                f"the simulated lab daemon exited (code {self.local.process.returncode}) "
                f"during this run; its log is {self.local.log_path}"
            )
        if self.device is None or self.client is None:
            return
        lease_ok = self.keeper is None or self.keeper.status is leases.LeaseStatus.HELD
        if lease_ok and not self.client.closed:
            return
        self.release_device()

    def release_device(self) -> None:
        """Give the held device back (keeping the local sim running); tolerates a dead lab.

        >>> lab.release_device(); lab.device is None             # doctest: +SKIP
        True
        """
        if self.keeper is not None:
            self.keeper.stop()
        if self.client is not None and self.device is not None:
            with contextlib.suppress(LabError):
                self.client.release(self.device.lease_id)
        if self.client is not None:
            self.client.close()
        self.device = self.client = self.keeper = self.spec = None

    def close(self) -> None:
        """Release the lease and stop the local daemon, tolerating a dead lab.

        >>> session.close()                                      # doctest: +SKIP
        """
        self.release_device()
        if self.local is not None:
            self.local.stop()
        self.local = None


def _holder(lease: dict) -> str:
    since = time.strftime("%H:%M:%S", time.localtime(lease.get("since") or time.time()))
    test = f" running {lease['test']}" if lease.get("test") else ""
    return f"{lease.get('owner')} since {since}{test}"


def fetch_catalog(specs: list[LabSpec], tokens: dict[str, str] | None = None) -> Catalog:
    """Every lab's device list, or why it could not be asked (one short connection each)."""
    catalog: Catalog = {}
    for spec in specs:
        try:
            token = (tokens or {}).get(spec.name) or spec.token()
            with spec.connect("virtualpy-probe", token, PROBE_SECS) as client:
                catalog[spec.name] = client.list_devices()
        except Exception as e:
            catalog[spec.name] = str(e) or type(e).__name__
    return catalog


def count_devices(specs: list[LabSpec]) -> dict[str, int | str]:
    """How many devices each lab has (or why it could not be asked)."""
    return {name: len(v) if isinstance(v, list) else v for name, v in fetch_catalog(specs).items()}
