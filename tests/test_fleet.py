"""A fleet of two real lab daemons shared through a pool (issue #10, part 1, test side).

The labs of tests/fleet_labs.py (``north``: two ``acme-4k`` boxes; ``south``: a
``zeta-hd`` box and a capture-only ``cam-hd`` bench), named in a labs.toml with the pool
``house``. pytester suites run against them with ``--lab=pool:house`` (and ``-n 4``);
every test writes down the device it got and when it held it.
"""

from __future__ import annotations

import itertools
import json
import textwrap
import threading
import time
from pathlib import Path

import pytest
from fleet_labs import ACME, ALL_DEVICES, devices, hog, labs_toml, start_fleet, stop_fleet
from monitor_lab import wait_for

from pytest_virtualpy.lab.client import LabClient
from pytest_virtualpy.lab.inventory import LabSpec
from pytest_virtualpy.lab.session import LabSession

pytestmark = pytest.mark.timeout(300)


#: every test of a suite calls this: which device it got, from when to when
RECORD = """
import json, os, pathlib, time

def record(request, stb, secs=0.5):
    start = time.time()
    time.sleep(secs)
    out = pathlib.Path(os.environ["SEEN_DIR"]) / (request.node.name + ".json")
    out.write_text(json.dumps({
        "test": request.node.name, "device": stb.name, "model": stb.model,
        "capabilities": stb.info["capabilities"],
        "worker": os.environ.get("PYTEST_XDIST_WORKER", "main"),
        "start": start, "end": time.time(),
    }))
"""

REC_FIXTURE = """
import pytest

@pytest.fixture
def rec(request):
    return lambda stb, secs=0.5: record(request, stb, secs)
"""


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """The two daemons, started once for this file."""
    fleet = start_fleet(tmp_path_factory.mktemp("fleet"))
    yield fleet
    stop_fleet(fleet)


@pytest.fixture
def house(pytester, fleet, monkeypatch):
    """A pytester folder whose labs.toml names both labs and the pool ``house``."""
    monkeypatch.setenv("NORTH_TOKEN", fleet["north"].token)
    monkeypatch.setenv("SOUTH_TOKEN", fleet["south"].token)
    monkeypatch.delenv("VIRTUALPY_LEASE_TIMEOUT", raising=False)
    seen = pytester.mkdir("seen")
    monkeypatch.setenv("SEEN_DIR", str(seen))
    pytester.makefile(".toml", labs=labs_toml(fleet))
    pytester.makeini("[pytest]\nvirtualpy_results_db = none\n")
    pytester.makeconftest(RECORD + REC_FIXTURE)
    return seen


def _seen(folder: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in folder.iterdir()}


# --- a pool under -n 4: every worker a device, every marked test a matching one ----------


def test_a_pool_under_xdist_gives_each_test_a_device_that_meets_its_marker(pytester, house):
    pytester.makepyfile(
        test_suite="""
        import pytest

        @pytest.mark.parametrize("i", range(4))
        def test_any(rec, stb, i):
            rec(stb, 1.0)

        @pytest.mark.device(model="acme-4k")
        @pytest.mark.parametrize("i", range(3))
        def test_acme(rec, stb, i):
            rec(stb)

        @pytest.mark.device(capabilities=["serial", "power"])
        @pytest.mark.parametrize("i", range(3))
        def test_serial_power(rec, stb, i):
            rec(stb)
            assert stb.serial is not None and stb.power is not None

        @pytest.mark.device(model="zeta-hd", capabilities=["remote"])
        @pytest.mark.parametrize("i", range(2))
        def test_zeta(rec, stb, i):
            rec(stb)

        @pytest.mark.device(model="cam-hd")
        def test_cam(rec, stb):
            rec(stb)
            assert stb.serial is None and stb.sim is None
        """
    )
    result = pytester.runpytest_subprocess("-n", "4", "--lab=pool:house", "-p", "no:randomly")
    result.assert_outcomes(passed=13)
    seen = _seen(house)
    assert len(seen) == 13, seen
    for name, got in seen.items():
        _, model = ALL_DEVICES[got["device"]]
        assert got["model"] == model, got
        if name.startswith("test_acme"):
            assert model == ACME, got
        if name.startswith("test_serial_power"):
            assert {"serial", "power"} <= set(got["capabilities"]), got
        if name.startswith("test_zeta"):
            assert got["device"] == "s-zeta-0", got
        if name == "test_cam":
            assert got["device"] == "s-cam-0", got
    used = {got["device"] for got in seen.values()}
    assert {ALL_DEVICES[d][0] for d in used} == {"north", "south"}, used  # both labs served
    assert len({got["worker"] for got in seen.values()}) >= 2, seen
    # no device was ever used by two tests at the same time
    for device in used:
        spans = sorted((g["start"], g["end"]) for g in seen.values() if g["device"] == device)
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert start >= end, (device, spans)


