"""Benchmark: the example suite with ``pytest -n 1``, ``-n 2`` and ``-n 4`` on ONE daemon.

    .venv/bin/python bench/scaling.py [--workers 1,2,4] [--devices 4] [--rounds 1]

Starts one simulated lab daemon (``virtualpy-lab sim``) with ``--devices`` boxes and runs
the example suite (``examples/``) against it with each ``-n`` in turn, pointing pytest at
the daemon with ``--lab HOST:PORT`` and ``$VIRTUALPY_LAB_TOKEN``, as a CI job pointed at a
lab host would. Results, artifacts and the spool go to a scratch folder, so the runs leave
nothing in ``examples/.virtualpy``.

For every run it prints the wall time of the whole pytest command (worker start-up
included), the tests that passed (read from the run's JUnit XML: a run in which any test
failed, errored or did not run is reported as INVALID and the script exits 1), the
throughput (tests a minute) and its ratio to the ``-n 1`` run, and where the CPU went:

* ``test cpu``: user+system seconds of pytest and all its xdist workers
  (``resource.getrusage(RUSAGE_CHILDREN)`` around the run: every worker is waited for);
* ``daemon cpu``: the daemon's user+system seconds over the run (``/proc/PID/stat``);
* ``machine``: how busy all the machine's cores were (``/proc/stat``); well above
  ``test+daemon`` means something else was running and the figures are noisy.

Before the runs it also measures the daemon's idle CPU (no client), since that cost is
paid whatever the tests do. With ``--rounds R`` the ``-n`` values are interleaved R times
and the medians are printed. The issue's goal: throughput at ``-n 4`` at least 3x that of
``-n 1`` on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cpu_seconds

from pytest_virtualpy.lab.local import start_sim_lab

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
RUN_TIMEOUT_SECS = 600


@dataclass
class Run:
    """One pytest run of the example suite and what it cost."""

    workers: int
    wall: float
    test_cpu: float
    daemon_cpu: float
    machine_busy: float  # core-seconds the whole machine was busy during the run
    counts: dict[str, int]
    exit_code: int

    @property
    def ran(self) -> int:
        return self.counts["passed"] + self.counts["xfailed"]

    @property
    def valid(self) -> bool:
        c = self.counts
        return self.exit_code == 0 and c["failed"] == 0 and c["error"] == 0 and c["passed"] > 0


def machine_busy_secs() -> float:
    """Core-seconds every CPU of this machine has been busy since boot (/proc/stat)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def junit_counts(path: Path) -> dict[str, int]:
    """passed / failed / error / skipped / xfailed counts from pytest's JUnit XML."""
    counts = dict.fromkeys(("passed", "failed", "error", "skipped", "xfailed"), 0)
    if not path.exists():
        return counts
    for case in ET.parse(path).getroot().iter("testcase"):
        kinds = {child.tag for child in case}
        skipped = case.find("skipped")
        if "failure" in kinds:
            counts["failed"] += 1
        elif "error" in kinds:
            counts["error"] += 1
        elif skipped is not None:
            xfail = skipped.get("type") == "pytest.xfail"
            counts["xfailed" if xfail else "skipped"] += 1
        else:
            counts["passed"] += 1
    return counts


def run_suite(workers: int, address: str, token: str, daemon_pid: int, scratch: Path) -> Run:
    """Run the example suite once with ``-n workers`` against the daemon at ``address``."""
    out = scratch / f"n{workers}-{time.monotonic_ns()}"
    junit = out / "junit.xml"
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-n",
        str(workers),
        f"--lab={address}",
        f"--junitxml={junit}",
        f"--results-db={out / 'results.db'}",
        f"--artifacts={out / 'artifacts'}",
        "-o",
        f"virtualpy_results_spool={out / 'spool'}",
    ]
    # as `dev.py demo` runs the suite: no .pyc files written, so every process compiles
    # (and assertion-rewrites) the plugin and the tests afresh, as on a fresh CI checkout
    env = dict(os.environ, VIRTUALPY_LAB_TOKEN=token, PYTHONDONTWRITEBYTECODE="1")
    env.pop("VIRTUALPY_LAB", None)
    cpu0, daemon0, busy0 = children_cpu(), cpu_seconds(daemon_pid), machine_busy_secs()
    t0 = time.monotonic()
    proc = subprocess.run(
        cmd, cwd=EXAMPLES, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_SECS
    )
    wall = time.monotonic() - t0
    run = Run(
        workers,
        wall,
        children_cpu() - cpu0,
        cpu_seconds(daemon_pid) - daemon0,
        machine_busy_secs() - busy0,
        junit_counts(junit),
        proc.returncode,
    )
    out.mkdir(parents=True, exist_ok=True)  # pytest makes it, unless it failed to start
    (out / "output.txt").write_text(proc.stdout + proc.stderr)
    if not run.valid:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        print(f"-n {workers}: INVALID run (exit {proc.returncode}, {run.counts}):\n{tail}")
    return run


