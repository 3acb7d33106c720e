"""Each device's navigation tree, for one test session: served by its lab, or the ini's.

A device whose lab.toml entry says ``navigation = "nav/tree.toml"`` lists that file in
its info (``info["files"]["navigation"]``); :func:`load_served_tree` fetches the tree
and the files it names (images, subtrees) one by one from the daemon into a local
folder, and loads it there, so errors still say ``file:line``. Devices without one use
the tree of the ini key ``virtualpy_navigation``. :class:`SessionNavigation` keeps each
device's tree and edge costs (this run's measurements on top of the results history)
for the whole session.

>>> nav = SessionNavigation(ini_tree=None, cache=tmp_path)             # doctest: +SKIP
>>> nav.navigator(device, remote, tv_screen, log).tree.nodes            # doctest: +SKIP
['home', 'live_tv', ...]
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

from pytest_virtualpy.errors import ConfigError
from pytest_virtualpy.lab.device import DeviceClient
from pytest_virtualpy.navigation.costs import EdgeCosts
from pytest_virtualpy.navigation.loader import load
from pytest_virtualpy.navigation.model import NavigationTree
from pytest_virtualpy.navigation.navigator import Navigator

FILE_NAME = "navigation"  # the device file lab.toml's `navigation = ...` names
MAX_FILES = 512  # files one served tree may fetch (its TOML files and images)


def load_served_tree(device: DeviceClient, folder: Path) -> NavigationTree | None:
    """The tree ``device``'s lab serves, fetched into ``folder``; None if it serves none.

    >>> load_served_tree(device, tmp_path / "sim-0").nodes   # doctest: +SKIP
    ['home', 'live_tv', 'guide', 'settings', 'about']
    """
    entry = (device.info.get("files") or {}).get(FILE_NAME)
    if not entry:
        return None
    root = folder.resolve()
    fetched: set[str] = set()

    def fetch(rel: str) -> None:
        if rel in fetched:
            return
        if len(fetched) >= MAX_FILES:
            raise ConfigError(f"{shown}: the tree names more than {MAX_FILES} files")
        fetched.add(rel)
        target = root / rel
        data = device.file(FILE_NAME, rel)
        if data is None:
            target.unlink(missing_ok=True)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)

    shown = f"<{device.name}'s navigation tree>"
    return load(root / entry, fetch=fetch, shown_as=shown)


def _key(device: DeviceClient) -> str:
    return f"{device.client.address}/{device.name}"


def _folder_name(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", key) or "device"


class SessionNavigation:
    """The session's trees: the ini's, each device's served one, and their edge costs.

    ``history`` is the results database's plain record of past walks,
    ``{model: {"nav:FROM->TO": {"mean_ms", "count", "failures"}}}``.
    """

    def __init__(
        self,
        ini_tree: NavigationTree | None,
        cache: Path | None = None,
        history: Mapping[str, Mapping[str, Mapping[str, float]]] | None = None,
    ) -> None:
        self.ini_tree = ini_tree
        self._cache = None if cache is None else Path(cache)
        self._tmp: tempfile.TemporaryDirectory | None = None
        self.history = dict(history or {})
        self._trees: dict[str, NavigationTree | ConfigError | None] = {}
        self._costs: dict[str, EdgeCosts] = {}

    def tree_for(self, device: DeviceClient) -> NavigationTree | None:
        """``device``'s tree: its lab's, else the ini's; None when neither exists."""
        name, key = device.name, _key(device)  # two labs may both have an "stb-1"
        if key not in self._trees:
            try:
                served = load_served_tree(device, self.cache() / _folder_name(key))
            except ConfigError as e:
                served = ConfigError(f"{e}\n(the navigation tree lab.toml gives device {name})")
            self._trees[key] = served if served is not None else self.ini_tree
            model = str(device.info.get("model") or name)
            past = self.history.get(model, {})
            self._costs[key] = EdgeCosts.from_history(past)
        tree = self._trees[key]
        if isinstance(tree, ConfigError):
            raise ConfigError(str(tree))
        return tree

    def cache(self) -> Path:
        """Where served trees are fetched to (a temporary folder unless given)."""
        if self._cache is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="virtualpy-nav-")
            self._cache = Path(self._tmp.name)
        return self._cache

    def close(self) -> None:
        """Remove the fetched trees' temporary folder."""
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp, self._cache = None, None

    def navigator(self, device: DeviceClient, remote, tv_screen, log) -> Navigator | None:
        """A Navigator for one test on ``device`` (None: it has no tree)."""
        tree = self.tree_for(device)
        if tree is None:
            return None
        costs = self._costs[_key(device)]
        return Navigator(tree, remote, tv_screen, log=log, costs=costs, device=device.name)
