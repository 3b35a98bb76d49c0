"""The run store: one SQLite file (WAL) holding everything a run produced.

Every write is one transaction committed before the method returns, so a
process killed at any instant loses nothing a method had returned from. One
connection is shared by every thread behind a re-entrant lock: the engine
finishes trials from worker threads, and SQLite serialises writers anyway.
``synchronous=FULL`` makes a commit durable against power loss too, not only
against the process dying.
"""

from __future__ import annotations

import bisect
import contextlib
import math
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from interfaces import Outcome, Proposal, SearchConfig, StoreError, TraceView, Trial
from interfaces.store_schema import STORE_FILENAME

from . import _json
from ._records import (
    MECHANISM_EVENT_KINDS,
    RUN_STATUSES,
    ConfigSnapshot,
    InFlightTrial,
    RunInfo,
    check_run_id,
)
from ._schema import migrate

__all__ = ["STORE_FILENAME", "RunStore", "store_error"]

_RESERVED_LLM_KEYS = ("id", "created_at")
_USAGE_FIELDS = (
    "calls",
    "failed",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cost_usd",
    "duration_s",
    "cached_prompt_tokens",
)
# Prompt tokens the server read from its cache: kept in the exchange's usage (no column of their own, so
# stores written before it was recorded read as 0).
_CACHED = "COALESCE(json_extract(exchange, '$.usage.cached_prompt_tokens'), 0)"


def store_error(exc: sqlite3.Error, path: Path, doing: str) -> StoreError:
    """A typed one-line StoreError for an SQLite failure while ``doing`` something with the store at ``path``.

    Codes: ``disk-full`` (the disk or quota is full), ``store-read-only``
    (the file or its directory cannot be written), ``store-corrupt`` (the
    file's pages are damaged or it is not a database), ``store-busy``
    (another process holds it locked past the timeout), else ``store-error``.
    """
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    if name.startswith("SQLITE_FULL") or "disk is full" in text:
        code, hint = "disk-full", "free space on that disk, then resume"
    elif name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN")) or any(
            marker in text for marker in ("readonly", "unable to open")):
        code, hint = "store-read-only", "the run directory must be writable (WAL writes -wal and -shm files)"
    elif name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or any(
            marker in text for marker in ("malformed", "not a database")):
        code, hint = "store-corrupt", "the file is damaged; restore it from a copy (it was left as it was)"
    elif name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        code, hint = "store-busy", "another process holds the store; is a second engine on this run?"
    elif name.startswith("SQLITE_IOERR") and isinstance(exc.__context__, OSError):
        code, hint = "store-error", os.strerror(exc.__context__.errno or 0)
    else:
        code, hint = "store-error", name or type(exc).__name__
    return StoreError(f"{doing} {path} failed: {text} ({hint})", code=code)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _level_key(level: Any) -> str:
    if isinstance(level, bool) or not isinstance(level, (int, float, str)) or level == "":
        raise StoreError(
            f"an LLM call's level must be a number or a name, got {level!r}", code="bad-llm-call"
        )
    if isinstance(level, float) and level.is_integer():
        level = int(level)
    return str(level)


def _count(exchange: Mapping[str, Any], key: str, kind: type) -> Any:
    """``key`` of an exchange, at its top level or, as providers write it, under ``usage``."""
    usage = exchange.get("usage")
    if key in exchange:
        value = exchange[key]
    elif isinstance(usage, Mapping):
        value = usage.get(key, kind(0))
    else:
        value = kind(0)
    if value is None:
        return kind(0)
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise StoreError(
            f"an LLM call's {key} must be a non-negative number, got {value!r}", code="bad-llm-call"
        )
    if kind is int and value != int(value):
        raise StoreError(f"an LLM call's {key} must be a whole number, got {value!r}", code="bad-llm-call")
    return kind(value)


