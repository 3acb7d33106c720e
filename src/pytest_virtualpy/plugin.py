"""The pytest plugin: options, ini keys, markers and hook wiring.

Logic lives elsewhere (``lab.session``, ``fixtures``, ``tv_screen``...); this
module only connects it to pytest.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import secrets
import sys
import time
from pathlib import Path

import pytest

from pytest_virtualpy import (
    ai_check,
    ai_client,
    blame,
    failure_report,
    fixtures,
    junit,
    video_evidence,
)
from pytest_virtualpy.errors import ConfigError
from pytest_virtualpy.lab.inventory import load_inventory, load_pools, resolve_labs
from pytest_virtualpy.lab.session import (
    DEFAULT_LEASE_TIMEOUT_SECS,
    LabSession,
    SimOptions,
    fetch_catalog,
)
from pytest_virtualpy.lab_summary import LabFaults
from pytest_virtualpy.results.artifacts import LocalArtifacts

RUN_ID_ENV = "VIRTUALPY_RUN_ID"
CATALOG_KEY = pytest.StashKey[dict]()  # lab -> its devices (or why it was unreachable)
MAX_LEASE_TIMEOUT_SECS = 6 * 3600.0  # the longest a daemon lets a lease() wait


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("virtualpy", "virtualpy: test devices through their screens")
    group.addoption(
        "--lab",
        dest="virtualpy_lab",
        action="append",
        metavar="NAME[,NAME...]",
        help="lab(s) to run on: names from labs.toml, pool:NAME for a [pools.NAME] of "
        "labs.toml, HOST:PORT, or 'sim' for the built-in simulated lab (default; "
        "repeatable, or comma-separated; also ini virtualpy_lab, env VIRTUALPY_LAB)",
    )
    group.addoption(
        "--labs-file",
        dest="virtualpy_labs_file",
        metavar="PATH",
        help="lab inventory (default ./labs.toml; also ini virtualpy_labs_file)",
    )
    group.addoption(
        "--lease-timeout",
        dest="virtualpy_lease_timeout",
        metavar="SECS",
        help=f"how long a test waits, queued in the labs, for a free device that meets it "
        f"(default {DEFAULT_LEASE_TIMEOUT_SECS:g}, at most {MAX_LEASE_TIMEOUT_SECS:g}; also "
        "ini virtualpy_lease_timeout, env VIRTUALPY_LEASE_TIMEOUT)",
    )
    group.addoption(  # its old name, kept working
        "--lab-lease-wait", dest="virtualpy_lease_timeout", help=argparse.SUPPRESS
    )
    group.addoption(
        "--artifacts",
        dest="virtualpy_artifacts",
        metavar="PATH",
        help="where screenshots and logs go: a folder (default .virtualpy/artifacts) or "
        "s3://bucket/prefix for S3/R2 (also "
        "ini virtualpy_artifacts, env VIRTUALPY_ARTIFACTS)",
    )
    group.addoption(
        "--video",
        dest="virtualpy_video",
        metavar="failed|all|off",
        help="save a clip (MP4, steps as subtitles) of every failed test (default), of "
        "every test, or of none (also ini virtualpy_video, env VIRTUALPY_VIDEO)",
    )
    group.addoption(
        "--ai-url",
        dest="virtualpy_ai_url",
        metavar="URL",
        help="OpenAI-compatible chat-completions endpoint for tv_screen.ai_check, e.g. "
        "https://openrouter.ai/api/v1 (off by default: AI checks skip; key from env "
        f"{ai_client.KEY_ENV}; also ini virtualpy_ai_url, env {ai_check.URL_ENV})",
    )
    group.addoption(
        "--ai-model",
        dest="virtualpy_ai_model",
        metavar="NAME",
        help="the vision model tv_screen.ai_check asks (also ini virtualpy_ai_model, env "
        f"{ai_check.MODEL_ENV})",
    )
    group.addoption(
        "--nav-validate",
        dest="virtualpy_nav_validate",
        metavar="TREE",
        help="validate navigation tree TREE (TOML) on the device instead of running tests: "
        "walk every edge once (an edge-covering walk) and report which edges failed and why",
    )
    parser.addini("virtualpy_lab", "default lab (see --lab)")
    parser.addini("virtualpy_ai_url", "endpoint for tv_screen.ai_check (see --ai-url)")
    parser.addini("virtualpy_ai_model", "model for tv_screen.ai_check (see --ai-model)")
    parser.addini("virtualpy_lease_timeout", "longest wait for a free device (--lease-timeout)")
    parser.addini("virtualpy_video", "which tests get a video clip (see --video)")
    parser.addini("virtualpy_labs_file", "lab inventory file (see --labs-file)")
    parser.addini("virtualpy_artifacts", "artifacts folder (see --artifacts)")
    parser.addini("virtualpy_navigation", "navigation tree (TOML) for stb.navigate_to")
    parser.addini("virtualpy_sim_fps", "frame rate of the simulated lab", default="60")
    parser.addini("virtualpy_sim_resolution", "720p or 1080p for the simulated lab", default="720p")
    parser.addini("virtualpy_sim_boot_secs", "boot time of the simulated box", default="3")


def _setting(
    config: pytest.Config, option: str, ini: str, env: str | None, default: str | None
) -> str | None:
    """Command line, then environment, then ini, then the default."""
    value = config.getoption(option)
    if value is None and env:
        value = os.environ.get(env) or None
    if value is None:
        value = config.getini(ini) or None
    return value if value is not None else default


def _rootpath(config: pytest.Config, value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else config.rootpath / path


def _workers(config: pytest.Config) -> int:
    n = getattr(config.option, "numprocesses", None)
    return int(n) if isinstance(n, int) and n > 0 else 1


def _lease_timeout(config: pytest.Config) -> float:
    """``--lease-timeout`` (env, ini, default), checked: seconds from 0 to the daemon's limit."""
    value = _setting(
        config,
        "virtualpy_lease_timeout",
        "virtualpy_lease_timeout",
        "VIRTUALPY_LEASE_TIMEOUT",
        str(DEFAULT_LEASE_TIMEOUT_SECS),
    )
    try:
        secs = float(value)
    except ValueError:
        secs = math.nan
    if not 0 <= secs <= MAX_LEASE_TIMEOUT_SECS:  # NaN too
        raise pytest.UsageError(
            f"virtualpy: --lease-timeout (or ini virtualpy_lease_timeout, env "
            f"VIRTUALPY_LEASE_TIMEOUT) must be seconds from 0 to {MAX_LEASE_TIMEOUT_SECS:g}, "
            f"got {value!r}"
        )
    return secs


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from pytest_virtualpy import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "sim_only: the test needs the simulated box (fault injection, ground "
        "truth); skipped on real hardware",
    )
    config.addinivalue_line(
        "markers",
        "device(model=None, capabilities=[]): the test needs a device of this model with "
        "these parts (video, remote, power, serial, adb, audio, sim)",
    )
    lab_value = _setting(config, "virtualpy_lab", "virtualpy_lab", "VIRTUALPY_LAB", "sim")
    if isinstance(lab_value, list):  # --lab given more than once: all of them
        lab_value = ",".join(lab_value)
    labs_file = _rootpath(
        config, _setting(config, "virtualpy_labs_file", "virtualpy_labs_file", None, "labs.toml")
    )
    try:
        specs = resolve_labs(lab_value, load_inventory(labs_file), labs_file, load_pools(labs_file))
        sim = SimOptions(
            fps=float(config.getini("virtualpy_sim_fps")),
            resolution=config.getini("virtualpy_sim_resolution"),
            boot_secs=float(config.getini("virtualpy_sim_boot_secs")),
        )
    except ConfigError as e:
        raise pytest.UsageError(f"virtualpy: {e}") from None
    except ValueError as e:
        raise pytest.UsageError(f"virtualpy: bad virtualpy_sim_* ini value: {e}") from None
    worker = getattr(config, "workerinput", {}).get("workerid", "")
    session = LabSession(specs, sim=sim, workers=_workers(config), worker=worker)
    session.owner += f":{worker or 'main'}"
    session.lease_timeout_secs = _lease_timeout(config)
    try:
        config.stash[fixtures.AI_KEY] = ai_check.AiChecker.configure(
            _setting(config, "virtualpy_ai_url", "virtualpy_ai_url", ai_check.URL_ENV, None),
            _setting(config, "virtualpy_ai_model", "virtualpy_ai_model", ai_check.MODEL_ENV, None),
            os.environ.get(ai_client.KEY_ENV) or None,
        )
    except ConfigError as e:
        raise pytest.UsageError(f"virtualpy: {e}") from None
    # the device lists the controller fetched at session start (pytest_configure_node)
    session.catalog = dict(getattr(config, "workerinput", {}).get("virtualpy_catalog") or {})
    session.on_wait = lambda line: _say(config, line)
    config.stash[fixtures.SESSION_KEY] = session
    config.pluginmanager.register(LabFaults(), "virtualpy-lab-faults")

    run_id = (
        getattr(config, "workerinput", {}).get("virtualpy_run_id")
        or os.environ.get(RUN_ID_ENV)
        or f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
    )
    artifacts_value = _setting(
        config, "virtualpy_artifacts", "virtualpy_artifacts", "VIRTUALPY_ARTIFACTS", None
    )
    if artifacts_value is None or artifacts_value.startswith("s3://"):
        # s3:// targets are uploaded by the results shipper; files are written locally first
        artifacts_value = ".virtualpy/artifacts"
    artifacts = _rootpath(config, artifacts_value)
    config.stash[fixtures.ARTIFACTS_KEY] = LocalArtifacts(artifacts, run_id)
    video_evidence.configure(
        config, _setting(config, "virtualpy_video", "virtualpy_video", "VIRTUALPY_VIDEO", "")
    )

    from pytest_virtualpy.navigation import SessionNavigation, load_tree

    nav, ini_tree = config.getini("virtualpy_navigation"), None
    if nav:
        try:
            ini_tree = load_tree(_rootpath(config, nav))
        except ConfigError as e:
            raise pytest.UsageError(f"virtualpy: {e}") from None
    # each device's tree: its lab's (lab.toml navigation = ...), else this ini's
    config.stash[fixtures.NAVIGATOR_KEY] = SessionNavigation(ini_tree)
    if config.getoption("virtualpy_nav_validate"):
        from pytest_virtualpy.navigation import validate

        validate.configure(config, config.getoption("virtualpy_nav_validate"))
    config.pluginmanager.register(fixtures, "virtualpy-fixtures")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """xdist: every worker writes into the controller's run folder and knows the labs'
    devices as the controller found them."""
    node.workerinput["virtualpy_run_id"] = node.config.stash[fixtures.ARTIFACTS_KEY].run_id
    node.workerinput["virtualpy_catalog"] = node.config.stash.get(CATALOG_KEY, {})


