"""A live stream's pictures keep their time when the lab host falls behind.

On a loaded lab host the daemon's reader thread can be kept off the CPU for a while; the
stream meanwhile waits in the socket's buffer and then comes all at once. Stamped on
arrival at the reader, every picture of that backlog would share the moment the reader
woke, late by as long as it slept, while the sound (stamped from its pts) stays right:
picture and sound would part by that delay. Here the whole daemon is stopped
(``SIGSTOP``) across the tone media's onset for 1.2 s, as a starved host would be, and
the onset must still line up with the first white picture.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from tests.hardware.tone_media import (
    FFMPEG,
    LOOP_SECS,
    free_udp_port,
    onset_gap,
    udp_stream,
)
from tests.hardware.video_files import lease

pytestmark = [
    pytest.mark.timeout(90),
    pytest.mark.skipif(
        FFMPEG is None and not os.environ.get("CI"),
        reason="needs the ffmpeg binary: apt-get install -y ffmpeg",
    ),
]
STALL_SECS = 1.2


def stall(pid: int, at: float, secs: float) -> threading.Thread:
    """Stop process ``pid`` at wall time ``at`` for ``secs`` (in a thread, started)."""

    def run() -> None:
        time.sleep(max(0.0, at - time.time()))
        os.kill(pid, signal.SIGSTOP)
        try:
            time.sleep(secs)
        finally:
            os.kill(pid, signal.SIGCONT)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_stalled_reader_keeps_picture_and_sound_together(served_lab, tone_mp4, tmp_path):
    port = free_udp_port()
    lab_toml = tmp_path / "lab.toml"
    lab_toml.write_text(
        f'[[devices]]\nname = "udp-tv"\nvideo = {{ source = "udp://127.0.0.1:{port}" }}\n'
        'audio = { kind = "stream" }\n'
    )
    with udp_stream(tone_mp4, port):
        address = served_lab(lab_toml)
        daemon = served_lab.processes[-1]
        live = lease(address, "udp-tv")
        assert live.wait_for_silence(-60.0, 5.0)["ok"]
        onset = live.wait_for_audio(-40.0, 5.0)  # the stream is up; this gives its phase
        assert onset["ok"], onset
        # the next onset is LOOP_SECS later: stall the daemon from 0.4 s before it
        staller = stall(daemon.pid, onset["time"] + LOOP_SECS - 0.4, STALL_SECS)
        assert live.wait_for_silence(-60.0, 5.0)["ok"]
        gap = onset_gap(live, timeout=10.0)
        staller.join(5)
        assert abs(gap) < 0.25, gap  # stamped on waking, the picture was ~0.8 s late
