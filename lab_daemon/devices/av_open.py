"""How a PyAV video source is opened: FFmpeg's input format and options for a device's
``video = { ... }`` (see :mod:`lab_daemon.devices.av_video`)."""

from __future__ import annotations

from typing import Any

#: V4L2 four-character codes and the FFmpeg names ``input_format`` wants
FOURCC = {
    "MJPG": "mjpeg",
    "JPEG": "mjpeg",
    "YUYV": "yuyv422",
    "YUY2": "yuyv422",
    "UYVY": "uyvy422",
    "H264": "h264",
    "NV12": "nv12",
    "YU12": "yuv420p",
    "RGB3": "rgb24",
    "BGR3": "bgr24",
}


def is_v4l2(source: str, demuxer: str | None = None) -> bool:
    """Whether ``source`` is read with FFmpeg's V4L2 input."""
    if demuxer is not None:
        return demuxer in ("v4l2", "video4linux2")
    return source.startswith("/dev/")


def is_file(source: str) -> bool:
    """Whether ``source`` is a local file (a path or a ``file:`` URL), not a stream."""
    return source.startswith("file:") or ("://" not in source and not source.startswith("/dev/"))


def open_arguments(opts: dict[str, Any]) -> tuple[str | None, dict[str, str]]:
    """The FFmpeg input format and options that ``av.open`` gets for these options.

    >>> open_arguments({"source": "/dev/video0", "width": 1280, "height": 720,
    ...                 "fps": 30.0, "format": "MJPG"})[1]["input_format"]
    'mjpeg'
    """
    source, demuxer = opts["source"], opts.get("demuxer")
    options: dict[str, str] = {}
    fmt = demuxer
    if is_v4l2(source, demuxer):
        fmt = "video4linux2"
        if opts.get("width") and opts.get("height"):
            options["video_size"] = f"{opts['width']}x{opts['height']}"
        if opts.get("fps"):
            options["framerate"] = f"{opts['fps']:g}"
        if opts.get("format"):
            options["input_format"] = FOURCC.get(opts["format"].upper(), opts["format"])
        options["timestamps"] = "mono2abs"  # the kernel's capture time, on the wall clock
    elif source.startswith("rtsp://"):
        options["rtsp_transport"] = "tcp"  # no lost packets, hence no smeared frames
    elif source.startswith("udp://"):
        options["overrun_nonfatal"] = "1"  # a late reader drops packets, not the stream
    options.update({str(k): str(v) for k, v in (opts.get("options") or {}).items()})
    return fmt, options
