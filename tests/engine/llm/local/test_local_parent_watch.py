"""Each parent guard alone kills the server's whole process group when the parent is SIGKILLed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from ._helpers import PROJECT_ROOT, live_group_members, wait_until_group_gone

# The "server": arms one guard, starts a grandchild in its group, reports its pid, waits.
_CHILD = textwrap.dedent(
    """
    import os, subprocess, sys, threading
    from engine.llm.local._parent_watch import arm_parent_death_signal, start_parent_watchdog
    parent = int(sys.argv[2])
    if sys.argv[1] == "death-signal":
        assert arm_parent_death_signal()
    else:
        start_parent_watchdog(parent)
    subprocess.Popen(["sleep", "300"])
    print(os.getpid(), flush=True)
    threading.Event().wait()
    """
)

# The "engine": starts the server in its own session and passes its pid on.
_PARENT = textwrap.dedent(
    """
    import os, subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2], str(os.getpid())],
                             stdout=subprocess.PIPE, text=True, start_new_session=True)
    print(child.stdout.readline().strip(), flush=True)
    time.sleep(600)
    """
)


@pytest.mark.parametrize("guard", ["death-signal", "watchdog"])
def test_guard_kills_the_group_when_the_parent_is_killed(guard: str) -> None:
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    parent = subprocess.Popen(
        [sys.executable, "-c", _PARENT, _CHILD, guard], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert parent.stdout is not None
        pgid = int(parent.stdout.readline())
        assert len(wait_until_group_gone(pgid, timeout_s=0.5)) == 2  # alive while the parent lives
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        assert wait_until_group_gone(pgid) == []
    finally:
        parent.kill()
        parent.wait()
        for pid in live_group_members(pgid) if "pgid" in locals() else []:
            os.kill(pid, signal.SIGKILL)
