"""Fuzz every exposed method of the daemon over a real connection (issue #10, security).

The methods are found by introspection (every ``exposed_*`` of :class:`LabService` that
the project defines), so a new method is fuzzed without anyone listing it. Each gets
random types and values (None, bools, huge ints, NaN and infinities, long strings, big
bytes, nested tuples, a PNG header claiming 20000x20000 pixels, too few or too many
arguments), with the caller's real lease id or a garbage one. Every answer must be a
success or one of the wire's typed errors, never "lab daemon internal error"; the
daemon must never crash or stop answering, and ``health()`` is fine afterwards.

Waits are drawn short (numbers up to a fraction of a second, or invalid) so the whole
file runs in about a minute.
"""

from __future__ import annotations

import inspect
import math
import struct
import zlib

import cv2
import numpy as np
import pytest
import rpyc
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lab_daemon.service import LabService
from pytest_virtualpy.errors import LabConnectionError, LabError
from pytest_virtualpy.lab import wire
from pytest_virtualpy.lab.client import LabClient
from pytest_virtualpy.lab.local import LocalLab, start_sim_lab

pytestmark = pytest.mark.timeout(300)

#: every exposed method the project defines (rpyc.Service's own two are not ours)
METHODS = {
    name.removeprefix("exposed_"): list(inspect.signature(getattr(LabService, name)).parameters)[1:]
    for name in sorted(dir(LabService))
    if name.startswith("exposed_") and not hasattr(rpyc.Service, name)
}
EXAMPLES = 14


def _png_claiming(width: int, height: int) -> bytes:
    body = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    ihdr = struct.pack(">I", 13) + body + struct.pack(">I", zlib.crc32(body))
    idat = zlib.compress(b"\0" * 1000)
    idat_chunk = struct.pack(">I", len(idat)) + b"IDAT" + idat + struct.pack(">I", 0)
    return b"\x89PNG\r\n\x1a\n" + ihdr + idat_chunk


SMALL_PNG = cv2.imencode(".png", np.full((16, 16, 3), 40, np.uint8))[1].tobytes()
SPECIAL_FLOATS = [math.nan, math.inf, -math.inf, -1.0, 0.0, 1e300, -1e300, 5e-324, 0.05]
SPECIAL_INTS = [-1, 0, 1, 2**31, 2**63, 2**64 + 1, 10**40, -(10**40)]
SPECIAL_STRS = [
    "",
    "x" * 70_000,
    "\0",
    "on",
    "off",
    "cycle",
    "status",
    "png",
    "jpeg",
    "KEY_OK",
    "(a+)+b",
    "(a{1000}){1000}",
    "[",
    "{}",
    "[]",
    "null",
    "slow",
    "reboot",
    '{"latency_ms": 1e400}',
    '{"probability": NaN}',
    '{"model": null, "capabilities": ["serial", "warp"]}',
    '{"erode_passes": 100000}',
    '{"match_threshold": "high"}',
    "[" * 5000,
    "10/20",
    "0/0",
]
SPECIAL_BYTES = [b"", b"\0" * (9 << 20), SMALL_PNG, _png_claiming(20000, 20000), b"\xff\xd8\xff"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(SPECIAL_INTS),
    st.sampled_from(SPECIAL_FLOATS),
    st.floats(0, 0.2),
    st.text(max_size=20),
    st.sampled_from(SPECIAL_STRS),
    st.binary(max_size=40),
    st.sampled_from(SPECIAL_BYTES),
)
values = st.recursive(scalars, lambda inner: st.tuples(inner, inner) | st.tuples(), max_leaves=6)
values = st.one_of(
    values,
    st.tuples(*[st.integers(-5, 2000)] * 4),  # region-like
    st.tuples(*[st.sampled_from(SPECIAL_FLOATS)] * 4),
    st.sampled_from([tuple(range(100)), ((((1,),),),)]),
)
garbage_ids = st.one_of(st.text(max_size=40), st.sampled_from(["", "0" * 32, "x" * 70_000]))


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> LocalLab:
    """A daemon of our own: fuzzing powers boxes off and injects faults."""
    lab = start_sim_lab(2, fps=15, boot_secs=0.5, workdir=tmp_path_factory.mktemp("fuzz"))
    yield lab
    lab.stop()


class Holder:
    """One connection holding one lease, renewed or taken again when fuzzing ended it."""

    def __init__(self, lab: LocalLab):
        self.lab = lab
        self.client: LabClient | None = None
        self.lease_id = ""

    def ensure(self) -> str:
        if self.client is not None and not self.client.closed:
            try:
                self.client.call("renew", self.lease_id)
                return self.lease_id
            except LabError:
                self.client.close()  # its other leases (fuzzed ones) end with it
        self.client = LabClient.connect(self.lab.address, self.lab.token, client_name="fuzz")
        self.client.call_margin_secs = 10.0
        self.lease_id = self.client.call("lease", None, "fuzz", 60.0)["lease_id"]
        return self.lease_id


@pytest.fixture(scope="module")
def holder(lab):
    h = Holder(lab)
    yield h
    if h.client is not None:
        h.client.close()


def _size(value) -> int:
    if isinstance(value, tuple | list):
        return sum(_size(v) for v in value)
    return len(value) if isinstance(value, str | bytes) else 8


def _call(client: LabClient, name: str, args: tuple) -> None:
    """One call; a typed error is a fine answer, an internal error or silence is not."""
    try:
        raw = client._raw(name, args, 2.0)
        for text in raw if isinstance(raw, tuple) else (raw,):
            if isinstance(text, str):
                wire.decode(text)
    except LabConnectionError as e:
        pytest.fail(f"{name}{args!r:.300}: the daemon did not answer: {e}")
    except LabError as e:
        assert "internal error" not in str(e), f"{name}{args!r:.300} -> {e}"
    except tuple(set(wire.WIRE_ERRORS.values())):
        pass


@pytest.mark.parametrize("name", METHODS)
def test_fuzz_one_exposed_method(lab, holder, name):
    params = METHODS[name]

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=st.data())
    def fuzz(data):
        lease_id = holder.ensure()
        n = data.draw(
            st.sampled_from([len(params)] * 4 + [max(0, len(params) - 1), len(params) + 1])
        )
        args = list(data.draw(st.tuples(*[values] * n)))
        if args and params and params[0] == "lease_id":
            args[0] = data.draw(st.one_of(st.just(lease_id), garbage_ids), label="lease")
        # a message inflating past the transport's cap (32 MB) closes the connection by
        # design (tests of the transport cover that); here each call must be answered
        assume(_size(args) < 16 << 20)
        _call(holder.client, name, tuple(args))

    fuzz()
    assert lab.process.poll() is None, "the daemon died"


def test_the_daemon_is_healthy_after_the_fuzzing(lab):
    with LabClient.connect(lab.address, lab.token, client_name="after") as client:
        health = client.health()
        assert set(health["devices"]) == set(lab.devices)
        assert all(d["capturing"] for d in health["devices"].values())
        lease = client.lease(None, "after", 10)
        assert client.call("keys", lease["lease_id"])
    assert lab.process.poll() is None
    log = lab.log_path.read_text(errors="replace")
    assert "internal error" not in log
    assert "Traceback" not in log, "an exposed method failed with a daemon bug (see its log)"
