"""Ctrl-C (SIGINT) and SIGTERM stop the in-flight trial at once and print the resume command."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.store import RunStore

ROOT = Path(__file__).parents[2]
HANG = ROOT / "tests" / "engine" / "data" / "hang_quad.py"


@pytest.mark.usefixtures("sigint_as_a_terminal_sends_it")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_signal_ends_the_in_flight_trial_at_once_and_says_how_to_resume(tmp_path, sig):
    runs = tmp_path / "runs"
    engine = subprocess.Popen([sys.executable, "-m", "engine.run", "script", str(HANG), "--metric", "loss",
                               "--provider", "heuristic", "--levels", "1", "--iterations", "3", "--budget", "300",
                               "--run-dir", str(runs)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, start_new_session=True)
    deadline = time.monotonic() + 90
    while not list(runs.glob("*/trials/trial-*/hanging")):
        assert time.monotonic() < deadline and engine.poll() is None, "the hanging trial never started"
        time.sleep(0.05)
    started = time.monotonic()
    engine.send_signal(sig)
    out, _ = engine.communicate(timeout=60)
    assert time.monotonic() - started < 15, "the engine waited for the trial instead of stopping it"
    assert engine.returncode == 130, out
    run_dir = next(runs.iterdir())
    assert f"Resume with: python -m engine.run script --resume {run_dir.name} --run-dir {runs}" in out
    assert "Traceback" not in out
    with RunStore.open(run_dir) as store:
        assert store.run(run_dir.name).status == "interrupted"
        assert len(store.in_flight(run_dir.name)) == 1  # the stopped trial is re-run on resume, not recorded
    listing = subprocess.run(["ps", "-eo", "stat=,args="], capture_output=True, text=True).stdout
    assert not [line for line in listing.splitlines() if str(run_dir) in line and not line.startswith("Z")]
