"""Resume after a kill at the awkward moments: during a proposal (no index gap) and inside a Level 2 session
(recorded as interrupted, run again)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from engine.store import RunStore

ROOT = Path(__file__).parents[2]
DRIVER = ROOT / "tests" / "engine" / "fault_engine.py"
QUAD = ROOT / "tests" / "engine" / "data" / "quad.py"


def start(tmp_path, *args, pause=0.4):
    markers = tmp_path / "markers.txt"
    markers.touch()
    argv = [sys.executable, str(DRIVER), str(markers), str(pause), "script", str(QUAD), "--metric", "loss",
            "--provider", "heuristic", "--run-dir", str(tmp_path / "runs"), *args]
    return subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True), markers


def kill_at(process, markers, line, count=1, timeout=120):
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if markers.read_text().splitlines().count(line) >= count:
                return
            assert process.poll() is None, "the engine ended before the moment came"
            time.sleep(0.02)
        raise AssertionError(f"never saw {line!r} {count} time(s)")
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def resume(tmp_path):
    run_dir = next((tmp_path / "runs").iterdir())
    done = subprocess.run([sys.executable, "-m", "engine.run", "script", "--resume", run_dir.name, "--run-dir",
                           str(tmp_path / "runs")], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return run_dir, done.stdout


def test_a_kill_during_a_proposal_leaves_no_index_gap(tmp_path):
    process, markers = start(tmp_path, "--levels", "1", "--iterations", "6")
    kill_at(process, markers, "ask propose", count=3)
    run_dir, _ = resume(tmp_path)
    with RunStore.open(run_dir) as store:
        run_id = store.runs()[0].run_id
        indices = [t.index for t in store.trials(run_id)]
        assert indices == list(range(len(indices))), indices
        assert store.run(run_id).status == "finished" and store.get_state(run_id, "iteration") == 6


def test_a_kill_inside_a_level2_session_is_recorded_as_interrupted_and_the_session_runs_again(tmp_path):
    process, markers = start(tmp_path, "--levels", "1,2", "--iterations", "4", "--outer-every", "2",
                             "--research-every", "1")
    kill_at(process, markers, "ask critique")
    run_dir, out = resume(tmp_path)
    assert "Level 2 session 1 was interrupted by a stop; running it again" in out
    with RunStore.open(run_dir) as store:
        run_id = store.runs()[0].run_id
        interrupted = [e for e in store.mechanism_events(run_id) if e["kind"] == "interrupted"]
        assert [(e["mechanism"], e["data"]["then"]) for e in interrupted] == [("session-1", "run again")]
        assert store.get_state(run_id, "level2_cycle_done") == 1
        assert store.get_state(run_id, "outer_cycle") == 1
        assert store.get_state(run_id, "level2_sessions") == 2  # the re-run is session 2
    assert json.loads((run_dir / "level2" / "session-1" / "decision.json").read_text())["decision"] == "interrupted"
    assert (run_dir / "level2" / "session-2" / "decision.json").exists()


def test_a_session_interrupted_twice_is_skipped_by_rule(tmp_path):
    process, markers = start(tmp_path, "--levels", "1,2", "--iterations", "4", "--outer-every", "2",
                             "--research-every", "1")
    kill_at(process, markers, "ask explore")
    run_dir = next((tmp_path / "runs").iterdir())
    again = subprocess.Popen([sys.executable, str(DRIVER), str(markers), "0.4", "script", "--resume", run_dir.name,
                              "--run-dir", str(tmp_path / "runs")], cwd=ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    kill_at(again, markers, "ask explore", count=2)
    _, out = resume(tmp_path)
    assert "skipping this cycle's session" in out
    with RunStore.open(run_dir) as store:
        run_id = store.runs()[0].run_id
        interrupted = [(e["mechanism"], e["data"]["then"]) for e in store.mechanism_events(run_id)
                       if e["kind"] == "interrupted"]
        assert interrupted == [("session-1", "run again"), ("session-2", "skipped")]
        assert store.run(run_id).status == "finished"
