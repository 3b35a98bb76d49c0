import sys

import pytest

from engine.executors import LocalExecutor
from interfaces import Executor, TrialRequest, TrialStatus

WAIT_FOR_PEER = """
import os, pathlib, time
me, peer = pathlib.Path(os.environ["ME"]), pathlib.Path(os.environ["PEER"])
me.write_text("here")
deadline = time.time() + 15
while not peer.exists() and time.time() < deadline:
    time.sleep(0.02)
print("val_bpb:", 1.0 if peer.exists() else 2.0)
"""


def test_local_executor_runs_trials_concurrently_in_their_own_dirs(tmp_path):
    flags = tmp_path / "flags"
    flags.mkdir()
    with LocalExecutor(workers=2, root=tmp_path / "trials") as executor:
        assert isinstance(executor, Executor)
        futures = [
            executor.submit(TrialRequest(i, argv=(sys.executable, "t.py"), files={"t.py": WAIT_FOR_PEER},
                                         env={"ME": str(flags / str(i)), "PEER": str(flags / str(1 - i))},
                                         budget_s=30, grace_s=0))
            for i in (0, 1)
        ]
        outcomes = [f.result(timeout=60) for f in futures]
    # each trial saw the other one running at the same time
    assert [o.metric for o in outcomes] == [1.0, 1.0]
    workdirs = sorted(p.name for p in (tmp_path / "trials").iterdir())
    assert len(workdirs) == 2 and workdirs[0].startswith("trial-00000-")


def test_local_executor_turns_a_failing_trial_into_a_record(tmp_path):
    with LocalExecutor(root=tmp_path) as executor:
        outcome = executor.submit(TrialRequest(5, argv=(sys.executable, "-c", "raise SystemExit(4)"),
                                               budget_s=10, grace_s=0)).result(timeout=30)
    assert outcome.status is TrialStatus.CRASHED and outcome.exit_code == 4


def test_workers_must_be_positive():
    with pytest.raises(ValueError):
        LocalExecutor(workers=0)
