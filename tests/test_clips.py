"""Clips of tests, end to end: an example suite runs (pytester) with the plugin against the
simulated lab; a failing test's clip must decode, last as long as the test plus the
margins, end on the failure screen, carry the steps as subtitles, and be in the artifacts
folder, the results database and the Allure results. Also ``--video=all|off``, and the
encoder alone on frames that change size, with sound."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from pytest_virtualpy.clips import Cue, RecordedFrame, encode_mp4, step_cues, to_webvtt
from pytest_virtualpy.steps import Step

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

CONFTEST = """
import json


def pytest_virtualpy_artifact(item, artifact):
    with open("artifacts.jsonl", "a") as f:
        f.write(json.dumps({"test": item.name, **artifact}) + "\\n")


def pytest_runtest_logreport(report):
    if report.when == "call":
        with open("durations.jsonl", "a") as f:
            f.write(json.dumps({"test": report.nodeid.split("::")[-1],
                                "duration": report.duration}) + "\\n")
"""

TESTS = """
def test_about_is_black(stb, tv_screen):
    stb.navigate_to("about")
    assert tv_screen.is_black()


def test_home(stb, tv_screen):
    stb.navigate_to("home")
"""


def _project(pytester: pytest.Pytester, ini_extra: str = "") -> None:
    pytester.makeini(
        "[pytest]\nvirtualpy_sim_boot_secs = 0.5\nvirtualpy_navigation = navigation.toml\n"
        + ini_extra
    )
    shutil.copy(EXAMPLES / "navigation.toml", pytester.path)
    shutil.copytree(EXAMPLES / "images", pytester.path / "images")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_device=TESTS)


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _decode(path: Path) -> tuple[float, list[np.ndarray], list[str]]:
    """The clip's duration (s), its pictures (BGR) and its subtitle samples' text."""
    with av.open(str(path)) as c:
        duration = c.duration / av.time_base
        assert c.streams.video[0].codec_context.name == "h264"
        assert c.streams.video[0].format.name == "yuv420p"
        pictures = [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]
    with av.open(str(path)) as c:
        texts = [bytes(p)[2:].decode() for p in c.demux(c.streams.subtitles[0]) if p.size > 2]
    return duration, pictures, texts


def _diff(a: np.ndarray, b: np.ndarray) -> float:
    b = cv2.resize(b, (a.shape[1], a.shape[0])) if a.shape != b.shape else b
    return float(cv2.absdiff(a, b).mean())


def test_a_failing_tests_clip_everywhere_it_belongs(pytester):
    _project(pytester)
    results = pytester.path / "allure-results"
    result = pytester.runpytest(
        f"--alluredir={results}", "--artifacts=arts", "-k", "about_is_black"
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*virtualpy video*", "clip: *clip.mp4 (*s, * frames*"])
    saved = {a["name"]: a for a in _jsonl(pytester.path / "artifacts.jsonl")}
    clip, vtt, shot = saved["clip.mp4"], saved["clip.vtt"], saved["failure.png"]
    assert (clip["kind"], vtt["kind"]) == ("video", "subtitles")
    path = Path(clip["path"])
    assert path.is_file() and (pytester.path / "arts") in path.parents
    assert _sha256(path) == clip["sha256"] and path.stat().st_size == clip["size"]

    duration, pictures, texts = _decode(path)
    call = _jsonl(pytester.path / "durations.jsonl")[0]["duration"]
    assert duration == pytest.approx(call + 2.0, abs=1.0)
    assert len(pictures) >= 10
    failure = cv2.imread(shot["path"])
    last = _diff(pictures[-1], failure)
    first = _diff(pictures[0], failure)
    assert last < 6, f"the clip's last frame is not the failure screen (mean diff {last:.1f})"
    assert first > 3 * last + 5, "the clip's first frame already shows the failure screen"
    assert any("navigate about" in t for t in texts), texts
    assert any("press KEY_" in t for t in texts), texts
    webvtt = Path(vtt["path"]).read_text()
    assert webvtt.startswith("WEBVTT") and "navigate about" in webvtt and " --> " in webvtt

    db = sqlite3.connect(pytester.path / ".virtualpy" / "results.db")
    rows = db.execute("SELECT kind, name, size_bytes, sha256 FROM artifacts").fetchall()
    assert ("video", "clip.mp4", clip["size"], clip["sha256"]) in rows
    assert ("subtitles", "clip.vtt", vtt["size"], vtt["sha256"]) in rows

    [test] = [json.loads(f.read_text()) for f in results.glob("*-result.json")]
    videos = [a for a in test["attachments"] if a.get("type") == "video/mp4"]
    assert [a["name"] for a in videos] == ["clip.mp4"]
    assert _sha256(results / videos[0]["source"]) == clip["sha256"]


def test_the_allure_html_report_holds_the_clip(pytester, tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("virtualpy_dev", ROOT / "dev.py")
    dev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dev)
    try:
        allure = dev.allure_cli()  # npm install into ROOT/node_modules, once
    except dev.NoAllure as e:
        pytest.skip(f"cannot build the HTML report here: {e}")
    _project(pytester)
    results = pytester.path / "allure-results"
    result = pytester.runpytest(f"--alluredir={results}", "-k", "about_is_black")
    result.assert_outcomes(failed=1)
    clip = next(a for a in _jsonl(pytester.path / "artifacts.jsonl") if a["kind"] == "video")
    report = tmp_path / "report"
    dev.run_quietly([*allure, "generate", str(results), "-o", str(report)], "allure", 300)
    [test] = [json.loads(f.read_text()) for f in (report / "data" / "test-results").glob("*")]
    links = [s["link"] for s in test["steps"] if s.get("type") == "attachment"]
    [video] = [link for link in links if link["name"] == "clip.mp4"]
    assert video["contentType"] == "video/mp4"
    mp4 = report / "data" / "attachments" / f"{video['id']}{video['ext']}"
    assert _sha256(mp4) == clip["sha256"]


def test_video_all_clips_passing_tests_and_off_clips_none(pytester, monkeypatch):
    _project(pytester)
    result = pytester.runpytest("--artifacts=arts", "--video=all")
    result.assert_outcomes(passed=1, failed=1)
    clips = {a["test"] for a in _jsonl(pytester.path / "artifacts.jsonl") if a["kind"] == "video"}
    assert clips == {"test_home", "test_about_is_black"}

    (pytester.path / "artifacts.jsonl").unlink()
    monkeypatch.setenv("VIRTUALPY_VIDEO", "off")
    result = pytester.runpytest("--artifacts=arts2")
    result.assert_outcomes(passed=1, failed=1)
    kinds = {a["kind"] for a in _jsonl(pytester.path / "artifacts.jsonl")}
    assert "screenshot" in kinds and "video" not in kinds
    assert not list((pytester.path / "arts2").rglob("clip.*"))
    assert "virtualpy video" not in result.stdout.str()


def test_a_bad_video_mode_is_a_usage_error(pytester):
    _project(pytester, "virtualpy_video = sometimes\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--video*must be one of failed, all, off, not 'sometimes'*"])


# --- the encoder alone ---------------------------------------------------------------------


def _jpeg(width: int, height: int, value: int) -> bytes:
    img = np.full((height, width, 3), value, np.uint8)
    cv2.putText(img, str(value), (10, height // 2), cv2.FONT_HERSHEY_SIMPLEX, 1, (255,) * 3, 2)
    return cv2.imencode(".jpg", img)[1].tobytes()


def test_encoder_scales_every_size_to_one_and_keeps_sound_and_timing():
    start = 1000.0
    frames = [RecordedFrame(start + i * 0.1, 640, 360, _jpeg(640, 360, 60)) for i in range(10)]
    frames += [
        RecordedFrame(start + 1 + i * 0.1, 1920, 1080, _jpeg(1920, 1080, 200)) for i in range(10)
    ]
    frames += [RecordedFrame(start + 2.5, 1281, 721, _jpeg(1281, 721, 0))]  # odd size, late
    rate = 48000
    tone = (np.sin(np.arange(3 * rate) * 2 * np.pi * 440 / rate) * 8000).astype("<i2")
    cues = [Cue(0.5, 1.5, "press KEY_OK"), Cue(1.0, 2.0, "match logo.png")]
    mp4 = encode_mp4(frames, start, start + 3.0, cues, (rate, start - 0.5, tone.tobytes()))
    path = Path(__import__("tempfile").mkstemp(suffix=".mp4")[1])
    try:
        path.write_bytes(mp4)
        with av.open(str(path)) as c:
            assert c.duration / av.time_base == pytest.approx(3.0, abs=0.15)
            assert c.streams.audio[0].codec_context.name == "aac"
            video = list(c.decode(video=0))
        with av.open(str(path)) as c:
            sound = np.concatenate([f.to_ndarray().ravel() for f in c.decode(audio=0)])
        with av.open(str(path)) as c:
            texts = [bytes(p)[2:].decode() for p in c.demux(c.streams.subtitles[0]) if p.size > 2]
    finally:
        path.unlink()
    assert {(f.width, f.height) for f in video} == {(1280, 720)}  # the last frame's, even
    means = [f.to_ndarray(format="bgr24").mean() for f in video]
    assert means[0] < 100 and max(means) > 150 and means[-1] < 40
    assert len(sound) == pytest.approx(2.5 * rate, rel=0.05)  # from the clip's start on
    assert np.sqrt(np.mean(sound**2)) > 0.1  # the tone, not silence
    assert "press KEY_OK" in texts and "press KEY_OK\nmatch logo.png" in texts


def test_steps_become_cues_relative_to_the_clip_on_the_labs_clock():
    steps = [
        Step("navigate", "about", 100.0, duration_ms=2500),
        Step("press", "KEY_OK", 100.1, duration_ms=20, depth=1),
        Step("match", "/images/about.png", 100.2, duration_ms=30, depth=1, ok=False),
        Step("press", "KEY_BACK", 200.0, duration_ms=20),  # after the clip
    ]
    cues = step_cues(steps, clip_start=105.0, clip_end=110.0, offset=6.0)  # lab = local + 6
    assert [c.text for c in cues] == [
        "navigate about",
        "  press KEY_OK",
        "  match about.png (failed)",
    ]
    # the parent for its duration; a nested step until the next one, or 1 s
    assert [(c.start, c.end) for c in cues] == [
        pytest.approx((1.0, 3.5)),
        pytest.approx((1.1, 1.2)),
        pytest.approx((1.2, 2.2)),
    ]
    text = to_webvtt(cues)
    assert "00:00:01.000 --> 00:00:03.500\nnavigate about" in text


def test_a_clip_that_cannot_be_made_is_one_line_and_changes_no_outcome(pytester):
    _project(pytester)
    pytester.makepyfile(
        test_gone="""
        def test_lab_gone(lab, stb):
            lab.client.close()  # the lab is gone before the clip can be fetched
            assert False, "the product failed"
        """
    )
    result = pytester.runpytest("--artifacts=arts", "test_gone.py")
    result.assert_outcomes(failed=1)  # still the product's failure: no error added
    result.stdout.fnmatch_lines(["*virtualpy video*", "no clip: lost the connection*"])
    assert not list((pytester.path / "arts").rglob("clip.*"))


def test_make_clip_over_rpyc_starts_at_the_oldest_frame_and_refuses_an_uncovered_range(device):
    from pytest_virtualpy.clips import ClipError, clock_offset, make_clip, wait_until_recorded

    assert abs(clock_offset(device.client)) < 0.05  # one host: the clocks agree
    info = wait_until_recorded(device, device.recording_info()["oldest"] + 3.0, max_wait=5.0)
    clip = make_clip(device, info["oldest"] - 50.0, info["oldest"] + 3.0)
    # not 50 s of a frozen first frame (the oldest may have moved on meanwhile: abs=0.5)
    assert clip.start == pytest.approx(info["oldest"], abs=0.5)
    assert clip.duration == pytest.approx(3.0, abs=0.5) and clip.frames >= 20
    assert clip.mp4[4:8] == b"ftyp" and clip.vtt == "WEBVTT\n"
    with pytest.raises(ClipError, match="holds no frame from"):
        make_clip(device, 1000.0, 1010.0)
