"""One engine per run: a second one is refused at once, naming the holder; a dead engine's lock is taken over."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.store import RunLock, RunStore
from interfaces import StoreError

ROOT = Path(__file__).parents[2]
SLOW = ROOT / "tests" / "engine" / "data" / "slow_quad.py"


def engine(*args):
    return [sys.executable, "-m", "engine.run", "script", *args]


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_a_second_lock_in_this_process_tree_is_refused_and_names_the_holder(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", f"import sys, time; sys.path.insert(0, {str(ROOT)!r}); "
                               f"from engine.store import RunLock; RunLock.acquire({str(tmp_path)!r}); "
                               "print('held', flush=True); time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(StoreError) as refused:
            RunLock.acquire(tmp_path)
        assert refused.value.code == "run-locked" and f"engine pid {holder.pid}" in refused.value.message
    finally:
        holder.kill()
        holder.wait()
    lock = RunLock.acquire(tmp_path)  # the kernel released the dead holder's flock
    assert lock.previous_pid == holder.pid
    assert (tmp_path / "run.lock").read_text().strip() == str(os.getpid())
    lock.release()
    assert RunLock.acquire(tmp_path).previous_pid is None  # a clean release leaves no pid behind


def test_two_engines_on_one_run_the_second_is_refused_then_takes_over_after_a_kill(tmp_path):
    first = subprocess.Popen(engine(str(SLOW), "--metric", "loss", "--provider", "heuristic", "--levels", "1",
                                    "--iterations", "15", "--run-dir", str(tmp_path)),
                             cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        assert wait_for(lambda: list(tmp_path.glob("*/run.lock")) and list(tmp_path.glob("*/trials/trial-*")), 60)
        run_dir = next(tmp_path.glob("*/run.lock")).parent
        started = time.monotonic()
        second = subprocess.run(engine("--resume", run_dir.name, "--run-dir", str(tmp_path)), cwd=ROOT,
                                capture_output=True, text=True, timeout=60)
        assert time.monotonic() - started < 20  # refused at once, not after waiting for the first to end
        assert second.returncode == 2
        assert "[run-locked]" in second.stdout and f"engine pid {first.pid}" in second.stdout
        assert "Traceback" not in second.stdout + second.stderr
        assert first.poll() is None  # the first engine runs on, untouched
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    store = RunStore.open(run_dir)
    run_id = store.runs()[0].run_id
    assert store.run(run_id).status == "running"  # the refused engine did not mark the run failed
    store.close()
    resumed = subprocess.run(engine("--resume", run_dir.name, "--run-dir", str(tmp_path)), cwd=ROOT,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"took over the run lock of engine pid {first.pid}" in resumed.stdout
    store = RunStore.open(run_dir)
    indices = [t.index for t in store.trials(run_id)]
    assert indices == list(range(len(indices))) and store.run(run_id).status == "finished"
    store.close()
