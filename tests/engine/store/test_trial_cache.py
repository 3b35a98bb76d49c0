"""Reading trials repeatedly stays correct: other writers, rollbacks, own writes."""

from __future__ import annotations

import pytest

from engine.store import RunStore, StoreError
from interfaces import Decision, Trial, TrialStatus


def trial(index: int) -> Trial:
    return Trial(index, {"LR": index}, {"LR": index}, TrialStatus.OK, float(index), Decision.DISCARD)


def test_own_writes_appear_in_order(tmp_path):
    with RunStore.open(tmp_path / "run.sqlite") as store:
        store.create_run("r", task="t", settings={}, provider="p", model="m")
        store.finish_trial("r", trial(2), None)
        assert [t.index for t in store.trials("r")] == [2]
        store.finish_trial("r", trial(0), None)
        store.finish_trial("r", trial(5), None)
        assert [t.index for t in store.trials("r")] == [0, 2, 5]


def test_a_second_connection_sees_the_first_ones_writes(tmp_path):
    path = tmp_path / "run.sqlite"
    with RunStore.open(path) as reader, RunStore.open(path) as writer:
        writer.create_run("r", task="t", settings={}, provider="p", model="m")
        assert reader.trials("r") == ()
        writer.finish_trial("r", trial(0), None)
        assert [t.index for t in reader.trials("r")] == [0]
        writer.finish_trial("r", trial(1), None)
        assert [t.index for t in reader.trials("r")] == [0, 1]
        with pytest.raises(StoreError):  # the reader's stale view does not allow a duplicate either
            reader.finish_trial("r", trial(1), None)


def test_a_rolled_back_trial_is_not_read_back(tmp_path):
    with RunStore.open(tmp_path / "run.sqlite") as store:
        store.create_run("r", task="t", settings={}, provider="p", model="m")
        store.finish_trial("r", trial(0), None)
        assert len(store.trials("r")) == 1  # cached now
        with pytest.raises(RuntimeError), store.transaction():
            store.finish_trial("r", trial(1), None)
            assert [t.index for t in store.trials("r")] == [0, 1]  # visible inside the transaction
            raise RuntimeError("abandon")
        assert [t.index for t in store.trials("r")] == [0]
        with store.transaction():
            with pytest.raises(RuntimeError), store.transaction():
                store.finish_trial("r", trial(1), None)
                raise RuntimeError("abandon the savepoint")
            store.finish_trial("r", trial(2), None)
        assert [t.index for t in store.trials("r")] == [0, 2]
