"""Schema versioning and the clear errors the store gives for bad use."""

from __future__ import annotations

import sqlite3

import pytest

from engine.store import MIGRATIONS, SCHEMA_VERSION, RunStore, StoreError
from interfaces import Decision, Outcome, Proposal, SearchConfig, Trial, TrialStatus


@pytest.fixture
def store(tmp_path):
    opened = RunStore.open(tmp_path / "run.sqlite")
    opened.create_run("r", task="surrogate", settings={"budget_s": 30}, provider="openai", model="gpt")
    yield opened
    opened.close()


def trial(index: int, metric: float | None = 1.0) -> Trial:
    return Trial(index, {"LR": 0.1}, {"LR": 0.1}, TrialStatus.OK, metric, Decision.KEEP)


def code_of(call, *args, **kwargs) -> str:
    with pytest.raises(StoreError) as raised:
        call(*args, **kwargs)
    return raised.value.code


def test_new_store_is_wal_at_current_version(tmp_path):
    RunStore.open(tmp_path / "run.sqlite").close()
    conn = sqlite3.connect(tmp_path / "run.sqlite")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == len(MIGRATIONS)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_reopening_keeps_data_and_version(store, tmp_path):
    store.finish_trial("r", trial(0), None)
    store.close()
    with RunStore.open(tmp_path) as again:  # a directory means its run.sqlite
        assert [t.index for t in again.trials("r")] == [0]


def test_newer_schema_version_is_refused(tmp_path):
    path = tmp_path / "run.sqlite"
    RunStore.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError) as raised:
        RunStore.open(path)
    assert raised.value.code == "store-version"
    assert str(SCHEMA_VERSION + 1) in raised.value.message


def test_older_store_is_migrated(tmp_path):
    path = tmp_path / "run.sqlite"
    con = sqlite3.connect(path)  # a database file with a header and no tables of ours is version 0
    con.execute("CREATE TABLE scratch (x)")
    con.execute("DROP TABLE scratch")
    con.commit()
    con.close()
    assert path.stat().st_size > 0
    with RunStore.open(path) as store:
        store.create_run("r", task="t", settings={}, provider="p", model="m")
        assert store.run("r").status == "running"


def test_a_file_that_is_not_a_store_is_refused(tmp_path):
    path = tmp_path / "run.sqlite"
    path.write_bytes(b"this is not a database, just some text long enough to have a header" * 20)
    assert code_of(RunStore.open, path) == "store-corrupt"


def test_unknown_run(store):
    assert code_of(store.run, "nope") == "unknown-run"
    assert code_of(store.trials, "nope") == "unknown-run"
    assert code_of(store.finish_trial, "nope", trial(0), None) == "unknown-run"
    assert code_of(store.set_state, "nope", "k", 1) == "unknown-run"
    assert code_of(store.in_flight, "nope") == "unknown-run"


def test_bad_run_ids_are_refused(store):
    for bad in ("", "../escape", "a/b", ".hidden", "x" * 200):
        assert code_of(store.create_run, bad, task="t", settings={}, provider="p", model="m") == "bad-run-id"


def test_duplicates_are_refused(store):
    assert code_of(store.create_run, "r", task="t", settings={}, provider="p", model="m") == "duplicate-run"
    store.finish_trial("r", trial(0), Outcome(TrialStatus.OK, 1.0))
    assert code_of(store.finish_trial, "r", trial(0, 0.5), None) == "duplicate-trial"
    assert store.trials("r")[0].metric == 1.0  # the first write stands
    assert code_of(store.begin_trial, "r", 0, Proposal({"LR": 1}), {}) == "trial-finished"
    store.add_config_snapshot("r", 0, 0, SearchConfig(active=("LR",)), "first")
    assert (
        code_of(store.add_config_snapshot, "r", 0, 0, SearchConfig(active=("LR",)), "again")
        == "duplicate-snapshot"
    )


def test_begin_twice_replaces_the_mark(store):
    store.begin_trial("r", 3, Proposal({"LR": 1}), {"LR": 1})
    store.begin_trial("r", 3, Proposal({"LR": 2}), {"LR": 2})
    assert store.in_flight("r") == [3]
    assert store.in_flight_trials("r")[0].proposal.changes == {"LR": 2}
    store.finish_trial("r", trial(3), None)
    assert store.in_flight("r") == []


def test_bad_values(store):
    assert code_of(store.set_status, "r", "done") == "bad-status"
    assert code_of(store.set_state, "r", "k", float("nan")) == "not-json"
    assert code_of(store.set_state, "r", "k", object()) == "not-json"
    assert code_of(store.set_state, "r", "", 1) == "bad-state-key"
    assert (
        code_of(store.create_run, "s", task="t", settings={"x": {1, 2}}, provider="p", model="m")
        == "not-json"
    )
    assert code_of(store.add_mechanism_event, "r", "m", "exploded", None, {}) == "bad-event-kind"
    assert (
        code_of(store.add_mechanism_event, "r", "m", "calls", None, {"counts": {"propose": -1}})
        == "bad-event-data"
    )
    assert code_of(store.add_mechanism_event, "r", "m", "calls", None, {"count": 3}) == "bad-event-data"
    assert code_of(store.add_mechanism_event, "r", "", "keep", None, {}) == "bad-event-data"
    assert code_of(store.outcome, "r", 99) == "unknown-trial"


@pytest.mark.parametrize(
    "exchange",
    [
        {"level": 1},
        {"purpose": "", "level": 1},
        {"purpose": "propose"},
        {"purpose": "propose", "level": True},
        {"purpose": "propose", "level": 1, "prompt_tokens": -1},
        {"purpose": "propose", "level": 1, "prompt_tokens": 1.5},
        {"purpose": "propose", "level": 1, "cost_usd": float("inf")},
        {"purpose": "propose", "level": 1, "id": 7},
        {"purpose": "propose", "level": 1, "raw": float("nan")},
    ],
)
def test_bad_llm_calls(store, exchange):
    assert code_of(store.add_llm_call, "r", exchange) in ("bad-llm-call", "not-json")
    assert store.llm_calls("r") == []


def test_nothing_is_written_when_a_write_fails(store):
    with pytest.raises(StoreError), store.transaction():
        store.set_state("r", "cycle", 2)
        store.finish_trial("r", trial(0), None)
        store.set_state("r", "bad", float("nan"))
    assert store.get_state("r", "cycle") is None
    assert store.trials("r") == ()


def test_nested_transaction_rolls_back_only_itself(store):
    with store.transaction():
        store.set_state("r", "outer", 1)
        with pytest.raises(StoreError), store.transaction():
            store.set_state("r", "inner", 1)
            store.finish_trial("r", trial(0), None)
            store.finish_trial("r", trial(0), None)
    assert store.get_state("r", "outer") == 1
    assert store.get_state("r", "inner") is None
    assert store.trials("r") == ()


def test_closed_store_says_so(store):
    store.close()
    store.close()  # closing twice is harmless
    assert code_of(store.trials, "r") == "store-closed"
    assert code_of(store.set_state, "r", "k", 1) == "store-closed"


@pytest.mark.parametrize(("durable", "level"), [(True, 2), (False, 1)])  # FULL = 2, NORMAL = 1
def test_durability_mode(tmp_path, durable, level):
    with RunStore.open(tmp_path / "run.sqlite", durable=durable) as store:
        assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == level
