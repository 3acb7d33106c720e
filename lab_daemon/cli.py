"""``virtualpy-lab``: run a lab daemon, check its hardware, or grab a screenshot from one.

virtualpy-lab serve --config lab.toml
virtualpy-lab check --config lab.toml
virtualpy-lab sim --devices 2 --port 18861
virtualpy-lab screenshot --lab 127.0.0.1:18861 --device sim-0 -o home.png
virtualpy-lab live-url --lab pi-03       # a signed link to the lab's live page
virtualpy-lab certs --out certs --host pi-03,10.0.0.23 --client ci   # TLS files

--lab takes a lab name from labs.toml (see --labs-file) or HOST:PORT (token in
$VIRTUALPY_LAB_TOKEN).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import NoReturn

from lab_daemon.auth_token import TOKEN_ENV, check_token_strength, load_or_create_token
from lab_daemon.config import RESOLUTIONS, DeviceConfig, LabConfig, load_config
from pytest_virtualpy.errors import ConfigError, VirtualpyError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="virtualpy-lab",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the devices listed in a lab.toml")
    serve.add_argument("--config", required=True, type=Path, help="path to lab.toml")
    serve.add_argument("--bind", help="address to listen on (default: from config, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: from config, 18861)")

    sim = sub.add_parser("sim", help="serve N simulated set-top boxes, no config needed")
    sim.add_argument("--devices", type=int, default=1, help="how many boxes (default 1)")
    sim.add_argument("--port", type=int, default=18861, help="port (0 picks a free one)")
    sim.add_argument("--bind", default="127.0.0.1")
    sim.add_argument("--fps", type=float, default=60.0)
    sim.add_argument("--resolution", choices=sorted(RESOLUTIONS), default="720p")
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--boot-secs", type=float, default=3.0)
    sim.add_argument("--name", default="sim", help="lab name (default: sim)")
    sim.add_argument(
        "--live-port",
        type=int,
        help="port of the live page (default: PORT+1, or a free one when --port is 0; "
        "0 picks a free one)",
    )
    sim.add_argument(
        "--exit-with-parent",
        type=int,
        metavar="PID",
        help="stop when process PID (the test run that started us) is gone, even if it "
        "was killed with SIGKILL",
    )

    for s in (serve, sim):
        s.add_argument(
            "--ready-file", type=Path, help="write {address, devices} as JSON here once listening"
        )
        s.add_argument("-v", "--verbose", action="store_true")

    check = sub.add_parser(
        "check", help="open every part of every device in a lab.toml, try it, print a table"
    )
    check.add_argument("--config", required=True, type=Path, help="path to lab.toml")
    check.add_argument(
        "--seconds", type=float, default=2.0, help="how long to read video and serial (default 2)"
    )
    check.add_argument("-v", "--verbose", action="store_true")

    shot = sub.add_parser("screenshot", help="save the current frame of a device as PNG")
    shot.add_argument("--lab", required=True, help=LAB_HELP)
    shot.add_argument("--device", help="device name (default: the first free one)")
    shot.add_argument("--region", help="crop to X,Y,WIDTH,HEIGHT")
    shot.add_argument("-o", "--output", type=Path, required=True)
    shot.add_argument(
        "--token-env",
        help=f"environment variable holding the token (default: the lab's token_env in "
        f"labs.toml, else {TOKEN_ENV})",
    )

    live = sub.add_parser("live-url", help="print a signed link to a lab's live page")
    live.add_argument("--lab", required=True, help=LAB_HELP)
    live.add_argument(
        "--hours", type=float, default=12.0, help="how long the link stays valid (default 12)"
    )
    certs = sub.add_parser("certs", help="make a CA, a daemon and client certificates for TLS")
    certs.add_argument("--out", required=True, type=Path, help="folder to write them to")
    certs.add_argument(
        "--host", required=True, help="NAME[,NAME]: every name or IP clients dial the daemon by"
    )
    certs.add_argument("--client", default="", help="NAME[,NAME]: one client certificate each")

    for s in (shot, live):
        s.add_argument(
            "--labs-file",
            type=Path,
            default=Path("labs.toml"),
            help="lab inventory naming the labs (default ./labs.toml)",
        )
    return p


LAB_HELP = "a lab name from labs.toml, or the daemon's address HOST:PORT"


FIRST_FRAME_SECS = 10.0  # how long serving waits for every device's first real frame


def _watch_parent(pid: int, stop) -> None:
    """Call ``stop`` once we are no longer ``pid``'s child (it died, however it died)."""

    def run() -> None:
        while os.getppid() == pid:
            time.sleep(0.5)
        stop()

    threading.Thread(target=run, name="virtualpy-parent-watch", daemon=True).start()


