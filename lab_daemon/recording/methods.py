"""The recording's exposed methods: what is recorded, and its frames in bounded chunks.

A client cuts a clip by asking for the frames between two lab-host times, chunk by
chunk: each reply holds at most ``max_bytes`` of JPEG (never more than
:data:`MAX_CHUNK_BYTES`, so an RPyC message stays bounded) and says where to go on::

    after = 0
    while True:
        meta, data = call_bytes("recording_frames", lease, start, end, after, 4 << 20)
        ...  # meta["frames"]: [{index, time, width, height, size}], their JPEGs in data
        if not meta["more"]:
            break
        after = meta["next"]
"""

from __future__ import annotations

from lab_daemon.exposing import ServiceBase, image_reply, number, plain_args
from pytest_virtualpy.errors import DeviceUnavailable

MAX_CHUNK_BYTES = 4 << 20
MIN_CHUNK_BYTES = 64 << 10
MAX_TIME = 1e11  # seconds since the epoch: year 5138


def recorder_of(rt):
    """The device's :class:`~lab_daemon.recording.Recorder`, or a DeviceUnavailable."""
    recorder = getattr(rt, "recorder", None)
    if recorder is None:
        raise DeviceUnavailable(
            f"device {rt.device.name!r} is not recorded: [lab.recording] enabled = false "
            "in this lab's lab.toml"
        )
    return recorder


class RecordingMethods(ServiceBase):
    """``recording_info`` and ``recording_frames``."""

    @plain_args
    def exposed_recording_info(self, lease_id: str) -> dict:
        """Oldest and newest recorded time, frames, bytes used, rate and bounds."""
        return recorder_of(self._rt(lease_id)).info()

    @image_reply
    def exposed_recording_frames(self, lease_id, start, end, after_index, max_bytes):
        """Recorded frames with ``start <= time <= end`` and ``index > after_index``.

        Returns ``({"frames": [...], "next": index, "more": bool}, jpegs)``: the JPEGs
        one after another, each ``size`` bytes long. At least one frame comes back when
        there is any, even one larger than ``max_bytes``.
        """
        recorder = recorder_of(self._rt(lease_id))
        start = number(start, "start", 0.0, MAX_TIME)
        end = number(end, "end", start, MAX_TIME)
        after = int(number(after_index, "after_index", -1, 2**53))
        limit = int(number(max_bytes, "max_bytes", MIN_CHUNK_BYTES, MAX_CHUNK_BYTES))
        entries = recorder.store.select(start, end, after)
        chosen, total = [], 0
        for e in entries:
            if chosen and total + e.size > limit:
                break
            chosen.append(e)
            total += e.size
        frames, chunks = [], []
        for e, data in recorder.store.read(chosen):
            frames.append(
                {
                    "index": e.index,
                    "time": e.time,
                    "width": e.width,
                    "height": e.height,
                    "size": len(data),
                }
            )
            chunks.append(data)
        # frames dropped between select and read are simply missing: the clip has a gap
        more = len(chosen) < len(entries)
        last = chosen[-1].index if chosen else after
        return {"frames": frames, "next": last, "more": more}, b"".join(chunks)
