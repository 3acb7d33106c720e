"""Version 3: ``alerts`` holds the incidents ``virtualpy monitor`` collects from the labs.

Each incident is one row, keyed by its id (``uid``: the daemon's ``LAB:START_MS:SEQ``,
or ``monitor:LAB:...`` for "lab unreachable"), so a restarted monitor updates the row
it wrote before instead of adding another. ``started_at`` is when the condition
began, ``ended_at`` when it ended (NULL while open); ``lab_id`` names the lab (an
unreachable lab has no device); ``test`` is the test running on the device when it
began, if any. ``created_at`` stays the time the row was first written.
"""

VERSION = 3
DESCRIPTION = "alerts: monitoring incidents (uid, lab, start, end, test), one row each"

STATEMENTS = [
    "ALTER TABLE alerts ADD COLUMN uid TEXT",
    "ALTER TABLE alerts ADD COLUMN lab_id BIGINT REFERENCES labs(id)",
    "ALTER TABLE alerts ADD COLUMN started_at {ts}",
    "ALTER TABLE alerts ADD COLUMN ended_at {ts}",
    "ALTER TABLE alerts ADD COLUMN test TEXT",
    "CREATE UNIQUE INDEX alerts_uid_idx ON alerts (uid)",
    "CREATE INDEX alerts_started_at_idx ON alerts (started_at)",
    "CREATE INDEX alerts_device_id_idx ON alerts (device_id)",
]
