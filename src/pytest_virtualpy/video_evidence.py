"""``--video``: a clip of every failed test (or of every test), cut from the lab's recording.

With ``--video=failed`` (the default), every test with a device that failed or errored
in any phase (but for usage errors: the test's own mistakes) gets ``clip.mp4``: the
device's video from the test's start (its call phase; its setup when the call never
ran) minus one second to its end plus one second,
H.264 with the test's steps as a subtitle track, and the same steps as ``clip.vtt``.
Both are saved like screenshots (artifacts folder or S3/R2, the ``artifacts`` table
with kinds ``video`` and ``subtitles``, Allure attachments). ``--video=all`` does it for
every test that had a device, ``--video=off`` never.

The frames come from the daemon's rolling recording (JPEG, see ``lab_daemon.recording``)
and are encoded here, in the test process. The clip is made in
``pytest_runtest_makereport`` of the phase that failed (so that phase's report, the one
pytest shows, says where the clip is), or of the teardown with ``all``; allure-pytest
still has the test open then (it closes it in ``pytest_runtest_logfinish``), so the
attachment lands on the test's page. A clip that cannot be made never changes the
test's outcome: the report says why, in one line.
"""

from __future__ import annotations

import time

import pytest

from pytest_virtualpy import blame, fixtures
from pytest_virtualpy.clips import clock_offset, make_clip, wait_until_recorded
from pytest_virtualpy.errors import LabError

MODES = ("failed", "all", "off")
MARGIN_SECS = 1.0  # the clip starts this long before the test and ends this long after
WAIT_SECS = 2.0  # longest wait for the recording to pass the clip's end
PLUGIN_NAME = "virtualpy-video"
_PHASES = pytest.StashKey[dict]()  # when -> (start, stop, failed)
_CLIPPED = pytest.StashKey[bool]()


def check_mode(value: str) -> str:
    """``value`` if it is a ``--video`` mode; a UsageError naming the choices otherwise."""
    mode = (value or "failed").strip().lower()
    if mode not in MODES:
        raise pytest.UsageError(
            f"virtualpy: --video (ini virtualpy_video, env VIRTUALPY_VIDEO) must be one of "
            f"{', '.join(MODES)}, not {value!r}"
        )
    return mode


def clip_window(phases: dict) -> tuple[float, float]:
    """The test's start and end on this process's clock, before the margins.

    >>> clip_window({"setup": (0.0, 1.0, False), "call": (1.0, 4.0, True)})
    (1.0, 4.0)
    """
    start = phases["call"][0] if "call" in phases else phases["setup"][0]
    failed = [stop for _, stop, bad in phases.values() if bad]
    end = max(failed) if failed else phases.get("call", phases["setup"])[1]
    return start, max(end, start)


class VideoEvidence:
    """Makes and saves the clips; one per pytest process."""

    def __init__(self, mode: str):
        self.mode = mode

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        report = yield
        phases = item.stash.setdefault(_PHASES, {})
        if item.stash.get(_CLIPPED, False):
            return report
        phases[call.when] = (call.start, call.stop, bool(report.failed))
        ctx = item.stash.get(fixtures.CONTEXT_KEY, None)
        # a failure's clip is cut at once, so its report (the one shown) says where it is;
        # a usage error (the test's own mistake: a misspelt key) gets none, like screenshots
        failed = report.failed and blame.of(report) != blame.USAGE
        wanted = failed or (call.when == "teardown" and self.mode == "all")
        if ctx is not None and wanted and "setup" in phases:
            item.stash[_CLIPPED] = True
            self._clip(report, ctx, phases)
        return report

    def _clip(self, report, ctx: fixtures.DeviceContext, phases: dict) -> None:
        start, end = clip_window(phases)
        start, end = start - MARGIN_SECS, end + MARGIN_SECS
        try:
            offset = clock_offset(ctx.device.client)
            lab_end = end + offset
            wait = min(WAIT_SECS, max(0.0, end - time.time()) + 0.5)
            wait_until_recorded(ctx.device, lab_end, wait)
            clip = make_clip(ctx.device, start + offset, lab_end, ctx.log.steps, offset)
            mp4 = ctx.save("clip.mp4", clip.mp4, "video")
            vtt = ctx.save("clip.vtt", clip.vtt.encode(), "subtitles")
            late = clip.start - (start + offset)
            line = (
                f"clip: {mp4} ({clip.duration:.1f} s, {clip.frames} frames"
                f"{', with sound' if clip.sound else ''}"
                f"{f'; the recording did not hold its first {late:.1f} s' if late > 0.5 else ''}"
                f"); steps as subtitles: {vtt}"
            )
            report.user_properties.append(("virtualpy_clip", str(mp4)))
        except (LabError, OSError, ValueError) as e:
            line = f"no clip: {e}"
        except Exception as e:  # an encoder failure must not become the test's failure
            line = f"no clip: {type(e).__name__}: {e}"
        report.sections.append(("virtualpy video", line))
        if hasattr(report, "virtualpy"):
            report.virtualpy = ctx.record()  # the results carry the clip's artifacts


def configure(config: pytest.Config, mode: str) -> None:
    """Register the plugin unless ``--video=off``."""
    mode = check_mode(mode)
    if mode != "off" and not config.pluginmanager.has_plugin(PLUGIN_NAME):
        config.pluginmanager.register(VideoEvidence(mode), PLUGIN_NAME)
