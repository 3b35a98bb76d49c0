"""Run one trial request under its supervisor, with limits, and classify it."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from interfaces import Outcome, TrialRequest, TrialStatus

from ._classify import classify
from ._confine import check_confinement, confined_argv, trial_cgroup_parent
from ._environment import secret_names, trial_environment
from ._supervisor import descendants, kill_tree

__all__ = ["OUTPUT_HEAD_BYTES", "OUTPUT_TAIL_BYTES", "STDERR_FILE", "STDOUT_FILE", "TRIAL_MARKER",
           "limited_argv", "run_trial", "stop_trials", "sweep_marked"]

STDOUT_FILE = "trial.stdout"
STDERR_FILE = "trial.stderr"

# For callers that start a program themselves from a process with threads (where preexec_fn is unsafe):
# cap the address space, then replace itself with the program. Trials no longer need it: their
# supervisor is single-threaded when it forks and sets the limit in the child directly.
_LIMIT_WRAPPER = (
    "import os, resource, sys\n"
    "limit = int(sys.argv[1])\n"
    "resource.setrlimit(resource.RLIMIT_AS, (limit, limit))\n"
    "os.execvp(sys.argv[2], sys.argv[2:])\n"
)

#: What of each output stream is kept: the first ``OUTPUT_HEAD_BYTES`` and the last ``OUTPUT_TAIL_BYTES``.
OUTPUT_HEAD_BYTES = 4 * 1024 * 1024
OUTPUT_TAIL_BYTES = 1024 * 1024
#: Seconds between SIGTERM and SIGKILL when a trial is stopped (Ctrl-C, the engine ending).
STOP_GRACE_S = 2.0
#: Seconds the engine waits past a trial's limit for its supervisor to report before killing it itself.
SUPERVISOR_SLACK_S = 30.0
#: The variable every trial process inherits, naming its trial, so a sweep can find strays.
TRIAL_MARKER = "AUTORESEARCH_TRIAL_TOKEN"

_SUPERVISOR = Path(__file__).with_name("_supervisor.py")
_live_lock = threading.Lock()
_live: dict[int, subprocess.Popen[bytes]] = {}


def limited_argv(argv: tuple[str, ...], memory_limit_mb: int | None) -> list[str]:
    """``argv`` wrapped so that it runs under an address-space limit, if any."""
    if memory_limit_mb is None:
        return list(argv)
    return [sys.executable, "-c", _LIMIT_WRAPPER, str(int(memory_limit_mb) * 1024 * 1024), *argv]


def stop_trials(grace_s: float = STOP_GRACE_S) -> int:
    """Stop every trial this process is running now: SIGTERM, then SIGKILL after ``grace_s``.

    Each supervisor is sent SIGTERM and does the stopping; a supervisor still
    alive ``grace_s`` + 5 s later is killed with its tree. Returns how many
    trials were stopped. Callable from any thread.
    """
    with _live_lock:
        supervisors = list(_live.values())
    for process in supervisors:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_s + 5.0
    for process in supervisors:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            kill_tree(process.pid, group=process.pid)
    return len(supervisors)


def _rejected(reason: str) -> Outcome:
    return Outcome(status=TrialStatus.REJECTED, reason=reason)


def _unsafe_paths(files: Mapping[str, str]) -> list[str]:
    bad = []
    for name in files:
        path = PurePosixPath(name)
        escapes = not name or path.is_absolute() or ".." in path.parts or "\\" in name
        if escapes or name in (STDOUT_FILE, STDERR_FILE):
            bad.append(name)
    return bad


def _marked(pid: str, needle: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            return needle in handle.read().split(b"\0")
    except OSError:
        return False


def sweep_marked(token: str) -> int:
    """SIGKILL (and reap, when they are ours) processes whose environment names trial ``token``.

    The last net for a trial whose supervisor was killed before it could
    sweep: its strays were re-parented to this process (a child subreaper) or
    to PID 1, and still carry the marker unless they scrubbed their own
    environment. Returns how many were killed.
    """
    needle = f"{TRIAL_MARKER}={token}".encode()
    killed = 0
    for _round in range(20):
        found = [int(pid) for pid in os.listdir("/proc") if pid.isdigit() and _marked(pid, needle)]
        if not found:
            break
        for pid in found:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
            killed += 1
        time.sleep(0.01)
        for pid in found:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
    return killed


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def _file_metrics(workdir: Path, name: str | None) -> tuple[dict[str, float] | None, str]:
    if name is None:
        return None, ""
    try:
        data = json.loads((workdir / name).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, ""
    except (OSError, ValueError) as exc:
        return {}, f"metric file {name} is unreadable: {exc}"
    if not isinstance(data, dict):
        return {}, f"metric file {name} does not hold a JSON object"
    return {k: float(v) for k, v in data.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)}, ""


def run_trial(request: TrialRequest, workdir: str | Path, *, confine: str = "none") -> Outcome:
    """Run ``request`` in ``workdir`` and return its classified Outcome. Never raises for the trial.

    The request's files are written into ``workdir``; ``argv`` runs there
    under a supervisor process (``_supervisor.py``) that owns its limits: a
    new session, a scrubbed environment, an address-space limit, a
    parent-death signal, and a wall-clock limit of ``budget_s + grace_s``
    after which the whole tree is killed. The tree is swept after a normal
    exit too, and when this process dies the supervisor sweeps it then, so
    nothing the trial started outlives it. Output streams to ``trial.stdout``
    / ``trial.stderr`` in ``workdir``, at most the first
    :data:`OUTPUT_HEAD_BYTES` and the last :data:`OUTPUT_TAIL_BYTES` of each.
    ``confine="bwrap"`` runs it under bubblewrap (see :mod:`._confine`).
    """
    workdir = Path(workdir)
    bad = _unsafe_paths(request.files)
    if bad:
        return _rejected(f"unsafe file names in the request: {', '.join(map(repr, bad))}")
    found = secret_names(request.env)
    if found:
        return _rejected(f"the request's environment names look like credentials: {', '.join(found)}")
    if not request.argv:
        return _rejected("the request has no command")
    bwrap = check_confinement(confine)
    workdir.mkdir(parents=True, exist_ok=True)
    for name, text in request.files.items():
        target = workdir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    stdout_path, stderr_path = workdir / STDOUT_FILE, workdir / STDERR_FILE
    token = secrets.token_hex(8)
    config = {
        "argv": confined_argv(list(request.argv), workdir, bwrap),
        "cwd": str(workdir),
        "env": dict(trial_environment(request.env), **{TRIAL_MARKER: token}),
        "limit_s": request.time_limit_s,
        "memory_bytes": None if request.memory_limit_mb is None else int(request.memory_limit_mb) << 20,
        "stdout": str(stdout_path),
        "stderr": str(stderr_path),
        "head_bytes": OUTPUT_HEAD_BYTES,
        "tail_bytes": OUTPUT_TAIL_BYTES,
        "grace_s": STOP_GRACE_S,
        "cgroup_parent": trial_cgroup_parent(),
        "parent": os.getpid(),
    }
    started = time.monotonic()
    report = _supervise(config, request.time_limit_s + STOP_GRACE_S + SUPERVISOR_SLACK_S, token)
    duration = time.monotonic() - started
    if report.get("error"):
        return Outcome(status=TrialStatus.CRASHED, reason=report["error"])
    if report.get("terminated"):
        return Outcome(status=TrialStatus.CRASHED, exit_code=report.get("exit_code"),
                       duration_s=round(duration, 3),
                       reason="stopped: the engine was interrupted while the trial ran",
                       log_tail=_read(stderr_path)[-2000:])
    file_metrics, file_problem = _file_metrics(workdir, request.metric_file)
    stderr = _read(stderr_path)
    if file_problem:
        stderr = f"{stderr}\n{file_problem}"
    return classify(
        report.get("exit_code"),
        _read(stdout_path),
        stderr,
        timed_out=bool(report.get("timed_out")),
        metric=request.metric,
        duration_s=round(duration, 3),
        time_limit_s=request.time_limit_s,
        file_metrics=file_metrics,
        metric_regex=request.metric_regex,
    )


def _supervise(config: dict, backstop_s: float, token: str) -> dict:
    """Start the supervisor, wait for its one-line report, and sweep whatever it may have left."""
    try:
        process = subprocess.Popen([sys.executable, "-I", str(_SUPERVISOR), json.dumps(config)],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   start_new_session=True)
    except OSError as exc:
        return {"error": f"could not start the trial supervisor: {exc}"}
    with _live_lock:
        _live[process.pid] = process
    try:
        out, err = process.communicate(timeout=backstop_s)
    except subprocess.TimeoutExpired:
        # The supervisor owns the limit; this is the net under it, for a supervisor that is itself stuck.
        kill_tree(process.pid, group=process.pid)
        process.kill()
        out, err = process.communicate()
        return {"exit_code": None, "timed_out": True, "error": None}
    finally:
        with _live_lock:
            _live.pop(process.pid, None)
        if process.poll() is None or descendants(process.pid):  # an exception on the way out
            kill_tree(process.pid, group=process.pid)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        sweep_marked(token)
    lines = out.decode("utf-8", "replace").strip().splitlines()
    try:
        report = json.loads(lines[-1])
    except (IndexError, ValueError):
        code = process.returncode or 0
        described = f"signal {-code}" if code < 0 else f"exit {code}"
        return {"error": f"the trial supervisor ended ({described}) without a report: "
                         f"{err.decode('utf-8', 'replace').strip()[-500:]}"}
    return report
