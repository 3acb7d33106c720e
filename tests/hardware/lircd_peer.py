"""A real lircd for tests: Debian's daemon on a private socket with its ``file`` driver.

The file driver writes every IR signal lircd sends as ``pulse N`` / ``space N`` lines;
:func:`decode_nec` reads the NEC frames back, so a test checks which code went out.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

LIRCD = shutil.which("lircd", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
needs_lircd = pytest.mark.skipif(
    LIRCD is None and not os.environ.get("CI"),  # CI installs it: there the tests must run
    reason="lircd is not installed: apt-get install lirc",
)

CODES = {
    "KEY_OK": 0x20DF22DD,
    "KEY_UP": 0x20DF02FD,
    "KEY_DOWN": 0x20DF827D,
    "KEY_MENU": 0x20DFC23D,
    "BTN_GUIDE": 0x20DFD52A,
    "ChannelUp": 0x20DF00FF,  # one of ours without KEY_: it becomes KEY_CHANNELUP
    "wol": 0x20DF10EF,  # neither mapped nor one of ours: left out
}

REMOTE_CONF = """\
begin remote
  name  acme
  bits  32
  flags SPACE_ENC|CONST_LENGTH
  eps   30
  aeps  100
  header 9000 4500
  one   560 1690
  zero  560 560
  ptrail 560
  repeat 9000 2250
  gap   108000
  toggle_bit_mask 0x0
  frequency 38000
  begin codes
{codes}
  end codes
end remote
""".format(codes="\n".join(f"    {name:<10} {code:#010X}" for name, code in CODES.items()))


# --- decoding what lircd's file driver wrote ---------------------------------------------


def _near(value: int, target: int) -> bool:
    return abs(value - target) <= target * 0.25


def decode_nec(text: str) -> list[int | str]:
    """The NEC frames (32-bit codes, MSB first) and repeat codes (``"repeat"``) in ``text``."""
    marks = []
    for line in text.splitlines():
        kind, _, value = line.partition(" ")
        if kind in ("pulse", "space") and value.strip().isdigit():
            marks.append((kind, int(value)))
    out: list[int | str] = []
    i = 0
    while i + 1 < len(marks):
        (k1, v1), (k2, v2) = marks[i], marks[i + 1]
        if k1 == "pulse" and _near(v1, 9000) and k2 == "space" and _near(v2, 4500):
            bits = marks[i + 2 : i + 2 + 64]
            if len(bits) < 64:
                break  # a frame still being written
            code = 0
            for (pk, pv), (sk, sv) in zip(bits[0::2], bits[1::2], strict=True):
                assert pk == "pulse" and _near(pv, 560), f"bad bit mark {pk} {pv}"
                assert sk == "space" and (_near(sv, 560) or _near(sv, 1690)), f"bad {sk} {sv}"
                code = code << 1 | _near(sv, 1690)
            out.append(code)
            i += 66
        elif k1 == "pulse" and _near(v1, 9000) and k2 == "space" and _near(v2, 2250):
            out.append("repeat")
            i += 2
        else:
            i += 1
    return out


class Lircd:
    """A real lircd on a private socket, sending to a file."""

    def __init__(self, folder: Path):
        self.folder = folder
        # a Unix socket path must stay under 108 bytes: not in a deep pytest tmp_path
        self.sockdir = tempfile.mkdtemp(prefix="vp-lircd-")
        self.socket = os.path.join(self.sockdir, "lircd.socket")
        self.conf = folder / "acme.lircd.conf"
        self.conf.write_text(REMOTE_CONF)
        (folder / "lirc_options.conf").write_text("")  # keep /etc/lirc's options out
        self.proc: subprocess.Popen | None = None
        self.out: Path | None = None
        self.runs = 0

    def start(self) -> None:
        self.runs += 1
        self.out = self.folder / f"out{self.runs}.txt"
        self.out.write_text("")
        log = self.folder / f"lircd{self.runs}.log"
        self.proc = subprocess.Popen(
            [LIRCD, "-O", str(self.folder / "lirc_options.conf"), "-n", "-H", "file",
             "-d", str(self.out), "-o", self.socket, "-P", str(self.folder / "lircd.pid"),
             "-L", str(log), "--allow-simulate", str(self.conf)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"lircd exited with {self.proc.returncode}: {log.read_text()}")
            with socket.socket(socket.AF_UNIX) as s:
                try:
                    s.connect(self.socket)
                    return
                except OSError:
                    time.sleep(0.05)
        pytest.fail(f"lircd did not listen on {self.socket} within 10 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None

    def mark(self) -> int:
        return self.out.stat().st_size

    def sent(self, since: int = 0, *, expect: int = 1, settle: float = 0.3) -> list[int | str]:
        """Frames and repeats written after byte ``since``: wait for ``expect`` frames, then
        ``settle`` s more for anything that should not be there."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if sum(isinstance(x, int) for x in self._decoded(since)) >= expect:
                break
            time.sleep(0.02)
        time.sleep(settle)
        return self._decoded(since)

    def _decoded(self, since: int) -> list[int | str]:
        with open(self.out, "rb") as f:
            f.seek(since)
            return decode_nec(f.read().decode("ascii", "replace"))
