"""The pytest plugin seen from a user's test run (pytester)."""

from __future__ import annotations

import pytest

SIMPLE_TEST = """
def test_screen(stb, remote, tv_screen):
    assert stb.name and stb.model == "VPY-STB-1"
    assert stb.sim is not None
    remote.press("KEY_INFO")
    assert tv_screen.get_frame().shape == (720, 1280, 3)
"""


@pytest.fixture
def labs_toml(sim_project, sim_lab):
    """The session's simulated lab, named ``bench-a`` in the pytester project."""
    return sim_lab


def test_default_lab_is_a_local_simulator(pytester):
    pytester.makeini("[pytest]\nvirtualpy_sim_boot_secs = 0.5\n")
    pytester.makepyfile(SIMPLE_TEST)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["virtualpy: lab 'sim'*"])


def test_unknown_lab_lists_known_ones(pytester, labs_toml):
    pytester.makepyfile(SIMPLE_TEST)
    result = pytester.runpytest("--lab=bench-z")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown lab 'bench-z'*Known labs: bench-a*"])


def test_a_lab_given_by_its_address_needs_no_labs_toml(pytester, sim_lab, monkeypatch):
    monkeypatch.setenv("VIRTUALPY_LAB_TOKEN", sim_lab.token)
    pytester.makeini("[pytest]\nvirtualpy_sim_boot_secs = 0.5\n")
    pytester.makepyfile(SIMPLE_TEST)
    result = pytester.runpytest(f"--lab={sim_lab.address}")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"virtualpy: labs {sim_lab.address} (*devices)*"])


def test_named_lab_from_option_ini_and_env(pytester, labs_toml, monkeypatch):
    pytester.makepyfile(SIMPLE_TEST)
    pytester.runpytest("--lab=bench-a").assert_outcomes(passed=1)
    monkeypatch.setenv("VIRTUALPY_LAB", "bench-a")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["virtualpy: labs bench-a (3 devices)"])
    monkeypatch.delenv("VIRTUALPY_LAB")
    pytester.makeini("[pytest]\nvirtualpy_lab = nowhere\n")
    assert pytester.runpytest().ret == pytest.ExitCode.USAGE_ERROR


def test_bad_labs_file_is_a_usage_error(pytester):
    pytester.makefile(".toml", labs="[labs.x\n")
    pytester.makepyfile(SIMPLE_TEST)
    result = pytester.runpytest("--lab=x")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*labs.toml is not valid TOML*"])


def test_failure_saves_screenshot_and_names_it(pytester, labs_toml):
    pytester.makepyfile("""
        def test_fails(tv_screen):
            assert tv_screen.is_black(), "expected a black screen"
    """)
    result = pytester.runpytest("--lab=bench-a", "--artifacts=arts")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*screenshot: *failure.png*"])
    shots = list((pytester.path / "arts").rglob("failure.png"))
    assert len(shots) == 1 and shots[0].stat().st_size > 1000


def test_match_timeout_is_a_failure_with_annotated_screenshot(pytester, labs_toml):
    pytester.makepyfile("""
        import numpy as np
        def test_times_out(tv_screen):
            ref = np.random.default_rng(0).integers(0, 255, (40, 40, 3), dtype=np.uint8)
            tv_screen.wait_for_match(ref, timeout=0.5)
    """)
    result = pytester.runpytest("--lab=bench-a", "--artifacts=arts")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*MatchTimeout*best score*", "*annotated screenshot: *"])
    assert list((pytester.path / "arts").rglob("failure-annotated.png"))


def test_lab_error_is_reported_as_error_not_failure(pytester, labs_toml):
    pytester.makepyfile("""
        from pytest_virtualpy.errors import LeaseLost
        def test_lab_breaks(stb):
            raise LeaseLost("lease went away")
    """)
    result = pytester.runpytest("--lab=bench-a")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*LAB ERROR*"])


def test_faults_are_cleared_between_tests(pytester, labs_toml):
    pytester.makepyfile("""
        def test_a(stb):
            stb.sim.inject("black")
            assert stb.sim.faults()
        def test_b(stb):
            assert stb.sim.faults() == {}
    """)
    pytester.runpytest("--lab=bench-a", "-p", "no:randomly").assert_outcomes(passed=2)


def test_xdist_gives_each_worker_its_own_device(pytester, labs_toml, monkeypatch):
    pytester.makepyfile("""
        import os, pathlib, time
        import pytest
        @pytest.mark.parametrize("i", range(6))
        def test_a(stb, i):
            worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
            (pathlib.Path(os.environ["SEEN_DIR"]) / f"{worker}={stb.name}").touch()
            time.sleep(0.3)
    """)
    seen = pytester.mkdir("seen")
    monkeypatch.setenv("SEEN_DIR", str(seen))
    result = pytester.runpytest_subprocess("--lab=bench-a", "-n", "2")
    result.assert_outcomes(passed=6)
    pairs = dict(p.name.split("=") for p in seen.iterdir())
    assert len(pairs) == 2, pairs  # both workers ran tests
    assert len(set(pairs.values())) == 2, pairs  # ... each on its own device


def test_more_workers_than_devices_is_explained(pytester, labs_toml):
    pytester.makepyfile("""
        import time
        import pytest
        @pytest.mark.parametrize("i", range(4))
        def test_hold(stb, i):
            time.sleep(3)
    """)
    result = pytester.runpytest_subprocess("--lab=bench-a", "-n", "4", "--lab-lease-wait=1")
    result.stdout.fnmatch_lines(["*WARNING: 4 workers but only 3 devices*Use -n 3*"])
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) >= 1
    result.stdout.fnmatch_lines(["*no free device*workers*"])


def test_lab_given_twice_means_both(pytester):
    """``--lab a --lab b`` is ``--lab a,b``: neither is silently dropped."""
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("--lab", "nope-1", "--lab", "nope-2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "'nope-1'" in err and "'nope-2'" in err, err
