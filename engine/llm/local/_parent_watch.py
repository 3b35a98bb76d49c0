"""Make a server child die with the process that started it.

The server runs in its own process group (so Ctrl-C in the terminal does not
reach it and the engine can kill the whole group), which also means nothing
kills it when the engine is SIGKILLed. Two independent guards close that gap:

* ``PR_SET_PDEATHSIG``: the kernel sends SIGHUP when the parent goes away,
  and its handler kills the whole group. (Not SIGKILL straight away: that
  would end only this process and leave any other member of the group
  running.) It fires when the *thread* that forked the child exits, so it is
  only armed when the parent started the server from its main thread.
* a daemon thread polling ``os.getppid()``: once the parent is gone the child
  is re-parented and the pid changes; the thread then kills the whole group.

Both are Python code, so both wait while a C call holds the GIL (a model
load, at worst); they act as soon as it returns. The group is killed with
SIGKILL, not SIGTERM: llama.cpp's server ignores SIGTERM.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading

__all__ = ["arm_parent_death_signal", "start_parent_watchdog", "watch_parent"]

_PR_SET_PDEATHSIG = 1


def _kill_own_group() -> None:
    os.killpg(os.getpgrp(), signal.SIGKILL)


def arm_parent_death_signal() -> bool:
    """Kill this group on SIGHUP and ask the kernel for SIGHUP when the parent dies.

    Must run in the main thread (Python's rule for signal handlers). Returns
    False where prctl is unavailable; the watchdog still covers that case.
    """
    if not sys.platform.startswith("linux"):
        return False
    signal.signal(signal.SIGHUP, lambda _signum, _frame: _kill_own_group())
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return libc.prctl(_PR_SET_PDEATHSIG, signal.SIGHUP, 0, 0, 0) == 0


def start_parent_watchdog(parent_pid: int, interval_s: float = 0.2) -> threading.Thread:
    """A daemon thread that kills this process group once ``parent_pid`` is no longer the parent."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            threading.Event().wait(interval_s)
        _kill_own_group()

    thread = threading.Thread(target=watch, name="parent-watchdog", daemon=True)
    thread.start()
    return thread


def watch_parent(parent_pid: int, *, use_death_signal: bool) -> None:
    """Arm both guards; exit at once if the parent already died before they were armed."""
    if use_death_signal:
        arm_parent_death_signal()
    if os.getppid() != parent_pid:
        _kill_own_group()
    start_parent_watchdog(parent_pid)
