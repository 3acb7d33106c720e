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


def test_a_killed_test_run_leaves_no_simulated_daemon_behind(tmp_path):
    """The built-in lab's daemon follows its test process, even one killed by SIGKILL."""
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "from pytest_virtualpy.lab.local import start_sim_lab; import time; "
        "lab = start_sim_lab(1, boot_secs=0.5); print(lab.process.pid, flush=True); "
        "time.sleep(120)"
    )
    run = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    daemon = int(run.stdout.readline())
    os.kill(run.pid, signal.SIGKILL)
    run.wait()

    def alive() -> bool:
        try:
            return Path(f"/proc/{daemon}/stat").read_text().split()[2] != "Z"  # zombie: gone
        except FileNotFoundError:
            return False

    deadline = time.monotonic() + 20
    while alive():
        assert time.monotonic() < deadline, f"daemon {daemon} outlived its test process"
        time.sleep(0.1)
