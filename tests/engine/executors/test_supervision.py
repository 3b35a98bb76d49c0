"""A trial's whole process tree dies with its limit, with a stop, and with the engine, whatever it does."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from engine.executors import STDOUT_FILE, LocalExecutor, check_confinement, run_trial, stop_trials
from engine.executors._run_trial import OUTPUT_HEAD_BYTES, OUTPUT_TAIL_BYTES
from interfaces import ConfigError, TrialRequest, TrialStatus

ROOT = Path(__file__).parents[3]

# A hostile trial: a grandchild that leaves its session (setsid), double-forks so its parent is gone,
# and loops forever, writing its pid where the test can find it.
ESCAPING_TRIAL = """
import os, sys, time
pid = os.fork()
if pid == 0:
    os.setsid()
    if os.fork() != 0:
        os._exit(0)
    with open("grandchild.pid", "w") as f:
        f.write(str(os.getpid()))
    while True:
        time.sleep(0.05)
os.waitpid(pid, 0)
while not os.path.exists("grandchild.pid"):
    time.sleep(0.01)
print("val_bpb: 1.0", flush=True)
"""
LOOP = "while True:\n    time.sleep(0.05)\n"


def request(code, **kwargs):
    kwargs.setdefault("budget_s", 20.0)
    kwargs.setdefault("grace_s", 0.0)
    return TrialRequest(0, argv=(sys.executable, "main.py"), files={"main.py": textwrap.dedent(code)}, **kwargs)


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def processes_under(path: Path) -> list[str]:
    """``ps`` lines of living processes whose command line or working directory lies under ``path``."""
    found = []
    listing = subprocess.run(["ps", "-eo", "pid=,stat=,args="], capture_output=True, text=True).stdout
    for line in listing.splitlines():
        pid, stat, args = (line.split(None, 2) + ["", ""])[:3]
        if stat.startswith("Z") or not pid.isdigit():
            continue
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            cwd = ""
        if str(path) in args or cwd.startswith(str(path)):
            found.append(line.strip())
    return found


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_a_double_forked_setsid_grandchild_dies_at_the_limit(tmp_path):
    started = time.monotonic()
    outcome = run_trial(request(ESCAPING_TRIAL + LOOP, budget_s=1.5), tmp_path)
    assert outcome.status is TrialStatus.TIMED_OUT
    assert time.monotonic() - started < 10
    grandchild = int((tmp_path / "grandchild.pid").read_text())
    assert wait_for(lambda: not alive(grandchild), 5), "the escaped grandchild outlived the trial's limit"
    assert processes_under(tmp_path) == []


def test_a_grandchild_left_behind_by_a_trial_that_exits_is_swept(tmp_path):
    outcome = run_trial(request(ESCAPING_TRIAL), tmp_path)  # the trial exits; its grandchild loops on
    assert outcome.status is TrialStatus.OK
    grandchild = int((tmp_path / "grandchild.pid").read_text())
    assert wait_for(lambda: not alive(grandchild), 5)
    assert processes_under(tmp_path) == []


def _engine_with_a_trial(tmp_path: Path) -> subprocess.Popen:
    """A stand-in engine: a Python process running one escaping trial through the real executor."""
    driver = textwrap.dedent(f"""
        import sys, textwrap
        sys.path.insert(0, {str(ROOT)!r})
        from engine.executors import LocalExecutor, become_subreaper
        from interfaces import TrialRequest
        become_subreaper()
        code = {ESCAPING_TRIAL + LOOP!r}
        with LocalExecutor(root={str(tmp_path / 'trials')!r}) as executor:
            executor.submit(TrialRequest(0, argv=(sys.executable, "main.py"), files={{"main.py": code}},
                                         budget_s=120, grace_s=0)).result()
    """)
    return subprocess.Popen([sys.executable, "-c", driver], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _grandchild_of(tmp_path: Path) -> int:
    def found():
        return list((tmp_path / "trials").glob("trial-*/grandchild.pid"))
    assert wait_for(lambda: found() and found()[0].read_text(), 20), "the trial never started its grandchild"
    return int(found()[0].read_text())


@pytest.mark.parametrize("how", ["engine", "engine's process group"])
def test_sigkill_of_the_engine_takes_the_whole_trial_tree_with_it(tmp_path, how):
    engine = _engine_with_a_trial(tmp_path)
    try:
        grandchild = _grandchild_of(tmp_path)
        assert alive(grandchild)
    finally:
        if how == "engine":
            engine.kill()
        else:
            os.killpg(engine.pid, signal.SIGKILL)
        engine.wait()
    assert wait_for(lambda: not alive(grandchild), 10), "the trial's grandchild outlived the engine"
    assert wait_for(lambda: processes_under(tmp_path) == [], 10), processes_under(tmp_path)


def test_sigterm_of_the_engine_stops_the_trial_at_once(tmp_path):
    engine = _engine_with_a_trial(tmp_path)
    grandchild = _grandchild_of(tmp_path)
    started = time.monotonic()
    engine.terminate()
    engine.wait()
    assert wait_for(lambda: not alive(grandchild), 10)
    assert time.monotonic() - started < 10  # not the trial's 120 s limit
    assert wait_for(lambda: processes_under(tmp_path) == [], 10)


def test_stop_trials_ends_an_in_flight_trial_with_sigterm_then_sigkill(tmp_path):
    # The trial ignores SIGTERM, so only the SIGKILL after the grace ends it.
    code = """
    import signal, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    open("started", "w").close()
    time.sleep(600)
    """
    with LocalExecutor(root=tmp_path) as executor:
        future = executor.submit(request(code, budget_s=300))
        assert wait_for(lambda: list(tmp_path.glob("trial-*/started")), 20)
        started = time.monotonic()
        assert stop_trials(grace_s=0.5) == 1
        outcome = future.result(timeout=30)
    assert time.monotonic() - started < 10
    assert outcome.status is TrialStatus.CRASHED and outcome.reason.startswith("stopped")
    assert processes_under(tmp_path) == []


def test_a_flood_of_output_is_capped_and_the_result_line_at_the_end_still_counts(tmp_path):
    # About 300 MiB of output, then the metric: the engine keeps head and tail, never the whole flood.
    code = """
    import os, sys
    block = b"x" * (1 << 20) + b"\\n"
    for _ in range(300):
        os.write(1, block)
    print("val_bpb: 0.75", flush=True)
    """
    started = time.monotonic()
    outcome = run_trial(request(code, budget_s=120), tmp_path)
    assert outcome.status is TrialStatus.OK and outcome.metric == 0.75
    size = (tmp_path / STDOUT_FILE).stat().st_size
    assert size <= OUTPUT_HEAD_BYTES + OUTPUT_TAIL_BYTES + 200
    assert b"bytes of output not kept" in (tmp_path / STDOUT_FILE).read_bytes()
    assert time.monotonic() - started < 60


def test_a_small_output_is_kept_whole(tmp_path):
    outcome = run_trial(request("for i in range(1000):\n    print(f'step {i}')\nprint('val_bpb: 2')\n"), tmp_path)
    assert outcome.metric == 2.0
    text = (tmp_path / STDOUT_FILE).read_text()
    assert text.startswith("step 0\n") and "step 999\n" in text and "not kept" not in text


def test_bwrap_confinement_without_bubblewrap_is_a_typed_error_naming_the_package(monkeypatch):
    import shutil

    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ConfigError) as raised:
        check_confinement("bwrap")
    assert raised.value.code == "confinement-unavailable"
    assert "apt-get install bubblewrap" in raised.value.message and "\n" not in str(raised.value)
    with pytest.raises(ConfigError) as raised:
        LocalExecutor(confine="bwrap")
    assert raised.value.code == "confinement-unavailable"
    with pytest.raises(ConfigError) as raised:
        check_confinement("chroot")
    assert raised.value.code == "bad-confinement"


@pytest.mark.skipif(__import__("shutil").which("bwrap") is None, reason="bubblewrap is not installed")
def test_bwrap_confinement_allows_the_workdir_only(tmp_path):
    code = """
    import pathlib
    pathlib.Path("mine.txt").write_text("ok")
    try:
        pathlib.Path("/etc/escaped").write_text("x")
        print("escaped: 1")
    except OSError:
        print("escaped: 0")
    print("val_bpb: 1")
    """
    outcome = run_trial(request(code), tmp_path, confine="bwrap")
    assert outcome.metrics.get("escaped") == 0.0 and (tmp_path / "mine.txt").exists()
