"""A daemon whose boxes have navigation trees, leases on it, and a Navigator on a lease.

A test module that needs them binds the fixtures (``served, lease = nav_lab.served,
nav_lab.lease``) and so gets a daemon of its own, with four boxes:

- nav-a: the example tree with the popup dialog as an interrupt node;
- nav-b: tree B (a subtree, two ways to the guide, no popup node);
- nav-c: a broken tree (its image is missing);
- nav-d: no tree of its own.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from pathlib import Path

import pytest

from pytest_virtualpy.lab.client import LabClient
from pytest_virtualpy.lab.device import DeviceClient
from pytest_virtualpy.navigation import Navigator
from pytest_virtualpy.remote import Remote
from pytest_virtualpy.steps import StepLog
from pytest_virtualpy.tv_screen import TvScreen
from tests.monitor_lab import serve_lab
from tests.nav_trees import EXAMPLES, IMAGES, POPUP_EDGE, POPUP_NODE, write_b_tree


def nav_devices(a_tree: Path, b_tree: Path, model: str = "nav-model") -> str:
    return "".join(
        f'[[devices]]\nname = "{name}"\nkind = "sim"\nfps = 30\nboot_secs = 0.5\n'
        f'model = "{model}"\nnavigation = "{tree}"\n\n'
        for name, tree in (("nav-a", a_tree), ("nav-b", b_tree))
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A daemon from a lab.toml whose two boxes have different trees."""
    root = tmp_path_factory.mktemp("navlab")
    a = root / "a"  # the example tree, with the popup dialog as an interrupt node
    a.mkdir()
    example = (EXAMPLES / "navigation.toml").read_text()
    (a / "navigation.toml").write_text(POPUP_NODE + example + POPUP_EDGE)
    shutil.copytree(IMAGES, a / "images")
    b = root / "b"
    b.mkdir()
    c = root / "c"  # a broken tree: its image is missing
    c.mkdir()
    (c / "tree.toml").write_text('[nodes.home]\nimage = "gone.png"\n')
    broken = f'[[devices]]\nname = "nav-c"\nkind = "sim"\nfps = 5\nnavigation = "{c}/tree.toml"\n'
    plain = '[[devices]]\nname = "nav-d"\nkind = "sim"\nfps = 5\n'  # no tree of its own
    devices = nav_devices(a / "navigation.toml", write_b_tree(b)) + broken + plain
    lab = serve_lab(root, "navlab", devices, {})
    yield lab
    lab.stop()


def _home(dev: DeviceClient) -> DeviceClient:
    dev.sim_clear()
    if not dev.power("status")["on"]:
        dev.power("on")
    end = time.monotonic() + 20
    while dev.sim_state()["screen"] in ("boot", "off"):
        assert time.monotonic() < end, "the simulated box did not boot"
        time.sleep(0.1)
    dev.press("KEY_HOME")
    dev.wait_for_sim_screen("home", 10)
    return dev


@pytest.fixture
def lease(served):
    held: list[DeviceClient] = []

    def take(name: str, home: bool = True) -> DeviceClient:
        client = LabClient.connect(served.address, served.token, client_name="nav-tests")
        dev = DeviceClient(client, client.lease(name, "nav-tests", 60, wait_secs=10))
        held.append(dev)
        return _home(dev) if home else dev

    yield take
    for dev in held:
        with contextlib.suppress(Exception):
            dev.sim_clear()
            dev.client.release(dev.lease_id)
        dev.client.close()


class Walk:
    """A Navigator with its step log, on a real leased box."""

    def __init__(self, dev: DeviceClient, tree, folder: Path, home: bool = True, **kw):
        self.dev = dev
        self.log = StepLog()
        self.shots = folder

        def save(name: str, data: bytes) -> Path:
            path = folder / name
            path.write_bytes(data)
            return path

        self.screen = TvScreen(dev, self.log, save)
        self.remote = Remote(dev, self.screen, self.log)
        self.nav = Navigator(tree, self.remote, self.screen, log=self.log, **kw)
        end = time.monotonic() + 5  # the sim says "home" a few frames before it looks it
        while home and self.nav.current_node() != "home":  # (the lease fixture went home)
            assert time.monotonic() < end, "the box never showed its home screen"

    def hops(self) -> list:
        return [s for s in self.log.steps if s.kind == "nav_hop"]

    def open_popup(self) -> None:
        """Open the simulator's popup now and wait until it hides the screen it covers."""
        self.dev.sim_inject("popup", {})
        end = time.monotonic() + 3
        while self.nav.current_node() is not None:
            assert time.monotonic() < end, "the popup never covered the screen"

    def screen_is(self, name: str) -> bool:
        return self.dev.sim_state()["screen"] == name
