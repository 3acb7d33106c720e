"""One test process's hold on a lab: the connection, the leased device, cleanup.

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

from pytest_virtualpy.errors import DeviceUnavailable, LabError
from pytest_virtualpy.lab import lease as leases
from pytest_virtualpy.lab.client import LabClient
from pytest_virtualpy.lab.device import DeviceClient
from pytest_virtualpy.lab.inventory import LabSpec
from pytest_virtualpy.lab.local import LocalLab, start_sim_lab

DEFAULT_TTL_SECS = 30.0


@dataclass
class SimOptions:
    fps: float = 60.0
    resolution: str = "720p"
    boot_secs: float = 3.0
    seed: int = 0


@dataclass
class LabSession:
    """Connects lazily to the chosen labs (or starts the local sim) and leases a device.

    ``specs`` empty means the built-in simulated lab.
    """

    specs: list[LabSpec]
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    lease_wait_secs: float = 60.0
    ttl_secs: float = DEFAULT_TTL_SECS
    sim: SimOptions = field(default_factory=SimOptions)
    workers: int = 1
    worker: str = ""  # the xdist worker id ("gw0"...), empty without xdist
    local: LocalLab | None = None
    spec: LabSpec | None = None
    client: LabClient | None = None
    device: DeviceClient | None = None
    keeper: leases.LeaseKeeper | None = None
    lease_wait_ms: float = 0.0  # how long open() waited for a free device, until reported
    on_wait: Callable[[str], None] | None = None  # told once when open() has to wait

    @property
    def name(self) -> str:
        return self.spec.name if self.spec else "sim"

    @property
    def address(self) -> str | None:
        return self.spec.address if self.spec else None

    def take_lease_wait_ms(self) -> float:
        """The lease wait, once: it is charged to the first test that needed a device."""
        wait, self.lease_wait_ms = self.lease_wait_ms, 0.0
        return wait

    def devices(self) -> list[dict]:
        """Every device of the lab this session leased from, with who holds it."""
        self.open()
        return self.client.list_devices()

    def health(self) -> dict:
        """The daemon's view of its devices: frames captured and dropped, capture alive."""
        self.open()
        return self.client.health()

    def _connect(self, spec: LabSpec, token: str) -> LabClient:
        return LabClient.connect(spec.address, token, client_name=self.owner)

    def open(self) -> DeviceClient:
        """Lease a device (starting the local sim first if needed); idempotent."""
        if self.device is not None:
            return self.device
        if not self.specs:
            self.local = start_sim_lab(
                1,
                fps=self.sim.fps,
                resolution=self.sim.resolution,
                boot_secs=self.sim.boot_secs,
                seed=self.sim.seed,
                name=f"sim-{self.worker}" if self.worker else "sim",
            )
            candidates = [(LabSpec("sim", self.local.address), self.local.token)]
        else:
            candidates = [(spec, spec.token()) for spec in self.specs]
        waiting_since = time.monotonic()
        deadline = waiting_since + self.lease_wait_secs
        last_error: LabError | None = None
        announced: set[str] = set()
        while True:
            for spec, token in candidates:
                try:
                    client = self._connect(spec, token)
                except LabError as e:
                    last_error = e
                    continue
                try:
                    lease = leases.acquire(client, None, self.owner, self.ttl_secs, wait_secs=0)
                except LabError as e:
                    if isinstance(e, DeviceUnavailable) and spec.name not in announced:
                        announced.add(spec.name)
                        self._announce_wait(spec, client)
                    client.close()
                    last_error = e
                    continue
                self.spec, self.client = spec, client
                self.lease_wait_ms = round((time.monotonic() - waiting_since) * 1000, 3)
                self.device = DeviceClient(client, lease)
                self.keeper = leases.LeaseKeeper(
                    lambda s=spec, t=token: self._connect(s, t), lease["lease_id"], self.ttl_secs
                ).start()
                return self.device
            if not isinstance(last_error, DeviceUnavailable) or time.monotonic() >= deadline:
                break
            time.sleep(0.5)
        self.lease_wait_ms = round((time.monotonic() - waiting_since) * 1000, 3)
        if isinstance(last_error, DeviceUnavailable):
            raise DeviceUnavailable(
                f"no free device on lab(s) {', '.join(s.name for s, _ in candidates)} after "
                f"waiting {self.lease_wait_secs:g} s ({last_error}). With pytest -n N, each "
                "worker needs a device of its own: use fewer workers or add devices."
            )
        raise last_error or LabError("no lab configured")

    def _announce_wait(self, spec: LabSpec, client: LabClient) -> None:
        """Say who holds the devices we wait for, since when, and how long we will wait."""
        if self.on_wait is None:
            return
        try:
            held = [d for d in client.list_devices() if d.get("lease")]
        except LabError:
            held = []
        who = "; ".join(
            f"{d['name']} held by {d['lease']['owner']} since "
            f"{time.strftime('%H:%M:%S', time.localtime(d['lease'].get('since', time.time())))}"
            for d in held
        )
        self.on_wait(
            f"virtualpy: waiting up to {self.lease_wait_secs:g} s for a free device on lab "
            f"{spec.name}: {who or 'every device is leased'}"
        )

    def close(self) -> None:
        """Release the lease and stop the local daemon, tolerating a dead lab."""
        if self.keeper is not None:
            self.keeper.stop()
        if self.client is not None and self.device is not None:
            with contextlib.suppress(LabError):
                self.client.release(self.device.lease_id)
            self.client.close()
        if self.local is not None:
            self.local.stop()
        self.device = self.client = self.keeper = self.local = None


def count_devices(specs: list[LabSpec]) -> dict[str, int | str]:
    """How many devices each lab has (or why it could not be asked)."""
    counts: dict[str, int | str] = {}
    for spec in specs:
        try:
            with LabClient.connect(
                spec.address, spec.token(), client_name="virtualpy-probe", timeout=5
            ) as client:
                counts[spec.name] = len(client.list_devices())
        except Exception as e:
            counts[spec.name] = str(e)
    return counts
