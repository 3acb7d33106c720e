"""A real video capture read with PyAV (FFmpeg): a V4L2 device, a file, or any stream URL.

``lab.toml``::

    video = { source = "/dev/video0", width = 1920, height = 1080, fps = 30, format = "MJPG" }
    video = { source = "http://192.168.1.50:8080/stream.mjpg" }
    video = { source = "udp://0.0.0.0:5000", fps = 50 }
    video = { source = "rtsp://encoder.local/live", options = { rtsp_transport = "udp" } }
    video = { source = "recordings/boot.mp4", loop = true }

A background thread per source demuxes, decodes (slice threads only: frame threads would
hold frames back, adding latency and memory) and converts each picture to BGR with
``frame.to_ndarray(format="bgr24")``; :meth:`AvVideo.read` hands the frames to the
daemon's capture thread. Media with a known duration (a file, a VOD
playlist) is paced at its own frame rate, as a capture would see it played; live sources
(V4L2, RTSP, MJPEG over HTTP, UDP, live HLS) are read as frames come.

Signal loss: when the stream ends, fails, or sends nothing for ``timeout_secs``, the
source reports ``signal = False``, :meth:`read` yields black frames of the last known
size at the nominal frame rate, and the thread reconnects with exponential back-off
(``reconnect_min_secs`` doubling up to ``reconnect_max_secs``). A file without ``loop``
shows no-signal after its end. A resolution change mid-stream is followed: frames come
at the new size and ``width``/``height`` change with them.

Timestamps (``time.time()`` scale), from the most to the least accurate:

- V4L2: the kernel's buffer timestamp (``timestamps=mono2abs``), taken by the driver when
  the frame was captured: within a millisecond or so of the capture hardware.
- Live network streams (MPEG-TS, RTSP, HLS): the frame's pts on the wall clock, by the
  offset of the least-delayed of the last 64 pictures (their packets' receipt minus
  their pts, taken before decoding, so decoder threading adds no error). It is late by
  the sender's encoding and network latency: typically 20-200 ms for a hardware encoder
  on a LAN, more for HLS (segments arrive whole). A reader that fell behind, as on a
  loaded lab host, reads a backlog from the socket late, but its frames keep the times
  the sender gave them, and so stay in step with their sound. A pts that goes back by
  more than a second starts a new offset.
- MJPEG over HTTP (the demuxer makes the pts up): the time the frame's packet was
  received. It is late by the same latencies, plus any time the reader fell behind.
- Files and VOD playlists: the paced presentation time (the wall-clock time the frame is
  due by its pts), exact relative to the media, late only by scheduling (~1 ms).

Why PyAV rather than OpenCV's FFmpeg backend: PyAV gives each frame's pts and time base
and each packet's arrival, so timestamps can be taken at the source instead of after
``cv2.VideoCapture.read()`` returns; it passes any FFmpeg demuxer/protocol option
(``input_format``, ``video_size``, ``rtsp_transport``, timeouts) rather than the few
OpenCV exposes through an environment variable; and it raises a typed error with
FFmpeg's message for each failure, where OpenCV returns ``False`` with no reason, which
lets us tell an end of stream from a dead server and control reconnection ourselves.

Sound: with ``audio = { kind = "stream" }`` the same demuxer reads the first audio track
and hands its decoded frames, stamped on the frames' clock, to the
:class:`~lab_daemon.devices.stream_audio.StreamAudio` it was given (``audio=``).

``close()`` returns within ``open_timeout_secs`` (or ``timeout_secs`` while reading): a
blocking FFmpeg read is only interrupted by its own timeout.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Any, ClassVar

import av
import numpy as np

from lab_daemon.devices.av_open import is_file, is_v4l2, open_arguments
from lab_daemon.devices.base import VideoSource
from lab_daemon.devices.options import Option
from pytest_virtualpy.errors import ConfigError

log = logging.getLogger(__name__)

PACE_MODES = ("auto", "always", "never")
DEFAULT_SIZE = (1280, 720)
DEFAULT_FPS = 30.0
#: AVFMT_NOTIMESTAMPS: a demuxer that makes its pts up (MJPEG over HTTP, raw MJPEG)
NO_TIMESTAMPS = 0x0080


class AvVideo(VideoSource):
    """Frames from anything FFmpeg reads; see the module docstring."""

    OPTIONS: ClassVar[dict[str, Option]] = {
        "source": Option(str, required=True, help="a V4L2 device, a file, or any URL FFmpeg reads"),
        "width": Option(int, help="V4L2 capture width; elsewhere the size before the first frame"),
        "height": Option(int, help="V4L2 capture height (as width)"),
        "fps": Option(float, help="V4L2 frame rate; elsewhere nominal (default: the stream's)"),
        "format": Option(str, help='V4L2 input format: "MJPG", "YUYV", "H264" or an FFmpeg name'),
        "loop": Option(bool, default=False, help="replay a file from the start at its end"),
        "pace": Option(
            str, default="auto", help="auto (pace media of known duration), always, never"
        ),
        "demuxer": Option(str, help='force FFmpeg\'s input format, e.g. "mpjpeg", "mpegts"'),
        "options": Option(dict, default={}, help="more FFmpeg demuxer/protocol options"),
        "timeout_secs": Option(float, default=2.0, help="no data for this long is signal loss"),
        "open_timeout_secs": Option(float, default=5.0, help="longest wait to open the source"),
        "reconnect_min_secs": Option(float, default=0.5, help="first reconnect back-off"),
        "reconnect_max_secs": Option(float, default=5.0, help="longest reconnect back-off"),
    }

    CARRIES_AUDIO = True  # audio = { kind = "stream" } may take its sound

    def __init__(self, source: str, *, name: str = "", audio: Any = None, **options: Any):
        opts = {k: o.default for k, o in self.OPTIONS.items()} | options | {"source": source}
        unknown = set(opts) - set(self.OPTIONS)
        if unknown:
            raise TypeError(f"unknown AvVideo option(s): {', '.join(sorted(unknown))}")
        self.source = source
        self.name = name or source
        self._opts = opts
        self._format, self._options = open_arguments(opts)
        self._v4l2 = is_v4l2(source, opts["demuxer"])
        self._file = is_file(source) and not self._v4l2
        self.fps = float(opts["fps"] or DEFAULT_FPS)
        self.width = int(opts["width"] or DEFAULT_SIZE[0])
        self.height = int(opts["height"] or DEFAULT_SIZE[1])
        #: True while real frames come; False while the source is lost (black frames)
        self.signal = False
        #: why the signal was last lost (None before it ever was)
        self.last_error: str | None = None
        self.reconnects = 0
        self.frames_decoded = 0
        self.decode_errors = 0
        self._cond = threading.Condition()
        self._queue: collections.deque[tuple[np.ndarray, float]] = collections.deque(maxlen=3)
        self._stop = threading.Event()
        self._black_due = 0.0
        self._next_due: float | None = None  # the paced time of the next frame of a loop
        self._delivered = 0  # frames delivered since the source was last opened
        self._last_time = 0.0  # the timestamp of the last frame delivered
        self._audio = audio  # the StreamAudio fed from this source's sound, if any
        self._offsets: collections.deque[float] = collections.deque(maxlen=64)
        self._pts_offset: float | None = None  # a live stream's arrival time minus pts
        self._thread = threading.Thread(target=self._run, name=f"av-{self.name}", daemon=True)
        self._thread.start()

    @classmethod
    def from_options(cls, opts: dict, device: str, audio: Any = None) -> AvVideo:
        where = f"device {device!r}: video"
        if audio is not None and is_v4l2(opts["source"], opts["demuxer"]):
            raise ConfigError(
                f'{where}: a V4L2 capture carries no sound for audio kind "stream": use '
                'audio = { kind = "alsa", device = "hw:1,0" } (see `arecord -l`)'
            )
        if opts["pace"] not in PACE_MODES:
            raise ConfigError(f"{where}: 'pace' must be one of {', '.join(PACE_MODES)}")
        for key in ("width", "height", "fps"):
            if opts[key] is not None and opts[key] <= 0:
                raise ConfigError(f"{where}: {key!r} must be positive, not {opts[key]!r}")
        if (opts["width"] is None) != (opts["height"] is None):
            raise ConfigError(f"{where}: give both 'width' and 'height', or neither")
        for key in ("timeout_secs", "open_timeout_secs", "reconnect_min_secs"):
            if opts[key] <= 0:
                raise ConfigError(f"{where}: {key!r} must be positive, not {opts[key]!r}")
        if opts["reconnect_max_secs"] < opts["reconnect_min_secs"]:
            raise ConfigError(f"{where}: 'reconnect_max_secs' is below 'reconnect_min_secs'")
        kwargs = {k: v for k, v in opts.items() if k != "source"}
        return cls(opts["source"], name=device, audio=audio, **kwargs)

    # --- the daemon's side -------------------------------------------------------------

    def read(self) -> tuple[np.ndarray, float]:
        """The next frame and its capture time; a black frame at ``fps`` while lost."""
        with self._cond:
            while True:
                if self._queue:
                    return self._queue.popleft()
                now = time.time()
                if not self.signal:
                    period = 1.0 / self.fps
                    if now >= self._black_due:
                        self._black_due = max(self._black_due + period, now)
                        return np.zeros((self.height, self.width, 3), np.uint8), now
                    self._cond.wait(self._black_due - now)
                else:
                    self._cond.wait(0.25)

    def close(self) -> None:
        """Stop reading and wait for the reader thread (see the module docstring)."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not threading.current_thread():
            o = self._opts
            self._thread.join(max(o["open_timeout_secs"], o["timeout_secs"]) + 1.0)
        with self._cond:
            self.signal = False
            self._cond.notify_all()

    def status(self) -> dict[str, Any]:
        """For health reports."""
        return {
            "signal": self.signal,
            "width": self.width,
            "height": self.height,
            "fps": self.fps,
            "frames_decoded": self.frames_decoded,
            "decode_errors": self.decode_errors,
            "reconnects": self.reconnects,
            "last_error": self.last_error,
        }

    # --- the reader thread -------------------------------------------------------------

    def _lost(self, reason: str) -> None:
        if self._audio is not None:
            self._audio.lost(reason)
        with self._cond:
            was, self.signal = self.signal, False
            self.last_error = reason
            if was:  # the first black frame is due now; later ones keep the nominal rate
                self._black_due = time.time()
            self._cond.notify_all()
        if was:
            log.warning("video %s: signal lost: %s", self.name, reason)
        else:
            log.debug("video %s: still no signal: %s", self.name, reason)

    def _deliver(self, image: np.ndarray, t: float) -> None:
        with self._cond:
            if not self.signal:
                log.info("video %s: signal (%dx%d)", self.name, image.shape[1], image.shape[0])
            self.signal = True
            self.height, self.width = image.shape[:2]
            self._queue.append((image, t))
            self._last_time = t
            self.frames_decoded += 1
            self._cond.notify_all()

    def _run(self) -> None:
        o = self._opts
        delay = o["reconnect_min_secs"]
        while not self._stop.is_set():
            try:
                delivered, finite = self._play()
                reason = "the stream ended"
            except Exception as e:  # any failure is a lost signal, never a dead thread
                delivered, finite = self._delivered, False
                reason = f"{type(e).__name__}: {e}"
            if self._stop.is_set():
                break
            if finite and delivered and o["loop"]:
                continue  # replay at once; the pacing clock runs on
            self._next_due = None
            if finite and self._file and not o["loop"]:
                self._lost("end of file")
                self._stop.wait()
                break
            self._lost(reason)
            if delivered:
                delay = o["reconnect_min_secs"]
            self._stop.wait(delay)
            delay = min(delay * 2, o["reconnect_max_secs"])
            self.reconnects += 1

    def _play(self) -> tuple[int, bool]:
        """Open the source and deliver its frames until it ends: (frames, finite?)."""
        o = self._opts
        self._delivered = 0
        self._offsets.clear()
        self._pts_offset = None
        self._sound_next: float | None = None  # the pts the next audio frame follows on
        container = av.open(
            self.source,
            format=self._format,
            options=self._options,
            timeout=(o["open_timeout_secs"], o["timeout_secs"]),
        )
        try:
            if not container.streams.video:
                raise ValueError("the source has no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "SLICE"  # frame threads would hold 2 frames back
            sound = container.streams.audio[0] if container.streams.audio else None
            if self._audio is None:
                sound = None
            elif sound is None:
                self._audio.lost("the source has no audio track")
            finite = (container.duration is not None or self._file) and not self._v4l2
            pace = o["pace"] == "always" or (o["pace"] == "auto" and finite)
            rate = stream.average_rate or stream.guessed_rate
            if o["fps"] is None and rate and 1 <= float(rate) <= 240:
                self.fps = float(rate)
            # the pts are the sender's clock, unless the demuxer makes them up (MJPEG)
            sender_clock = not container.format.flags & NO_TIMESTAMPS
            arrivals: dict[int, float] = {}
            origin: float | None = None  # wall-clock time of pts 0, when pacing
            last_picture = time.monotonic()
            for packet in container.demux(*(s for s in (stream, sound) if s is not None)):
                if self._stop.is_set():
                    return self._delivered, finite
                received = time.time()
                if packet.stream is sound:
                    origin = self._sound(packet, pace, origin, received)
                    continue
                if packet.pts is not None:
                    arrivals[packet.pts] = received
                    if len(arrivals) > 64:
                        del arrivals[next(iter(arrivals))]
                try:
                    frames = packet.decode()
                except av.error.InvalidDataError:  # a damaged packet: skip it
                    self.decode_errors += 1
                    frames = []
                for frame in frames:
                    if pace:
                        origin, t = self._pace(frame, origin)
                        if t is None:
                            return self._delivered, finite
                    else:
                        t = arrivals.pop(frame.pts, received) if frame.pts is not None else received
                        if self._v4l2 and frame.time is not None and abs(frame.time - t) < 5:
                            t = frame.time
                        elif frame.time is not None:
                            t = self._live_time(t, frame.time, sender_clock)
                        t = max(t, self._last_time + 1e-6)  # reordered (B-)frames: monotonic
                    self._deliver(frame.to_ndarray(format="bgr24"), t)
                    self._delivered += 1
                    last_picture = time.monotonic()
                if time.monotonic() - last_picture > o["timeout_secs"]:
                    raise TimeoutError(f"no picture decoded for {o['timeout_secs']:g} s")
            return self._delivered, finite
        finally:
            container.close()

    def _live_time(self, arrival: float, pts: float, sender_clock: bool) -> float:
        """A live picture's time: its pts on the wall clock by the least-delayed of the last
        64 pictures, or its arrival when the pts are not the sender's.

        A reader thread kept off the CPU reads a backlog from the socket's buffer late, all
        at once; the pts still say when each picture was sent, so only the pictures that
        came soonest after they were sent set the offset."""
        if self._offsets and pts + min(self._offsets) < self._last_time - 1.0:
            self._offsets.clear()  # the pts went back (the sender restarted): a new clock
        self._offsets.append(arrival - pts)
        self._pts_offset = min(self._offsets)
        return pts + self._pts_offset if sender_clock else arrival

    def _sound(self, packet: av.Packet, pace: bool, origin: float | None, received: float):
        """Decode an audio packet and feed it on the pictures' clock; the (new) origin."""
        try:
            frames = packet.decode()
        except av.error.InvalidDataError:
            self.decode_errors += 1
            return origin
        for frame in frames:
            pts, follow = frame.time, self._sound_next
            # frames of one packet may share its pts: continue the last frame unless the
            # pts jumps (a seek, a loop, lost packets)
            if follow is not None and (pts is None or abs(pts - follow) < 0.1):
                pts = follow
            if pts is None:
                self._audio.feed(frame, received)
                continue
            self._sound_next = pts + frame.samples / frame.sample_rate
            if pace:
                if origin is None:  # sound before the first picture sets the clock
                    origin = (self._next_due or time.time()) - pts
                t = origin + pts
            else:  # live: the pts on the pictures' clock (on its own until a picture came)
                if not self._offsets:
                    self._pts_offset = min(self._pts_offset or received - pts, received - pts)
                t = pts + self._pts_offset
            self._audio.feed(frame, t)
        return origin

    def _pace(self, frame: av.VideoFrame, origin: float | None) -> tuple[float, float | None]:
        """Wait until ``frame`` is due; (the clock's origin, its due time or None if stopped)."""
        period = 1.0 / self.fps
        pts = frame.time
        if pts is None:
            pts = self._delivered * period
        now = time.time()
        if origin is None:  # a new session: follow on from the last loop, or start now
            due = self._next_due if self._next_due is not None else now
            origin = due - pts
        due = origin + pts
        if due < now - 1.0 or due > now + 1.0:  # fell behind, or the pts jumped: re-base
            origin, due = now - pts, now
        if due > now and self._stop.wait(due - now):
            return origin, None
        self._next_due = due + period
        return origin, due
