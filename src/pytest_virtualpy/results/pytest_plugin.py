"""pytest side of the results layer: options and the run recorder (see docs/results-schema.md).

Registered as its own ``pytest11`` entry point. Options: ``--results-db``, ``--run-name``,
``--campaign``, ``--build`` (each also ini ``virtualpy_*`` and env ``VIRTUALPY_*``), and
S3 support for the existing ``--artifacts`` option: ``s3://bucket/prefix`` keeps files in
``.virtualpy/artifacts`` locally and has the shipper upload them.

Only the process that sees every report records: the xdist controller (reports reach it
through ``pytest_runtest_logreport`` with ``report.virtualpy`` as plain data) or a plain
pytest process. xdist workers never write runs.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_virtualpy.results.db import DbUrl, ResultsDbError, parse_url
from pytest_virtualpy.results.recorder import RecorderConfig, RunRecorder
from pytest_virtualpy.results.s3 import ArtifactStoreError, S3Store, S3Target, is_s3
from pytest_virtualpy.results.settings import (
    DEFAULT_DB,
    DEFAULT_DRAIN_SECS,
    DEFAULT_LOCAL_ARTIFACTS,
    DEFAULT_SPOOL,
    OPTIONS,
    detect_build,
)
from pytest_virtualpy.results.spool import SpoolBusy

RECORDER_KEY = pytest.StashKey[RunRecorder]()
_FLAGS = {
    "results_db": "--results-db",
    "run_name": "--run-name",
    "campaign": "--campaign",
    "build": "--build",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("virtualpy")
    for key, (dest, ini, env, help_) in OPTIONS.items():
        group.addoption(
            _FLAGS[key], dest=dest, metavar="VALUE", help=f"{help_} (also ini {ini}, env {env})"
        )
        parser.addini(ini, help_)
    parser.addini(
        "virtualpy_results_spool", "spool folder for unshipped results", default=DEFAULT_SPOOL
    )
    parser.addini(
        "virtualpy_results_drain_secs",
        "how long the session end waits for results to ship",
        default=str(DEFAULT_DRAIN_SECS),
    )


def _setting(config: pytest.Config, key: str) -> str | None:
    """Command line, then environment, then ini."""
    dest, ini, env, _ = OPTIONS[key]
    value = config.getoption(dest, None)
    if value is None:
        value = os.environ.get(env) or None
    if value is None:
        value = config.getini(ini) or None
    return value


def results_db_url(config: pytest.Config) -> DbUrl | None:
    """The results database this session's settings name; None when off or invalid.

    >>> results_db_url(config).display   # doctest: +SKIP
    'sqlite:///home/me/project/.virtualpy/results.db'
    """
    try:
        return parse_url(_setting(config, "results_db") or DEFAULT_DB, config.rootpath)
    except (ResultsDbError, ValueError):  # a bad value is pytest_configure's to report
        return None


def _artifacts_value(config: pytest.Config) -> str | None:
    """The ``--artifacts`` value (option, env, ini), defined by the main plugin."""
    value = config.getoption("virtualpy_artifacts", None)
    if value is None:
        value = os.environ.get("VIRTUALPY_ARTIFACTS") or None
    if value is None:
        try:
            value = config.getini("virtualpy_artifacts") or None
        except ValueError:  # the main plugin is disabled
            value = None
    return value


def _local_artifacts(config: pytest.Config) -> Any:
    """The main plugin's LocalArtifacts, found without importing the fixtures module."""
    fixtures = config.pluginmanager.get_plugin("virtualpy-fixtures")
    key = getattr(fixtures, "ARTIFACTS_KEY", None)
    return config.stash.get(key, None) if key is not None else None


def _workers(config: pytest.Config) -> int:
    n = getattr(config.option, "numprocesses", None)
    return int(n) if isinstance(n, int) and n > 0 else 1


def _rootpath(config: pytest.Config, value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else config.rootpath / p


@pytest.hookimpl(trylast=True)  # after the main plugin has made the run id and LocalArtifacts
def pytest_configure(config: pytest.Config) -> None:
    artifacts_value = _artifacts_value(config)
    store = None
    if is_s3(artifacts_value):
        try:
            store = S3Store(S3Target.parse(artifacts_value))
        except ArtifactStoreError as e:
            raise pytest.UsageError(f"virtualpy: {e}") from None
    local = _local_artifacts(config)  # for s3:// the main plugin writes locally first
    if hasattr(config, "workerinput") or config.option.collectonly:
        return  # xdist workers never record; the controller sees every report
    try:
        db_url = parse_url(_setting(config, "results_db") or DEFAULT_DB, config.rootpath)
    except ResultsDbError as e:
        raise pytest.UsageError(f"virtualpy: {e}") from None
    if db_url is None:
        return
    if local is not None:
        run_uid, run_dir = local.run_id, Path(local.run_dir)
    else:
        run_uid = (
            os.environ.get("VIRTUALPY_RUN_ID")
            or f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
        )
        run_dir = config.rootpath / DEFAULT_LOCAL_ARTIFACTS / run_uid
    try:
        drain = float(config.getini("virtualpy_results_drain_secs"))
    except ValueError:
        raise pytest.UsageError(
            "virtualpy: virtualpy_results_drain_secs must be a number"
        ) from None
    labs = config.getoption("virtualpy_lab", None) or os.environ.get("VIRTUALPY_LAB")
    if isinstance(labs, list):  # --lab given one or more times
        labs = ",".join(labs)
    if labs is None:
        try:
            labs = config.getini("virtualpy_lab") or "sim"
        except ValueError:
            labs = None
    recorder = RunRecorder(
        RecorderConfig(
            db_url=db_url,
            run_uid=run_uid,
            spool_root=_rootpath(config, config.getini("virtualpy_results_spool")),
            artifacts_run_dir=run_dir,
            store=store,
            name=_setting(config, "run_name"),
            campaign=_setting(config, "campaign"),
            build=_setting(config, "build") or detect_build(),
            labs=labs,
            workers=_workers(config),
            drain_secs=drain,
        )
    )
    config.stash[RECORDER_KEY] = recorder
    config.pluginmanager.register(RecorderPlugin(recorder), "virtualpy-results-recorder")


class RecorderPlugin:
    """The per-session hooks, registered only where a run is recorded."""

    def __init__(self, recorder: RunRecorder) -> None:
        self.recorder = recorder

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        try:
            self.recorder.start()
        except SpoolBusy as e:
            raise pytest.UsageError(f"virtualpy: {e}") from None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.recorder.logreport(report)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.recorder.finish(interrupted=exitstatus == pytest.ExitCode.INTERRUPTED)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.recorder.all_shipped is None:
            return
        warning, line = self.recorder.summary(Path.cwd())
        if warning:
            terminalreporter.write_sep("=", "virtualpy results", yellow=True)
            terminalreporter.write_line(line, yellow=True, bold=True)
        else:
            terminalreporter.write_line(line)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self.recorder.started:  # the session never finished normally
            self.recorder.finish(interrupted=True)
