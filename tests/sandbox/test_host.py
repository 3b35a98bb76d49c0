"""The mechanism host: plain data in and out, ejection, restart, no orphans."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from interfaces import ParamSpec, Proposal, SearchConfig, SearchSpace, TraceView, Trial
from sandbox import Limits, MechanismHost, admit

from .mechanisms import source

SPACE = SearchSpace((ParamSpec("LR", "float", 0.1, low=0.0, high=1.0), ParamSpec("DEPTH", "int", 4, low=1, high=8)))
TRACE = TraceView((Trial(0, SPACE.defaults(), {}, "ok", 1.5, "baseline"),))
LIMITS = Limits(call_wall_s=0.5, load_wall_s=5.0, memory_bytes=512 << 20)


def filter_source(check_body: str, prelude: str = "") -> str:
    return textwrap.dedent(prelude) + "\n\nclass Probe:\n    def __init__(self, seed):\n        self.seen = 0\n\n" \
        "    def check(self, proposal, trace, space):\n" + textwrap.indent(textwrap.dedent(check_body).strip(), " " * 8) + \
        "\n\n\ndef build(seed):\n    return Probe(seed)\n"


def admitted(text: str, hook: str = "filter"):
    admission = admit(text, hook, verify=False)
    assert admission.admitted, admission.feedback()
    return admission


def _gone_within(pid: int, seconds: float) -> bool:
    """True once ``pid`` has exited (or is a zombie awaiting its reaper) within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if "State:\tZ" in Path(f"/proc/{pid}/status").read_text():
                return True
        except FileNotFoundError:
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def host():
    with MechanismHost(limits=LIMITS) as running:
        yield running


def test_a_filter_answers_through_the_host_and_is_counted(host: MechanismHost) -> None:
    loaded = host.load(admitted(source("tabu_filter")), seed=1)
    assert loaded.ok, loaded
    first = host.call(loaded.handle, Proposal({"LR": 0.2}), TRACE, SPACE)
    second = host.call(loaded.handle, Proposal({"LR": 0.2}), TRACE, SPACE)
    assert first.ok and first.value is None
    assert second.ok and "vetoed" in second.value
    counters = host.counters(loaded.handle)
    assert (counters.calls, counters.ok, counters.failed) == (2, 2, 0)
    assert counters.per_method == (("filter.check", 2),)


def test_records_are_rebuilt_in_the_host(host: MechanismHost) -> None:
    text = filter_source("return f'{len(trace)} {trace.best_metric()} {space.names} {proposal.changes[\"LR\"]}'")
    loaded = host.load(admitted(text), seed=0)
    assert host.call(loaded.handle, Proposal({"LR": 0.3}), TRACE, SPACE).value == "1 1.5 ('LR', 'DEPTH') 0.3"


def test_a_raising_mechanism_is_ejected_and_the_host_keeps_serving(host: MechanismHost) -> None:
    bad = host.load(admitted(filter_source("raise ValueError('boom')")), seed=0)
    good = host.load(admitted(source("tabu_filter")), seed=0)
    result = host.call(bad.handle, Proposal({"LR": 0.2}), TRACE, SPACE)
    assert (result.ok, result.code) == (False, "call-raised") and "boom" in result.message
    assert [e.code for e in host.ejections()] == ["call-raised"]
    assert host.call(bad.handle, Proposal({"LR": 0.2}), TRACE, SPACE).code == "not-loaded"
    assert host.call(good.handle, Proposal({"LR": 0.2}), TRACE, SPACE).ok
    assert host.pid_of(bad.handle) is None and host.pid_of(good.handle) is not None


HOSTILE_RETURNS = {
    "hostile-eq": "class Evil:\n    def __eq__(self, other):\n        return True\n",
    "tuple-subclass": "class Evil(tuple):\n    pass\n",
    "str-subclass": "class Evil(str):\n    pass\n",
    "dict-subclass": "class Evil(dict):\n    pass\n",
}


@pytest.mark.parametrize("prelude", HOSTILE_RETURNS.values(), ids=list(HOSTILE_RETURNS))
def test_objects_with_hostile_methods_never_cross_the_boundary(host: MechanismHost, prelude: str) -> None:
    loaded = host.load(admitted(filter_source("return Evil('x') if False else Evil()", prelude)), seed=0)
    result = host.call(loaded.handle, Proposal({"LR": 0.2}), TRACE, SPACE)
    assert (result.ok, result.code, result.value) == (False, "wrong-return-type", None)


def source_text(body: str) -> str:
    return "class Probe:\n    def __init__(self, seed):\n        self.seen = 0\n\n" \
        "    def propose(self, trace, space, config):\n" + textwrap.indent(textwrap.dedent(body).strip(), " " * 8) + \
        "\n\n\ndef build(seed):\n    return Probe(seed)\n"


def test_a_tuple_is_plain_data_and_arrives_as_a_list(host: MechanismHost) -> None:
    # A choice parameter whose values are tuples (Adam's betas) is answered with one of them.
    loaded = host.load(admitted(source_text("return {'BETAS': (0.9, (0.95, 0.99))}"), "source"), seed=0)
    result = host.call(loaded.handle, TRACE, SPACE, SearchConfig(active=("LR",)))
    assert result.ok, result
    assert result.value == {"BETAS": [0.9, [0.95, 0.99]]}


