"""The fixtures a test asks for: ``lab``, ``stb``, ``remote``, ``tv_screen``,
``power``, ``serial`` and ``adb``.

Every device fixture shares one per-test context: the leased device, the test's
step log and where its artifacts go. A test marked
``@pytest.mark.device(model=..., capabilities=[...])`` gets a device that meets it:
the one held if it does, else a new lease (the held one is given back). At the
start of each test, simulator faults are cleared and a switched-off device is
switched on, so one test's mess never becomes the next test's failure.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pytest_virtualpy.ai_check import AiChecker
from pytest_virtualpy.errors import LabError
from pytest_virtualpy.lab.device import DeviceClient
from pytest_virtualpy.lab.requirements import Requirements
from pytest_virtualpy.lab.session import LabSession
from pytest_virtualpy.remote import Remote
from pytest_virtualpy.results.artifacts import LocalArtifacts
from pytest_virtualpy.stb import Power, Serial, Stb
from pytest_virtualpy.steps import StepLog
from pytest_virtualpy.tv_screen import TvScreen

SESSION_KEY = pytest.StashKey[LabSession]()
AI_KEY = pytest.StashKey[AiChecker]()
ARTIFACTS_KEY = pytest.StashKey[LocalArtifacts]()
NAVIGATOR_KEY = pytest.StashKey[object]()
CONTEXT_KEY = pytest.StashKey["DeviceContext"]()


class _HookListener:
    """Forwards a test's steps to the ``pytest_virtualpy_step_*`` hooks."""

    def __init__(self, item: pytest.Item):
        self.item = item

    def step_started(self, step) -> None:
        self.item.config.hook.pytest_virtualpy_step_started(item=self.item, step=step)

    def step_finished(self, step) -> None:
        self.item.config.hook.pytest_virtualpy_step_finished(item=self.item, step=step)


