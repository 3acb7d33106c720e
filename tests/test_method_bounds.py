"""One client must not freeze or exhaust the daemon (issue #10, security).

Each test talks to a real daemon subprocess over real RPyC and reproduces one attack a
probe of the old daemon found: a catastrophic regular expression, a tiny PNG that
decodes to gigabytes, non-finite numbers, a power cycle with a bad argument, unbounded
serial input, oversized arguments, and clients that starve the capture.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from pytest_virtualpy.errors import BadArgument, ImageError, PatternError
from pytest_virtualpy.lab.client import LabClient
from pytest_virtualpy.lab.device import DeviceClient
from pytest_virtualpy.lab.local import LocalLab, start_sim_lab
from tests.conftest import client_opener

pytestmark = pytest.mark.timeout(120)

FPS = 30.0


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> LocalLab:
    """A daemon of our own (3 boxes at 30 fps), so its memory and capture are ours to judge."""
    lab = start_sim_lab(3, fps=FPS, boot_secs=0.5, workdir=tmp_path_factory.mktemp("bounds"))
    previous, end = rss_mb(lab), time.monotonic() + 15
    while time.monotonic() < end:  # let the frame rings fill before memory is judged
        time.sleep(1)
        if rss_mb(lab) - previous < 4:
            break
        previous = rss_mb(lab)
    yield lab
    lab.stop()


@pytest.fixture
def clients(lab):
    with client_opener(lab, "bounds") as open_client:
        yield open_client


def _booted(dev: DeviceClient) -> DeviceClient:
    if not dev.power("status")["on"]:
        dev.power("on")
    end = time.monotonic() + 15
    while dev.sim_state()["screen"] in ("boot", "off"):
        assert time.monotonic() < end, "the simulated box did not boot"
        time.sleep(0.1)
    return dev


@pytest.fixture
def leased(lab, clients):
    """``leased(i)``: device ``i`` of the lab, leased on a connection of its own, booted."""

    held: list[DeviceClient] = []

    def lease(i: int) -> DeviceClient:
        client = clients()
        held.append(DeviceClient(client, client.lease(lab.devices[i], "bounds", 60)))
        return _booted(held[-1])

    yield lease
    for dev in held:
        with contextlib.suppress(Exception):
            dev.client.release(dev.lease_id)


def rss_mb(lab: LocalLab) -> float:
    """The daemon process's resident memory, from /proc."""
    for line in Path(f"/proc/{lab.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/PID/status")


def frames_captured(client: LabClient, device: str) -> int:
    return client.health()["devices"][device]["frames_captured"]


