"""Start a limited child Python process: own session (process group), CPU and
address-space rlimits, no core files, no file growth, a scrubbed environment
and an empty temporary working directory."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from ._policy import Limits

__all__ = ["spawn_limited", "child_pipes", "kill_group", "PACKAGE_ROOT"]

PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)

# ``-s -P`` keeps user site-packages and the working directory off sys.path, as
# isolated mode does, but without ``-E``: the environment is scrubbed to three
# variables anyway, and ``-E`` would make the child ignore PYTHONHASHSEED, so
# set and dict ordering of strings would differ between children at random.
# The one path the child needs is put on sys.path explicitly.
_BOOTSTRAP = "import sys; sys.path.insert(0, {root!r}); from {module} import main; main()"


def _limiter(limits: Limits, cpu_s: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
        try:  # the child dies with its parent, even on SIGKILL of the parent (Linux)
            import ctypes

            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass

    return apply


def spawn_limited(module: str, limits: Limits, *, cpu_s: int | None = None,
                  hash_seed: int = 0) -> tuple[subprocess.Popen, str]:
    """Start ``python -s -P -c 'from <module> import main; main()'`` under limits.

    ``hash_seed`` fixes the child's string hashing (``PYTHONHASHSEED``), so two
    children with different seeds expose code whose answers depend on it.
    Returns the process and its working directory (the caller removes it)."""
    workdir = tempfile.mkdtemp(prefix="sandbox-child-")
    env = {"PATH": "/usr/bin:/bin", "PYTHONHASHSEED": str(int(hash_seed)), "LANG": "C.UTF-8"}
    process = subprocess.Popen(
        [sys.executable, "-s", "-P", "-c", _BOOTSTRAP.format(root=PACKAGE_ROOT, module=module)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        cwd=workdir, env=env, start_new_session=True, close_fds=True,
        preexec_fn=_limiter(limits, cpu_s if cpu_s is not None else limits.cpu_s),
    )
    return process, workdir


def child_pipes(process: subprocess.Popen) -> tuple[IO[bytes], IO[bytes]]:
    """The stdin and stdout of a child from :func:`spawn_limited`, which opens both as pipes; an
    ``OSError`` (as from a failed start) for a process without them."""
    stdin, stdout = process.stdin, process.stdout
    if stdin is None or stdout is None:
        raise OSError("the child process has no stdin or stdout pipe")
    return stdin, stdout


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the child's whole process group and reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
