"""Repository-level pytest configuration.

The project's own tests live in ``tests/`` and the user-facing example suite
in ``examples/`` (which has its own ``pytest.ini``); keep stray folders out of
collection when pytest is pointed at the repository root.
"""

collect_ignore = [".virtualpy", "bench", "docs", "grafana"]
