"""Version 1: the tables of docs/results-schema.md and the indexes the dashboards use."""

VERSION = 1
DESCRIPTION = "initial schema: labs, devices, runs, test_results, steps, kpis, artifacts, alerts"

STATEMENTS = [
    """CREATE TABLE labs (
        id {id},
        name TEXT NOT NULL UNIQUE,
        address TEXT,
        created_at {ts} NOT NULL
    )""",
    """CREATE TABLE devices (
        id {id},
        lab_id BIGINT REFERENCES labs(id),
        name TEXT NOT NULL,
        model TEXT,
        kind TEXT,
        UNIQUE (lab_id, name)
    )""",
    """CREATE TABLE runs (
        id {id},
        run_uid TEXT NOT NULL UNIQUE,
        name TEXT,
        campaign TEXT,
        build TEXT,
        host TEXT,
        labs TEXT,
        workers INTEGER,
        started_at {ts} NOT NULL,
        finished_at {ts},
        status TEXT NOT NULL,
        passed INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        errors INTEGER NOT NULL DEFAULT 0,
        skipped INTEGER NOT NULL DEFAULT 0,
        xfailed INTEGER NOT NULL DEFAULT 0,
        xpassed INTEGER NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE test_results (
        id {id},
        run_id BIGINT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        nodeid TEXT NOT NULL,
        name TEXT,
        file TEXT,
        outcome TEXT NOT NULL,
        lab_error {bool} NOT NULL DEFAULT FALSE,
        device_id BIGINT REFERENCES devices(id),
        lab_id BIGINT REFERENCES labs(id),
        worker TEXT,
        started_at {ts},
        finished_at {ts},
        duration_ms {real},
        lease_wait_ms {real},
        message TEXT,
        UNIQUE (run_id, nodeid)
    )""",
    """CREATE TABLE steps (
        id {id},
        test_result_id BIGINT NOT NULL REFERENCES test_results(id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        depth INTEGER NOT NULL DEFAULT 0,
        kind TEXT,
        name TEXT,
        started_at {ts},
        duration_ms {real},
        ok {bool},
        detail {json},
        error TEXT
    )""",
    """CREATE TABLE kpis (
        id {id},
        test_result_id BIGINT REFERENCES test_results(id) ON DELETE CASCADE,
        run_id BIGINT REFERENCES runs(id) ON DELETE CASCADE,
        device_id BIGINT REFERENCES devices(id),
        name TEXT NOT NULL,
        value_ms {real} NOT NULL,
        measured_at {ts}
    )""",
    """CREATE TABLE artifacts (
        id {id},
        test_result_id BIGINT REFERENCES test_results(id) ON DELETE CASCADE,
        run_id BIGINT REFERENCES runs(id) ON DELETE CASCADE,
        kind TEXT,
        name TEXT,
        uri TEXT NOT NULL,
        size_bytes BIGINT,
        sha256 TEXT,
        created_at {ts}
    )""",
    """CREATE TABLE alerts (
        id {id},
        run_id BIGINT REFERENCES runs(id) ON DELETE CASCADE,
        device_id BIGINT REFERENCES devices(id),
        kind TEXT NOT NULL,
        message TEXT,
        created_at {ts} NOT NULL
    )""",
    "CREATE INDEX runs_started_at_idx ON runs (started_at)",
    "CREATE INDEX runs_build_idx ON runs (build)",
    "CREATE INDEX test_results_run_id_idx ON test_results (run_id)",
    "CREATE INDEX test_results_nodeid_idx ON test_results (nodeid)",
    "CREATE INDEX test_results_outcome_idx ON test_results (outcome)",
    "CREATE INDEX test_results_device_id_idx ON test_results (device_id)",
    "CREATE INDEX steps_test_result_id_idx ON steps (test_result_id)",
    "CREATE INDEX kpis_name_measured_at_idx ON kpis (name, measured_at)",
    "CREATE INDEX kpis_device_id_idx ON kpis (device_id)",
    "CREATE INDEX artifacts_test_result_id_idx ON artifacts (test_result_id)",
]
