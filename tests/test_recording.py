"""The rolling recording: bounded stores (memory and disk), the recorder worker fed by a
real capture ring, and its frames served over real RPyC by the simulated lab daemon."""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest

from lab_daemon import lab_options
from lab_daemon.capture import FrameRing
from lab_daemon.recording.recorder import Recorder, check
from lab_daemon.recording.store import SEGMENT_SECS, DiskStore, MemoryStore
from pytest_virtualpy.errors import BadArgument, ConfigError
from pytest_virtualpy.vision import Frame
from tests.conftest import wait_until


def jpeg(width: int = 320, height: int = 180, seed: int = 0) -> bytes:
    noise = np.random.default_rng(seed).integers(0, 256, (height, width, 3), np.uint8)
    return cv2.imencode(".jpg", noise, [cv2.IMWRITE_JPEG_QUALITY, 70])[1].tobytes()


@pytest.mark.parametrize("kind", ["memory", "disk"])
def test_store_is_bounded_by_seconds(kind, tmp_path):
    store = MemoryStore(5, 1 << 30) if kind == "memory" else DiskStore(5, 1 << 30, tmp_path)
    data = jpeg()
    for i in range(200):  # 20 s at 10 fps
        store.append(1000 + i / 10, 320, 180, data)
    info = store.info()
    assert info["newest"] == pytest.approx(1019.9)
    assert info["newest"] - info["oldest"] <= 5.0 + 1e-9
    assert info["frames"] == 51 and info["bytes"] == 51 * len(data)
    kept = store.select(0, 2000, 0)
    assert [e.index for e in kept] == list(range(150, 201))
    assert all(b == data for _, b in store.read(kept))
    if kind == "disk":  # old segments are deleted, the rest hold the frames kept
        files = list(tmp_path.glob("segment-*.jpegs"))
        assert len(files) <= 5 / SEGMENT_SECS + 2
        assert sum(f.stat().st_size for f in files) == store.disk_bytes()
    store.close()
    assert store.info()["frames"] == 0
    assert not list(tmp_path.glob("segment-*"))


@pytest.mark.parametrize("kind", ["memory", "disk"])
def test_store_is_bounded_by_bytes(kind, tmp_path):
    frames = [jpeg(seed=i) for i in range(4)]
    size = max(len(f) for f in frames)
    limit = 40 * size
    store = MemoryStore(1e6, limit) if kind == "memory" else DiskStore(1e6, limit, tmp_path)
    for i in range(400):
        store.append(1000 + i / 10, 320, 180, frames[i % 4])
        assert store.bytes_used <= limit
        if kind == "disk":
            assert store.disk_bytes() <= limit
    kept = store.select(0, 1e10, 0)
    assert 20 <= len(kept) <= 40 and kept[-1].index == 400
    assert [b for _, b in store.read(kept[-4:])] == [frames[(e.index - 1) % 4] for e in kept[-4:]]
    store.close()


def test_disk_store_keeps_each_frames_own_size_and_clears_old_segments(tmp_path):
    (tmp_path / "segment-00000001.jpegs").write_bytes(b"left by an earlier daemon")
    store = DiskStore(60, 1 << 30, tmp_path)
    assert not (tmp_path / "segment-00000001.jpegs").exists()
    small, big = jpeg(320, 180), jpeg(1280, 720)
    store.append(10.0, 320, 180, small)
    store.append(10.1, 1280, 720, big)
    entries = store.select(0, 20, 0)
    assert [(e.width, e.height) for e in entries] == [(320, 180), (1280, 720)]
    pictures = [cv2.imdecode(np.frombuffer(b, np.uint8), 1) for _, b in store.read(entries)]
    assert [p.shape for p in pictures] == [(180, 320, 3), (720, 1280, 3)]
    assert [e.index for e in store.select(0, 20, entries[0].index)] == [entries[1].index]
    store.close()


def test_recording_options_are_checked():
    good = lab_options.defaults("recording")
    check(good)
    for key, value, says in [
        ("storage", "tape", "storage must be one of memory, disk"),
        ("fps", 0, "fps must be positive"),
        ("seconds", -1.0, "seconds must be positive"),
        ("quality", 99, "quality must be 30 to 95"),
    ]:
        with pytest.raises(ConfigError, match=says):
            check(dict(good, **{key: value}))


def _feed(ring: FrameRing, stop: threading.Event, sizes: list, fps: float = 30.0) -> None:
    """A capture: frames at ``fps``, of the size ``sizes[0]`` says at that moment."""
    n = 0
    while not stop.is_set():
        w, h = sizes[0]
        img = np.zeros((h, w, 3), np.uint8) if sizes[1] else np.full((h, w, 3), n % 250, np.uint8)
        ring.append(Frame(img, time=time.time()))
        n += 1
        time.sleep(1 / fps)


