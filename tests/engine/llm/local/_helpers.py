"""Helpers for the local model tests: the fake server launcher and process-group checks."""

from __future__ import annotations

import sys
import time
from pathlib import Path

FAKE_SERVER = Path(__file__).with_name("fake_server.py")
FAKE_LAUNCHER = (sys.executable, str(FAKE_SERVER))
PROJECT_ROOT = Path(__file__).resolve().parents[4]


def live_group_members(pgid: int) -> list[int]:
    """Pids in process group ``pgid`` that are still running (zombies have already let go of everything)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the parenthesised command: state ppid pgrp ...
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def wait_until_group_gone(pgid: int, timeout_s: float = 15.0) -> list[int]:
    """Poll until no live member of ``pgid`` is left; returns what is left at the deadline."""
    deadline = time.monotonic() + timeout_s
    while (left := live_group_members(pgid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def wait_until_dead(pid: int, timeout_s: float = 10.0) -> bool:
    """Poll until every thread of ``pid`` has exited (zombie or reaped).

    A threaded process's leader shows as a zombie while its other threads are
    still exiting; only when they are gone can it be reaped, and only then are
    its files and sockets closed. So wait for the thread list to shrink too.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            threads = [entry.name for entry in Path(f"/proc/{pid}/task").iterdir()]
        except OSError:
            return True
        if state == "Z" and threads == [str(pid)]:
            return True
        time.sleep(0.02)
    return False


def processes_mentioning(marker: str) -> list[int]:
    """Live pids whose command line contains ``marker`` (a test's unique temporary path)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in command and state != "Z":
            found.append(int(entry.name))
    return found


def wait_until_no_process_mentions(marker: str, timeout_s: float = 15.0) -> list[int]:
    """Poll until no live process mentions ``marker``; returns what is left at the deadline.

    For a child that may be killed before it could log its pid (a loaded machine
    starts Python slowly): its command line names the test's model file.
    """
    deadline = time.monotonic() + timeout_s
    while (left := processes_mentioning(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left