def gray_png(width: int, height: int, seed: int = 0) -> bytes:
    """A valid 8-bit grayscale PNG, compressed row by row: tiny on the wire, huge decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    z = zlib.compressobj(9)
    row = b"\0" + bytes([seed % 256]) * width
    data = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


# --- 1. regular expressions ----------------------------------------------------------------


def test_a_catastrophic_pattern_is_refused_and_starves_nobody(lab, leased, clients):
    """serial_expect('(a+)+b') over 26 'a's froze every client and the capture for 11 s.

    The regex package backtracks less than ``re``, so it takes more 'a's to hurt it.
    """
    dev = leased(0)
    other = leased(1).name
    observer = clients()
    dev.serial_write(b"\r\n")
    dev.serial_expect(r"stb# ", 5)
    dev.serial_write(b"a" * 4000)  # typed, not entered: the console echoes 4000 'a's
    result: dict = {}

    def hostile():
        t0 = time.monotonic()
        try:
            result["reply"] = dev.serial_expect("(a+)+b", 10)
        except Exception as e:
            result["error"] = e
        result["secs"] = time.monotonic() - t0

    before, t0 = frames_captured(observer, other), time.monotonic()
    worker = threading.Thread(target=hostile)
    worker.start()
    slowest = 0.0
    while worker.is_alive() and time.monotonic() - t0 < 12:
        t = time.monotonic()
        observer.hello()  # another connection's call answers promptly meanwhile
        slowest = max(slowest, time.monotonic() - t)
        time.sleep(0.05)
    worker.join(20)
    elapsed = time.monotonic() - t0
    captured = frames_captured(observer, other) - before
    print(
        f"refused in {result['secs']:.2f} s; hello() at most {slowest:.3f} s; other device "
        f"{captured} frames in {elapsed:.1f} s"
    )
    assert isinstance(result.get("error"), PatternError), result
    assert "too costly" in str(result["error"])
    assert result["secs"] < 5, f"the refusal took {result['secs']:.1f} s"
    assert slowest < 1.0, f"another connection waited {slowest:.2f} s for hello()"
    assert captured >= 0.6 * FPS * elapsed, f"{captured} frames in {elapsed:.1f} s at {FPS} fps"
    dev.serial_write(b"\x03")  # the console still works for its holder
    assert dev.serial_expect(r"stb# ", 5)["matched"]


def test_a_pattern_whose_compilation_explodes_is_refused(leased):
    dev = leased(0)
    t0 = time.monotonic()
    with pytest.raises(PatternError, match="repeat"):
        dev.serial_expect("(a{1000}){1000}", 1)
    assert time.monotonic() - t0 < 2


# --- 2. reference images and masks -----------------------------------------------------------


def test_a_huge_reference_png_is_refused_before_decoding(lab, leased):
    """A 150 KB PNG claiming 12000x12000 pixels was decoded (144 MB) and cached for good."""
    dev = leased(0)
    before = rss_mb(lab)
    for seed in range(3):
        png = gray_png(12000, 12000, seed)
        assert len(png) < 1 << 20
        with pytest.raises(ImageError, match="12000x12000 pixels"):
            dev.match(png, None, None)
        with pytest.raises(ImageError, match="12000x12000"):
            dev.is_black(None, png, 10)  # as a mask
    growth = rss_mb(lab) - before
    assert growth < 60, f"the daemon grew by {growth:.0f} MB"


def test_decoded_references_are_bounded_by_bytes(lab, leased):
    """40 distinct 1080p references (250 MB decoded): the cache keeps at most 64 MB."""
    dev = leased(0)
    ramp = np.linspace(0, 255, 1920, dtype=np.uint8)
    base = np.repeat(np.broadcast_to(ramp, (1080, 1920))[:, :, None], 3, axis=2).copy()
    before = rss_mb(lab)
    for i in range(40):
        base[:16, :16] = i  # each one distinct, so each is decoded and cached anew
        png = cv2.imencode(".png", base)[1].tobytes()
        assert dev.match(png, None, None)["match"] is False  # larger than the 720p frame
    growth = rss_mb(lab) - before
    print(f"daemon RSS grew {growth:.0f} MB for 40 references of {base.nbytes >> 20} MB")
    assert growth < 140, f"the daemon grew by {growth:.0f} MB for 40 references"


def test_an_image_that_is_not_png_or_jpeg_is_refused(leased):
    dev = leased(0)
    _ok, bmp = cv2.imencode(".bmp", np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ImageError, match="PNG or JPEG"):
        dev.match(bmp.tobytes(), None, None)


# --- 3. numbers ------------------------------------------------------------------------------


def test_get_frame_far_in_the_future_is_refused_at_once(leased):
    """get_frame(after=1e300) never returned, leaking a daemon thread per call."""
    dev = leased(0)
    dev.client.call_margin_secs = 3.0
    t0 = time.monotonic()
    with pytest.raises(BadArgument, match="after"):
        dev.get_frame(after=1e300)
    with pytest.raises(BadArgument, match="future"):
        dev.get_frame(after=time.time() + 3600)
    assert time.monotonic() - t0 < 3
    meta, _ = dev.get_frame(after=time.time() + 0.5)  # a little ahead is fine
    assert meta["time"] > 0


NAN, INF = math.nan, math.inf
SMALL_PNG = cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))[1].tobytes()

BAD_CALLS = {
    "press hold NaN": ("press", "KEY_OK", NAN),
    "press hold 1e9": ("press", "KEY_OK", 1e9),
    "press_and_wait stable inf": ("press_and_wait", "KEY_OK", None, None, 1, INF, None),
    "press_and_wait noise NaN": ("press_and_wait", "KEY_OK", None, None, 1, 0.1, NAN),
    "wait_for_match consecutive inf": ("wait_for_match", SMALL_PNG, None, None, 1, INF),
    "wait_for_motion timeout NaN": ("wait_for_motion", None, None, NAN, 1, None),
    "wait_for_motion consecutive 10**9": ("wait_for_motion", None, None, 1, 10**9, None),
    "wait_for_motion noise -inf": ("wait_for_motion", None, None, 1, 1, -INF),
    "detect_motion since NaN": ("detect_motion", None, None, None, NAN, 5),
    "detect_motion max_frames inf": ("detect_motion", None, None, None, None, INF),
    "is_black threshold NaN": ("is_black", None, None, NAN),
    "wait_for_black threshold 1e300": ("wait_for_black", None, None, 1e300, 1),
    "is_frozen freeze inf": ("is_frozen", None, None, INF, None),
    "is_frozen noise NaN": ("is_frozen", None, None, 1, NAN),
    "get_frame quality 10**9": ("get_frame", "jpeg", None, None, 10**9),
    "get_frame region inf": ("get_frame", "png", (0, 0, INF, 10), None, 90),
    "serial_read timeout inf": ("serial_read", INF),
    "serial_discard before NaN": ("serial_discard", NAN),
    "serial_log since inf": ("serial_log", INF),
    "audio_level secs NaN": ("audio_level", NAN),
    "wait_for_audio window inf": ("wait_for_audio", -20, 1, INF),
    "audio_samples end NaN": ("audio_samples", 1.0, NAN),
    "recording_frames max_bytes NaN": ("recording_frames", 0, 1, -1, NAN),
    "sim_inject latency inf": ("sim_inject", "slow", '{"latency_ms": Infinity}'),
    "power off_secs NaN": ("power", "cycle", NAN),
}


@pytest.mark.parametrize("call", BAD_CALLS.values(), ids=BAD_CALLS.keys())
def test_non_finite_and_out_of_range_numbers_are_refused(leased, call):
    dev = leased(2)
    method, *args = call
    dev.client.call_margin_secs = 5.0
    t0 = time.monotonic()
    with pytest.raises(BadArgument):
        if method in (
            "get_frame",
            "serial_read",
            "serial_log",
            "audio_samples",
            "recording_frames",
        ):
            dev._call_bytes(method, *args)
        else:
            dev._call(method, *args)
    assert time.monotonic() - t0 < 5
    assert dev.sim_faults() == {}


# --- 4. validate before acting -----------------------------------------------------------------


@pytest.mark.parametrize("off_secs", [NAN, -1.0, 1e9, "soon"])
def test_power_cycle_with_a_bad_off_time_leaves_the_device_on(leased, off_secs):
    """power('cycle', off_secs=bad) switched the device off, then failed."""
    dev = leased(2)
    with pytest.raises(BadArgument, match="off_secs"):
        dev._call("power", "cycle", off_secs)
    assert dev.power("status")["on"] is True
    assert dev.sim_state()["powered"] is True


# --- 5. serial -----------------------------------------------------------------------------------


def test_a_serial_write_is_bounded(leased):
    dev = leased(0)
    with pytest.raises(BadArgument, match="at most 65536 bytes"):
        dev.serial_write(b"x" * (64 * 1024 + 1))
    assert dev.serial_write(b"\r\n") == 2


def test_a_megabyte_line_on_the_simulated_console_costs_linear_time(leased):
    """The simulator's console built a line by string concatenation: quadratic."""
    dev = leased(0)
    dev.serial_write(b"\x03")
    dev.serial_expect(r"stb# ", 5)
    t0 = time.monotonic()
    for _ in range(16):  # 1 MiB typed without Enter, in the largest writes allowed
        dev.serial_write(b"x" * (64 * 1024))
    dev.serial_write(b"\r\nversion\r\n")
    reply = dev.serial_expect(r"virtualpy STB firmware", 30)
    elapsed = time.monotonic() - t0
    assert reply["matched"], "the console never answered after a 1 MiB line"
    assert elapsed < 15, f"a 1 MiB line took {elapsed:.1f} s"
    echoed = reply["before"].count("x")
    assert echoed <= 8192, f"the console kept a {echoed}-character line"


