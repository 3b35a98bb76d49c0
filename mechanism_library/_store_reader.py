"""A read-only reader of a run's store: the one run it holds and that run's mechanism events.

The store's tables are those :mod:`interfaces.store_schema` defines and the
engine's run store writes. The library reads two of them, and only these
columns::

    runs              run_id, provider, model, status, created_at (for the order)
    mechanism_events  id, run_id, mechanism, kind, trial_index, data, created_at

through a read-only SQLite connection, so reading a run never writes its store
file and never migrates it (SQLite may add the ``-wal`` and ``-shm`` files it
reads a WAL database with; the store file itself is left as it was). A store
of another schema version than :data:`interfaces.store_schema.SCHEMA_VERSION`
is refused rather than guessed at.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interfaces.store_schema import SCHEMA_VERSION

from ._errors import LibraryError

__all__ = ["StoredRun", "read_stored_run"]


@dataclass(frozen=True)
class StoredRun:
    """The one run of a store, with its mechanism events oldest first (each a plain dict)."""

    run_id: str
    provider: str
    model: str
    status: str
    events: tuple[dict[str, Any], ...]


def read_stored_run(path: Path) -> StoredRun:
    """The run stored in the file ``path``.

    Raises LibraryError ``not-a-run`` for a missing file or a database that
    holds no run store or not exactly one run, and ``unreadable-run`` for a file that cannot be
    read as one: empty, not a database, damaged, of another schema version, or
    with a mechanism event that is not JSON.
    """
    path = Path(path)
    if not path.is_file():
        raise LibraryError(f"no run store at {path}", code="not-a-run")
    if path.stat().st_size == 0:
        raise LibraryError(f"cannot read {path}: it is empty (0 bytes), no run was ever stored in it",
                           code="unreadable-run")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None,
                               timeout=30.0)
    except sqlite3.Error as exc:
        raise LibraryError(f"cannot read {path}: {exc}", code="unreadable-run") from None
    try:
        # One read transaction, so the run and its events are one snapshot even while an engine writes.
        conn.execute("BEGIN")
        return _read(conn, path)
    except sqlite3.Error as exc:
        raise LibraryError(f"cannot read {path}: {exc}", code="unreadable-run") from None
    finally:
        conn.close()


def _read(conn: sqlite3.Connection, path: Path) -> StoredRun:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == 0:
        raise LibraryError(f"{path} is an SQLite database but no run store (it has no schema)",
                           code="not-a-run")
    if version != SCHEMA_VERSION:
        raise LibraryError(f"cannot read {path}: it has store schema version {version}, this code reads "
                           f"version {SCHEMA_VERSION}", code="unreadable-run")
    runs = conn.execute("SELECT run_id, provider, model, status FROM runs"
                        " ORDER BY created_at, run_id").fetchall()
    if len(runs) != 1:
        raise LibraryError(f"{path} holds {len(runs)} runs; a run directory holds exactly one",
                           code="not-a-run")
    run_id, provider, model, status = runs[0]
    rows = conn.execute("SELECT id, mechanism, kind, trial_index, data, created_at FROM mechanism_events"
                        " WHERE run_id = ? ORDER BY id", (run_id,)).fetchall()
    events = []
    for event_id, mechanism, kind, trial_index, data, created_at in rows:
        try:
            decoded = json.loads(data)
        except (TypeError, ValueError) as exc:
            raise LibraryError(f"cannot read {path}: mechanism event {event_id} does not parse ({exc}); the "
                               "store was edited or damaged", code="unreadable-run") from None
        events.append({"id": event_id, "mechanism": mechanism, "kind": kind, "trial_index": trial_index,
                       "data": decoded, "created_at": created_at})
    return StoredRun(run_id, provider, model, status, tuple(events))
