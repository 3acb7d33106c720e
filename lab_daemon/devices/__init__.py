"""One class per kind of hardware, each behind a small abstract protocol."""
