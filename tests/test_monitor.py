"""Monitoring in the real daemon over real RPyC: each fault gives exactly one incident.

The simulated box's faults ("black", "freeze") and its power switch (off: the capture
sees no signal), a real capture from an ffmpeg MJPEG-over-HTTP stream that stops
delivering (SIGSTOP: the connection stays open, no frame comes: a stalled capture) and
then dies (the source reports no signal and shows black frames), with the thresholds
of ``monitor_lab.FAST`` so every kind shows within seconds.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import numpy as np
import pytest
from monitor_lab import FAST, free_port, serve_lab, wait_for

from lab_daemon import lab_options
from lab_daemon.devices.sim import SimDevice
from lab_daemon.host import LabHost
from lab_daemon.monitor import IncidentLog, Watchdog, check
from lab_daemon.sim import SimulatedBox
from pytest_virtualpy.errors import ConfigError
from pytest_virtualpy.lab.client import LabClient
from pytest_virtualpy.lab.device import DeviceClient

pytestmark = pytest.mark.timeout(120)
FFMPEG = shutil.which("ffmpeg")


#: a box on a menu is silent (only live TV plays a tone): time to get it to live TV
MONITOR = dict(FAST, silence_secs=3.0)


def to_live_tv(dev) -> None:
    wait_for(lambda: dev.sim_state()["screen"] not in ("boot", "off"), 15, "the boot")
    dev.press("KEY_HOME")
    wait_for(lambda: dev.sim_state()["screen"] == "home", 5, "home")
    dev.press("KEY_OK")
    wait_for(lambda: dev.sim_state()["screen"] == "live_tv", 5, "live TV")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    served = serve_lab(tmp_path_factory.mktemp("monitor"), "mon", monitor=MONITOR)
    client = LabClient.connect(served.address, served.token, client_name="tests")
    yield served, client
    client.close()
    served.stop()


@pytest.fixture
def box(lab):
    """The lab's box, leased, fault-free, powered and with no incident open."""
    _, client = lab
    dev = DeviceClient(client, client.lease(None, "tests", 60))
    dev.sim_clear()
    if not dev.power("status")["on"]:
        dev.power("on")
    to_live_tv(dev)
    wait_for(lambda: not client.call("incidents", 0)["open"], 15, "no open incident")
    yield client, dev
    dev.sim_clear()
    client.release(dev.lease_id)


def opened(client, kind: str, timeout: float = 10.0) -> dict:
    def find():
        return next((i for i in client.call("incidents", 0)["open"] if i["kind"] == kind), None)

    return wait_for(find, timeout, f"an open {kind!r} incident")


def ended(client, incident: dict, timeout: float = 10.0) -> dict:
    def find():
        reply = client.call("incidents", incident["seq"])
        return next((i for i in reply["ended"] if i["id"] == incident["id"]), None)

    return wait_for(find, timeout, f"the end of {incident['id']}")


@pytest.mark.parametrize(
    ("fault", "kind", "threshold"),
    [("black", "black", "black_secs"), ("freeze", "frozen", "freeze_secs")],
)
def test_a_fault_gives_one_incident_that_ends(box, fault, kind, threshold):
    client, dev = box
    before = client.call("incidents", 0)
    t0 = time.time()
    dev.sim_inject(fault, {})
    incident = opened(client, kind)
    assert incident["device"] == dev.name and incident["end"] is None
    assert t0 - 0.5 <= incident["start"] <= t0 + 1.0, "the start is when the picture changed"
    assert incident["message"] and incident["test"] is None
    lab, started = before["lab"], round(before["started"] * 1000)
    assert incident["id"] == f"{lab}:{started}:{incident['seq']}"
    time.sleep(FAST["freeze_secs"] + 0.5)  # long enough for any other kind to open, too
    now_open = client.call("incidents", 0)["open"]
    assert [i["id"] for i in now_open] == [incident["id"]], "one cause, one incident"
    health = client.health()
    assert health["incidents"][dev.name]["open"] == [kind]
    dev.sim_clear()
    done = ended(client, incident)
    assert done["end"] - done["start"] >= FAST[threshold]
    assert not client.call("incidents", 0)["open"]


def test_power_off_is_no_signal_only(box):
    client, dev = box
    dev.power("off")  # the box shows its static "No signal" screen: not black, unchanging
    incident = opened(client, "no_signal")
    time.sleep(FAST["freeze_secs"] + FAST["black_secs"])
    assert [i["kind"] for i in client.call("incidents", 0)["open"]] == ["no_signal"]
    assert client.health()["devices"][dev.name]["signal"] is False
    dev.power("on")
    ended(client, incident)
    to_live_tv(dev)
    time.sleep(FAST["black_secs"] + 0.5)  # the boot is shorter than any threshold
    assert not client.call("incidents", 0)["open"]


