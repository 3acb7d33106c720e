"""The ``stb`` fixture's object and its parts: power, serial console, simulator."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from pytest_virtualpy.audio import Audio
from pytest_virtualpy.errors import SerialTimeout
from pytest_virtualpy.lab.device import DeviceClient
from pytest_virtualpy.serial_sync import PROMPT, check_pattern, wait_for_prompt
from pytest_virtualpy.steps import StepLog


class Power:
    """The device's power switch (smart plug or the simulator's).

    >>> power.cycle()          # doctest: +SKIP
    >>> assert power.is_on     # doctest: +SKIP
    """

    def __init__(self, device: DeviceClient, log: StepLog):
        self._device = device
        self._log = log

    def _do(self, action: str, off_secs: float = 1.0) -> bool:
        if action == "status":
            return self._device.power(action, off_secs)["on"]
        with self._log.step("power", action) as step:
            on = self._device.power(action, off_secs)["on"]
            step.detail["on"] = on
        return on

    def on(self) -> None:
        """Switch on; the device then boots.

        >>> power.on()                                                   # doctest: +SKIP
        >>> assert tv_screen.wait_for_match("images/home.png", timeout=60)  # doctest: +SKIP
        """
        self._do("on")

    def off(self) -> None:
        """Switch off; the capture then shows no signal.

        >>> power.off()                                   # doctest: +SKIP
        >>> assert tv_screen.wait_for_black(timeout=5)    # doctest: +SKIP
        """
        self._do("off")

    def cycle(self, off_secs: float = 1.0) -> None:
        """Switch off for ``off_secs``, then on again.

        >>> power.cycle(off_secs=2)                       # doctest: +SKIP
        """
        self._do("cycle", off_secs)

    @property
    def is_on(self) -> bool:
        """Whether the switch is on now (asked of the switch, not guessed from the screen).

        >>> power.off(); power.is_on                      # doctest: +SKIP
        False
        """
        return self._do("status")


class Serial:
    """The device's serial console.

    A test sees only output from after it started: anything still unread from
    before (an earlier test's, a boot nobody read) is dropped at its first read.

    >>> serial.command("version")                          # doctest: +SKIP
    'virtualpy STB firmware 4.2.1 (model VPY-STB-1)'
    >>> serial.write("version\\r")                         # doctest: +SKIP
    >>> serial.expect(r"firmware (\\S+)").groups[0]        # doctest: +SKIP
    '4.2.1'
    """

    def __init__(self, device: DeviceClient, log: StepLog, log_start: int):
        self._device = device
        self._log = log
        self._log_start = log_start  # serial log offset when the test started
        self._started = False  # output from before log_start dropped yet?

    def _begin(self) -> None:
        """Once per test, before its first read: forget output from before the test."""
        if not self._started:
            self._device.serial_discard(self._log_start)
            self._started = True

    def write(self, data: str | bytes) -> None:
        """Send text (encoded as UTF-8) or bytes; a command needs its ``\\r``.

        >>> serial.write("reboot\\r")                      # doctest: +SKIP
        """
        self._device.serial_write(data.encode() if isinstance(data, str) else bytes(data))

    def read(self, timeout: float = 1.0) -> str:
        """Whatever arrived since the last read, waiting up to ``timeout`` for some.

        >>> serial.write("uptime\\r")                      # doctest: +SKIP
        >>> serial.read(timeout=2)                         # doctest: +SKIP
        'uptime\\r\\nup 0:03:12\\r\\nstb# '
        """
        self._begin()
        return self._device.serial_read(float(timeout)).decode(errors="replace")

    def expect(
        self, pattern: str, timeout: float = 10.0, *, raise_on_timeout: bool = True
    ) -> SerialMatch:
        """Wait for ``pattern`` (a regex) on the console; a truthy :class:`SerialMatch`.

        If it never comes within ``timeout`` seconds, raises :class:`SerialTimeout` (a
        product failure), so a bare ``serial.expect(...)`` line cannot pass silently; with
        ``raise_on_timeout=False`` it answers instead, with a false :class:`SerialMatch`
        whose ``before`` is what the console did print. A pattern that is not a valid
        regex raises :class:`PatternError` before anything is sent.

        >>> serial.write("version\\r")                                  # doctest: +SKIP
        >>> serial.expect(r"firmware (\\S+)").groups                    # doctest: +SKIP
        ('4.2.1',)
        >>> if not serial.expect("Kernel panic", 2, raise_on_timeout=False):  # doctest: +SKIP
        ...     print("no panic")
        no panic
        """
        check_pattern(pattern, "serial.expect")
        self._begin()
        with self._log.step("serial", f"expect {pattern}") as step:
            d = self._device.serial_expect(pattern, float(timeout))
            step.detail["matched"] = bool(d["matched"])
            if not d["matched"]:
                if not raise_on_timeout:  # a question, not a check: the step stays ok
                    return SerialMatch(None, (), d["before"])
                raise SerialTimeout(
                    f"{pattern!r} not seen on the serial console within {timeout:g} s;"
                    f" last output:\n{d['before'][-500:]}",
                    output=d["before"],
                )
        return SerialMatch(d["match"], tuple(d["groups"]), d["before"])

    def command(self, cmd: str, prompt: str = PROMPT, timeout: float = 10.0) -> str:
        """Run ``cmd`` at the console prompt and return its output (without echo or prompt).

        First waits, within ``timeout``, until the console sits at a fresh ``prompt``
        (a box still booting finishes first); output from before is not returned.

        >>> serial.command("version")                      # doctest: +SKIP
        'virtualpy STB firmware 4.2.1 (model VPY-STB-1)'
        """
        check_pattern(prompt, "serial.command")
        self._begin()
        deadline = time.monotonic() + float(timeout)
        with self._log.step("serial", f"command {cmd}"):
            wait_for_prompt(self._device, prompt, deadline, timeout)
            self.write(cmd + "\r")
            out = self.expect(prompt, max(0.0, deadline - time.monotonic())).before
        lines = out.replace("\r\n", "\n").split("\n")
        if lines and lines[0].strip() == cmd.strip():
            lines = lines[1:]
        return "\n".join(lines).strip("\n")

    def log(self) -> str:
        """Everything the console printed since this test started.

        >>> power.cycle()                                  # doctest: +SKIP
        >>> "Starting kernel" in serial.log()              # doctest: +SKIP
        True
        """
        _, data = self._device.serial_log(self._log_start)
        return data.decode(errors="replace")


@dataclass(frozen=True)
class SerialMatch:
    """What :meth:`Serial.expect` saw: true when the pattern matched.

    ``match`` is the matched text (None when it was not seen), ``groups`` its regex
    groups, ``before`` the console output that came before it (all of it read, when
    not seen).

    >>> m = serial.expect(r"firmware (\\S+)", timeout=5)              # doctest: +SKIP
    >>> assert m, m.before                                          # doctest: +SKIP
    >>> m.groups                                                    # doctest: +SKIP
    ('4.2.1',)
    >>> bool(SerialMatch(None, (), "boot log"))
    False
    """

    match: str | None
    groups: tuple
    before: str

    def __bool__(self) -> bool:
        return self.match is not None

    def __repr__(self) -> str:
        if self.match is None:
            return f"SerialMatch(not seen, before={self.before[-80:]!r})"
        return f"SerialMatch(match={self.match!r}, groups={self.groups!r})"


@dataclass(frozen=True)
class AdbResult:
    """What ``stb.adb.shell`` returns: true when the command's exit status is 0.

    >>> r = stb.adb.shell("getprop ro.product.model")   # doctest: +SKIP
    >>> assert r, r.output                               # doctest: +SKIP
    >>> str(r).strip()                                   # doctest: +SKIP
    'SHIELD Android TV'
    """

    status: int
    output: str  # stdout and stderr as they came, UTF-8 (bounded to 1 MiB by the daemon)
    command: str = ""

    def __bool__(self) -> bool:
        return self.status == 0

    def __str__(self) -> str:
        return self.output


class Adb:
    """The device's ADB link (``stb.adb``): shell commands run on the device.

    >>> stb.adb.shell("am start -n com.example/.Main")  # doctest: +SKIP
    """

    def __init__(self, device: DeviceClient, log: StepLog):
        self._device = device
        self._log = log

    def shell(self, command: str, timeout: float = 30.0) -> AdbResult:
        """Run ``command`` (a shell command line, up to 4096 characters) within ``timeout``.

        A non-zero exit status is returned, not raised: ``assert stb.adb.shell(...)``.
        The device unreachable, or the command running past ``timeout``, is a LabError.

        >>> r = adb.shell("pm list packages com.example")   # doctest: +SKIP
        >>> assert r, r.output                               # doctest: +SKIP
        """
        with self._log.step("adb", f"shell {command}"[:200]) as step:
            d = self._device.adb_shell(str(command), float(timeout))
            step.detail["status"] = d["status"]
        return AdbResult(d["status"], d["output"], str(command))


class SimControl:
    """Fault switches and ground truth of a simulated device (``stb.sim``).

    >>> stb.sim.inject("freeze")            # doctest: +SKIP
    >>> stb.sim.inject("drop_keys", probability=0.5)   # doctest: +SKIP
    >>> stb.sim.events()[-1]["first_change"]           # doctest: +SKIP
    """

    FAULTS = ("freeze", "black", "drop_keys", "reboot", "slow", "mute")

    def __init__(self, device: DeviceClient):
        self._device = device

    def inject(self, fault: str, **params: Any) -> dict:
        """Make the simulated box misbehave; returns the active faults.

        ``fault`` is one of `FAULTS`; ``params`` tune it (``probability`` for
        ``drop_keys``, for example).

        >>> stb.sim.inject("drop_keys", probability=0.05)   # doctest: +SKIP
        {'drop_keys': {'probability': 0.05}}
        """
        return self._device.sim_inject(fault, params)

    def clear(self) -> dict:
        """Remove every standing fault.

        >>> stb.sim.clear()                                 # doctest: +SKIP
        {}
        """
        return self._device.sim_clear()

    def faults(self) -> dict:
        """The faults standing now, with their parameters.

        >>> stb.sim.inject("freeze"); stb.sim.faults()      # doctest: +SKIP
        {'freeze': {}}
        """
        return self._device.sim_faults()

    def events(self) -> list[dict]:
        """Per key: received, first_change, settled timestamps (lab host clock).

        The simulator's ground truth, to check measured timings against:

        >>> t = remote.press_and_wait("KEY_OK")                  # doctest: +SKIP
        >>> e = stb.sim.events()[-1]                             # doctest: +SKIP
        >>> abs((e["settled"] - e["received"]) - t.duration) < 0.05   # doctest: +SKIP
        True
        """
        return self._device.sim_events()

    def state(self) -> dict:
        """The screen the simulator knows it shows, and whether it is powered.

        >>> stb.sim.state()["screen"]                       # doctest: +SKIP
        'home'
        """
        return self._device.sim_state()


class Stb:
    """The device under test.

    ``name`` and ``model`` identify it; ``power`` and ``serial`` are None when
    the bench lacks that hardware; ``sim`` is None on real hardware; ``adb`` is
    None on devices without ADB; ``audio`` is None on devices without audio capture.

    >>> stb.navigate_to("live_tv")             # doctest: +SKIP
    >>> stb.name, stb.model                    # doctest: +SKIP
    ('stb-1', 'VPY-STB-1')
    >>> if stb.serial is None:                 # doctest: +SKIP
    ...     pytest.skip("this bench has no serial console")
    """

    def __init__(self, device: DeviceClient, log: StepLog, navigator=None, serial_start: int = 0):
        self._device = device
        self._log = log
        self._navigator = navigator
        caps = device.info.get("capabilities", [])
        self.power = Power(device, log) if "power" in caps else None
        self.serial = Serial(device, log, serial_start) if "serial" in caps else None
        self.sim = SimControl(device) if "sim" in caps else None
        self.adb = Adb(device, log) if "adb" in caps else None
        #: the device's sound (:class:`~pytest_virtualpy.audio.Audio`); None without audio
        self.audio = Audio(device, log) if "audio" in caps else None

    @property
    def name(self) -> str:
        """The device's name in its lab (lab.toml), unique within the fleet.

        >>> stb.name          # doctest: +SKIP
        'stb-1'
        """
        return self._device.info["name"]

    @property
    def model(self) -> str:
        """The device's model, as ``@pytest.mark.device(model=...)`` asks for it.

        >>> stb.model         # doctest: +SKIP
        'VPY-STB-1'
        """
        return self._device.info["model"]

    @property
    def info(self) -> dict:
        """Everything the lab says about the device (a copy): name, model, kind, capabilities.

        >>> "serial" in stb.info["capabilities"]   # doctest: +SKIP
        True
        """
        return dict(self._device.info)

    def _nav(self):
        if callable(self._navigator):  # made on first use (the fixture passes a maker)
            self._navigator = self._navigator()
        if self._navigator is None:
            from pytest_virtualpy.errors import ConfigError

            raise ConfigError(
                f"no navigation tree is configured for {self.name}: give the device "
                'navigation = "tree.toml" in its lab.toml, or set virtualpy_navigation in '
                "your pytest ini to a navigation.toml (see docs/navigation.md)"
            )
        return self._navigator

    @property
    def navigation(self):
        """This device's :class:`~pytest_virtualpy.navigation.NavigationTree` (its lab's,
        else the ini's); ``stb.navigation.nodes`` lists the node names.

        >>> "settings" in stb.navigation.nodes   # doctest: +SKIP
        True
        """
        return self._nav().tree

    def navigate_to(self, node: str, timeout: float = 30.0) -> None:
        """Drive the device to navigation node ``node`` (a subtree's as ``"settings/network"``).

        Plans on measured edge costs, walks hop by hop (each a step and a KPI
        ``nav:FROM->TO``), recovers from a missed hop; raises :class:`NavigationError`
        (``.planned``, ``.taken``, ``.lost_at``, ``.screenshot``) when it cannot get there.
        See docs/navigation.md.

        >>> stb.navigate_to("settings/network")        # doctest: +SKIP
        >>> stb.navigate_to("guide", timeout=60)       # doctest: +SKIP
        """
        with self._log.step("navigate", node):
            self._nav().navigate_to(node, timeout=timeout)

    def current_node(self) -> str | None:
        """The navigation node the screen shows now, or None if none matches.

        One call to the daemon checks every node on one frame; the first node (in the
        tree's file order) whose recogniser holds wins.

        >>> stb.current_node()                          # doctest: +SKIP
        'home'
        """
        return self._nav().current_node()

    def __repr__(self) -> str:
        return f"<Stb {self.name} ({self.model})>"