# --- 6. generic bounds ---------------------------------------------------------------------------


def test_oversized_and_malformed_arguments_name_the_argument(leased):
    dev = leased(1)
    with pytest.raises(BadArgument, match=r"press\(\): argument key is too long: 70000 characters"):
        dev._call("press", "K" * 70000, None)
    with pytest.raises(BadArgument, match="argument image_png is too long: 9437184 bytes"):
        dev._call("match", b"\0" * (9 << 20), None, None)
    with pytest.raises(BadArgument, match="nests tuples"):
        dev._call_bytes("get_frame", "png", ((((1,),),),), None, 90)
    with pytest.raises(BadArgument, match="has 100 items"):
        dev._call_bytes("get_frame", "png", tuple(range(100)), None, 90)
    with pytest.raises(BadArgument, match=r"takes the arguments \(lease_id, key, hold_secs\)"):
        dev._call("press", "KEY_OK")  # wrong arity: was "lab daemon internal error"
    with pytest.raises(BadArgument, match="2\\*\\*100"):
        dev._call("serial_discard", 10**40)
    assert dev.press("KEY_OK")["key"] == "KEY_OK"


def test_calls_in_flight_per_connection_are_capped():
    """The cap is explicit, even though one connection is served by one daemon thread."""
    from lab_daemon import call_limits
    from lab_daemon.connection import Peer

    peer = Peer.new("10.0.0.9", "many")
    with contextlib.ExitStack() as stack:
        for _ in range(call_limits.MAX_CALLS_PER_CONNECTION):
            stack.enter_context(call_limits.in_flight(peer, "wait_for_match"))
        with pytest.raises(BadArgument, match="calls in flight"):
            stack.enter_context(call_limits.in_flight(peer, "wait_for_match"))
        other = Peer.new("10.0.0.9", "other")
        with call_limits.in_flight(other, "match"):  # another connection is not affected
            pass
    with call_limits.in_flight(peer, "match"):  # and the count goes down again
        pass