@dataclass
class DeviceContext:
    """Everything one test's device fixtures share."""

    item: pytest.Item
    device: DeviceClient
    lab: str
    log: StepLog
    artifacts: LocalArtifacts
    saved: list[dict] = field(default_factory=list)
    serial_start: int = 0  # serial log offset when the test started
    lease_wait_ms: float = 0.0  # time this test waited for a free device

    def save(self, name: str, data: bytes, kind: str = "screenshot") -> Path:
        """Store an artifact of this test and announce it to reporters."""
        path = self.artifacts.save(self.item.nodeid, name, data)
        artifact = {
            "name": path.name,
            "kind": kind,
            "path": str(path),
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        self.saved.append(artifact)
        self.item.config.hook.pytest_virtualpy_artifact(item=self.item, artifact=artifact)
        return path

    def record(self) -> dict:
        """What this test did, as plain data for result sinks."""
        return {
            "device": self.device.name,
            "model": self.device.info.get("model"),
            "kind": self.device.info.get("kind"),
            "lab": self.lab,
            "lease_wait_ms": self.lease_wait_ms,
            **self.log.to_dict(),
            "artifacts": list(self.saved),
        }


def requirements_of(item: pytest.Item) -> Requirements:
    """What ``@pytest.mark.device(model=..., capabilities=[...])`` asks of the device.

    >>> requirements_of(item)  # doctest: +SKIP
    Requirements(model='acme-4k', capabilities=('serial',))
    """
    marker = item.get_closest_marker("device")
    return Requirements.from_marker(marker.args, marker.kwargs) if marker else Requirements()


@pytest.fixture(scope="session")
def lab(request: pytest.FixtureRequest) -> LabSession:
    """This test process's lab: the connection and the device it holds now.

    Example::

        def test_bench_is_healthy(lab):
            assert all(d["capturing"] for d in lab.health()["devices"].values())
            print(lab.name, [d["name"] for d in lab.devices()])
    """
    session = request.config.stash[SESSION_KEY]
    session.open()
    return session


@pytest.fixture
def _virtualpy_device(request: pytest.FixtureRequest) -> Iterator[DeviceContext]:
    # per test, not through the session-scoped `lab`: a device that does not meet this
    # test's marker is swapped here, and a lease error stays this test's own
    lab = request.config.stash[SESSION_KEY]
    device = lab.open(requirements_of(request.node))
    device.set_test(request.node.nodeid)  # lab owners see it on the live page
    is_sim = "sim" in device.info.get("capabilities", [])
    if request.node.get_closest_marker("sim_only") and not is_sim:
        pytest.skip(f"needs the simulated box; {device.name} is real hardware")
    if is_sim:
        device.sim_clear()
    # the test's console output starts here, so a boot it causes below is its own
    serial_start = None
    if "serial" in device.info.get("capabilities", []):
        serial_start, _ = device.serial_log(1 << 62)
    if "power" in device.info.get("capabilities", []) and not device.power("status")["on"]:
        device.power("on")
    ctx = DeviceContext(
        request.node,
        device,
        lab.name,
        StepLog(_HookListener(request.node)),
        request.config.stash[ARTIFACTS_KEY],
    )
    ctx.lease_wait_ms = lab.take_lease_wait_ms()
    if serial_start is not None:
        ctx.serial_start = serial_start
    request.node.stash[CONTEXT_KEY] = ctx
    yield ctx
    with contextlib.suppress(LabError):  # a lab gone by now is reported by the test itself
        device.set_test(None)


@pytest.fixture
def tv_screen(_virtualpy_device: DeviceContext) -> TvScreen:
    """The device's screen: frames, matching, motion, black, text.

    Example::

        def test_home(tv_screen):
            assert tv_screen.wait_for_match("images/home.png", timeout=10)
            assert tv_screen.match_text("Settings", region=MENU)
    """
    ctx = _virtualpy_device
    return TvScreen(ctx.device, ctx.log, ctx.save, ctx.item.config.stash.get(AI_KEY, None))


@pytest.fixture
def remote(_virtualpy_device: DeviceContext, tv_screen: TvScreen) -> Remote:
    """The device's remote control.

    Example::

        def test_zap(remote):
            t = remote.press_and_wait("KEY_CHANNELUP", region=BANNER)
            assert t, t.status
    """
    return Remote(_virtualpy_device.device, tv_screen, _virtualpy_device.log)


@pytest.fixture
def stb(
    request: pytest.FixtureRequest,
    _virtualpy_device: DeviceContext,
    remote: Remote,
    tv_screen: TvScreen,
) -> Stb:
    """The device under test: name, model, navigation, power, serial, sim.

    Example::

        def test_about(stb, tv_screen):
            stb.navigate_to("about")
            assert stb.current_node() == "about"
            assert tv_screen.wait_for_text(stb.model, timeout=5)
    """
    ctx = _virtualpy_device
    trees = request.config.stash.get(NAVIGATOR_KEY, None)

    def navigator():  # on first use: a broken tree fails only the tests that navigate
        return trees.navigator(ctx.device, remote, tv_screen, ctx.log) if trees else None

    return Stb(ctx.device, ctx.log, navigator, ctx.serial_start)


@pytest.fixture
def power(stb: Stb) -> Power:
    """The device's power switch; the test is skipped if the bench has none.

    Example::

        def test_boots_to_home(power, tv_screen):
            power.cycle(off_secs=2)
            assert tv_screen.wait_for_match("images/home.png", timeout=60)
    """
    if stb.power is None:
        pytest.skip(f"{stb.name} has no power control")
    return stb.power


@pytest.fixture
def serial(stb: Stb) -> Serial:
    """The device's serial console; the test is skipped if the bench has none.

    Example::

        def test_firmware(serial):
            assert serial.command("version").startswith("virtualpy STB firmware")
    """
    if stb.serial is None:
        pytest.skip(f"{stb.name} has no serial console")
    return stb.serial


@pytest.fixture
def adb(stb: Stb):
    """The device's ADB connection; the test is skipped if the device has none.

    Example::

        def test_model(adb):
            r = adb.shell("getprop ro.product.model")
            assert r, r.output
    """
    if stb.adb is None:
        pytest.skip(f"{stb.name} has no ADB connection")
    return stb.adb
