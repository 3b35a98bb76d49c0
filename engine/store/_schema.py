"""The store's schema as an ordered list of migrations.

``PRAGMA user_version`` is the number of migrations applied. A new schema
version appends a step; a published step never changes. A store written by a
newer version of this code (more steps than we know) is refused, because
writing to it could break what that version relies on.
"""

from __future__ import annotations

import sqlite3

from interfaces import StoreError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migrate"]

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


def migrate(conn: sqlite3.Connection, path: str) -> None:
    """Bring ``conn`` up to :data:`SCHEMA_VERSION`, one step per transaction.

    The version is read inside ``BEGIN IMMEDIATE`` so two processes opening a
    fresh store at once do not both apply the same step.
    """
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            found = conn.execute("PRAGMA user_version").fetchone()[0]
            if found > SCHEMA_VERSION:
                raise StoreError(
                    f"{path} has schema version {found}; this code knows versions up to "
                    f"{SCHEMA_VERSION}. Open it with a newer version of the engine.",
                    code="store-version",
                )
            if found == SCHEMA_VERSION:
                conn.execute("COMMIT")
                return
            for statement in MIGRATIONS[found]:
                conn.execute(statement)
            # PRAGMA takes no bound parameters; the value is our own integer.
            conn.execute(f"PRAGMA user_version = {found + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
