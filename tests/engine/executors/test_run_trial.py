"""Each failure class, produced by a real subprocess."""

import sys
import textwrap
import time

from engine.executors import STDOUT_FILE, run_trial
from interfaces import TrialRequest, TrialStatus


def request(code, **kwargs):
    kwargs.setdefault("budget_s", 20.0)
    kwargs.setdefault("grace_s", 0.0)
    files = {"main.py": textwrap.dedent(code), **kwargs.pop("files", {})}
    return TrialRequest(0, argv=(sys.executable, "main.py"), files=files, **kwargs)


def test_ok_trial_reads_its_metric_and_leaves_logs(tmp_path):
    outcome = run_trial(request("print('val_bpb: 1.25')\nprint('num_steps: 7')\n"), tmp_path)
    assert outcome.status is TrialStatus.OK and outcome.metric == 1.25
    assert outcome.metrics == {"val_bpb": 1.25, "num_steps": 7.0}
    assert outcome.exit_code == 0
    assert (tmp_path / STDOUT_FILE).read_text().startswith("val_bpb: 1.25")


def test_crash_reports_exit_code_and_traceback(tmp_path):
    outcome = run_trial(request("print('loss: 3')\nraise ValueError('bad shape')\n"), tmp_path)
    assert outcome.status is TrialStatus.CRASHED and outcome.exit_code == 1
    assert "ValueError: bad shape" in outcome.reason and "Traceback" in outcome.log_tail


def test_hang_is_killed_with_its_whole_process_group(tmp_path):
    code = """
    import subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    open("child.pid", "w").write(str(child.pid))
    time.sleep(600)
    """
    started = time.monotonic()
    outcome = run_trial(request(code, budget_s=1.5), tmp_path)
    assert outcome.status is TrialStatus.TIMED_OUT
    assert time.monotonic() - started < 20
    pid = int((tmp_path / "child.pid").read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    assert not _alive(pid)


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_background_children_do_not_outlive_a_finished_trial(tmp_path):
    code = """
    import subprocess, sys
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    open("child.pid", "w").write(str(child.pid))
    print("val_bpb: 1.0")
    """
    assert run_trial(request(code), tmp_path).status is TrialStatus.OK
    pid = int((tmp_path / "child.pid").read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    assert not _alive(pid)


def test_allocation_past_the_memory_limit_is_out_of_memory(tmp_path):
    code = "block = bytearray(600 * 1024 * 1024)\nprint('val_bpb: 1.0')\n"
    outcome = run_trial(request(code, memory_limit_mb=256), tmp_path)
    assert outcome.status is TrialStatus.OUT_OF_MEMORY
    assert "MemoryError" in outcome.reason
    # the same script is fine without the limit: the limit, not the script, failed it
    assert run_trial(request(code, memory_limit_mb=None), tmp_path / "free").status is TrialStatus.OK


def test_nan_metric_and_divergence_line_are_diverged(tmp_path):
    assert run_trial(request("print('val_bpb: nan')\n"), tmp_path / "a").status is TrialStatus.DIVERGED
    code = "import sys\nprint('step 3 loss nan')\nprint('status: diverged')\nsys.exit(2)\n"
    outcome = run_trial(request(code), tmp_path / "b")
    assert outcome.status is TrialStatus.DIVERGED and outcome.exit_code == 2


def test_missing_metric(tmp_path):
    outcome = run_trial(request("print('loss: 2.0')\n"), tmp_path)
    assert outcome.status is TrialStatus.MISSING_METRIC and outcome.metrics == {"loss": 2.0}


def test_metric_file_is_read(tmp_path):
    code = "import json\njson.dump({'val_bpb': 1.5, 'note': 'x'}, open('m.json', 'w'))\n"
    outcome = run_trial(request(code, metric_file="m.json"), tmp_path)
    assert outcome.status is TrialStatus.OK and outcome.metric == 1.5


def test_environment_is_scrubbed_of_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-secret")
    monkeypatch.setenv("SOME_OTHER_VAR", "x")
    code = "import os\nprint(sorted(os.environ))\nprint('GIVEN' in os.environ and os.environ['GIVEN'])\n"
    run_trial(request(code, env={"GIVEN": "yes"}), tmp_path)
    out = (tmp_path / STDOUT_FILE).read_text()
    assert "sk-secret" not in out and "OPENAI_API_KEY" not in out and "GITHUB_TOKEN" not in out
    assert "SOME_OTHER_VAR" not in out and "'PATH'" in out and out.strip().endswith("yes")


def test_requests_that_smuggle_secrets_or_escape_the_workdir_are_rejected(tmp_path):
    outcome = run_trial(request("print(1)", env={"HF_TOKEN": "x"}), tmp_path / "a")
    assert outcome.status is TrialStatus.REJECTED and "HF_TOKEN" in outcome.reason
    outcome = run_trial(request("print(1)", files={"../escape.py": "x"}), tmp_path / "b")
    assert outcome.status is TrialStatus.REJECTED and not (tmp_path / "escape.py").exists()
    outcome = run_trial(request("print(1)", files={"/tmp/abs.py": "x"}), tmp_path / "c")
    assert outcome.status is TrialStatus.REJECTED


def test_missing_program_is_a_crash_not_an_exception(tmp_path):
    req = TrialRequest(0, argv=("/nonexistent/program",), budget_s=5, grace_s=0)
    outcome = run_trial(req, tmp_path)
    assert outcome.status is TrialStatus.CRASHED
    req = TrialRequest(0, argv=("/nonexistent/program",), budget_s=5, grace_s=0, memory_limit_mb=None)
    assert run_trial(req, tmp_path / "x").status is TrialStatus.CRASHED
