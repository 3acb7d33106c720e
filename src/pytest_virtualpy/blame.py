"""Whose fault a failed test phase was: the product's, the lab's or the test code's.

pytest knows two kinds of bad outcome, *failed* (an assertion about the product did not
hold) and *error* (something else broke). virtualpy keeps three apart:

* a :class:`~pytest_virtualpy.errors.LabError` (daemon down, lease lost) is the lab's
  fault: an error, ``LAB ERROR`` on the terminal, ``lab_error`` in the results database;
* a :class:`~pytest_virtualpy.errors.UsageError` (misspelt key, missing reference image,
  unknown navigation node, bad regex) is the test code's: an error, ``USAGE ERROR``,
  ``usage_error`` in the database;
* anything else is pytest's usual verdict.

The plugin marks each report with :func:`mark` (plain attributes, so they travel from
xdist workers to the controller) and every reporter reads :func:`of`.
"""

from __future__ import annotations

from typing import Any

from pytest_virtualpy.errors import LabError, UsageError

LAB = "lab error"
USAGE = "usage error"
_ATTRS = {LAB: "virtualpy_lab_error", USAGE: "virtualpy_usage_error"}
PROPERTY = "virtualpy_error"  # the JUnit testcase property that names the bucket


def classify(exc: BaseException | None) -> str | None:
    """:data:`LAB`, :data:`USAGE`, or None for an exception that is pytest's to judge."""
    if isinstance(exc, LabError):
        return LAB
    if isinstance(exc, UsageError):
        return USAGE
    return None


def mark(report: Any, exc: BaseException | None) -> str | None:
    """Note on ``report`` whose fault ``exc`` was; returns the bucket (or None)."""
    bucket = classify(exc)
    if bucket is not None:
        setattr(report, _ATTRS[bucket], True)
    return bucket


def of(report: Any) -> str | None:
    """The bucket of a failed report, as :func:`mark` noted it (None if pytest's own)."""
    if getattr(report, "outcome", None) != "failed":
        return None
    for bucket, attr in _ATTRS.items():
        if getattr(report, attr, False):
            return bucket
    return None