@pytest.mark.parametrize("storage", ["memory", "disk"])
def test_recorder_samples_at_its_rate_through_size_changes_and_black(storage, tmp_path):
    ring = FrameRing(8)
    sizes = [(320, 180), False]  # (size, black)
    stop = threading.Event()
    feeder = threading.Thread(target=_feed, args=(ring, stop, sizes), daemon=True)
    feeder.start()
    options = dict(
        lab_options.defaults("recording"), fps=10.0, storage=storage, folder=str(tmp_path)
    )
    rec = Recorder("tv-1", ring, 30.0, options, lab="test")
    rec.start()
    try:
        time.sleep(1.0)
        sizes[0] = (640, 360)  # the source changes resolution...
        time.sleep(1.0)
        sizes[1] = True  # ... then loses its signal: black frames
        time.sleep(1.0)
    finally:
        stop.set()
        feeder.join(2)
    info = rec.info()
    assert info["fps"] == 10.0 and info["recording"]
    assert 22 <= info["frames"] <= 32  # ~10 per second for 3 s
    entries = rec.store.select(0, 1e10, 0)
    assert {(e.width, e.height) for e in entries} == {(320, 180), (640, 360)}
    last = cv2.imdecode(np.frombuffer(rec.store.read(entries[-1:])[0][1], np.uint8), 1)
    assert last.shape == (360, 640, 3) and last.max() < 10  # black, and still recorded
    if storage == "disk":
        assert list((tmp_path / "tv-1").glob("segment-*.jpegs"))
    rec.stop()
    rec.join(2)
    assert not rec.is_alive()
    assert not (tmp_path / "tv-1").exists() or not list((tmp_path / "tv-1").glob("segment-*"))


def test_recorder_never_records_faster_than_capture():
    ring = FrameRing(8)
    options = dict(lab_options.defaults("recording"), fps=25.0)
    rec = Recorder("tv-1", ring, 5.0, options)
    assert rec.fps == 5.0
    sizes, stop = [(64, 36), False], threading.Event()
    feeder = threading.Thread(target=_feed, args=(ring, stop, sizes, 5.0), daemon=True)
    feeder.start()
    rec.start()
    time.sleep(2.0)
    stop.set()
    times = [e.time for e in rec.store.select(0, 1e10, 0)]
    rec.stop()
    rec.join(2)
    assert rec.store.info()["frames"] == 0  # a stopped recorder lets its frames go
    assert len(times) == len(set(times))  # each captured frame kept once at most
    assert 7 <= len(times) <= 11


def test_a_still_screen_is_encoded_once_and_a_changed_one_again():
    """The capture repeats its read-only array for an unchanged screen: no new encoding."""
    ring = FrameRing(8)
    still = np.zeros((90, 160, 3), np.uint8)  # smooth, so that JPEG keeps it close
    still[:, :, 0] = np.linspace(0, 255, 160, dtype=np.uint8)
    still[:, :, 2] = np.linspace(0, 255, 90, dtype=np.uint8)[:, None]
    still.flags.writeable = False
    pictures = [still]
    stop = threading.Event()

    def feed() -> None:
        while not stop.is_set():
            ring.append(Frame(pictures[0], time=time.time()))
            time.sleep(1 / 30)

    threading.Thread(target=feed, daemon=True).start()
    rec = Recorder("tv-1", ring, 30.0, dict(lab_options.defaults("recording"), fps=10.0))
    rec.start()
    try:
        wait_until(lambda: rec.frames_recorded >= 8, timeout=10)
        assert rec.frames_reused >= rec.frames_recorded - 2  # encoded once (or twice, racing)
        changed = still.copy()  # writable: a real capture's fresh array
        changed[:45] = 255 - changed[:45]
        pictures[0] = changed
        reused = rec.frames_reused
        wait_until(lambda: rec.frames_recorded >= 14, timeout=10)
        assert rec.frames_reused == reused  # writable frames are always encoded
        jpegs = [j for _, j in rec.store.read(rec.store.select(0, 1e10, 0))]
    finally:
        stop.set()
        rec.stop()
        rec.join(2)
    decoded = [cv2.imdecode(np.frombuffer(j, np.uint8), 1) for j in jpegs]
    first, last = decoded[0].astype(int), decoded[-1].astype(int)
    assert np.abs(first - still).mean() < 12  # each JPEG shows its own picture
    assert np.abs(last - changed).mean() < 12 and np.abs(last - still).mean() > 40


# --- over RPyC, from the simulated lab daemon --------------------------------------------


def test_recording_info_and_frames_over_rpyc(device):
    info = wait_until(lambda: (i := device.recording_info())["frames"] >= 20 and i)
    assert info["storage"] == "memory" and info["fps"] == 10.0 and info["seconds"] == 120.0
    assert info["newest"] == pytest.approx(time.time(), abs=2.0)
    start, end = info["newest"] - 2.0, info["newest"]
    # small chunks: the client pages through them
    after, frames, data = 0, [], b""
    for _ in range(100):
        meta, chunk = device.recording_frames(start, end, after, 64 << 10)
        assert len(chunk) == sum(f["size"] for f in meta["frames"])
        assert len(chunk) <= 64 << 10 or len(meta["frames"]) == 1
        frames += meta["frames"]
        data += chunk
        if not meta["more"]:
            break
        after = meta["next"]
    assert len(frames) >= 15  # ~20 in 2 s at 10 fps
    assert [f["index"] for f in frames] == sorted({f["index"] for f in frames})
    assert all(start <= f["time"] <= end for f in frames)
    first = cv2.imdecode(np.frombuffer(data[: frames[0]["size"]], np.uint8), 1)
    assert first.shape == (frames[0]["height"], frames[0]["width"], 3) == (720, 1280, 3)
    meta, whole = device.recording_frames(start, end, 0, 4 << 20)
    assert whole == data and not meta["more"]


@pytest.mark.parametrize(
    "args, says",
    [
        ((float("nan"), 1.0, 0, 1 << 20), "start must be between 0 and"),
        ((10.0, 5.0, 0, 1 << 20), "end must be between 10"),
        ((0.0, 1.0, 0, 64 << 20), "max_bytes must be between"),
        ((0.0, 1.0, "x", 1 << 20), "after_index must be a number"),
    ],
)
def test_recording_frames_rejects_bad_numbers(device, args, says):
    with pytest.raises(BadArgument, match=says):
        device.recording_frames(*args)