def test_returning_the_wrong_plain_type_is_ejected(host: MechanismHost) -> None:
    loaded = host.load(admitted(filter_source("return 42")), seed=0)
    assert host.call(loaded.handle, Proposal({"LR": 0.2}), TRACE, SPACE).code == "wrong-return-type"


def test_mutating_an_argument_fails_inside_the_host(host: MechanismHost) -> None:
    loaded = host.load(admitted(filter_source("proposal.changes['LR'] = 9\nreturn None")), seed=0)
    proposal = Proposal({"LR": 0.2})
    result = host.call(loaded.handle, proposal, TRACE, SPACE)
    assert result.code == "call-raised" and proposal.changes["LR"] == 0.2


def test_recursion_bomb_is_an_ordinary_failure(host: MechanismHost) -> None:
    text = filter_source("return self.deep(0)", "") .replace(
        "    def check(", "    def deep(self, n):\n        return self.deep(n + 1)\n\n    def check(")
    loaded = host.load(admitted(text), seed=0)
    result = host.call(loaded.handle, Proposal({"LR": 0.2}), TRACE, SPACE)
    assert result.code == "call-raised" and "RecursionError" in result.message


def test_an_endless_loop_is_cut_and_charged_to_the_loop_alone(host: MechanismHost) -> None:
    good = host.load(admitted(source("tabu_filter")), seed=0)
    assert host.call(good.handle, Proposal({"LR": 0.2}), TRACE, SPACE).value is None
    good_pid = host.pid_of(good.handle)
    looping = host.load(admitted(filter_source("while True:\n    self.seen += 1")), seed=0)
    looping_pid = host.pid_of(looping.handle)
    result = host.call(looping.handle, Proposal({"LR": 0.2}), TRACE, SPACE)
    assert result.code == "call-timeout"
    assert [(e.handle, e.code) for e in host.ejections()] == [(looping.handle, "call-timeout")]
    assert _gone_within(looping_pid, 3.0)
    # The other mechanism's process was never touched: its tabu list is intact, so it vetoes the repeat.
    assert host.pid_of(good.handle) == good_pid
    assert "vetoed" in host.call(good.handle, Proposal({"LR": 0.2}), TRACE, SPACE).value


def test_a_memory_bomb_costs_one_call_not_the_engine(host: MechanismHost) -> None:
    good = host.load(admitted(source("tabu_filter")), seed=0)
    bomb = host.load(admitted(filter_source("block = [0] * (10 ** 10)\nreturn None")), seed=0)
    result = host.call(bomb.handle, Proposal({"LR": 0.2}), TRACE, SPACE)
    assert result.code in ("call-raised", "host-died") and not result.ok
    assert host.call(good.handle, Proposal({"LR": 0.2}), TRACE, SPACE).ok


def test_unadmitted_or_tampered_code_is_not_loaded(host: MechanismHost) -> None:
    rejected = admit("import os\n", "filter", verify=False)
    assert host.load(rejected, seed=0).code == "not-admitted"
    good = admitted(source("tabu_filter"))
    from dataclasses import replace

    assert host.load(replace(good, source=good.source + "\nimport os\n"), seed=0).code == "digest-mismatch"


def test_host_environment_holds_no_secrets_and_an_empty_cwd(monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-value")
    with MechanismHost(limits=LIMITS) as host:
        pid = host.pid_of(host.load(admitted(source("tabu_filter")), seed=0).handle)
        environ = Path(f"/proc/{pid}/environ").read_bytes()
        cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
        assert b"sk-secret-value" not in environ and b"OPENAI_API_KEY" not in environ
        assert list(cwd.iterdir()) == []
        assert os.getpgid(pid) != os.getpgid(0)


def test_the_host_exits_when_its_parent_dies() -> None:
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        from sandbox import MechanismHost, admit
        text = open({str(Path(__file__).parent / 'mechanisms' / 'tabu_filter.py.txt')!r}).read()
        host = MechanismHost()
        print(host.pid_of(host.load(admit(text, 'filter', verify=False), seed=0).handle), flush=True)
        os._exit(0)  # no cleanup at all
    """)
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    pid = int(output.stdout.strip())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        status = Path(f"/proc/{pid}/status").read_text() if Path(f"/proc/{pid}/status").exists() else ""
        if "State:\tZ" in status:
            break
        time.sleep(0.1)
    alive = Path(f"/proc/{pid}/status").exists() and "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    assert not alive


@pytest.mark.parametrize("body", [
    "deque.append = None\nreturn None",
    "import operator\ng = (i for i in [1])\nreturn str(operator.attrgetter('gi_frame')(g))",
    "str.upper = None\nreturn None",
], ids=["stdlib-class-write", "attrgetter-frame", "builtin-type-write"])
def test_attacks_past_the_guard_stop_inside_the_host_which_stays_healthy(host: MechanismHost, body: str) -> None:
    good = host.load(admitted(source("tabu_filter")), seed=0)
    attack = host.load(admitted(filter_source(body, "from collections import deque")), seed=0)
    pid = host.pid_of(good.handle)
    result = host.call(attack.handle, Proposal({"LR": 0.2}), TRACE, SPACE)
    assert result.code == "call-raised" and "SandboxViolation" in result.message
    assert host.pid_of(good.handle) == pid
    assert host.call(good.handle, Proposal({"LR": 0.2}), TRACE, SPACE).ok
