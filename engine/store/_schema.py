"""Applying the store's schema, an ordered list of migrations (defined in :mod:`interfaces.store_schema`).

``PRAGMA user_version`` is the number of migrations applied. A new schema
version appends a step; a published step never changes. A store written by a
newer version of this code (more steps than we know) is refused, because
writing to it could break what that version relies on.
"""

from __future__ import annotations

import sqlite3

from interfaces import StoreError
from interfaces.store_schema import MIGRATIONS, SCHEMA_VERSION

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migrate"]


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
