"""dict's mutating methods called on the class write past FrozenDict's refusals: the guard refuses them."""

from __future__ import annotations

import pytest

from interfaces import ParamSpec, Proposal, SearchSpace, TraceView, Trial
from sandbox import MechanismHost, admit

SPACE = SearchSpace((ParamSpec("LR", "float", 0.1, low=0.0, high=1.0),))
TRACE = TraceView((Trial(0, SPACE.defaults(), {}, "ok", 1.5, "baseline"),))

ROUTES = ["dict.update(proposal.changes, {'LR': 9.0})", "dict.clear(proposal.changes)",
          "dict.pop(proposal.changes, 'LR')", "dict.popitem(proposal.changes)",
          "dict.setdefault(proposal.changes, 'X', 1)", "getattr(dict, 'update')(proposal.changes, {'X': 1})",
          "Counter.update(proposal.changes, {'X': 1})", "OrderedDict.clear(proposal.changes)",
          "defaultdict.update(proposal.changes, {'X': 1})"]


def mechanism(route: str) -> str:
    return ("from collections import Counter, OrderedDict, defaultdict\n\n\nclass Probe:\n"
            "    def __init__(self, seed):\n        self.memory = {}\n\n"
            "    def check(self, proposal, trace, space):\n"
            "        self.memory.update({'seen': 1})  # an instance's own dict keeps its methods\n"
            f"        {route}\n        return None\n\n\ndef build(seed):\n    return Probe(seed)\n")


@pytest.mark.parametrize("route", ROUTES)
def test_a_dict_method_read_off_the_class_is_refused_in_the_host(route: str) -> None:
    admission = admit(mechanism(route), "filter", verify=False)
    assert admission.admitted, admission.feedback()
    proposal = Proposal({"LR": 0.2})
    with MechanismHost() as host:
        handle = host.load(admission, seed=0).handle
        result = host.call(handle, proposal, TRACE, SPACE)
    assert (result.ok, result.code) == (False, "call-raised")
    assert "writes into any dict" in result.message
    assert dict(proposal.changes) == {"LR": 0.2}
