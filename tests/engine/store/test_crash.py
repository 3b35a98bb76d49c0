"""A real SIGKILL of a process writing the store loses nothing it had committed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from engine.store import RunStore
from interfaces import Decision, Outcome, Proposal, StoreError, Trial, TrialStatus

ROOT = Path(__file__).resolve().parents[3]


def start_child(store_path: Path, mode: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "tests.engine.store._crash_child", str(store_path), mode],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_until(child: subprocess.Popen, predicate) -> list[str]:
    lines = []
    for line in child.stdout:
        lines.append(line.strip())
        if predicate(lines):
            return lines
    raise AssertionError(f"child ended early: {child.stderr.read()}")


def kill(child: subprocess.Popen) -> None:
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL


def finished(lines: list[str]) -> list[int]:
    return [int(line.split()[1]) for line in lines if line.startswith("finished")]


@pytest.mark.timeout(120)
def test_sigkill_while_writing_loses_no_committed_trial(tmp_path):
    path = tmp_path / "run.sqlite"
    child = start_child(path, "hammer")
    lines = read_until(child, lambda got: len(got) >= 40)
    kill(child)  # the child is almost always inside a commit by now
    reported = finished(lines)

    with RunStore.open(path) as store:
        assert store.integrity_check() == ["ok"]
        indices = [t.index for t in store.trials("crash")]
        # Everything reported is there, once; at most the trials committed
        # after the last line we read are extra, and the sequence has no holes.
        assert indices == list(range(len(indices)))
        assert set(reported) <= set(indices)
        assert len(indices) >= len(reported)
        assert store.in_flight("crash") in ([], [len(indices)])
        for index in reported:
            assert store.outcome("crash", index).metrics["val_bpb"] == pytest.approx(2.0 - index * 1e-3)


@pytest.mark.timeout(120)
def test_resume_reruns_the_in_flight_trial_exactly_once(tmp_path):
    path = tmp_path / "run.sqlite"
    child = start_child(path, "in-flight")
    read_until(child, lambda got: got[-1].startswith("flying"))
    kill(child)

    with RunStore.open(path) as store:
        assert store.integrity_check() == ["ok"]
        assert [t.index for t in store.trials("crash")] == [0, 1, 2, 3, 4]
        assert store.in_flight("crash") == [5]
        (flying,) = store.in_flight_trials("crash")
        assert flying.proposal.changes == {"LR": 0.2}
        assert store.get_state("crash", "next_index") == 5
        with pytest.raises(StoreError) as refused:
            store.begin_trial("crash", 4, Proposal({"LR": 0.3}), {"LR": 0.3})
        assert refused.value.code == "trial-finished"

        # Resume as the loop does: forget the in-flight mark, re-run it.
        assert store.clear_in_flight("crash") == [5]
        store.begin_trial("crash", 5, flying.proposal, flying.config)
        store.finish_trial(
            "crash",
            Trial(5, flying.config, flying.proposal.changes, TrialStatus.OK, 1.5, Decision.KEEP),
            Outcome(TrialStatus.OK, 1.5),
        )

    # A second crash-and-resume cycle continues from the committed state.
    child = start_child(path, "in-flight")
    read_until(child, lambda got: got[-1].startswith("flying"))
    kill(child)
    with RunStore.open(path) as store:
        assert [t.index for t in store.trials("crash")] == list(range(11))
        assert store.in_flight("crash") == [11]
        assert store.trials("crash")[5].metric == 1.5


@pytest.mark.timeout(120)
def test_sigkill_inside_a_transaction_leaves_none_of_it(tmp_path):
    path = tmp_path / "run.sqlite"
    child = start_child(path, "mid-transaction")
    read_until(child, lambda got: got[-1] == "inside")
    kill(child)

    with RunStore.open(path) as store:
        assert store.integrity_check() == ["ok"]
        assert [t.index for t in store.trials("crash")] == [0, 1, 2]
        assert store.config_snapshots("crash") == []
        assert store.get_state("crash", "cycle") is None
        assert store.get_state("crash", "next_index") == 3
