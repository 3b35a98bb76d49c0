"""Run one trial request in its own process group, with limits, and classify it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path, PurePosixPath
from typing import Mapping

from interfaces import Outcome, TrialRequest, TrialStatus

from ._classify import classify
from ._environment import secret_names, trial_environment

__all__ = ["STDOUT_FILE", "STDERR_FILE", "run_trial", "limited_argv"]

STDOUT_FILE = "trial.stdout"
STDERR_FILE = "trial.stderr"

# Runs in the child before the trial's own program: cap its address space,
# then replace itself with the program (so the limit is inherited and no
# Python of ours stays in between). A wrapper rather than preexec_fn, which is
# unsafe in a process that has threads (the executors' pools).
_LIMIT_WRAPPER = (
    "import os, resource, sys\n"
    "limit = int(sys.argv[1])\n"
    "resource.setrlimit(resource.RLIMIT_AS, (limit, limit))\n"
    "os.execvp(sys.argv[2], sys.argv[2:])\n"
)


def limited_argv(argv: tuple[str, ...], memory_limit_mb: int | None) -> list[str]:
    """``argv`` wrapped so that it runs under an address-space limit, if any."""
    if memory_limit_mb is None:
        return list(argv)
    return [sys.executable, "-c", _LIMIT_WRAPPER, str(int(memory_limit_mb) * 1024 * 1024), *argv]


def _rejected(reason: str) -> Outcome:
    return Outcome(status=TrialStatus.REJECTED, reason=reason)


def _unsafe_paths(files: Mapping[str, str]) -> list[str]:
    bad = []
    for name in files:
        path = PurePosixPath(name)
        if not name or path.is_absolute() or ".." in path.parts or "\\" in name:
            bad.append(name)
        elif name in (STDOUT_FILE, STDERR_FILE):
            bad.append(name)
    return bad


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


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


def run_trial(request: TrialRequest, workdir: str | Path) -> Outcome:
    """Run ``request`` in ``workdir`` and return its classified Outcome. Never raises for the trial.

    The request's files are written into ``workdir``; ``argv`` runs there in a
    new session (its own process group) with a scrubbed environment, an
    address-space limit and a wall-clock limit of ``budget_s + grace_s``
    after which the whole group is killed. The group is killed after a
    normal exit too, so nothing the trial started outlives it. Output goes
    to ``trial.stdout`` / ``trial.stderr`` in ``workdir``.
    """
    workdir = Path(workdir)
    bad = _unsafe_paths(request.files)
    if bad:
        return _rejected(f"unsafe file names in the request: {', '.join(map(repr, bad))}")
    secrets = secret_names(request.env)
    if secrets:
        return _rejected(f"the request's environment names look like credentials: {', '.join(secrets)}")
    if not request.argv:
        return _rejected("the request has no command")
    workdir.mkdir(parents=True, exist_ok=True)
    for name, text in request.files.items():
        target = workdir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    stdout_path, stderr_path = workdir / STDOUT_FILE, workdir / STDERR_FILE
    started = time.monotonic()
    timed_out = False
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        try:
            process = subprocess.Popen(
                limited_argv(request.argv, request.memory_limit_mb),
                cwd=workdir,
                env=trial_environment(request.env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        except OSError as exc:
            return Outcome(status=TrialStatus.CRASHED, reason=f"could not start {request.argv[0]!r}: {exc}")
        try:
            exit_code = process.wait(timeout=request.time_limit_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(process.pid)
            exit_code = process.wait()
        finally:
            _kill_group(process.pid)
    duration = time.monotonic() - started
    file_metrics, file_problem = _file_metrics(workdir, request.metric_file)
    stderr = _read(stderr_path)
    if file_problem:
        stderr = f"{stderr}\n{file_problem}"
    return classify(
        exit_code,
        _read(stdout_path),
        stderr,
        timed_out=timed_out,
        metric=request.metric,
        duration_s=round(duration, 3),
        time_limit_s=request.time_limit_s,
        file_metrics=file_metrics,
    )