def _say(config: pytest.Config, line: str) -> None:
    """Print a progress line now, even from inside a test (and from an xdist worker)."""
    capman = config.pluginmanager.getplugin("capturemanager")
    reporter = config.pluginmanager.getplugin("terminalreporter")
    with capman.global_and_fixture_disabled() if capman else contextlib.nullcontext():
        if hasattr(config, "workerinput"):  # a worker's stderr is the controller's terminal
            worker = config.workerinput.get("workerid", "worker")
            sys.stderr.write(f"[{worker}] {line}\n")
            sys.stderr.flush()
        elif reporter is not None:
            reporter.ensure_newline()
            reporter.write_line(line, yellow=True)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """A chosen lab that cannot be reached at all is one usage error, before any test runs."""
    config = session.config
    # measured edge costs of past runs, per device model, as plain data: for the walks of
    # tests and of --nav-validate
    planners = [config.stash.get(fixtures.NAVIGATOR_KEY, None)]
    if config.getoption("virtualpy_nav_validate"):
        from pytest_virtualpy.navigation.validate import PLUGIN_NAME as NAV_VALIDATION

        planners.append(config.pluginmanager.get_plugin(NAV_VALIDATION))
    planners = [p for p in planners if p is not None]
    if planners and not config.option.collectonly:
        from pytest_virtualpy.results.nav_history import edge_history
        from pytest_virtualpy.results.pytest_plugin import results_db_url

        history = edge_history(results_db_url(config))
        for planner in planners:
            planner.history = history
    lab_session = config.stash[fixtures.SESSION_KEY]
    if not lab_session.specs or hasattr(config, "workerinput") or config.option.collectonly:
        return
    catalog = fetch_catalog(lab_session.specs)
    config.stash[CATALOG_KEY] = lab_session.catalog = catalog
    if any(isinstance(devices, list) for devices in catalog.values()):
        return
    reasons = "\n".join(f"  {name}: {why}" for name, why in catalog.items())
    raise pytest.UsageError(
        f"virtualpy: no chosen lab can be reached, so no test was run:\n{reasons}"
    )


