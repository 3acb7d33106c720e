"""Version 2: ``test_results.usage_error`` (the test code was wrong) and the ``aborted`` status.

A usage error (a misspelt key, a missing reference image, an unknown navigation node,
a bad regular expression) is recorded as ``outcome = 'error'`` with ``usage_error`` set,
so dashboards keep it out of the product's pass rate the way they keep lab errors out.
A run whose recording process died is ``status = 'aborted'``: the status column is
plain text, so that needs no change here.
"""

VERSION = 2
DESCRIPTION = "test_results.usage_error: mistakes in the test code, kept out of pass rates"

STATEMENTS = [
    "ALTER TABLE test_results ADD COLUMN usage_error {bool} NOT NULL DEFAULT FALSE",
]