def test_clients_hammering_the_daemon_do_not_starve_another_devices_capture(lab, clients, leased):
    """50 concurrent waits once cost both devices 43% of their frames, even an idle one."""
    observer = clients()
    idle = lab.devices[2]
    t0, before = time.monotonic(), frames_captured(observer, idle)
    time.sleep(3)
    baseline = (frames_captured(observer, idle) - before) / (time.monotonic() - t0)

    stop = threading.Event()
    devices = [leased(0), leased(1)]
    frame = cv2.imdecode(np.frombuffer(devices[0].get_frame()[1], np.uint8), cv2.IMREAD_COLOR)
    _ok, ref = cv2.imencode(".png", frame[300:420, 500:780])
    ref = ref.tobytes()
    counts = [0] * 8

    def match_loop(i: int, dev: DeviceClient) -> None:
        while not stop.is_set():
            dev.match(ref, None, None)
            counts[i] += 1

    def lab_loop(i: int, client: LabClient) -> None:
        while not stop.is_set():
            client.list_devices()
            client.health()
            counts[i] += 1

    workers = [threading.Thread(target=match_loop, args=(i, d)) for i, d in enumerate(devices)]
    workers += [threading.Thread(target=lab_loop, args=(i, clients())) for i in range(2, 8)]
    for w in workers:
        w.start()
    try:
        time.sleep(1)
        t0, before = time.monotonic(), frames_captured(observer, idle)
        time.sleep(4)
        rate = (frames_captured(observer, idle) - before) / (time.monotonic() - t0)
    finally:
        stop.set()
        for w in workers:
            w.join(30)
    assert all(counts), f"every hammering client got answers: {counts}"
    print(f"idle device: {baseline:.1f} fps alone, {rate:.1f} fps under load; calls {counts}")
    assert rate >= 0.8 * baseline, f"{rate:.1f} fps under load vs {baseline:.1f} fps alone"