def pytest_report_header(config: pytest.Config) -> list[str]:
    session = config.stash[fixtures.SESSION_KEY]
    lines = []
    if not session.specs:
        lines.append("virtualpy: lab 'sim' (a local simulated set-top box per test process)")
    else:
        catalog = config.stash.get(CATALOG_KEY, None) or fetch_catalog(session.specs)
        counts = {name: len(v) if isinstance(v, list) else v for name, v in catalog.items()}
        desc = ", ".join(
            f"{name} ({n} devices)" if isinstance(n, int) else f"{name} (unreachable: {n})"
            for name, n in counts.items()
        )
        lines.append(f"virtualpy: labs {desc}")
        total = sum(n for n in counts.values() if isinstance(n, int))
        if session.workers > 1 and session.workers > total:
            lines.append(
                f"virtualpy: WARNING: {session.workers} workers but only {total} devices; "
                f"{session.workers - total} worker(s) will wait up to "
                f"{session.lease_timeout_secs:g} s for a free device and then error. "
                f"Use -n {max(total, 1)}."
            )
    lines.append(f"virtualpy: artifacts in {config.stash[fixtures.ARTIFACTS_KEY].run_dir}")
    return lines


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(fixtures.SESSION_KEY, None)
    if session is not None:
        session.close()
    navigation = config.stash.get(fixtures.NAVIGATOR_KEY, None)
    if navigation is not None:
        navigation.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    bucket = blame.mark(report, call.excinfo.value) if report.failed and call.excinfo else None
    if bucket:
        tag = (blame.PROPERTY, bucket)
        for props in (item.user_properties, report.user_properties):  # JUnit reads both
            if tag not in props:
                props.append(tag)
    ctx = item.stash.get(fixtures.CONTEXT_KEY, None)
    if ctx is not None:
        report.virtualpy = ctx.record()  # plain data; travels to the xdist controller
    if call.when == "setup":
        failure_report.leave_out_lease_wait(item, report, ctx)
    if bucket == blame.USAGE:  # the message says what to fix: show the test's lines only
        report.longrepr = failure_report.repr_without_our_frames(item, call.excinfo)
    expected_failure = hasattr(report, "wasxfail") and call.excinfo is not None
    needs_evidence = (report.failed or expected_failure) and bucket != blame.USAGE
    if needs_evidence and ctx is not None and call.when == "call":
        failure_report.attach_failure_evidence(report, ctx, call.excinfo)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session: pytest.Session):
    """Once pytest has written ``--junitxml``, make lab and usage errors ``<error>`` there."""
    result = yield
    logfile = junit.logfile(session.config)
    if logfile is not None and logfile.is_file():
        junit.rewrite(logfile)
    return result


def pytest_report_teststatus(report, config):
    bucket = blame.of(report)
    if bucket is not None:
        return "error", "E", (bucket.upper(), {"red": True})
    return None