def test_a_worker_swaps_a_device_that_does_not_match_and_keeps_it_for_unmarked_tests(
    pytester, house, fleet
):
    pytester.makepyfile(
        test_order="""
        import pytest

        @pytest.mark.device(model="acme-4k")
        def test_1_acme(rec, stb):
            rec(stb, 0)

        @pytest.mark.device(model="zeta-hd")
        def test_2_zeta(rec, stb):
            rec(stb, 0)

        def test_3_unmarked(rec, stb, lab):
            rec(stb, 0)
            held = {d["name"]: d["lease"] for d in lab.devices()}
            assert held["s-zeta-0"] is not None

        @pytest.mark.device(capabilities=["sim"])
        def test_4_sim(rec, stb):
            rec(stb, 0)
        """
    )
    result = pytester.runpytest_subprocess("--lab=pool:house", "-p", "no:randomly")
    result.assert_outcomes(passed=4)
    seen = _seen(house)
    assert ALL_DEVICES[seen["test_1_acme"]["device"]][1] == ACME
    assert seen["test_2_zeta"]["device"] == "s-zeta-0"
    assert seen["test_3_unmarked"]["device"] == "s-zeta-0"  # kept: anything will do
    assert seen["test_4_sim"]["device"] == "s-zeta-0"  # kept: it is a simulated box
    # the acme box given back is free again: nobody holds it
    assert all(d["lease"] is None for d in devices(fleet, "north"))


# --- requirements no device could ever meet --------------------------------------------


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["one process", "xdist"])
def test_a_requirement_no_device_can_meet_is_a_usage_error_before_the_test(pytester, house, xdist):
    pytester.makepyfile(
        test_impossible="""
        import pathlib, os
        import pytest

        @pytest.mark.device(model="acme-4k", capabilities=["adb"])
        def test_needs_adb(stb):
            (pathlib.Path(os.environ["SEEN_DIR"]) / "ran").touch()

        def test_fine(stb):
            assert stb.name
        """
    )
    result = pytester.runpytest_subprocess("--lab=pool:house", "--lease-timeout=60", *xdist)
    result.assert_outcomes(passed=1, errors=1)
    out = result.stdout.str()
    assert "USAGE ERROR" in out, out
    assert not (house / "ran").exists()  # the body never ran
    assert "no device on lab(s) north, south matches model 'acme-4k' with adb" in out, out
    for line in (
        "north/n-acme-0 (model acme-4k: video, remote, power, serial, audio, sim)",
        "north/n-acme-1 (model acme-4k: video, remote, power, serial, audio, sim)",
        "south/s-zeta-0 (model zeta-hd: video, remote, power, serial, audio, sim)",
        "south/s-cam-0 (model cam-hd: video, remote)",
    ):
        assert line in out, out
    assert "waiting up to" not in out + result.stderr.str()  # refused, not queued


@pytest.mark.parametrize(
    ("marker", "said"),
    [
        ('capabilities=["serail"]', "unknown capability 'serail'"),
        ('"acme-4k"', "takes keywords only"),
        ('modle="acme-4k"', "unknown keyword(s) modle"),
        ('capabilities="serial"', "must be a list of part names"),
        ("model=4", "must be a model name"),
    ],
)
def test_a_bad_device_marker_is_a_usage_error_saying_what_is_wrong(pytester, house, marker, said):
    pytester.makepyfile(
        test_bad=f"""
        import pytest

        @pytest.mark.device({marker})
        def test_marked(stb):
            pass

        def test_unmarked(stb):
            pass
        """
    )
    result = pytester.runpytest_subprocess("--lab=pool:house")
    result.assert_outcomes(passed=1, errors=1)
    out = result.stdout.str()
    assert "USAGE ERROR" in out and said in out, out


# --- waiting: bounded by --lease-timeout (option, ini, env), in the daemons --------------


def _zeta_suite(pytester) -> None:
    pytester.makepyfile(
        test_wait="""
        import pytest

        @pytest.mark.device(model="zeta-hd")
        def test_zeta(stb):
            pass
        """
    )