def idle_daemon_cpu(pid: int, secs: float) -> float:
    """The daemon's CPU use with no client, in % of one core."""
    c0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(secs)
    return (cpu_seconds(pid) - c0) / (time.monotonic() - t0) * 100


def report(runs: list[Run], cores: int) -> None:
    by_n: dict[int, list[Run]] = {}
    for r in runs:
        by_n.setdefault(r.workers, []).append(r)

    def med(rs: list[Run], attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in rs)

    base = None
    print(
        f"{'-n':>3} {'wall s':>7} {'tests':>6} {'tests/min':>9} {'ratio':>6} "
        f"{'test cpu s':>10} {'daemon cpu s':>12} {'cpu/test s':>10} {'machine busy':>12}"
    )
    for n in sorted(by_n):
        rs = by_n[n]
        wall, ran = med(rs, "wall"), statistics.median(r.ran for r in rs)
        rate = ran / wall * 60
        base = base or (rate if n == min(by_n) else None)
        test_cpu, daemon_cpu = med(rs, "test_cpu"), med(rs, "daemon_cpu")
        busy = statistics.median(r.machine_busy / r.wall / cores * 100 for r in rs)
        own = statistics.median((r.test_cpu + r.daemon_cpu) / r.wall / cores * 100 for r in rs)
        print(
            f"{n:>3} {wall:>7.1f} {ran:>6.0f} {rate:>9.1f} {rate / base:>5.2f}x "
            f"{test_cpu:>10.1f} {daemon_cpu:>12.1f} {(test_cpu + daemon_cpu) / ran:>10.2f} "
            f"{busy:>5.0f}% ({own:.0f}% ours)"
        )


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--workers", default="1,2,4", help="comma-separated -n values (1,2,4)")
    ap.add_argument("--devices", type=int, default=4, help="simulated boxes in the daemon")
    ap.add_argument("--rounds", type=int, default=1, help="interleaved repetitions (medians)")
    ap.add_argument("--boot-secs", type=float, default=2.0, help="the boxes' boot time")
    ap.add_argument("--idle-secs", type=float, default=5.0, help="idle daemon CPU sample")
    args = ap.parse_args()
    try:
        workers = [int(w) for w in args.workers.split(",") if w.strip()]
    except ValueError:
        ap.error(f"--workers takes comma-separated integers like 1,2,4, not {args.workers!r}")
    if not workers or min(workers) < 1 or args.rounds < 1 or args.devices < 1:
        ap.error("--workers, --rounds and --devices must be positive")
    if max(workers) > args.devices:
        ap.error(f"-n {max(workers)} needs at least as many devices; pass --devices")
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="virtualpy-scaling-") as tmp:
        scratch = Path(tmp)
        lab = start_sim_lab(args.devices, boot_secs=args.boot_secs, workdir=scratch / "lab")
        try:
            time.sleep(args.boot_secs + 1)  # let every box boot before measuring it idle
            idle = idle_daemon_cpu(lab.process.pid, args.idle_secs)
            print(
                f"daemon: {args.devices} simulated devices at {lab.address}; idle CPU "
                f"{idle:.0f}% of a core; {cores} cores; load average before: "
                f"{Path('/proc/loadavg').read_text().split()[0]}"
            )
            runs = []
            for r in range(args.rounds):
                order = workers if r % 2 == 0 else workers[::-1]
                for n in order:
                    run = run_suite(n, lab.address, lab.token, lab.process.pid, scratch)
                    print(
                        f"  round {r + 1} -n {n}: {run.wall:.1f} s, {run.counts}, test cpu "
                        f"{run.test_cpu:.1f} s, daemon cpu {run.daemon_cpu:.1f} s",
                        flush=True,
                    )
                    runs.append(run)
        finally:
            lab.stop()
    report(runs, cores)
    invalid = [r for r in runs if not r.valid]
    counts = {r.ran for r in runs if r.valid}
    if len(counts) > 1:
        print(f"INVALID: runs ran different numbers of tests: {sorted(counts)}")
        return 1
    if invalid:
        print(f"INVALID: {len(invalid)} run(s) had failures or errors (see above)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