class RunStore:
    """Runs, trials, LLM calls, Level 1.5 snapshots, mechanism events and
    resumable loop state of one store file. Open with :meth:`open`."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._lock = threading.RLock()
        self._depth = 0
        self._closed = False
        # Trials are immutable and read far more often than written (a trace
        # before every hook call), so each run's trials are kept once decoded.
        # PRAGMA data_version moves when another connection commits, which
        # drops the cache; our own writes update it; a rollback drops it.
        self._trial_cache: dict[str, list[Trial]] = {}
        self._data_version: int | None = None

    # -- opening and closing -------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, *, durable: bool = True) -> RunStore:
        """Create or open the store at ``path`` (a directory means its
        ``run.sqlite``) and bring its schema up to date.

        ``durable=True`` syncs every commit to disk (``synchronous=FULL``), so
        committed trials survive power loss. ``durable=False`` (``NORMAL``)
        still survives the process being killed at any point, which is all a
        WAL commit needs for that, and is cheaper where fsync is slow.

        Raises StoreError ``store-version`` for a store written by a newer
        schema, ``store-corrupt`` for a file that is not a readable store.
        """
        path = Path(path)
        if path.is_dir():
            path = path / STORE_FILENAME
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the directory of {path}: {exc.strerror}",
                             code="run-dir-unwritable") from None
        if path.exists():
            cls._check_existing(path)
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a
            # transaction is exactly what the code says it is.
            conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30.0)
        except sqlite3.Error as exc:
            raise store_error(exc, path, "opening") from None
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise StoreError(
                    f"{path}: the file system refused WAL journaling (got {mode!r})", code="store-wal"
                )
            conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            conn.execute("PRAGMA foreign_keys=ON")
            migrate(conn, str(path))
        except sqlite3.Error as exc:
            conn.close()
            raise store_error(exc, path, "opening") from None
        except BaseException:
            conn.close()
            raise
        return cls(conn, path)

    @staticmethod
    def _check_existing(path: Path) -> None:
        """Refuse, without writing a byte to it, an existing file that is empty or damaged.

        An empty file is not a store that lost its tables: the run that made it
        never committed anything, and giving it a fresh schema would hide
        that. The check reads through a read-only connection, so a damaged
        file is left exactly as it was found.
        """
        if path.stat().st_size == 0:
            raise StoreError(f"{path} is empty (0 bytes): no run was ever stored in it; remove it to start "
                             "a new run there", code="store-empty")
        try:
            probe = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0)
        except sqlite3.Error as exc:
            raise store_error(exc, path, "opening") from None
        try:
            problems = [row[0] for row in probe.execute("PRAGMA quick_check").fetchall()]
        except sqlite3.Error as exc:
            raise store_error(exc, path, "checking") from None
        finally:
            probe.close()
        if problems != ["ok"]:
            raise StoreError(f"{path} is damaged ({'; '.join(problems[:3])}); it was left as it was: "
                             "restore it from a copy", code="store-corrupt")

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- transactions --------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[RunStore]:
        """Group several writes into one atomic commit, e.g. a Level 1.5
        snapshot together with the loop state that says it was taken. Nests:
        an inner block is a savepoint, committed only with the outermost."""
        with self._lock:
            self._check_open()
            if self._depth:
                name = f"nested_{self._depth}"
                self._conn.execute(f"SAVEPOINT {name}")
                self._depth += 1
                try:
                    yield self
                    self._conn.execute(f"RELEASE {name}")
                except BaseException as exc:
                    self._trial_cache.clear()
                    if self._conn.in_transaction:  # else SQLite rolled the whole transaction back itself
                        with contextlib.suppress(sqlite3.Error):
                            self._conn.execute(f"ROLLBACK TO {name}")
                            self._conn.execute(f"RELEASE {name}")
                    if isinstance(exc, sqlite3.Error):
                        raise store_error(exc, self.path, "writing") from None
                    raise
                finally:
                    self._depth -= 1
                return
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise store_error(exc, self.path, "writing") from None
            self._depth = 1
            try:
                yield self
                self._conn.execute("COMMIT")
            except BaseException as exc:
                self._trial_cache.clear()
                # SQLite may have rolled back already (a full disk does); a second error would hide the first.
                if self._conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise store_error(exc, self.path, "writing") from None
                raise
            finally:
                self._depth = 0

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"the store {self.path} is closed", code="store-closed")

    def _query(
        self, sql: str, params: tuple[Any, ...] = (), *, run_id: str | None = None
    ) -> list[tuple[Any, ...]]:
        """Run one read under the lock; with ``run_id``, fail clearly for an unknown run."""
        with self._lock:
            self._check_open()
            try:
                if run_id is not None:
                    self._require_run(run_id)
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise store_error(exc, self.path, "reading") from None

    def _require_run(self, run_id: str) -> None:
        if not self._conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone():
            raise StoreError(f"no run {run_id!r} in {self.path}", code="unknown-run")

    # -- runs ----------------------------------------------------------------

    def create_run(
        self, run_id: str, *, task: str, settings: Mapping[str, Any], provider: str, model: str
    ) -> RunInfo:
        check_run_id(run_id)
        settings_json = _json.dumps(settings, what="run settings")
        with self.transaction():
            if self._conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone():
                raise StoreError(f"run {run_id!r} already exists in {self.path}", code="duplicate-run")
            self._conn.execute(
                "INSERT INTO runs (run_id, task, settings, provider, model, status, created_at)"
                " VALUES (?, ?, ?, ?, ?, 'running', ?)",
                (run_id, task, settings_json, provider, model, _now()),
            )
        return self.run(run_id)

    def run(self, run_id: str) -> RunInfo:
        rows = self._query(
            "SELECT run_id, task, settings, provider, model, status, created_at, finished_at, note"
            " FROM runs WHERE run_id = ?",
            (run_id,),
        )
        if not rows:
            raise StoreError(f"no run {run_id!r} in {self.path}", code="unknown-run")
        return self._run_info(rows[0])

    def runs(self) -> list[RunInfo]:
        rows = self._query(
            "SELECT run_id, task, settings, provider, model, status, created_at, finished_at, note"
            " FROM runs ORDER BY created_at, run_id"
        )
        return [self._run_info(row) for row in rows]

    @staticmethod
    def _run_info(row: tuple[Any, ...]) -> RunInfo:
        run_id, task, settings, provider, model, status, created_at, finished_at, note = row
        decoded = _json.loads(settings)
        if not isinstance(decoded, dict):
            raise StoreError(f"run {run_id!r}'s stored settings are not a JSON object; the store was "
                             "edited or damaged", code="store-corrupt")
        return RunInfo(run_id, task, decoded, provider, model, status, created_at, finished_at, note)

    def set_settings(self, run_id: str, settings: Mapping[str, Any]) -> None:
        """Replace the run's stored settings (a resume that changes its budget)."""
        settings_json = _json.dumps(settings, what="run settings")
        with self.transaction():
            self._require_run(run_id)
            self._conn.execute("UPDATE runs SET settings = ? WHERE run_id = ?", (settings_json, run_id))

    def set_provider(self, run_id: str, provider: str, model: str) -> None:
        """Name the provider and model that answer for the run (once the provider has started)."""
        with self.transaction():
            self._require_run(run_id)
            self._conn.execute("UPDATE runs SET provider = ?, model = ? WHERE run_id = ?", (provider, model, run_id))

    def set_status(self, run_id: str, status: str, note: str = "") -> None:
        """Mark a run running (again, on resume), finished, failed, interrupted or stopped (by its budget)."""
        if status not in RUN_STATUSES:
            raise StoreError(
                f"run status must be one of {', '.join(RUN_STATUSES)}, got {status!r}", code="bad-status"
            )
        finished_at = None if status == "running" else _now()
        with self.transaction():
            self._require_run(run_id)
            self._conn.execute(
                "UPDATE runs SET status = ?, finished_at = ?, note = ? WHERE run_id = ?",
                (status, finished_at, note, run_id),
            )

    # -- trials --------------------------------------------------------------

    def begin_trial(self, run_id: str, index: int, proposal: Proposal, config: Mapping[str, Any]) -> None:
        """Record that trial ``index`` is running. Beginning it again (a re-run
        after a crash) replaces the old record; a finished index is refused."""
        proposal_json = _json.dumps(proposal.to_dict(), what="the proposal")
        config_json = _json.dumps(config, what="the trial configuration")
        with self.transaction():
            self._require_run(run_id)
            if self._trial_exists(run_id, index):
                raise StoreError(f"trial {index} of run {run_id!r} already finished", code="trial-finished")
            self._conn.execute(
                "INSERT OR REPLACE INTO in_flight (run_id, idx, proposal, config, started_at) VALUES (?, ?, ?, ?, ?)",
                (run_id, int(index), proposal_json, config_json, _now()),
            )

    def finish_trial(self, run_id: str, trial: Trial, outcome: Outcome | None) -> None:
        """Write a finished (or rejected) trial and clear its in-flight mark,
        atomically. A trial index is written at most once per run."""
        trial_json = _json.dumps(trial.to_dict(), what=f"trial {trial.index}")
        if outcome is None:
            outcome_json, metrics_json = None, "{}"
        else:
            data = outcome.to_dict()
            data["metrics"] = _json.encode_metrics(data["metrics"])
            outcome_json = _json.dumps(data, what=f"the outcome of trial {trial.index}")
            metrics_json = _json.dumps(data["metrics"], what=f"the metrics of trial {trial.index}")
        with self.transaction():
            self._require_run(run_id)
            if self._trial_exists(run_id, trial.index):
                raise StoreError(
                    f"trial {trial.index} of run {run_id!r} is already stored", code="duplicate-trial"
                )
            self._conn.execute(
                "INSERT INTO trials (run_id, idx, status, decision, metric, trial, outcome, metrics, finished_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    trial.index,
                    trial.status.value,
                    trial.decision.value,
                    trial.metric,
                    trial_json,
                    outcome_json,
                    metrics_json,
                    _now(),
                ),
            )
            self._conn.execute("DELETE FROM in_flight WHERE run_id = ? AND idx = ?", (run_id, trial.index))
            cached = self._trial_cache.get(run_id)
            if cached is not None:
                bisect.insort(cached, trial, key=lambda t: t.index)

    def _trial_exists(self, run_id: str, index: int) -> bool:
        row = self._conn.execute("SELECT 1 FROM trials WHERE run_id = ? AND idx = ?", (run_id, int(index)))
        return row.fetchone() is not None

    def trials(self, run_id: str) -> tuple[Trial, ...]:
        """Every stored trial of the run, ordered by index."""
        with self._lock:
            self._check_open()
            version = self._query("PRAGMA data_version")[0][0]
            if version != self._data_version:
                self._trial_cache.clear()
                self._data_version = version
            cached = self._trial_cache.get(run_id)
            if cached is None:
                rows = self._query(
                    "SELECT trial FROM trials WHERE run_id = ? ORDER BY idx", (run_id,), run_id=run_id
                )
                cached = [Trial.from_dict(_json.loads(text)) for (text,) in rows]
                self._trial_cache[run_id] = cached
            return tuple(cached)

    def trial_finish_times(self, run_id: str) -> dict[int, str]:
        """When each stored trial was written (ISO 8601, UTC), by index."""
        rows = self._query("SELECT idx, finished_at FROM trials WHERE run_id = ?", (run_id,), run_id=run_id)
        return {int(index): str(finished) for index, finished in rows}

    def trace(self, run_id: str, minimize: bool = True) -> TraceView:
        return TraceView(self.trials(run_id), minimize=minimize)

    def outcome(self, run_id: str, index: int) -> Outcome | None:
        """The outcome stored with trial ``index`` (None for a trial that never ran)."""
        rows = self._query(
            "SELECT outcome FROM trials WHERE run_id = ? AND idx = ?", (run_id, int(index)), run_id=run_id
        )
        if not rows:
            raise StoreError(f"no trial {index} in run {run_id!r}", code="unknown-trial")
        data = _json.loads(rows[0][0])
        if data is None:
            return None
        data["metrics"] = _json.decode_metrics(data["metrics"])
        return Outcome.from_dict(data)

    def in_flight(self, run_id: str) -> list[int]:
        """Indices begun and not finished: after a crash, trials to re-run."""
        rows = self._query(
            "SELECT idx FROM in_flight WHERE run_id = ? ORDER BY idx", (run_id,), run_id=run_id
        )
        return [row[0] for row in rows]

    def in_flight_trials(self, run_id: str) -> list[InFlightTrial]:
        rows = self._query(
            "SELECT idx, proposal, config, started_at FROM in_flight WHERE run_id = ? ORDER BY idx",
            (run_id,),
            run_id=run_id,
        )
        return [
            InFlightTrial(idx, Proposal.from_dict(_json.loads(p)), _json.loads(c), started)
            for idx, p, c, started in rows
        ]

    def clear_in_flight(self, run_id: str) -> list[int]:
        """Forget every in-flight mark of the run; return the indices cleared."""
        with self.transaction():
            cleared = self.in_flight(run_id)
            self._conn.execute("DELETE FROM in_flight WHERE run_id = ?", (run_id,))
        return cleared

    # -- LLM calls -----------------------------------------------------------

    def add_llm_call(self, run_id: str, exchange: Mapping[str, Any]) -> int:
        """Store one LLM exchange (a JSON-able mapping with at least ``purpose``
        and ``level``); return its id. Token counts and ``cost_usd`` are read
        from the top level or from a nested ``usage`` mapping (the form of
        :meth:`engine.llm.Exchange.to_dict`); they and ``duration_s`` are
        absent for providers that do not report them."""
        if not isinstance(exchange, Mapping):
            raise StoreError(
                f"an LLM call must be a mapping, got {type(exchange).__name__}", code="bad-llm-call"
            )
        reserved = [key for key in _RESERVED_LLM_KEYS if key in exchange]
        if reserved:
            raise StoreError(
                f"an LLM call may not set {', '.join(reserved)}: the store assigns them", code="bad-llm-call"
            )
        purpose = exchange.get("purpose")
        if not isinstance(purpose, str) or not purpose:
            raise StoreError("an LLM call needs a non-empty 'purpose'", code="bad-llm-call")
        level = _level_key(exchange.get("level"))
        values = (
            purpose,
            level,
            str(exchange.get("provider") or ""),
            str(exchange.get("model") or ""),
            _count(exchange, "prompt_tokens", int),
            _count(exchange, "completion_tokens", int),
            _count(exchange, "cost_usd", float),
            _count(exchange, "duration_s", float),
            1 if exchange.get("error") else 0,
            _json.dumps(exchange, what="the LLM call"),
            _now(),
        )
        with self.transaction():
            self._require_run(run_id)
            cursor = self._conn.execute(
                "INSERT INTO llm_calls (run_id, purpose, level, provider, model, prompt_tokens, completion_tokens,"
                " cost_usd, duration_s, failed, exchange, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, *values),
            )
            if cursor.lastrowid is None:  # sqlite3 sets it after every INSERT that added a row
                raise StoreError("the LLM call was not stored (no row id)", code="bad-llm-call")
            return cursor.lastrowid

    def llm_calls(self, run_id: str) -> list[dict[str, Any]]:
        """Every exchange as stored, oldest first, with ``id`` and ``created_at`` added."""
        rows = self._query(
            "SELECT id, exchange, created_at FROM llm_calls WHERE run_id = ? ORDER BY id",
            (run_id,),
            run_id=run_id,
        )
        return [dict(_json.loads(text), id=call_id, created_at=created) for call_id, text, created in rows]

    def llm_call_rows(self, run_id: str) -> list[dict[str, Any]]:
        """The stored columns of every call, oldest first: the per-call token table of the report.
        ``created_at`` is when the call was stored (ISO 8601, UTC), comparable with
        :meth:`trial_finish_times`."""
        rows = self._query(
            "SELECT id, purpose, level, provider, model, prompt_tokens, completion_tokens, cost_usd,"
            f" duration_s, failed, created_at, {_CACHED} FROM llm_calls WHERE run_id = ? ORDER BY id",
            (run_id,),
            run_id=run_id,
        )
        keys = ("id", "purpose", "level", "provider", "model", "prompt_tokens", "completion_tokens",
                "cost_usd", "duration_s", "failed", "created_at", "cached_prompt_tokens")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def usage(self, run_id: str) -> dict[str, Any]:
        """Token, cost and call totals: ``{"levels": {level: totals}, "total": totals}``."""
        rows = self._query(
            "SELECT level, COUNT(*), SUM(failed), SUM(prompt_tokens), SUM(completion_tokens),"
            f" SUM(prompt_tokens + completion_tokens), SUM(cost_usd), SUM(duration_s), SUM({_CACHED})"
            " FROM llm_calls WHERE run_id = ? GROUP BY level ORDER BY level",
            (run_id,),
            run_id=run_id,
        )
        levels = {row[0]: self._totals(row[1:]) for row in rows}
        total = {key: sum(level[key] for level in levels.values()) for key in _USAGE_FIELDS}
        return {"levels": levels, "total": self._totals(tuple(total[key] for key in _USAGE_FIELDS))}

    @staticmethod
    def _totals(values: tuple[Any, ...]) -> dict[str, Any]:
        calls, failed, prompt, completion, tokens, cost, duration, cached = values
        return {
            "calls": int(calls),
            "failed": int(failed),
            "prompt_tokens": int(prompt),
            "completion_tokens": int(completion),
            "total_tokens": int(tokens),
            "cost_usd": float(cost),
            "duration_s": float(duration),
            "cached_prompt_tokens": int(cached),
        }

    # -- Level 1.5 snapshots -------------------------------------------------

    def add_config_snapshot(
        self, run_id: str, cycle: int, after_trial: int, config: SearchConfig, reason: str
    ) -> None:
        config_json = _json.dumps(config.to_dict(), what="the search config")
        with self.transaction():
            self._require_run(run_id)
            exists = self._conn.execute(
                "SELECT 1 FROM config_snapshots WHERE run_id = ? AND cycle = ?", (run_id, int(cycle))
            ).fetchone()
            if exists:
                raise StoreError(
                    f"run {run_id!r} already has a snapshot for cycle {cycle}", code="duplicate-snapshot"
                )
            self._conn.execute(
                "INSERT INTO config_snapshots (run_id, cycle, after_trial, config, reason, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, int(cycle), int(after_trial), config_json, reason, _now()),
            )

    def config_snapshots(self, run_id: str) -> list[ConfigSnapshot]:
        rows = self._query(
            "SELECT cycle, after_trial, config, reason FROM config_snapshots WHERE run_id = ? ORDER BY cycle",
            (run_id,),
            run_id=run_id,
        )
        return [
            ConfigSnapshot(cycle, after, SearchConfig.from_dict(_json.loads(cfg)), reason)
            for cycle, after, cfg, reason in rows
        ]

    # -- mechanism events ----------------------------------------------------

    def add_mechanism_event(
        self, run_id: str, mechanism: str, kind: str, trial_index: int | None, data: Mapping[str, Any]
    ) -> None:
        """Record what happened to a mechanism; ``kind`` is one of
        :data:`MECHANISM_EVENT_KINDS`. A ``calls`` event carries call-count
        increments as ``{"counts": {hook: n}}``."""
        if kind not in MECHANISM_EVENT_KINDS:
            raise StoreError(
                f"mechanism event kind must be one of {', '.join(MECHANISM_EVENT_KINDS)}, got {kind!r}",
                code="bad-event-kind",
            )
        if not isinstance(mechanism, str) or not mechanism:
            raise StoreError("a mechanism event needs the mechanism's name", code="bad-event-data")
        if not isinstance(data, Mapping):
            raise StoreError(
                f"mechanism event data must be a mapping, got {type(data).__name__}", code="bad-event-data"
            )
        if kind == "calls":
            counts = data.get("counts")
            if not isinstance(counts, Mapping) or not all(
                isinstance(h, str) and isinstance(n, int) and not isinstance(n, bool) and n >= 0
                for h, n in counts.items()
            ):
                raise StoreError(
                    "a 'calls' event needs data {'counts': {hook: non-negative int}}", code="bad-event-data"
                )
        data_json = _json.dumps(data, what="the mechanism event data")
        with self.transaction():
            self._require_run(run_id)
            self._conn.execute(
                "INSERT INTO mechanism_events (run_id, mechanism, kind, trial_index, data, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    mechanism,
                    kind,
                    None if trial_index is None else int(trial_index),
                    data_json,
                    _now(),
                ),
            )

    def mechanism_events(self, run_id: str, mechanism: str | None = None) -> list[dict[str, Any]]:
        """Events oldest first, each ``{id, mechanism, kind, trial_index, data, created_at}``."""
        sql = (
            "SELECT id, mechanism, kind, trial_index, data, created_at FROM mechanism_events WHERE run_id = ?"
        )
        params: tuple[Any, ...] = (run_id,)
        if mechanism is not None:
            sql += " AND mechanism = ?"
            params += (mechanism,)
        rows = self._query(sql + " ORDER BY id", params, run_id=run_id)
        return [
            {"id": i, "mechanism": m, "kind": k, "trial_index": t, "data": _json.loads(d), "created_at": c}
            for i, m, k, t, d, c in rows
        ]

    # -- resumable loop state ------------------------------------------------

    def set_state(self, run_id: str, key: str, value: Any) -> None:
        """Store a small JSON value under ``key`` (next index, RNG state, ...)."""
        if not isinstance(key, str) or not key:
            raise StoreError("a state key must be a non-empty string", code="bad-state-key")
        value_json = _json.dumps(value, what=f"state {key!r}")
        with self.transaction():
            self._require_run(run_id)
            self._conn.execute(
                "INSERT OR REPLACE INTO state (run_id, key, value) VALUES (?, ?, ?)",
                (run_id, key, value_json),
            )

    def get_state(self, run_id: str, key: str, default: Any = None) -> Any:
        rows = self._query(
            "SELECT value FROM state WHERE run_id = ? AND key = ?", (run_id, key), run_id=run_id
        )
        return _json.loads(rows[0][0]) if rows else default

    # -- checks ----------------------------------------------------------------

    def integrity_check(self) -> list[str]:
        """SQLite's own consistency check; ``["ok"]`` for a sound file."""
        return [row[0] for row in self._query("PRAGMA integrity_check")]