@pytest.mark.parametrize(
    ("how", "secs"),
    [("option", "2"), ("ini", "1.5"), ("env", "1"), ("option over env and ini", "2.5")],
)
def test_the_lease_timeout_bounds_the_wait(pytester, house, fleet, monkeypatch, how, secs):
    args = ["--lab=pool:house", "-p", "no:cacheprovider"]
    if how.startswith("option"):
        args.append(f"--lease-timeout={secs}")
    if how == "ini" or how.startswith("option over"):
        pytester.makeini(
            "[pytest]\nvirtualpy_results_db = none\nvirtualpy_lease_timeout = "
            f"{'7' if how != 'ini' else secs}\n"
        )
    if how == "env" or how.startswith("option over"):
        monkeypatch.setenv("VIRTUALPY_LEASE_TIMEOUT", "8" if how != "env" else secs)
    _zeta_suite(pytester)
    holder, _ = hog(fleet, "south", "s-zeta-0")
    try:
        # the default (60 s) would outlast this bound
        result = pytester.runpytest_subprocess(*args, timeout=45)
    finally:
        holder.close()
    result.assert_outcomes(errors=1)
    out = result.stdout.str() + result.stderr.str()
    assert "LAB ERROR" in out, out
    assert f"no free device on lab(s) south after waiting {secs} s (--lease-timeout)" in out, out
    # the progress line names who holds the device the test waits for
    assert f"waiting up to {secs} s for a free device (model 'zeta-hd') on lab south" in out
    assert "s-zeta-0 held by hog since" in out, out


@pytest.mark.parametrize("value", ["abc", "-1", "nan", "21601"])
def test_a_bad_lease_timeout_is_refused_with_the_fix(pytester, house, value):
    _zeta_suite(pytester)
    result = pytester.runpytest_subprocess("--lab=pool:house", f"--lease-timeout={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "--lease-timeout" in err and "must be seconds from 0 to 21600" in err, err
    assert repr(value) in err, err


def test_a_client_queues_on_every_lab_takes_the_first_device_and_leaves_the_others(
    fleet, monkeypatch
):
    """All four devices held: a session queues in both daemons (their ``waiting`` counts
    show it, no polling), gets the first freed device, and gives its other place up."""
    hogs = [hog(fleet, ALL_DEVICES[d][0], d) for d in ALL_DEVICES]
    north = LabClient.connect(fleet["north"].address, fleet["north"].token, client_name="t")
    south = LabClient.connect(fleet["south"].address, fleet["south"].token, client_name="t")
    monkeypatch.setenv("NORTH_TOKEN_FLEET", fleet["north"].token)
    monkeypatch.setenv("SOUTH_TOKEN_FLEET", fleet["south"].token)
    specs = [
        LabSpec("north", fleet["north"].address, "NORTH_TOKEN_FLEET"),
        LabSpec("south", fleet["south"].address, "SOUTH_TOKEN_FLEET"),
    ]
    session = LabSession(specs, owner="queued", lease_timeout_secs=60)
    got: dict = {}
    opener = threading.Thread(target=lambda: got.update(device=session.open()), daemon=True)
    try:
        opener.start()

        def waiting(client: LabClient) -> int:
            return max(d.get("waiting", 0) for d in client.list_devices())

        wait_for(lambda: waiting(north) == 1 and waiting(south) == 1, 20, "a wait on each lab")
        cam_hog, cam = next(h for h in hogs if h[1].name == "s-cam-0")
        cam_hog.release(cam.lease_id)
        opener.join(20)
        assert got["device"].name == "s-cam-0"
        assert session.spec.name == "south"
        wait_for(lambda: waiting(north) == 0, 5, "the place on north given up")
        acme_hog, acme = next(h for h in hogs if h[1].name == "n-acme-0")
        acme_hog.release(acme.lease_id)
        time.sleep(1.0)  # a wait not given up would take it now
        held = {d["name"]: d["lease"] for d in north.list_devices()}
        assert held["n-acme-0"] is None, held
    finally:
        session.close()
        for client, _ in hogs:
            client.close()
        north.close()
        south.close()


# --- pools in labs.toml -----------------------------------------------------------------


def test_an_unknown_pool_or_a_pool_of_unknown_labs_is_a_clear_config_error(pytester, house):
    pytester.makepyfile("def test_x(stb):\n    pass\n")
    result = pytester.runpytest_subprocess("--lab=pool:attic")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown pool 'attic'. Pools in *labs.toml: house*"])
    labs = (pytester.path / "labs.toml").read_text()
    (pytester.path / "labs.toml").write_text(labs + '\n[pools.broken]\nlabs = ["north", "west"]\n')
    result = pytester.runpytest_subprocess("--lab=pool:broken")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*pool 'broken' in *labs.toml names unknown lab(s) 'west'. Known labs: north, south*"]
    )
    (pytester.path / "labs.toml").write_text(labs + "\n[pools.empty]\nlabs = []\n")
    result = pytester.runpytest_subprocess("--lab=pool:house")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(['*[[]pools.empty[]] needs labs = [[]"LAB", ...[]]*'])


def test_labs_given_by_name_are_a_pool_too(pytester, house):
    pytester.makepyfile(
        textwrap.dedent(
            """
            import pytest
            @pytest.mark.device(model="cam-hd")
            def test_cam(rec, stb):
                rec(stb, 0)
            """
        )
    )
    pytester.runpytest_subprocess("--lab=north,south").assert_outcomes(passed=1)
    assert _seen(house)["test_cam"]["device"] == "s-cam-0"
