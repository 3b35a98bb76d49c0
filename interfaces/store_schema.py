"""The run store's on-disk contract: its file name and its SQLite schema.

A run directory holds one store file, :data:`STORE_FILENAME`. Its schema is
the ordered list :data:`MIGRATIONS`; ``PRAGMA user_version`` is the number of
steps applied, so :data:`SCHEMA_VERSION` is the version this code writes. A
new schema version appends a step; a published step never changes.

This is the one definition of the tables and columns. The engine's run store
(:mod:`engine.store`) creates and writes them; readers below the engine (the
mechanism library's run reader) read them without importing the engine.
Standard library only, like the rest of :mod:`interfaces`.
"""

from __future__ import annotations

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "STORE_FILENAME"]

STORE_FILENAME = "run.sqlite"

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE runs (
            run_id TEXT PRIMARY KEY,
            task TEXT NOT NULL,
            settings TEXT NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            status TEXT NOT NULL,
            created_at TEXT NOT NULL,
            finished_at TEXT,
            note TEXT NOT NULL DEFAULT ''
        )""",
        """CREATE TABLE trials (
            run_id TEXT NOT NULL REFERENCES runs(run_id),
            idx INTEGER NOT NULL,
            status TEXT NOT NULL,
            decision TEXT NOT NULL,
            metric REAL,
            trial TEXT NOT NULL,
            outcome TEXT,
            metrics TEXT NOT NULL,
            finished_at TEXT NOT NULL,
            PRIMARY KEY (run_id, idx)
        )""",
        """CREATE TABLE in_flight (
            run_id TEXT NOT NULL REFERENCES runs(run_id),
            idx INTEGER NOT NULL,
            proposal TEXT NOT NULL,
            config TEXT NOT NULL,
            started_at TEXT NOT NULL,
            PRIMARY KEY (run_id, idx)
        )""",
        """CREATE TABLE llm_calls (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id TEXT NOT NULL REFERENCES runs(run_id),
            purpose TEXT NOT NULL,
            level TEXT NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            prompt_tokens INTEGER NOT NULL,
            completion_tokens INTEGER NOT NULL,
            cost_usd REAL NOT NULL,
            duration_s REAL NOT NULL,
            failed INTEGER NOT NULL,
            exchange TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX llm_calls_by_run ON llm_calls(run_id, level)",
        """CREATE TABLE config_snapshots (
            run_id TEXT NOT NULL REFERENCES runs(run_id),
            cycle INTEGER NOT NULL,
            after_trial INTEGER NOT NULL,
            config TEXT NOT NULL,
            reason TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (run_id, cycle)
        )""",
        """CREATE TABLE mechanism_events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id TEXT NOT NULL REFERENCES runs(run_id),
            mechanism TEXT NOT NULL,
            kind TEXT NOT NULL,
            trial_index INTEGER,
            data TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX mechanism_events_by_run ON mechanism_events(run_id, mechanism)",
        """CREATE TABLE state (
            run_id TEXT NOT NULL REFERENCES runs(run_id),
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (run_id, key)
        )""",
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)
