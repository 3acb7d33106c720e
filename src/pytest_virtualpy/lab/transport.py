"""The byte transport under RPyC, shared by both ends: bounded frames, TLS-aware polling.

rpyc's :class:`~rpyc.core.channel.Channel` trusts the 5-byte frame header it reads:
it buffers whatever length the peer declares and then ``zlib.decompress``\\ es it
whole, so 2 MB on the wire can inflate to gigabytes. :class:`BoundedChannel`
refuses a frame longer than ``max_frame`` before reading it, and inflates with a
bounded ``decompressobj`` that stops at ``max_inflated``; either way the
connection is closed (``EOFError``, which RPyC treats as the peer leaving) with a
log line, and nothing else is affected.

:class:`PendingAwareStream` is rpyc's ``SocketStream`` for a TLS socket: bytes
already decrypted inside the SSL object are invisible to ``poll()`` on the file
descriptor, so without it a reply that arrived in the same TLS record as the
previous one would wait for the next packet.

>>> BoundedChannel.DAEMON_LIMITS
(16777216, 33554432)
"""

from __future__ import annotations

import logging
import ssl
import zlib

from rpyc.core.channel import Channel
from rpyc.core.stream import SocketStream

log = logging.getLogger(__name__)

MB = 1 << 20
INFLATE_SLICE = 1 * MB


class FrameTooLarge(EOFError):
    """A peer sent an RPyC frame over the limits; the connection is closed."""


class BoundedChannel(Channel):
    """An RPyC channel that caps each frame's wire length and its inflated size."""

    #: (wire bytes, inflated bytes) a daemon accepts from a client in one frame
    DAEMON_LIMITS = (16 * MB, 32 * MB)
    #: what a client accepts from a daemon (frames and recordings come this way)
    CLIENT_LIMITS = (64 * MB, 256 * MB)

    __slots__ = ["label", "max_frame", "max_inflated"]

    def __init__(
        self,
        stream,
        *,
        max_frame: int = DAEMON_LIMITS[0],
        max_inflated: int = DAEMON_LIMITS[1],
        label: str = "peer",
    ):
        super().__init__(stream)
        self.max_frame = int(max_frame)
        self.max_inflated = int(max_inflated)
        self.label = label

    def _refuse(self, why: str) -> FrameTooLarge:
        log.warning("closing the connection from %s: %s", self.label, why)
        self.close()
        return FrameTooLarge(why)

    def recv(self) -> bytes:
        header = self.stream.read(self.FRAME_HEADER.size)
        length, compressed = self.FRAME_HEADER.unpack(header)
        if length > self.max_frame:
            raise self._refuse(f"an RPyC frame of {length} bytes (limit {self.max_frame})")
        data = self.stream.read(length + len(self.FLUSHER))[: -len(self.FLUSHER)]
        if not compressed:
            return data
        inflater, parts, total = zlib.decompressobj(), [], 0
        try:
            while data:  # in slices, so a bomb costs at most max_inflated before it is refused
                part = inflater.decompress(data, INFLATE_SLICE)
                total += len(part)
                if total > self.max_inflated:
                    raise self._refuse(
                        f"a compressed frame inflating past {self.max_inflated} bytes"
                    )
                parts.append(part)
                data = inflater.unconsumed_tail
        except zlib.error as e:
            raise self._refuse(f"a corrupt compressed RPyC frame ({e})") from None
        if not inflater.eof:
            raise self._refuse("a truncated compressed RPyC frame")
        return b"".join(parts)


class PendingAwareStream(SocketStream):
    """``SocketStream`` whose ``poll`` also sees bytes buffered inside an SSL socket."""

    __slots__ = ()

    def poll(self, timeout) -> bool:
        sock = self.sock
        if isinstance(sock, ssl.SSLSocket):
            try:
                if sock.pending():
                    return True
            except (OSError, ValueError):
                pass
        return super().poll(timeout)
