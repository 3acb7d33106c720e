"""A lab daemon that dies mid-test ends the test as an error, quickly."""

from __future__ import annotations

import time


def test_killed_daemon_is_a_lab_error_within_30s(pytester):
    pytester.makeini("[pytest]\nvirtualpy_sim_boot_secs = 0.5\n")
    pytester.makepyfile("""
        import os, signal, threading
        import numpy as np

        def test_daemon_dies(lab, tv_screen):
            pid = lab.local.process.pid
            threading.Timer(1.0, os.kill, (pid, signal.SIGKILL)).start()
            ref = np.random.default_rng(0).integers(0, 255, (30, 30, 3), dtype=np.uint8)
            tv_screen.wait_for_match(ref, timeout=120)

        def test_next_one_also_errors_without_hanging(tv_screen):
            tv_screen.get_frame()
    """)
    started = time.monotonic()
    result = pytester.runpytest("-p", "no:cacheprovider")
    elapsed = time.monotonic() - started
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*LabConnectionError*lost the connection*"])
    assert elapsed < 30, f"took {elapsed:.1f} s"
