"""`Frame`: a video frame (a numpy array) that knows when it was captured."""

from __future__ import annotations

from typing import Any

import numpy as np


class Frame(np.ndarray):
    """A captured video frame: a numpy ``ndarray`` (BGR, uint8) with a ``time``.

    ``time`` is the capture timestamp in seconds (the lab host's clock), or None
    for an image that didn't come from a capture. Timeouts in `wait_for_match`,
    `wait_for_motion` and friends are measured on this clock, so they work the
    same on live video and on recorded frames::

        frame = Frame(cv2.imread("screenshot.png"), time=12.5)
        assert frame[0:10, 0:10].time == 12.5   # slicing keeps the timestamp

    It behaves like any other numpy array, so OpenCV functions accept it.
    """

    time: float | None

    def __new__(cls, array: Any, time: float | None = None) -> Frame:
        obj = np.asarray(array).view(cls)
        if time is None:
            time = getattr(array, "time", None)
        obj.time = None if time is None else float(time)
        return obj

    def __array_finalize__(self, obj: Any) -> None:
        if obj is None:
            return
        self.time = getattr(obj, "time", None)

    def __reduce__(self):
        reconstruct, args, state = super().__reduce__()
        return reconstruct, args, (state, self.time)

    def __setstate__(self, state: Any) -> None:
        nd_state, time = state
        super().__setstate__(nd_state)
        self.time = time

    def __repr__(self) -> str:
        if self.ndim >= 2:
            channels = self.shape[2] if self.ndim == 3 else 1
            t = "None" if self.time is None else f"{self.time:.3f}"
            return f"<Frame(time={t}, dimensions={self.shape[1]}x{self.shape[0]}x{channels})>"
        return super().__repr__()


def frame_time(frame: Any) -> float | None:
    """The capture time of ``frame`` (``frame.time``), or None for plain arrays."""
    t = getattr(frame, "time", None)
    return None if t is None else float(t)