def _serve(cfg: LabConfig, ready_file: Path | None, parent: int | None = None) -> NoReturn:
    from lab_daemon.factory import build_device
    from lab_daemon.host import LabHost
    from lab_daemon.live import listen as listen_live
    from lab_daemon.server import make_server

    token, where = load_or_create_token(Path(cfg.token_file) if cfg.token_file else None)
    check_token_strength(token, cfg.bind)  # before any device thread runs: a clean exit 2
    devices = [build_device(d) for d in cfg.devices]
    host = LabHost(cfg.name, devices, tables=cfg.tables)
    server = make_server(host, token, cfg.bind, cfg.port, tls=cfg.tls)
    live = listen_live(host, token, host.tables["live"], cfg.port)  # a busy port fails here
    host.start()
    for name in host.wait_for_video(FIRST_FRAME_SECS):  # so the first get_frame is real
        print(
            f"virtualpy-lab: WARNING: device {name!r} has no video signal yet; it shows black "
            "frames and keeps reconnecting (`virtualpy-lab check` says why)",
            flush=True,
        )
    address = f"{cfg.bind}:{server.port}"
    print(
        f"virtualpy-lab: lab {cfg.name!r} serving {len(devices)} device(s) "
        f"({', '.join(d.name for d in devices)}) on {address}",
        flush=True,
    )
    print(f"virtualpy-lab: token from {where}", flush=True)
    if live is not None:
        live.start()
        host.live = {"port": live.port, "bind": live.settings.bind}
        print(
            f"virtualpy-lab: live view on http://{live.settings.bind}:{live.port}/ "
            f"(open it with the link from: virtualpy-lab live-url --lab {_dialable(address)})",
            flush=True,
        )
        if live.settings.bind not in ("127.0.0.1", "localhost", "::1"):
            print(
                f"virtualpy-lab: WARNING: the live page listens on {live.settings.bind} over "
                "plain HTTP: anyone holding a link, or seeing the traffic, can watch",
                flush=True,
            )
    if cfg.bind not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"virtualpy-lab: WARNING: listening on {cfg.bind}, reachable from the network"
            + (
                "; TLS with client certificates is on"
                if cfg.tls
                else "; anyone with the token can drive these devices, and the traffic is "
                "plain TCP: set [lab.tls] (docs/security.md)"
            ),
            flush=True,
        )
    if ready_file:
        tmp = ready_file.with_suffix(".tmp")
        tmp.write_text(
            json.dumps(
                {
                    "address": address,
                    "lab": cfg.name,
                    "devices": [d.name for d in devices],
                    "pid": os.getpid(),
                    "live": host.live,
                }
            )
        )
        tmp.replace(ready_file)

    def _stop(*_):
        threading.Thread(target=server.close, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if parent:
        _watch_parent(parent, _stop)
    code = 0
    try:
        server.start()
    except Exception as e:  # a real failure of the serving loop: exit non-zero, be restarted
        print(f"virtualpy-lab: error: the server stopped: {e}", file=sys.stderr, flush=True)
        code = 1
    finally:
        if live is not None:
            live.stop()
        host.stop()
    # Leave without interpreter finalization: driver threads (FFmpeg, pyserial, lircd
    # clients) are daemon threads, and one caught mid-call by finalization can abort.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _certs(args) -> int:
    from lab_daemon.certs import make_certs, paste_lines, split_names

    hosts, clients = split_names(args.host), split_names(args.client)
    for path in make_certs(args.out, hosts, clients):
        print(f"wrote {path}")
    print(paste_lines(args.out, hosts, clients))
    return 0


def _dialable(address: str) -> str:
    """``address`` as a client dials it: a wildcard bind is reached on this host's name.

    >>> _dialable("0.0.0.0:18861") == f"{socket.gethostname()}:18861"
    True
    """
    host, _, port = address.rpartition(":")
    return f"{socket.gethostname()}:{port}" if host in ("0.0.0.0", "::", "[::]") else address


def _lab(args):
    """``--lab`` (a labs.toml name or HOST:PORT) -> ``(address, token, tls files or None)``."""
    from dataclasses import replace

    from pytest_virtualpy.lab.inventory import resolve_one

    spec = resolve_one(args.lab, args.labs_file)
    if getattr(args, "token_env", None):
        spec = replace(spec, token_env=args.token_env)
    return spec.address, spec.token(), spec.tls


def _live_url(args) -> int:
    from pytest_virtualpy.lab.client import LabClient, parse_address
    from pytest_virtualpy.lab.live_link import MAX_VALID_SECS, make_url

    if not 0 < args.hours * 3600 <= MAX_VALID_SECS:
        raise ConfigError(f"--hours must be above 0 and at most {MAX_VALID_SECS // 3600}")
    address, token, tls = _lab(args)
    with LabClient.connect(address, token, client_name="virtualpy-lab-live-url", tls=tls) as client:
        hello = client.hello()
    live = hello.get("live")
    if not live:
        raise ConfigError(
            f"lab {hello.get('lab')!r} at {address} serves no live page: set [lab.live] "
            "enabled = true in its lab.toml (or its daemon predates the live view)"
        )
    host = parse_address(address)[0]
    # the daemon's clock signs, so a skewed clock here neither shortens nor lengthens it
    print(make_url(host, live["port"], token, args.hours * 3600, now=hello["time"]))
    if live.get("bind") in ("127.0.0.1", "::1", "localhost") and host not in (
        "127.0.0.1",
        "::1",
        "localhost",
    ):
        print(
            f"virtualpy-lab: note: the live page listens on {live['bind']} only; reach it "
            f"through a tunnel (ssh -L {live['port']}:127.0.0.1:{live['port']} {host}, then "
            "open the link with localhost) or set [lab.live] bind",
            file=sys.stderr,
        )
    return 0


def _screenshot(args) -> int:
    from pytest_virtualpy.lab.client import LabClient
    from pytest_virtualpy.lab.device import DeviceClient

    address, token, tls = _lab(args)
    try:
        region = tuple(int(v) for v in args.region.split(",")) if args.region else None
    except ValueError:
        raise ConfigError(f"--region wants X,Y,WIDTH,HEIGHT, got {args.region!r}") from None
    with LabClient.connect(
        address, token, client_name="virtualpy-lab-screenshot", tls=tls
    ) as client:
        device = DeviceClient(client, client.lease(args.device, "screenshot", ttl_secs=30))
        try:
            _, png = device.get_frame(region=region)
        finally:
            client.release(device.lease_id)
    args.output.write_bytes(png)
    print(f"saved {args.output} ({len(png)} bytes) from {device.name}")
    return 0


def _check(args) -> int:
    from lab_daemon.check import check_lab

    cfg = load_config(args.config)
    if args.seconds <= 0:
        raise ConfigError("--seconds must be positive")

    def say(line: str) -> None:
        print(f"virtualpy-lab check: {line}", file=sys.stderr, flush=True)

    report = check_lab(cfg, seconds=args.seconds, say=say)
    print(report.table(), flush=True)
    return 0 if report.ok else 1


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if getattr(args, "verbose", False) else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    try:
        if args.command == "serve":
            cfg = load_config(args.config)
            cfg.bind = args.bind or cfg.bind
            cfg.port = cfg.port if args.port is None else args.port
            return _serve(cfg, args.ready_file)
        if args.command == "sim":
            if args.devices < 1:
                raise ConfigError("--devices must be at least 1")
            options = {"fps": args.fps, "resolution": args.resolution, "boot_secs": args.boot_secs}
            devices = [
                DeviceConfig(f"{args.name}-{i}", "sim", dict(options, seed=args.seed + i))
                for i in range(args.devices)
            ]
            cfg = LabConfig(args.name, args.bind, args.port, devices)
            cfg.tables["live"] = dict(cfg.tables["live"], bind=args.bind, port=args.live_port)
            return _serve(cfg, args.ready_file, args.exit_with_parent)
        if args.command == "check":
            return _check(args)
        if args.command == "live-url":
            return _live_url(args)
        if args.command == "certs":
            return _certs(args)
        return _screenshot(args)
    except (VirtualpyError, OSError) as e:
        print(f"virtualpy-lab: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
