"""``read_run`` reads a run's store read-only, knowing only interfaces.store_schema."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest

from engine.store import RunStore
from interfaces.store_schema import MIGRATIONS, SCHEMA_VERSION, STORE_FILENAME
from mechanism_library import MECHANISMS_DIR, LibraryError, read_run

from .runs import RUN_ID, make_run

TABU = (MECHANISMS_DIR / "tabu_filter.py").read_text()


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def refused(code, run_dir):
    with pytest.raises(LibraryError) as caught:
        read_run(run_dir)
    assert caught.value.code == code, caught.value
    return caught.value


def test_a_run_the_engine_wrote_is_read_with_its_events_and_its_store_is_left_as_it_was(tmp_path):
    run_dir = make_run(tmp_path, "repeat_veto", TABU)
    before = digest(run_dir / STORE_FILENAME)
    facts = read_run(run_dir)
    assert (facts.run_id, facts.provider, facts.model) == (RUN_ID, "openai", "gpt-test-1")
    assert facts.status == "finished"
    assert [e["kind"] for e in facts.events] == ["admission", "activation", "evaluation", "keep"]
    assert facts.admission_of("repeat_veto")["trial_index"] == 3
    assert facts.events_of("repeat_veto", "evaluation")[0]["data"]["gain"] == 0.25
    assert digest(run_dir / STORE_FILENAME) == before


def test_a_run_an_engine_is_still_writing_is_read_as_committed_so_far(tmp_path):
    run_dir = tmp_path / "live"
    with RunStore.open(run_dir / STORE_FILENAME) as store:  # held open: the commits sit in its WAL file
        store.create_run(RUN_ID, task="script", settings={}, provider="heuristic", model="")
        store.add_mechanism_event(RUN_ID, "tabu", "admission", 1, {"hook": "filter", "session": 1})
        assert read_run(run_dir).status == "running"
        store.add_mechanism_event(RUN_ID, "tabu", "activation", 1, {"hook": "filter"})
        assert [e["kind"] for e in read_run(run_dir).events] == ["admission", "activation"]


def test_the_reader_needs_only_the_schema_definition(tmp_path):
    """A store made from interfaces.store_schema alone, with plain SQL, reads like one the engine wrote."""
    run_dir = tmp_path / "plain"
    run_dir.mkdir()
    conn = sqlite3.connect(run_dir / STORE_FILENAME)
    for step in MIGRATIONS:
        for statement in step:
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    conn.execute("INSERT INTO runs (run_id, task, settings, provider, model, status, created_at)"
                 " VALUES ('r1', 'script', '{}', 'openai', 'm', 'stopped', '2025-01-01')")
    conn.execute("INSERT INTO mechanism_events (run_id, mechanism, kind, trial_index, data, created_at)"
                 " VALUES ('r1', 'tabu', 'ejection', 4, '{\"code\": \"hook-raised\"}', '2025-01-01')")
    conn.commit()
    conn.close()
    facts = read_run(run_dir)
    assert (facts.run_id, facts.status) == ("r1", "stopped")
    assert facts.events_of("tabu", "ejection")[0]["data"]["code"] == "hook-raised"


def test_an_empty_or_foreign_file_is_unreadable_and_left_untouched(tmp_path):
    (tmp_path / STORE_FILENAME).write_bytes(b"")
    assert "empty" in str(refused("unreadable-run", tmp_path))
    (tmp_path / STORE_FILENAME).write_bytes(b"not a database, just some bytes" * 100)
    before = digest(tmp_path / STORE_FILENAME)
    refused("unreadable-run", tmp_path)
    assert digest(tmp_path / STORE_FILENAME) == before


def test_a_database_without_the_schema_is_not_a_run_and_is_not_migrated(tmp_path):
    conn = sqlite3.connect(tmp_path / STORE_FILENAME)
    conn.execute("CREATE TABLE notes (text TEXT)")
    conn.commit()
    conn.close()
    refused("not-a-run", tmp_path)
    conn = sqlite3.connect(tmp_path / STORE_FILENAME)
    tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    conn.close()
    assert (tables, version) == (["notes"], 0)


def test_a_store_of_a_newer_schema_is_refused_unchanged(tmp_path):
    run_dir = make_run(tmp_path, "repeat_veto", TABU)
    conn = sqlite3.connect(run_dir / STORE_FILENAME)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    before = digest(run_dir / STORE_FILENAME)
    error = refused("unreadable-run", run_dir)
    assert f"version {SCHEMA_VERSION + 1}" in str(error)
    assert digest(run_dir / STORE_FILENAME) == before


def test_a_store_with_two_runs_is_not_a_run_directory(tmp_path):
    run_dir = make_run(tmp_path, "repeat_veto", TABU)
    with RunStore.open(run_dir / STORE_FILENAME) as store:
        store.create_run("another-run", task="script", settings={}, provider="openai", model="m")
    assert "holds 2 runs" in str(refused("not-a-run", run_dir))


def test_an_event_edited_into_bad_json_is_unreadable(tmp_path):
    run_dir = make_run(tmp_path, "repeat_veto", TABU)
    conn = sqlite3.connect(run_dir / STORE_FILENAME)
    conn.execute("UPDATE mechanism_events SET data = '{broken' WHERE kind = 'keep'")
    conn.commit()
    conn.close()
    assert "does not parse" in str(refused("unreadable-run", run_dir))
