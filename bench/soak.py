"""Soak: many client processes share one daemon's simulated devices for minutes on end.

    .venv/bin/python bench/soak.py [--minutes 5] [--clients 16] [--devices 4]

Starts one simulated lab daemon with ``--devices`` boxes and ``--clients`` client
processes. Each client has its own connection and loops until the time is up: lease any
device, waiting for one in the daemon's queue (``lease(None, owner, ttl, wait_secs=...)``,
no polling), press HOME, capture the title bar as a reference, press LEFT/RIGHT a few
times, check the title bar still matches (``wait_for_match``), hold the device a little
longer, release it. Each client logs every lease (id, device, when it asked, when it got
it, when it let go) and every key it pressed under it.

At the end the script leases each device once more and reads the simulator's own record
of every key press (``sim_events``: key, time received, and the lease it was pressed
under). It prints:

* **leases double-booked** (goal 0): pairs of leases on one device whose holding times
  overlap, seen either in the simulator's record (a key of lease B received between two
  keys of lease A on the same device) or in the clients' logs (B granted before A was
  released: the clients' intervals lie inside the daemon's, so an overlap is real). Key
  presses the simulator credits to a lease that does not hold that device, and presses
  a client made but the simulator never saw, are counted too;
* **daemon RSS** (``/proc/PID/status``) after the first minute (or half the run, if
  shorter) and at the end, and the growth between (goal under 10%). Most of the daemon's
  memory is the rolling recordings (``[lab.recording]``: 120 s of JPEGs per device by
  default), which grow until their window is full; so when the run is long enough the
  growth is also shown from that point on, where any growth would be a leak;
* **lease wait** p50 / p95 / max / mean and **fairness**: the longest wait against the
  mean, and the leases each client got (min / max);
* leases granted, key presses, matches, and errors by type.

Exit code 1 if anything was double-booked or a press went missing.
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing as mp
import random
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import percentile

from pytest_virtualpy.lab.client import LabClient
from pytest_virtualpy.lab.device import DeviceClient
from pytest_virtualpy.lab.local import start_sim_lab

TITLE = (480, 0, 320, 60)  # the centred screen title (no clock): static on the home screen
TTL_SECS = 15.0
MAX_WAIT_SECS = 120.0


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def one_lease(client: LabClient, owner: str, deadline: float, rng: random.Random) -> dict:
    """Lease a device, press and match on it, release it; the log of it."""
    asked = time.time()
    wait = min(MAX_WAIT_SECS, max(5.0, deadline - time.time() + 30.0))
    lease = client.lease(None, owner, TTL_SECS, wait_secs=wait)
    got = time.time()
    device = DeviceClient(client, lease)
    log = {"lease": device.lease_id, "device": device.name, "asked": asked, "got": got}
    log["presses"], log["matched"] = [], None
    try:
        device.press("KEY_HOME")
        log["presses"].append(("KEY_HOME", time.time()))
        device.wait_for_sim_screen("home", 10.0)
        _, reference = device.get_frame(TITLE)
        for _ in range(rng.randint(2, 5)):
            key = rng.choice(("KEY_LEFT", "KEY_RIGHT"))
            device.press(key)
            log["presses"].append((key, time.time()))
        log["matched"] = not device.wait_for_match(reference, TITLE, None, 3.0, 1)["timed_out"]
        time.sleep(rng.uniform(0.1, 0.8))  # hold it a while: others must queue
    finally:
        log["released"] = time.time()
        client.release(device.lease_id)
    return log


def client_main(
    index: int, address: str, token: str, deadline: float, results: mp.Queue, seed: int
) -> None:
    """One client process: lease, press, match, release until ``deadline``."""
    rng = random.Random(seed * 1000 + index)
    owner = f"soak-{index}"
    leases: list[dict] = []
    errors: collections.Counter[str] = collections.Counter()
    examples: dict[str, str] = {}
    client = None
    while time.time() < deadline:
        try:
            if client is None or client.closed:
                client = LabClient.connect(address, token, client_name=owner)
            leases.append(one_lease(client, owner, deadline, rng))
        except Exception as e:  # counted by type; the soak goes on
            errors[type(e).__name__] += 1
            examples.setdefault(type(e).__name__, str(e)[:200])
            if client is not None:  # start again on a fresh connection
                client.close()
                client = None
            time.sleep(0.2)
    if client is not None:
        client.close()
    results.put({"client": index, "leases": leases, "errors": dict(errors), "examples": examples})


def sample_rss(pid: int, stop: threading.Event, out: list[tuple[float, float]]) -> None:
    while not stop.is_set():
        try:
            out.append((time.monotonic(), rss_mb(pid)))
        except (OSError, RuntimeError):
            return
        stop.wait(1.0)


def sim_records(address: str, token: str, devices: list[str]) -> tuple[dict, list[dict]]:
    """The simulator's key-press record of every device (leasing each one in turn), and
    each device's recording_info (its rolling recording is most of the daemon's memory)."""
    records, recordings = {}, []
    with LabClient.connect(address, token, client_name="soak-audit") as client:
        for name in devices:
            lease = client.lease(name, "soak-audit", 30.0, wait_secs=60.0)
            device = DeviceClient(client, lease)
            records[name] = device.sim_events()
            recordings.append(device.recording_info())
            client.release(lease["lease_id"])
    return records, recordings


def rss_at(rss: list[tuple[float, float]], t: float) -> float:
    """The first RSS sample taken at or after monotonic time ``t`` (the last one if none)."""
    return next((mb for when, mb in rss if when >= t), rss[-1][1] if rss else float("nan"))


def audit(leases: list[dict], records: dict[str, list[dict]]) -> dict:
    """Double bookings and lost or misattributed presses, from both points of view."""
    by_id = {lg["lease"]: lg for lg in leases}
    found: dict[str, int] = collections.Counter()
    overlapping: set[tuple[str, str]] = set()
    per_device: dict[str, list[dict]] = collections.defaultdict(list)
    for lg in leases:
        per_device[lg["device"]].append(lg)
    for logs in per_device.values():  # the clients' view: intervals inside the daemon's
        logs.sort(key=lambda lg: lg["got"])
        holding: list[dict] = []
        for b in logs:
            holding = [a for a in holding if a["released"] > b["got"]]
            overlapping.update(tuple(sorted((a["lease"], b["lease"]))) for a in holding)
            holding.append(b)
    attributed = 0
    for name, events in records.items():  # the simulator's view
        events = sorted(events, key=lambda ev: ev["received"])
        last_seen: dict[str, int] = {}
        for i, ev in enumerate(events):
            lease = ev.get("lease")
            if lease is None or lease not in by_id:
                found[
                    "presses credited to no soak lease" if lease else "presses with no lease"
                ] += 1
                continue
            attributed += 1
            if by_id[lease]["device"] != name:
                found["presses credited to a lease of another device"] += 1
            if lease in last_seen:  # any other lease's key since this lease's last one?
                for other in {e.get("lease") for e in events[last_seen[lease] + 1 : i]}:
                    if other and other != lease and other in by_id:
                        overlapping.add(tuple(sorted((lease, other))))
            last_seen[lease] = i
    seen = collections.Counter(
        (ev.get("lease"), ev["key"]) for evs in records.values() for ev in evs
    )
    kept_since = {  # a full record has dropped its oldest events: compare what it kept
        name: min((ev["received"] for ev in evs), default=0.0) if len(evs) >= 10_000 else 0.0
        for name, evs in records.items()
    }
    sent = collections.Counter(
        (lg["lease"], k)
        for lg in leases
        for k, _ in lg["presses"]
        if lg["got"] >= kept_since.get(lg["device"], 0.0)
    )
    if not any(ev.get("lease") for evs in records.values() for ev in evs):
        # the simulator names no lease: compare the keys each device received instead
        seen = collections.Counter((name, ev["key"]) for name, evs in records.items() for ev in evs)
        sent = collections.Counter((lg["device"], k) for lg in leases for k, _ in lg["presses"])
        found["NOTE: sim_events carry no lease id, so only the clients' logs show overlaps"] = 1
    found["presses the simulator never saw"] = sum((sent - seen).values())
    found["leases double-booked"] = len(overlapping)
    found["presses attributed"] = attributed
    found["audit: events kept per device (cap 10000)"] = max(map(len, records.values()), default=0)
    return dict(found)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--devices", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if not (args.minutes > 0 and args.clients > 0 and args.devices > 0):
        ap.error("--minutes, --clients and --devices must be positive")
    secs = args.minutes * 60
    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="virtualpy-soak-") as tmp:
        lab = start_sim_lab(args.devices, boot_secs=0.5, workdir=Path(tmp))
        try:
            return run(lab, args, secs, ctx)
        finally:
            lab.stop()


def run(lab, args, secs: float, ctx) -> int:
    pid = lab.process.pid
    results: mp.Queue = ctx.Queue()
    rss: list[tuple[float, float]] = []
    stop = threading.Event()
    threading.Thread(target=sample_rss, args=(pid, stop, rss), daemon=True).start()
    start = time.monotonic()
    deadline = time.time() + secs
    procs = [
        ctx.Process(
            target=client_main,
            args=(i, lab.address, lab.token, deadline, results, args.seed),
            daemon=True,
        )
        for i in range(args.clients)
    ]
    for p in procs:
        p.start()
    print(
        f"soak: {args.clients} clients, {args.devices} devices on {lab.address}, "
        f"{secs:.0f} s (daemon pid {pid}, RSS {rss_mb(pid):.0f} MiB at start)",
        flush=True,
    )
    reports = []
    for _ in procs:
        try:
            reports.append(results.get(timeout=secs + MAX_WAIT_SECS + 120))
        except Exception:
            print("a client process sent no report:", traceback.format_exc(limit=1))
            break
    for p in procs:
        p.join(10)
    stop.set()
    elapsed = time.monotonic() - start
    leases = [lg for r in reports for lg in r["leases"]]
    errors = collections.Counter()
    for r in reports:
        errors.update(r["errors"])
    records, recordings = sim_records(lab.address, lab.token, lab.devices)
    found = audit(leases, records)
    waits = [lg["got"] - lg["asked"] for lg in leases]
    per_client = [len(r["leases"]) for r in reports]
    presses = sum(len(lg["presses"]) for lg in leases)
    matched = sum(1 for lg in leases if lg["matched"])
    ref_t = start + min(60.0, secs / 2)
    first, last = rss_at(rss, ref_t), rss_at(rss, float("inf"))
    window = max((r.get("seconds", 0.0) for r in recordings), default=0.0)
    full_t = start + window + 10  # the rolling recordings have filled their window by then
    recorded_mb = sum(r.get("bytes", 0) for r in recordings) / (1 << 20)
    mean_wait = sum(waits) / len(waits) if waits else float("nan")
    print(f"ran {elapsed:.0f} s; {len(reports)}/{len(procs)} clients reported")
    print(f"leases granted: {len(leases)}; key presses: {presses}; matches: {matched}")
    doubled = found.pop("leases double-booked")
    print(f"leases double-booked: {doubled} (goal 0)")
    for what, n in found.items():
        print(f"  {what}: {n}")
    ref_label = "after the first minute" if secs >= 120 else f"at {ref_t - start:.0f} s"
    print(
        f"daemon RSS: {first:.1f} MiB {ref_label}, {last:.1f} MiB at the end: "
        f"{(last - first) / first * 100:+.1f}% (goal < 10%); the rolling recordings held "
        f"{recorded_mb:.0f} MiB at the end and fill their {window:.0f} s window until "
        f"{full_t - start:.0f} s"
    )
    if full_t + 60 <= start + elapsed:
        full = rss_at(rss, full_t)
        print(
            f"daemon RSS once the recordings were full: {full:.1f} MiB at "
            f"{full_t - start:.0f} s, {last:.1f} MiB at the end: "
            f"{(last - full) / full * 100:+.1f}% (goal < 10%)"
        )
    if waits:
        print(
            f"lease wait: p50 {percentile(waits, 50):.2f} s, p95 {percentile(waits, 95):.2f} s,"
            f" max {max(waits):.2f} s, mean {mean_wait:.2f} s; fairness (max / mean) "
            f"{max(waits) / mean_wait if mean_wait else float('nan'):.1f}; "
            f"leases per client {min(per_client)}..{max(per_client)}"
        )
    print("errors:", ", ".join(f"{k}: {v}" for k, v in sorted(errors.items())) or "none")
    examples = {k: v for r in reports for k, v in r["examples"].items()}
    for kind, message in sorted(examples.items()):
        print(f"  e.g. {kind}: {message}")
    bad = any(
        n
        for k, n in found.items()
        if k.startswith(("presses credited", "presses the simulator never"))
    )
    return 1 if bad or doubled or len(reports) < len(procs) else 0


if __name__ == "__main__":
    sys.exit(main())
