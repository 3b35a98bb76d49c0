"""Where a trial runs: the optional cgroup of its tree, and the opt-in bubblewrap confinement.

The default confines a trial's *processes* (see ``docs/threat-model.md``): its
own session, a supervisor that owns its limits, a parent-death signal, a sweep
of its descendants and, where this machine offers a writable cgroup v2, a
cgroup per trial. It does not confine what the trial reads or writes, nor its
network. ``confine="bwrap"`` adds that through bubblewrap: the file system is
read-only except the trial's working directory and a private ``/tmp``, and the
trial has no network, its own PID namespace and dies with its supervisor.
"""

from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path

from interfaces import ConfigError

__all__ = ["CONFINEMENTS", "BWRAP_PACKAGE", "check_confinement", "confined_argv", "trial_cgroup_parent"]

CONFINEMENTS = ("none", "bwrap")
BWRAP_PACKAGE = "bubblewrap"
_CGROUP_DIR = "autoresearch-trials"


def check_confinement(confine: str) -> str | None:
    """The ``bwrap`` program for ``confine`` (None for ``none``); a typed error if it cannot be had."""
    if confine not in CONFINEMENTS:
        raise ConfigError(f"confinement must be one of {', '.join(CONFINEMENTS)}, got {confine!r}",
                          code="bad-confinement")
    if confine == "none":
        return None
    program = shutil.which("bwrap")
    if program is None:
        raise ConfigError(f"--confine bwrap needs bubblewrap, which is not installed on this machine: "
                          f"apt-get install {BWRAP_PACKAGE}", code="confinement-unavailable")
    return program


def confined_argv(argv: list[str], workdir: Path, bwrap: str | None) -> list[str]:
    """``argv`` under bubblewrap when ``bwrap`` is given: read-only root, writable ``workdir``, no net."""
    if bwrap is None:
        return argv
    work = str(workdir.resolve())
    return [bwrap, "--die-with-parent", "--unshare-all", "--new-session",
            "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
            "--bind", work, work, "--chdir", work, "--", *argv]


@functools.cache
def trial_cgroup_parent() -> str | None:
    """A writable cgroup v2 directory under this process's own cgroup for trial cgroups, or None.

    Found from ``/proc/self/mountinfo`` and ``/proc/self/cgroup``; None when
    the machine has no cgroup v2 mount or this process may not create
    cgroups there (the usual case without root or a delegated subtree).
    """
    mount = None
    try:
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            left, _, right = line.partition(" - ")
            if right.split()[:1] == ["cgroup2"]:
                mount = left.split()[4]
                break
        own = next((line[3:] for line in Path("/proc/self/cgroup").read_text().splitlines()
                    if line.startswith("0::")), None)
    except OSError:
        return None
    if mount is None or own is None:
        return None
    parent = Path(mount) / own.lstrip("/") / _CGROUP_DIR
    try:
        parent.mkdir(exist_ok=True)
    except OSError:
        return None
    if not os.access(parent / "cgroup.procs", os.W_OK):
        return None
    return str(parent)
