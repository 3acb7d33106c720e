"""Benchmark: navigation between random node pairs on the simulated box (prints figures).

    .venv/bin/python bench/navigation.py [--pairs 200] [--tree examples/navigation.toml]

A simulated lab (one box, 720p) through the real daemon over real RPyC, driven the way
a test does: ``stb.navigate_to(node)`` with the real Navigator and Localiser. For each
of ``--pairs`` random (start, target) pairs of the tree's nodes, the box is first taken
to the start with no fault, then the scenario's fault is injected and the navigator
must reach the target. Arrival is judged by the box's ground truth (``sim_state``: the
screen it really shows, and no dialog open), never by the navigator's own word. Three
scenarios, each on the same pairs:

* no faults (goal: 100% arrive);
* key presses dropped (``drop_keys`` with the chance ``--drop-chance``, 5%; goal: >= 98%
  through recovery);
* popups (``popup`` after a key press with the chance ``--popup-chance``, 5%).

Also printed: key presses the box received per navigation (ground truth) against the
fewest presses of the tree's shortest path, and the end-to-end time of
``stb.current_node()`` (one daemon round trip: every node's checks on one frame), p50
and p95, sampled on every node of the tree (goal: p95 <= 50 ms at 720p).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import networkx as nx
from _common import lease_device, percentile, wait_for_screen

from pytest_virtualpy.errors import NavigationError
from pytest_virtualpy.lab.local import start_sim_lab
from pytest_virtualpy.navigation.model import load_tree
from pytest_virtualpy.navigation.navigator import Navigator
from pytest_virtualpy.navigation.pathfinding import planning_graph
from pytest_virtualpy.remote import Remote
from pytest_virtualpy.stb import Stb
from pytest_virtualpy.steps import StepLog
from pytest_virtualpy.tv_screen import TvScreen

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ("none", "drops", "popups")  # the chances from --drop-chance, --popup-chance


def fewest_presses(tree, start: str, target: str) -> int:
    return int(
        nx.dijkstra_path_length(
            planning_graph(tree),
            start,
            target,
            weight=lambda u, v, d: min(len(x["edge"].keys) for x in d.values()),
        )
    )


class Bench:
    """One leased box with the objects a test gets from the fixtures."""

    def __init__(self, lab, tree_path: Path):
        self.device = lease_device(lab)
        wait_for_screen(self.device, "home")
        self.tree = load_tree(tree_path)
        self.log = StepLog()
        screen = TvScreen(self.device, self.log, lambda name, data: Path(name))
        remote = Remote(self.device, screen, self.log)
        self.navigator = Navigator(self.tree, remote, screen, log=self.log)
        self.stb = Stb(self.device, self.log, self.navigator)
        self.nodes = [n for n in self.tree.nodes if not self.tree.node(n).interrupt]

    def truth(self) -> tuple[str, bool]:
        state = self.device.sim_state()
        return state["screen"], bool(state.get("popup"))

    def setup(self, start: str) -> bool:
        """Take the box to ``start`` with no fault; False if even that fails."""
        self.device.sim_clear()
        try:
            self.stb.navigate_to(start, timeout=30)
        except NavigationError:
            return False
        return self.truth() == (start, False)

    def run(self, pairs, fault) -> dict:
        arrived = wrong_word = setup_failed = 0
        presses, shortest, secs, reasons = [], [], [], []
        for start, target in pairs:
            if not self.setup(start):
                setup_failed += 1
                continue
            if fault is not None:
                self.device.sim_inject(*fault)
            before = len(self.device.sim_events())
            t0 = time.monotonic()
            try:
                self.stb.navigate_to(target, timeout=60)
                said = True
            except NavigationError as e:
                said = False
                reasons.append(f"{start} -> {target}: {str(e)[:300]}")
            secs.append(time.monotonic() - t0)
            screen, popup = self.truth()
            ok = screen == target and not popup
            arrived += ok
            wrong_word += said and not ok  # the navigator said "there" but the box was not
            if ok:
                presses.append(len(self.device.sim_events()) - before)
                shortest.append(fewest_presses(self.tree, start, target))
        self.device.sim_clear()
        return {
            "done": len(pairs) - setup_failed,
            "arrived": arrived,
            "wrong_word": wrong_word,
            "setup_failed": setup_failed,
            "presses": presses,
            "shortest": shortest,
            "secs": secs,
            "reasons": reasons,
        }

    def localisation(self, samples_per_node: int) -> tuple[list[float], int]:
        """End-to-end ``stb.current_node()`` times (ms) on every node; wrong answers."""
        self.device.sim_clear()
        times, wrong = [], 0
        for node in self.nodes:
            self.stb.navigate_to(node, timeout=30)
            time.sleep(0.3)  # animations over: the answer must be the node
            self.stb.current_node()  # references uploaded already; this one warms nothing
            for _ in range(samples_per_node):
                t0 = time.perf_counter()
                got = self.stb.current_node()
                times.append((time.perf_counter() - t0) * 1000)
                wrong += got != node or self.truth()[0] != node
        return times, wrong


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--tree", type=Path, default=ROOT / "examples" / "navigation.toml")
    parser.add_argument("--drop-chance", type=float, default=0.05, help="per key press")
    parser.add_argument("--popup-chance", type=float, default=0.05, help="per key press")
    parser.add_argument("--samples", type=int, default=40, help="current_node() per node")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help="comma-separated, of: " + ", ".join(SCENARIOS),
    )
    args = parser.parse_args()
    unknown = set(args.scenarios.split(",")) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(sorted(unknown))}; known: {SCENARIOS}")
    lab = start_sim_lab(1, boot_secs=0.5, seed=args.seed)
    try:
        bench = Bench(lab, args.tree)
        rng = random.Random(args.seed)
        pairs = [tuple(rng.sample(bench.nodes, 2)) for _ in range(args.pairs)]
        print(
            f"navigation bench: {args.tree.name}, {len(bench.nodes)} nodes, {len(pairs)} random "
            f"pairs per scenario, simulated box 1280x720 through the real daemon"
        )
        times, wrong = bench.localisation(args.samples)
        print(
            f"localisation stb.current_node() end to end: n={len(times)} "
            f"p50={percentile(times, 50):.1f} ms p95={percentile(times, 95):.1f} ms "
            f"max={max(times):.1f} ms; wrong answers: {wrong} (goal p95 <= 50 ms)"
        )
        for scenario in args.scenarios.split(","):
            name, fault = {
                "none": ("no faults", None),
                "drops": (
                    f"{args.drop_chance:.0%} keys dropped",
                    ("drop_keys", {"probability": args.drop_chance}),
                ),
                "popups": (
                    f"{args.popup_chance:.0%} popups",
                    ("popup", {"probability": args.popup_chance}),
                ),
            }[scenario]
            r = bench.run(pairs, fault)
            rate = r["arrived"] / r["done"] if r["done"] else float("nan")
            mean_presses = statistics.fmean(r["presses"]) if r["presses"] else float("nan")
            mean_short = statistics.fmean(r["shortest"]) if r["shortest"] else float("nan")
            print(
                f"{name:>16}: arrived {r['arrived']}/{r['done']} = {rate:.1%} (by ground truth); "
                f"said arrived but was not: {r['wrong_word']}; setup failures: "
                f"{r['setup_failed']}; key presses per navigation {mean_presses:.2f} vs "
                f"shortest path {mean_short:.2f} ({mean_presses / mean_short:.2f}x); "
                f"time per navigation p50 {percentile(r['secs'], 50):.2f} s "
                f"p95 {percentile(r['secs'], 95):.2f} s"
            )
            for reason in r["reasons"][:3]:
                print(f"{'':>18}failed: {reason}")
    finally:
        lab.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
