"""A test's serial console on a leased box, as the plugin's ``serial`` fixture gives it.

:func:`begin_test` takes the serial log offset and wraps the box in
:class:`~pytest_virtualpy.stb.Serial`; :data:`BANNER` matches the firmware line the
simulated box prints at boot and for ``version``.
"""

from __future__ import annotations

from pytest_virtualpy.lab.device import DeviceClient
from pytest_virtualpy.stb import Serial
from pytest_virtualpy.steps import StepLog

BANNER = r"virtualpy STB firmware (\S+)"


def begin_test(device: DeviceClient) -> Serial:
    """What the ``serial`` fixture gives a test: the console, from the current log offset."""
    start, _ = device.serial_log(1 << 62)
    return Serial(device, StepLog(), start)
