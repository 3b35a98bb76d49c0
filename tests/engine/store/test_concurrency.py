"""Worker threads finishing trials at once: every write lands, none twice."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from engine.store import RunStore, StoreError
from interfaces import Decision, Outcome, Proposal, Trial, TrialStatus

THREADS = 8
PER_THREAD = 25


def work(store: RunStore, worker: int, barrier: threading.Barrier) -> None:
    barrier.wait()
    for step in range(PER_THREAD):
        index = worker * PER_THREAD + step
        store.begin_trial("r", index, Proposal({"LR": index}), {"LR": index})
        store.finish_trial(
            "r",
            Trial(index, {"LR": index}, {"LR": index}, TrialStatus.OK, float(index), Decision.DISCARD),
            Outcome(TrialStatus.OK, float(index), {"val_bpb": index}),
        )
        store.add_llm_call(
            "r", {"purpose": "propose", "level": 1, "prompt_tokens": 1, "completion_tokens": 2}
        )
        store.add_mechanism_event("r", f"m{worker}", "calls", index, {"counts": {"propose": 1}})


def test_threads_finish_trials_concurrently(tmp_path):
    with RunStore.open(tmp_path / "run.sqlite") as store:
        store.create_run("r", task="t", settings={}, provider="p", model="m")
        barrier = threading.Barrier(THREADS)
        with ThreadPoolExecutor(THREADS) as pool:
            for future in [pool.submit(work, store, w, barrier) for w in range(THREADS)]:
                future.result()
        total = THREADS * PER_THREAD
        assert [t.index for t in store.trials("r")] == list(range(total))
        assert all(store.outcome("r", i).metrics["val_bpb"] == i for i in range(0, total, 17))
        assert store.in_flight("r") == []
        assert store.usage("r")["total"] == pytest.approx(
            {
                "calls": total,
                "failed": 0,
                "prompt_tokens": total,
                "completion_tokens": 2 * total,
                "total_tokens": 3 * total,
                "cost_usd": 0.0,
                "duration_s": 0.0,
                "cached_prompt_tokens": 0,
            }
        )
        assert len(store.mechanism_events("r", mechanism="m3")) == PER_THREAD
        assert store.integrity_check() == ["ok"]


def test_racing_writers_of_the_same_index_store_it_once(tmp_path):
    with RunStore.open(tmp_path / "run.sqlite") as store:
        store.create_run("r", task="t", settings={}, provider="p", model="m")
        barrier = threading.Barrier(THREADS)
        results: list[str] = []

        def race(worker: int) -> None:
            barrier.wait()
            try:
                store.finish_trial("r", Trial(0, {}, {}, TrialStatus.OK, float(worker), Decision.KEEP), None)
                results.append("stored")
            except StoreError as exc:
                results.append(exc.code)

        threads = [threading.Thread(target=race, args=(w,)) for w in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results) == ["duplicate-trial"] * (THREADS - 1) + ["stored"]
        assert len(store.trials("r")) == 1


def test_a_transaction_in_one_thread_is_not_interleaved_with_another(tmp_path):
    with RunStore.open(tmp_path / "run.sqlite") as store:
        store.create_run("r", task="t", settings={}, provider="p", model="m")
        inside = threading.Event()

        def other_writer() -> None:
            inside.wait()
            store.set_state("r", "other", 1)  # blocks until the transaction ends

        thread = threading.Thread(target=other_writer)
        thread.start()
        with pytest.raises(RuntimeError), store.transaction():
            store.set_state("r", "mine", 1)
            inside.set()
            thread.join(timeout=0.3)
            assert thread.is_alive()  # still waiting for the lock
            raise RuntimeError("roll back")
        thread.join(timeout=10)
        assert store.get_state("r", "mine") is None
        assert store.get_state("r", "other") == 1