def test_silence_is_an_incident_while_the_picture_is_fine(box):
    client, dev = box
    t0 = time.time()
    dev.sim_inject("mute", {})  # live TV goes on moving, without sound
    incident = opened(client, "silence")
    assert incident["start"] >= t0 - 1.0 and "dBFS" in incident["message"]
    assert [i["kind"] for i in client.call("incidents", 0)["open"]] == ["silence"]
    dev.sim_inject("freeze", {})  # now the picture is wrong too: one cause, one incident
    frozen = opened(client, "frozen")
    ended_silence = ended(client, incident)
    assert ended_silence["message"].endswith("(superseded by frozen)")
    assert ended_silence["end"] >= frozen["start"]
    assert [i["id"] for i in client.call("incidents", 0)["open"]] == [frozen["id"]]
    dev.sim_clear()
    ended(client, frozen)


def test_the_running_test_is_named_in_the_incident(box):
    client, dev = box
    dev.set_test("tests/test_x.py::test_zap")
    dev.sim_inject("freeze", {})
    assert opened(client, "frozen")["test"] == "tests/test_x.py::test_zap"
    dev.set_test(None)


def test_incidents_since_gives_each_change_once(box):
    client, dev = box
    dev.sim_inject("black", {})
    incident = opened(client, "black")
    dev.sim_clear()
    ended(client, incident)
    reply = client.call("incidents", 0)
    seq = reply["seq"]
    assert seq >= incident["seq"] + 1 and not reply["more"]
    assert incident["id"] in [i["id"] for i in reply["ended"]]
    assert client.call("incidents", seq)["ended"] == []  # nothing changed since
    assert client.call("incidents", seq)["seq"] == seq


@pytest.mark.parametrize("bad", [-1, "x", float("nan"), 2**60, None])
def test_incidents_rejects_a_bad_since_seq(lab, bad):
    _, client = lab
    with pytest.raises(Exception, match="since_seq must be"):
        client.call("incidents", bad)


def test_incidents_needs_no_lease_but_a_token(lab):
    served, _ = lab
    with LabClient.connect(served.address, served.token, client_name="no-lease") as c:
        reply = c.call("incidents", 0)
    assert reply["lab"] == "mon" and reply["enabled"] is True
    with pytest.raises(Exception, match="refused"):
        LabClient.connect(served.address, "wrong-token", client_name="intruder")


# --- a real capture that stalls, then loses its signal ----------------------------------


@pytest.mark.skipif(FFMPEG is None and not os.environ.get("CI"), reason="needs ffmpeg")
def test_a_stalled_capture_then_a_dead_source(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}/x.mjpg"
    ffmpeg = subprocess.Popen(
        [FFMPEG, "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi",
         "-i", "testsrc=size=320x240:rate=10", "-c:v", "mjpeg", "-q:v", "5", "-f", "mpjpeg",
         "-content_type", "multipart/x-mixed-replace;boundary=ffmpeg", "-listen", "1", url],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    # a long read timeout: a source that stops sending is a stall, not (yet) a lost signal
    devices = (
        '[[devices]]\nname = "hdmi-1"\n'
        f'video = {{ source = "{url}", timeout_secs = 30.0, reconnect_max_secs = 1.0 }}\n'
    )
    served = serve_lab(tmp_path, "capture", devices)
    try:
        with LabClient.connect(served.address, served.token, client_name="tests") as client:
            wait_for(lambda: client.health()["devices"]["hdmi-1"]["signal"], 10, "the signal")
            time.sleep(2 * FAST["freeze_secs"])  # the test pattern moves: nothing to report
            assert client.call("incidents", 0)["open"] == []
            ffmpeg.send_signal(signal.SIGSTOP)  # the connection stays up; no frame comes
            stalled = opened(client, "capture_stalled")
            assert "stalled" in stalled["message"]
            time.sleep(FAST["freeze_secs"] + 0.5)  # the last frame stays: frozen, suppressed
            assert [i["kind"] for i in client.call("incidents", 0)["open"]] == ["capture_stalled"]
            ffmpeg.send_signal(signal.SIGCONT)
            ended(client, stalled)
            ffmpeg.kill()  # the source is gone: no signal, black frames
            lost = opened(client, "no_signal")
            time.sleep(FAST["black_secs"] + FAST["freeze_secs"])
            assert [i["id"] for i in client.call("incidents", 0)["open"]] == [lost["id"]]
            kinds = [i["kind"] for i in client.call("incidents", 0)["ended"]]
            assert kinds == ["capture_stalled"], "no black or frozen incident"
    finally:
        ffmpeg.kill()
        ffmpeg.wait(5)
        served.stop()


# --- in-process: a capture thread that is gone, the options, the bounded log -------------


def test_a_dead_capture_thread_is_a_stall():
    options = dict(lab_options.defaults("monitor"), **FAST)
    recording = dict(lab_options.defaults("recording"), enabled=False)
    box = SimulatedBox("s0", fps=10, boot_secs=0.3)
    host = LabHost("inproc", [SimDevice(box)], tables={"monitor": options, "recording": recording})
    host.start()
    try:
        rt = host.runtimes[0]
        time.sleep(1.0)
        assert host.incidents.since(0)["open"] == []
        rt.capture.stop()
        rt.capture.join(2)
        incident = wait_for(lambda: host.incidents.since(0)["open"], 5, "a stall")[0]
        assert incident["kind"] == "capture_stalled"
        assert incident["message"] == "the daemon's capture thread is not running"
    finally:
        host.stop()


def test_monitoring_can_be_turned_off():
    options = dict(lab_options.defaults("monitor"), enabled=False)
    recording = dict(lab_options.defaults("recording"), enabled=False)
    host = LabHost(
        "off", [SimDevice(SimulatedBox("s0", fps=10, boot_secs=0.3))],
        tables={"monitor": options, "recording": recording},
    )  # fmt: skip
    host.start()
    try:
        assert not [w for w in host.runtimes[0].workers if isinstance(w, Watchdog)]
        assert host.incidents.since(0)["enabled"] is False
    finally:
        host.stop()


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("interval_secs", 0.0, "interval_secs must be 0.1 to 60"),
        ("black_secs", -1.0, r"black_secs must be 0 \(off\)"),
        ("silence_db", 3.0, "silence_db must be -120 to 0"),
        ("keep", 0, "keep must be 1 to 100000"),
    ],
)
def test_bad_monitor_options_are_explained(key, value, says):
    with pytest.raises(ConfigError, match=says):
        check(dict(lab_options.defaults("monitor"), **{key: value}))


