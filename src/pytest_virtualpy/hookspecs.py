"""Hooks virtualpy calls while a test drives a device.

Reporters implement them: the Allure adapter turns steps into Allure steps and
artifacts into attachments; anything else (a live dashboard, a logger) can too.
``step`` is a :class:`pytest_virtualpy.steps.Step`; ``artifact`` is a dict with
``name``, ``kind`` ("screenshot", "annotated", "serial_log", ...), ``path``,
``size`` and ``sha256``.
"""

from __future__ import annotations

import pytest


@pytest.hookspec
def pytest_virtualpy_step_started(item: pytest.Item, step) -> None:
    """A step (press, match, navigation hop...) of ``item`` has started."""


@pytest.hookspec
def pytest_virtualpy_step_finished(item: pytest.Item, step) -> None:
    """A step has finished; ``step.ok``, ``duration_ms`` and ``detail`` are final."""


@pytest.hookspec
def pytest_virtualpy_artifact(item: pytest.Item, artifact: dict) -> None:
    """An artifact of ``item`` was saved to ``artifact["path"]``."""
