"""The box's serial console, served over a real pseudo-terminal.

``start()`` opens a pty pair and serves the master side from a thread; the lab
daemon opens the slave (``path``) with pyserial like a USB-serial adapter. The
console prints a boot log at each boot (spread over the boot, in real time), then
the prompt ``stb# ``; it echoes typed input and runs a few commands. While the box is
powered off it is silent and discards input.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
import tty
from collections import deque
from collections.abc import Callable

PROMPT = "stb# "
_MAX_PENDING = 256 * 1024  # bytes kept for a reader that is not reading
MAX_LINE = 4096  # characters of one typed line; more are dropped (not echoed), like a full
# line buffer, so a client typing a megabyte without Enter costs linear time and bounded memory


def boot_log(firmware_version: str, model: str, name: str) -> list[str]:
    """The lines printed while booting (kernel-ish messages, then the firmware banner)."""
    return [
        "",
        "U-Boot 2023.04-vpy (Jan 01 2024 - 00:00:00 +0000)",
        f"Model: {model}",
        "DRAM:  2 GiB",
        "Starting kernel ...",
        "[    0.000000] Booting Linux on physical CPU 0x0",
        "[    0.000000] Linux version 5.15.0-vpy (builder@virtualpy) #1 SMP PREEMPT",
        "[    0.412345] hdmi: HDMI transmitter registered",
        "[    0.523456] lirc: IR receiver registered",
        "[    0.734567] usb 1-1: new high-speed USB device number 2",
        "[    1.045678] eth0: link up, 1000 Mbps, full duplex",
        "[    1.256789] systemd[1]: Started STB user interface.",
        f"virtualpy STB firmware {firmware_version}",
        f"Hostname: {name}",
        "",
    ]


class SerialConsole:
    """A line-oriented console on a pty master, run by one daemon thread."""

    def __init__(self, commands: Callable[[str], str | None], boot_lines: list[str]) -> None:
        self._commands = commands
        self._boot_lines = boot_lines
        self._master = -1
        self._slave = -1
        self.path = ""
        self._lock = threading.Lock()
        self._scheduled: deque[tuple[float, str]] = deque()
        self._out = bytearray()
        self._line: list[str] = []  # the line being typed, one str per character
        self._after_cr = False
        self._ready = False  # prompt shown: accepting input
        self._powered = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Open the pty (raw mode) and start serving it."""
        if self._thread is not None:
            return
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        tty.setraw(self._master)
        os.set_blocking(self._master, False)
        self.path = os.ttyname(self._slave)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sim-serial", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and close both ends of the pty."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        for fd in (self._master, self._slave):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = -1

    # --- called by the box (any thread) ---------------------------------------------

    def booting(self, duration: float) -> None:
        """The box started booting: print the boot log over ``duration`` real seconds
        (capped at 2 s), then the prompt."""
        duration = max(0.0, min(duration, 2.0))
        now = time.monotonic()
        with self._lock:
            self._powered = True
            self._ready = False
            self._line = []
            self._scheduled.clear()
            n = len(self._boot_lines)
            for i, line in enumerate(self._boot_lines):
                self._scheduled.append((now + duration * 0.9 * i / n, line + "\r\n"))
            self._scheduled.append((now + duration, PROMPT))

    def powered_off(self) -> None:
        """The box lost power: drop pending output, go silent."""
        with self._lock:
            self._powered = False
            self._ready = False
            self._scheduled.clear()
            self._out.clear()
            self._line = []

    # --- the thread -----------------------------------------------------------------

    def _write(self, text: str) -> None:
        self._out += text.encode("utf-8", "replace")
        if len(self._out) > _MAX_PENDING:
            del self._out[: len(self._out) - _MAX_PENDING]

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                now = time.monotonic()
                while self._scheduled and self._scheduled[0][0] <= now:
                    text = self._scheduled.popleft()[1]
                    self._write(text)
                    if text == PROMPT:
                        self._ready = True
                want_write = bool(self._out)
            try:
                r, w, _ = select.select(
                    [self._master], [self._master] if want_write else [], [], 0.02
                )
            except (OSError, ValueError):
                return
            if r:
                try:
                    data = os.read(self._master, 4096)
                except BlockingIOError:
                    data = b""
                except OSError:
                    data = b""
                    time.sleep(0.02)  # slave side not open right now
                if data:
                    self._input(data.decode("utf-8", "replace"))
            if w:
                with self._lock:
                    try:
                        n = os.write(self._master, bytes(self._out[:4096]))
                        del self._out[:n]
                    except (BlockingIOError, InterruptedError):
                        pass
                    except OSError:
                        self._out.clear()

    def _input(self, text: str) -> None:
        run: list[str] = []
        with self._lock:
            if not (self._powered and self._ready):
                return
            for ch in text:
                after_cr, self._after_cr = self._after_cr, ch == "\r"
                if ch in "\r\n":
                    if ch == "\n" and after_cr:
                        continue  # "\r\n" is one Enter
                    self._write("\r\n")
                    run.append("".join(self._line))
                    self._line = []
                elif ch in "\x7f\x08":
                    if self._line:
                        self._line.pop()
                        self._write("\b \b")
                elif ch == "\x03":
                    self._write("^C\r\n" + PROMPT)
                    self._line = []
                elif ch.isprintable() and len(self._line) < MAX_LINE:
                    self._line.append(ch)
                    self._write(ch)
        for line in run:
            output = self._commands(line.strip())
            with self._lock:
                if not (self._powered and self._ready):
                    return
                if output:
                    self._write(output.replace("\n", "\r\n") + "\r\n")
                self._write(PROMPT)
