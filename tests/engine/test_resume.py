"""SIGKILL the engine mid-trial, resume, and lose nothing."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from engine.store import RunStore
from interfaces import Decision

ROOT = Path(__file__).parents[2]


def finished_and_in_flight(db: Path) -> tuple[int, int]:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            tables = {r[0] for r in con.execute("select name from sqlite_master where type='table'")}
            trials = con.execute("select count(*) from trials").fetchone()[0] if "trials" in tables else 0
            flying = con.execute("select count(*) from in_flight").fetchone()[0] if "in_flight" in tables else 0
            return trials, flying
        finally:
            con.close()
    except sqlite3.Error:
        return 0, 0


def test_sigkill_mid_trial_then_resume_keeps_every_finished_trial_exactly_once(tmp_path):
    script = ROOT / "tests" / "engine" / "data" / "slow_quad.py"
    args = [sys.executable, "-m", "engine.run", "script", str(script), "--metric", "loss", "--provider", "heuristic",
            "--iterations", "8", "--outer-every", "3", "--research-every", "1", "--run-dir", str(tmp_path)]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    db = None
    try:
        while time.monotonic() < deadline:
            dbs = list(tmp_path.glob("*/run.sqlite"))
            if dbs:
                db = dbs[0]
                trials, flying = finished_and_in_flight(db)
                if trials >= 4 and flying == 1:
                    break
            time.sleep(0.05)
        else:
            raise AssertionError("the run never reached a trial in flight")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert db is not None
    store = RunStore.open(db)
    run_id = store.runs()[0].run_id
    before = {t.index: t for t in store.trials(run_id)}
    lost = store.in_flight(run_id)
    assert len(lost) == 1 and lost[0] not in before
    assert store.integrity_check() == [] or store.integrity_check() == ["ok"]
    store.close()

    resumed = subprocess.run([sys.executable, "-m", "engine.run", "script", "--resume", run_id, "--run-dir",
                              str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "re-running 1 trial(s) that were in flight" in resumed.stdout

    store = RunStore.open(db)
    trials = store.trials(run_id)
    indices = [t.index for t in trials]
    assert indices == list(range(len(trials))), "every index exactly once, no gaps"
    for index, trial in before.items():  # what finished before the kill is untouched
        assert trials[index] == trial
    assert lost[0] in indices and store.in_flight(run_id) == []
    assert store.run(run_id).status == "finished"
    ran = [t for t in trials if t.decision not in (Decision.REJECTED, Decision.BASELINE)]
    assert len(ran) <= 8
    assert int(store.get_state(run_id, "iteration")) == 8
    store.close()
