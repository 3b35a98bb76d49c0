"""The trial supervisor: a small process between the engine and a trial that owns the trial's limits.

Run as a plain script (``python -I _supervisor.py CONFIG_JSON``), standard
library only, so it starts fast and imports nothing of the engine. It:

* asks the kernel for a parent-death signal (SIGTERM when the engine dies,
  however it dies) and exits at once if the engine is already gone;
* marks itself a child subreaper, so every process the trial starts stays its
  descendant, even one that double-forks and calls ``setsid``;
* starts the trial in its own session with a parent-death SIGKILL, an
  address-space limit and, where a writable cgroup v2 exists, its own cgroup;
* enforces the wall-clock limit itself: at the limit the whole tree is killed;
* streams the trial's stdout and stderr into files, keeping at most
  ``head_bytes`` from the start plus the last ``tail_bytes`` (the part that
  holds the ``key: value`` result lines), so a flood costs neither memory nor
  disk;
* on SIGTERM/SIGINT/SIGHUP (the engine stopping, or dying) sends SIGTERM to
  the trial's tree, then SIGKILL after ``grace_s``;
* on every way out sweeps the trial's descendants (``/proc`` walked by parent
  pid, the trial's process group, the cgroup) and reaps them;
* reports one JSON line on its stdout: exit code, timed out, terminated, bytes
  kept and dropped, processes swept.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

__all__ = ["descendants", "kill_tree", "main", "set_parent_death_signal", "become_subreaper"]

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_libc = ctypes.CDLL(None, use_errno=True)
_CHUNK = 64 * 1024


def _prctl(option: int, value: int) -> bool:
    return _libc.prctl(option, value, 0, 0, 0) == 0


def set_parent_death_signal(sig: int) -> bool:
    """Have the kernel send ``sig`` to this process when the thread that started it exits."""
    return _prctl(_PR_SET_PDEATHSIG, int(sig))


def become_subreaper() -> bool:
    """Orphaned descendants of this process are re-parented to it instead of to PID 1."""
    return _prctl(_PR_SET_CHILD_SUBREAPER, 1)


def _parent_pids() -> dict[int, int]:
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses; the fields after the last ')' do not.
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 2 and fields[0] != b"Z":
            parents[int(entry)] = int(fields[1])
    return parents


def descendants(root: int) -> list[int]:
    """Living (non-zombie) descendants of ``root``, found by walking ``/proc`` by parent pid."""
    children: dict[int, list[int]] = {}
    for pid, ppid in _parent_pids().items():
        children.setdefault(ppid, []).append(pid)
    found, stack = [], [root]
    while stack:
        for child in children.get(stack.pop(), ()):
            found.append(child)
            stack.append(child)
    return found


def _signal_all(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def kill_tree(root: int, *, group: int | None = None, cgroup: Path | None = None, rounds: int = 50) -> int:
    """SIGKILL every descendant of ``root`` (and ``group``, and ``cgroup``); return how many were hit.

    Stopped first, then killed, round after round, so a tree that forks while
    it is being killed cannot outrun the sweep.
    """
    hit: set[int] = set()
    for _ in range(rounds):
        if group is not None:
            try:
                os.killpg(group, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if cgroup is not None:
            _cgroup_kill(cgroup)
        pids = descendants(root)
        if not pids:
            break
        hit.update(pids)
        _signal_all(pids, signal.SIGSTOP)
        _signal_all(pids, signal.SIGKILL)
        _reap()
        time.sleep(0.01)
    _reap()
    return len(hit)


def _reap() -> None:
    """Collect exited children (orphans re-parented here included) so none stays a zombie."""
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


# -- cgroup v2 (optional) ------------------------------------------------------------------------------------

def _cgroup_kill(cgroup: Path) -> None:
    try:
        (cgroup / "cgroup.kill").write_text("1")
    except OSError:
        for line in _read_lines(cgroup / "cgroup.procs"):
            _signal_all([int(line)], signal.SIGKILL)


def _read_lines(path: Path) -> list[str]:
    try:
        return [line for line in path.read_text().split() if line.strip()]
    except OSError:
        return []


def _make_cgroup(parent: str | None, name: str) -> Path | None:
    if not parent:
        return None
    path = Path(parent) / name
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return path


def _remove_cgroup(cgroup: Path | None) -> None:
    if cgroup is None:
        return
    for _ in range(100):
        _cgroup_kill(cgroup)
        if not _read_lines(cgroup / "cgroup.procs"):
            break
        time.sleep(0.01)
    try:
        cgroup.rmdir()
    except OSError:
        pass


# -- output --------------------------------------------------------------------------------------------------

class _Capture(threading.Thread):
    """Drain one pipe into a file: the first ``head`` bytes as they come, the last ``tail`` kept aside."""

    def __init__(self, pipe: int, path: str, head: int, tail: int) -> None:
        super().__init__(daemon=True)
        self.pipe, self.path, self.head, self.tail = pipe, path, head, tail
        self.total = 0
        self._tail: deque[bytes] = deque()
        self._tail_size = 0

    def run(self) -> None:
        with open(self.path, "wb") as out:
            while True:
                try:
                    chunk = os.read(self.pipe, _CHUNK)
                except OSError:
                    break
                if not chunk:
                    break
                room = self.head - self.total
                self.total += len(chunk)
                if room > 0:
                    out.write(chunk[:room])
                    chunk = chunk[room:]
                if chunk:
                    self._keep(chunk)
            os.close(self.pipe)
            dropped = self.total - self.head - self._tail_size
            if self._tail:
                if dropped > 0:
                    out.write(f"\n[... {dropped} bytes of output not kept ...]\n".encode())
                out.write(b"".join(self._tail))

    def _keep(self, chunk: bytes) -> None:
        self._tail.append(chunk)
        self._tail_size += len(chunk)
        while self._tail_size - len(self._tail[0]) >= self.tail:
            self._tail_size -= len(self._tail.popleft())
        if self._tail_size > self.tail:  # cut the oldest chunk so the tail is exactly ``tail`` bytes
            first = self._tail[0]
            cut = self._tail_size - self.tail
            self._tail[0] = first[cut:]
            self._tail_size -= cut

    @property
    def dropped(self) -> int:
        return max(0, self.total - self.head - self.tail)


# -- the supervisor --------------------------------------------------------------------------------------

def main(config: dict) -> dict:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    become_subreaper()
    me = os.getpid()
    cgroup = _make_cgroup(config.get("cgroup_parent"), f"trial-{me}")
    memory = config.get("memory_bytes")

    def child_setup() -> None:  # runs in the forked child; this process has no other threads yet
        set_parent_death_signal(signal.SIGKILL)
        if os.getppid() != me:
            os._exit(70)
        if cgroup is not None:
            try:
                (cgroup / "cgroup.procs").write_text("0")
            except OSError:
                pass
        if memory:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    result: dict[str, Any] = {"exit_code": None, "timed_out": False, "terminated": False, "error": None, "swept": 0,
              "cgroup": cgroup is not None}
    started = time.monotonic()
    try:
        trial = subprocess.Popen(config["argv"], cwd=config["cwd"], env=config["env"],
                                 stdin=subprocess.DEVNULL, stdout=out_w, stderr=err_w, start_new_session=True,
                                 preexec_fn=child_setup)
    except OSError as exc:
        for fd in (out_w, err_w, out_r, err_r):
            os.close(fd)
        _remove_cgroup(cgroup)
        result["error"] = f"could not start {config['argv'][0]!r}: {exc}"
        return result
    os.close(out_w)
    os.close(err_w)
    head, tail = int(config["head_bytes"]), int(config["tail_bytes"])
    captures = [_Capture(out_r, config["stdout"], head, tail), _Capture(err_r, config["stderr"], head, tail)]
    for capture in captures:
        capture.start()
    deadline = started + float(config["limit_s"])
    grace = float(config.get("grace_s", 2.0))
    while True:
        try:
            result["exit_code"] = trial.wait(timeout=0.05)
            break
        except subprocess.TimeoutExpired:
            pass
        if stop.is_set():
            result["terminated"] = True
            _signal_all([trial.pid, *descendants(me)], signal.SIGTERM)
            try:
                result["exit_code"] = trial.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
            break
        if time.monotonic() >= deadline:
            result["timed_out"] = True
            break
    if result["exit_code"] is None:
        # The trial itself is killed and waited for before the sweep reaps anything, so its own exit
        # status is the one reported.
        _signal_all([trial.pid], signal.SIGKILL)
        result["exit_code"] = trial.wait()
    result["swept"] = kill_tree(me, group=trial.pid, cgroup=cgroup)
    _remove_cgroup(cgroup)
    for capture in captures:
        capture.join(timeout=10)
    result["duration_s"] = round(time.monotonic() - started, 3)
    result["stdout_bytes"], result["stdout_dropped"] = captures[0].total, captures[0].dropped
    result["stderr_bytes"], result["stderr_dropped"] = captures[1].total, captures[1].dropped
    return result


if __name__ == "__main__":
    _config = json.loads(sys.argv[1])
    # The signal goes to this process when the engine thread that started it ends, whatever ends it.
    set_parent_death_signal(signal.SIGTERM)
    if os.getppid() != int(_config["parent"]):
        sys.exit(71)  # the engine died before the signal was armed: there is no one to report to
    print(json.dumps(main(_config)), flush=True)
