"""Fixtures for the hardware-driver tests: real protocol peers started per test."""

from __future__ import annotations

import os
import shutil

import pytest
from lircd_peer import LIRCD, Lircd


@pytest.fixture
def lircd(tmp_path):
    if LIRCD is None and not os.environ.get("CI"):
        pytest.skip("lircd is not installed: apt-get install lirc")
    daemon = Lircd(tmp_path)
    daemon.start()
    yield daemon
    daemon.stop()
    shutil.rmtree(daemon.sockdir, ignore_errors=True)
