"""Kernel-level confinement: what code that escaped every Python layer could
still do inside a mechanism process. Each case is run in a process that
confined itself as the real one does and then runs unrestricted Python."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sandbox import Limits
from sandbox._process import MechanismProcess

LIMITS = Limits(memory_bytes=512 << 20)


@pytest.fixture(scope="module")
def escaped():
    process = MechanismProcess(LIMITS, module="tests.sandbox._escaped")
    yield process
    process.close()


def run(process: MechanismProcess, code: str) -> dict:
    return process.exchange({"code": code}, 10.0)


def landlock_offered() -> bool:
    import ctypes

    return ctypes.CDLL(None, use_errno=True).syscall(444, None, 0, 1) >= 1


def test_the_process_says_which_layers_it_applied(escaped) -> None:
    confinement = run(escaped, "result = 1")["confinement"]
    assert "seccomp" in confinement and "unavailable" not in confinement and "failed" not in confinement
    if landlock_offered():
        assert confinement.startswith("landlock abi ")


ESCAPES = {
    "read-parent-environ": f"result = open('/proc/{os.getpid()}/environ', 'rb').read()",
    "read-etc-passwd": "result = open('/etc/passwd').read()",
    "list-parent-cwd": f"result = os.listdir({os.getcwd()!r})",
    "create-file-in-parent-cwd": f"open({os.getcwd()!r} + '/escaped-marker', 'w').write('x')",
    "create-file-in-tmp": "open('/tmp/escaped-marker', 'w').write('x')",
    "make-directory": "os.mkdir('/tmp/escaped-directory')",
    "run-a-program": "result = subprocess.run(['/bin/true'])",
    # glibc's system() answers 127 << 8 when it cannot start the shell, instead of raising.
    "os-system": "status = os.system('touch /tmp/escaped-marker')\nif status == 127 << 8:\n"
                 "    raise PermissionError('the shell never started')",
    "exec-in-place": "os.execv('/bin/sh', ['sh', '-c', 'true'])",
    "fork": "result = os.fork()",
    "tcp-socket": "result = socket.create_connection(('127.0.0.1', 9))",
    "unix-socket": "result = socket.socket(socket.AF_UNIX)",
    "signal-the-parent": f"os.kill({os.getpid()}, 0)",
}


@pytest.mark.parametrize("code", ESCAPES.values(), ids=list(ESCAPES))
def test_escaped_code_cannot_reach_files_processes_or_the_network(escaped, code: str) -> None:
    reply = run(escaped, code)
    assert not reply["ok"], reply
    assert reply["error"] in ("PermissionError", "OSError", "FileNotFoundError"), reply
    assert not Path("/tmp/escaped-marker").exists() and not Path("/tmp/escaped-directory").exists()
    assert not (Path.cwd() / "escaped-marker").exists()


def test_work_on_already_open_channels_and_memory_still_runs(escaped) -> None:
    reply = run(escaped, "import math\nresult = sum(math.sqrt(i) for i in range(10000)) > 0")
    assert reply["ok"] and reply["value"] == "True"


def test_the_real_mechanism_process_reports_its_confinement() -> None:
    from sandbox import admit

    text = "class F:\n    def check(self, proposal, trace, space):\n        return None\n\n\n" \
           "def build(seed):\n    return F()\n"
    admission = admit(text, "filter", verify=False)
    load = next(s for s in admission.stages if s.stage == "load")
    assert load.ok and "seccomp" in load.details


def test_the_host_reports_each_mechanism_process_confinement() -> None:
    from sandbox import MechanismHost, admit

    text = "class F:\n    def check(self, proposal, trace, space):\n        return None\n\n\n" \
           "def build(seed):\n    return F()\n"
    with MechanismHost(limits=LIMITS) as host:
        loaded = host.load(admit(text, "filter", verify=False), 0)
        assert loaded.ok and "seccomp" in loaded.confinement and "unavailable" not in loaded.confinement


def test_the_admission_worker_confines_itself_before_reading_any_text() -> None:
    from sandbox import admit
    from sandbox._worker import shared_worker

    text = "class F:\n    def check(self, proposal, trace, space):\n        return None\n\n\n" \
           "def build(seed):\n    return F()\n"
    assert admit(text, "filter", verify=False).admitted  # the warmed-up, confined worker still does its work
    confinement = shared_worker().confinement
    assert "seccomp" in confinement and "unavailable" not in confinement and "failed" not in confinement
