"""Where results go and how the run is labelled: one place that reads options, ini and env.

Precedence everywhere: command line, then environment, then ini, then the default (the
same order as the rest of virtualpy). The build is read from the usual CI variables
when not given, so Grafana can group runs by build without any configuration.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

DEFAULT_DB = ".virtualpy/results.db"
DEFAULT_SPOOL = ".virtualpy/spool"
DEFAULT_LOCAL_ARTIFACTS = ".virtualpy/artifacts"
DEFAULT_DRAIN_SECS = 10.0

# (option dest, ini name, env variable, help)
OPTIONS = {
    "results_db": (
        "virtualpy_results_db",
        "virtualpy_results_db",
        "VIRTUALPY_RESULTS_DB",
        "results database URL: a SQLite file (default .virtualpy/results.db), "
        "postgresql://user@host/db, or 'none'/'off' to disable recording",
    ),
    "run_name": ("virtualpy_run_name", "virtualpy_run_name", "VIRTUALPY_RUN_NAME", "run name"),
    "campaign": (
        "virtualpy_campaign",
        "virtualpy_campaign",
        "VIRTUALPY_CAMPAIGN",
        "campaign (a group of runs, e.g. 'nightly')",
    ),
    "build": (
        "virtualpy_build",
        "virtualpy_build",
        "VIRTUALPY_BUILD",
        "build under test (default: from CI variables such as GITHUB_SHA, CI_COMMIT_SHA, "
        "BUILD_TAG)",
    ),
}

# CI variables that name the build, most specific first.
BUILD_VARIABLES = (
    "GITHUB_SHA",  # GitHub Actions
    "CI_COMMIT_SHA",  # GitLab CI
    "BUILD_TAG",  # Jenkins: jenkins-JOB-NUMBER
    "GIT_COMMIT",  # Jenkins git plugin
    "BUILD_NUMBER",  # Jenkins, TeamCity
    "BUILD_SOURCEVERSION",  # Azure Pipelines
    "BITBUCKET_COMMIT",
    "CIRCLE_SHA1",
    "TRAVIS_COMMIT",
    "BUILDKITE_COMMIT",
    "DRONE_COMMIT_SHA",
    "CI_COMMIT_ID",  # Woodpecker
)


def detect_build(env: Mapping[str, str] | None = None) -> str | None:
    """The build from CI variables, or None outside CI."""
    env = os.environ if env is None else env
    for name in BUILD_VARIABLES:
        value = env.get(name)
        if value:
            return value
    return None


def find_upwards(start: Path, rel: str) -> Path:
    """The project's ``rel`` seen from ``start``: the nearest existing ``start/rel``,
    ``start/../rel``..., else ``start/rel``. So ``virtualpy results ...`` run in a
    sub-folder of a project (e.g. ``examples/``' parent, or ``tests/``) finds its data.

    >>> find_upwards(Path("/repo/tests"), ".virtualpy/results.db")  # doctest: +SKIP
    PosixPath('/repo/.virtualpy/results.db')
    """
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / rel).exists():
            return folder / rel
    return start / rel
