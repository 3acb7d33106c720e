"""The tests ``--nav-validate`` generates: one per step of the tree's covering walk.

Collected by :mod:`pytest_virtualpy.navigation.validate` (never found by name): each
item walks one edge on the leased device, in walk order.

>>> # pytest --nav-validate=examples/navigation.toml --lab=sim
"""

from __future__ import annotations

import pytest

from pytest_virtualpy.navigation.navigator import Navigator
from pytest_virtualpy.navigation.validate import PLUGIN_NAME, NavValidation, WalkStep


def _validation(config: pytest.Config) -> NavValidation | None:
    return config.pluginmanager.get_plugin(PLUGIN_NAME)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    validation = _validation(metafunc.config)
    if validation is None:  # collected by path in an ordinary run: nothing to validate
        skip = pytest.mark.skip(reason="runs only with pytest --nav-validate=TREE")
        metafunc.parametrize("nav_step", [pytest.param(None, marks=skip)], ids=["no-tree"])
        return
    ids = [f"{i + 1}:{step.name}" for i, step in enumerate(validation.walk)]
    metafunc.parametrize("nav_step", validation.walk, ids=ids)


def test_edge(request: pytest.FixtureRequest, nav_step: WalkStep, stb, remote, tv_screen) -> None:
    """Go to the step's start, press its edge's keys once, check the target appears."""
    validation = _validation(request.config)
    costs = validation.costs_for(stb.model)
    navigator = Navigator(validation.tree, remote, tv_screen, costs=costs)
    validation.run(nav_step, navigator)