def test_the_log_keeps_open_incidents_and_the_last_ended_ones():
    log = IncidentLog("pi", started=1000.0, keep=3)
    incidents = [log.open(f"tv-{i}", "black", 1000.0 + i, "black screen") for i in range(6)]
    for inc in incidents[:5]:
        log.close(inc, inc.start + 10)
    reply = log.since(0)
    assert [i["device"] for i in reply["ended"]] == ["tv-2", "tv-3", "tv-4"]
    assert [i["device"] for i in reply["open"]] == ["tv-5"]
    assert len({i.id for i in incidents}) == 6 and reply["seq"] == 11
    page = log.since(0, limit=2)
    assert page["more"] and [i["device"] for i in page["ended"]] == ["tv-2", "tv-3"]
    assert [i["device"] for i in log.since(page["seq"])["ended"]] == ["tv-4"]
    log.close(incidents[0], 2000.0)  # closing twice changes nothing
    assert log.since(0)["seq"] == 11
    assert log.summary()["tv-5"] == {"open": ["black"], "count": 1}


class _Fake:
    """Just enough of a DeviceRuntime for :meth:`Watchdog.look` with chosen times."""

    def __init__(self):
        self.black, self.level = False, 0.0
        self.device = type("D", (), {"name": "tv-1", "video": type("V", (), {"signal": True})})
        self.capture = self
        self.ring = self
        self.audio = self
        self.frames_captured = 0
        self._rng = np.random.default_rng(0)

    def is_alive(self) -> bool:
        return True

    def latest(self, timeout: float = 0):
        self.frames_captured += 1
        if self.black:
            return np.zeros((90, 160, 3), "uint8")
        return self._rng.integers(0, 256, (90, 160, 3), "uint8")  # always changing

    def level_db(self, secs: float) -> float:
        return self.level


def test_silence_after_a_black_screen_starts_when_the_black_screen_ends():
    log = IncidentLog("pi", started=1000.0)
    rt = _Fake()
    dog = Watchdog(rt, log, dict(lab_options.defaults("monitor"), **FAST))

    def run(start: float, stop: float) -> None:
        for t in range(int(start * 10), int(stop * 10), 2):
            dog.look(wall=1000.0 + t / 10, mono=t / 10)

    rt.level = -90.0  # mute: silence from t=0, due at t=1
    run(0.0, 2.0)
    rt.black = True  # black from t=2, due at t=3: it supersedes the silence
    run(2.0, 4.0)
    rt.black = False  # the picture comes back, still without sound
    run(4.0, 6.0)
    reply = log.since(0)
    ended, (still,) = reply["ended"], reply["open"]
    assert [(i["kind"], i["message"].endswith("(superseded by black)")) for i in ended] == [
        ("silence", True),
        ("black", False),
    ]
    black = ended[1]
    assert still["kind"] == "silence" and still["start"] >= black["end"], "no overlap"
