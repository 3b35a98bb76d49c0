"""The admission worker: untrusted text is parsed in a limited child, and
whatever that child does (crash, hang, flood, lie about its shape) the caller
gets a record and stays alive."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from sandbox import DEFAULT_POLICY, _worker, admit
from sandbox._worker import AdmissionWorker, WorkerLimits
from sandbox._worker_main import static_stages

MECHANISMS = Path(__file__).parent / "mechanisms"
BANDIT = (MECHANISMS / "bandit_advisor.py.txt").read_text()
ROGUE = "tests.sandbox._rogue_worker"


@pytest.fixture
def worker():
    made: list[AdmissionWorker] = []

    def make(**limits) -> AdmissionWorker:
        made.append(AdmissionWorker(WorkerLimits(**limits)))
        return made[-1]

    yield make
    for each in made:
        each.close()


@pytest.fixture
def rogue():
    made: list[AdmissionWorker] = []

    def make(**limits) -> AdmissionWorker:
        made.append(AdmissionWorker(WorkerLimits(**limits), module=ROGUE))
        return made[-1]

    yield make
    for each in made:
        each.close()


def _codes(verdict) -> list[str]:
    return [v.code for s in verdict.stages for v in s.violations]


def test_the_worker_reports_the_same_stages_as_the_in_process_pipeline(worker) -> None:
    attack = "import os\n\n\ndef build(seed):\n    return os.system('id')\n"
    for source in (BANDIT, attack, "def broken(:\n    pass\n"):
        remote = worker().check(source, DEFAULT_POLICY, "build")
        local, text = static_stages(source, DEFAULT_POLICY, "build")
        assert [(s.stage, s.ok, s.violations) for s in remote.stages] == \
            [(s.stage, s.ok, s.violations) for s in local]
        assert remote.source == text == source


def test_one_worker_serves_many_requests_and_code_objects_stay_in_it(worker) -> None:
    one = worker()
    first = one.check(BANDIT, DEFAULT_POLICY, "build")
    pid = one.pid
    second = one.check(BANDIT, DEFAULT_POLICY, "build")
    assert pid is not None and one.pid == pid
    assert all(s.ok for s in first.stages + second.stages)
    assert [s.stage for s in first.stages] == ["parse", "guard", "compile"]
    assert all(s.value is None for s in first.stages)  # trees and code objects never cross the pipe


def test_a_stopped_worker_is_a_parse_timeout_and_is_replaced(worker) -> None:
    one = worker(wall_s=1.0)
    one.check(BANDIT, DEFAULT_POLICY, "build")
    stopped = one.pid
    os.kill(stopped, signal.SIGSTOP)
    started = time.monotonic()
    verdict = one.check(BANDIT, DEFAULT_POLICY, "build")
    assert time.monotonic() - started < 8
    assert _codes(verdict) == ["parse-timeout"] and verdict.stages[0].stage == "parse"
    with pytest.raises(ProcessLookupError):
        os.kill(stopped, 0)  # the stopped worker was killed, not left behind
    again = one.check(BANDIT, DEFAULT_POLICY, "build")
    assert all(s.ok for s in again.stages) and one.pid != stopped


def test_a_worker_killed_while_idle_is_restarted_without_blaming_the_next_source(worker) -> None:
    one = worker()
    one.check(BANDIT, DEFAULT_POLICY, "build")
    victim = one.pid
    os.kill(victim, signal.SIGKILL)
    time.sleep(0.2)
    verdict = one.check(BANDIT, DEFAULT_POLICY, "build")
    assert all(s.ok for s in verdict.stages) and one.pid not in (None, victim)


def test_a_worker_that_dies_mid_request_is_retried_on_a_fresh_one(worker) -> None:
    one = worker()
    one.check(BANDIT, DEFAULT_POLICY, "build")
    victim = one.pid
    os.kill(victim, signal.SIGSTOP)  # alive but stopped: the request goes into its pipe
    result: list = []
    thread = threading.Thread(target=lambda: result.append(one.check(BANDIT, DEFAULT_POLICY, "build")))
    thread.start()
    time.sleep(1.0)
    os.kill(victim, signal.SIGKILL)
    thread.join(30)
    assert result and all(s.ok for s in result[0].stages) and one.pid != victim


def test_a_crashing_worker_is_parse_crashed_with_the_signal(rogue) -> None:
    verdict = rogue().check("# rogue: crash\n", DEFAULT_POLICY, "build")
    (violation,) = verdict.stages[0].violations
    assert violation.code == "parse-crashed" and "SIGSEGV" in violation.message and violation.line == 0


def test_a_worker_that_exits_is_parse_crashed_with_its_status(rogue) -> None:
    verdict = rogue().check("# rogue: exit\n", DEFAULT_POLICY, "build")
    assert _codes(verdict) == ["parse-crashed"] and "exit status 3" in verdict.stages[0].violations[0].message


def test_a_hanging_worker_is_parse_timeout(rogue) -> None:
    started = time.monotonic()
    verdict = rogue(wall_s=1.0).check("# rogue: hang\n", DEFAULT_POLICY, "build")
    assert _codes(verdict) == ["parse-timeout"] and time.monotonic() - started < 8


def test_a_reply_flood_is_cut_at_the_cap_and_the_worker_stopped(rogue) -> None:
    one = rogue(max_reply_bytes=1 << 16, wall_s=20.0)
    started = time.monotonic()
    verdict = one.check("# rogue: flood\n", DEFAULT_POLICY, "build")
    assert _codes(verdict) == ["reply-too-large"] and time.monotonic() - started < 10
    assert one.pid is None and len(one._pending) == 0
    assert _codes(one.check("x = 1\n", DEFAULT_POLICY, "build")) == []  # a fresh worker answers


def test_every_message_is_cut_to_the_message_limit(rogue) -> None:
    verdict = rogue().check("# rogue: long-message\n", DEFAULT_POLICY, "build")
    (violation,) = verdict.stages[0].violations
    assert violation.code == "syntax-error" and len(violation.message) == WorkerLimits().max_message_chars


@pytest.mark.parametrize("mode", ["garbage", "two-replies", "bad-shape", "grow"])
def test_a_malformed_reply_is_an_internal_error(rogue, mode) -> None:
    one = rogue()
    verdict = one.check(f"# rogue: {mode}\n", DEFAULT_POLICY, "build")
    assert _codes(verdict) == ["internal-error"] and not verdict.stages[0].ok
    assert _codes(one.check("x = 1\n", DEFAULT_POLICY, "build")) == []


def test_a_worker_that_never_starts_is_an_internal_error() -> None:
    broken = AdmissionWorker(WorkerLimits(start_wall_s=20.0), module="tests.sandbox.no_such_worker")
    try:
        assert _codes(broken.check("x = 1\n", DEFAULT_POLICY, "build")) == ["internal-error"]
    finally:
        broken.close()


def test_a_worker_near_its_cpu_limit_is_replaced_before_the_next_request(rogue) -> None:
    one = rogue()
    one.check("# rogue: tired\n", DEFAULT_POLICY, "build")
    assert one.pid is None


def test_concurrent_admissions_from_threads_each_get_their_own_record(worker) -> None:
    one = worker()
    attack = "import os\n\n\ndef build(seed):\n    return os\n"
    results: dict[int, list] = {}

    def run(index: int) -> None:
        results[index] = [one.check(BANDIT if (index + n) % 2 else attack, DEFAULT_POLICY, "build")
                          for n in range(3)]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sorted(results) == [0, 1, 2, 3]
    for index, verdicts in results.items():
        for n, verdict in enumerate(verdicts):
            benign = (index + n) % 2 == 1
            assert all(s.ok for s in verdict.stages) is benign
            assert ("forbidden-import" in _codes(verdict)) is not benign


def test_the_guard_rewrite_is_what_is_compiled(monkeypatch) -> None:
    """Contract with the guard: a str ``value`` is the source to compile and run."""
    from sandbox import _guard
    from sandbox._records import StageResult

    real = _guard.guard_stage
    body = "def build(seed):\n    return None\n"

    def rewriting(module, policy, entry_point, **options):
        result = real(module, policy, entry_point, **options)
        return StageResult(result.stage, result.ok, result.duration_s, result.violations, value=body)

    monkeypatch.setattr(_guard, "guard_stage", rewriting)
    stages, text = static_stages(body + "\nx = (\n", DEFAULT_POLICY, "build")
    assert stages[0].ok is False  # a syntax error: nothing to rewrite
    stages, text = static_stages(body + "\n\nif True:\n    y = 1\n", DEFAULT_POLICY, "build")
    assert text == body and [s.ok for s in stages] == [True, True, True]


def test_admit_names_digests_and_records_the_rewritten_source(monkeypatch, rogue) -> None:
    from sandbox import module_name

    monkeypatch.setattr(_worker, "_shared", rogue())
    body = "def build(seed):\n    return None\n"
    admission = admit("# rogue: rewrite\n" + body, "advisor", verify=False)
    assert admission.source == body and (admission.name, admission.digest) == module_name(body)


def test_admit_survives_a_crashing_worker(monkeypatch, rogue) -> None:
    monkeypatch.setattr(_worker, "_shared", rogue())
    admission = admit("# rogue: crash\ndef build(seed):\n    return None\n", "advisor", verify=False)
    assert not admission.admitted and [v.code for v in admission.violations] == ["parse-crashed"]
    assert [s.stage for s in admission.stages] == ["parse"]
