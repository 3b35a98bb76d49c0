"""Single-underscore names: the mechanism's own, decided on the real object.

The guard and the restricted compiler let ``_x`` names and attributes through;
the run-time ``_getattr_``/``_write_private_`` allow an attribute only where
ordinary look-up finds it in the mechanism's own instance or class namespace.
"""

from __future__ import annotations

import random

import pytest

from sandbox import SandboxViolation, admit

from ._harness import attack_module, compile_errors, guard_codes, run_unguarded


def _runs(body: str):
    source = attack_module(body)
    assert guard_codes(source) == set()
    assert compile_errors(source) == ()
    return run_unguarded(source)


def test_own_instance_class_and_module_private_names_work() -> None:
    body = ("_CACHE = {}\n"
            "def _double(x):\n    return 2 * x\n"
            "class _Base:\n    _LIMIT = 2\n    def _score(self):\n        return self._LIMIT\n"
            "class A(_Base):\n    def __init__(self):\n        self._items = []\n"
            "    def add(self, x):\n        self._items.append(_double(x))\n"
            "        self._count = len(self._items)\n        self._count += 1\n"
            "        _CACHE[x] = self._score()\n        return self._items, self._count\n"
            "a = A()\na.add(1)\n"
            "return a.add(2), A._LIMIT, _CACHE, hasattr(a, '_missing'), getattr(a, '_missing', 'default')")
    assert _runs(body) == (([2, 4], 3), 2, {1: 2, 2: 2}, False, "default")


def test_deleting_an_own_private_attribute() -> None:
    assert _runs("class A:\n    pass\na = A()\na._x = 1\ndel a._x\nreturn hasattr(a, '_x')") is False


def test_a_missing_private_attribute_of_an_own_object_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        _runs("class A:\n    pass\nreturn A()._nothing")


def test_a_property_with_a_private_name() -> None:
    body = "class A:\n    @property\n    def _twice(self):\n        return 4\nreturn A()._twice"
    assert _runs(body) == 4


@pytest.mark.parametrize("body", [
    "import random\nreturn random.Random(1)._randbelow",                       # foreign instance
    # inherited from a foreign class
    "import random\nclass R(random.Random):\n    pass\nreturn R(1)._randbelow",
    "import random\nclass R(random.Random):\n    pass\nreturn R._randbelow",     # the same on the class
    "import statistics\nclass N(statistics.NormalDist):\n    pass\nreturn N(0, 1)._mu",  # a foreign slot
    "import math\nreturn getattr(math, '_x', None)",                            # a module proxy
    "return getattr([], '_x', None)",                                           # a builtin object
    "return getattr(build, '_x', None)",                                        # a function
])
def test_private_attributes_of_things_the_mechanism_did_not_define_are_refused(body: str) -> None:
    source = attack_module(body)
    with pytest.raises(SandboxViolation):
        run_unguarded(source)


def test_private_writes_need_an_own_object_and_no_foreign_slot() -> None:
    own = "class A:\n    pass\na = A()\na._x = 1\nA._y = 2\nreturn a._x, A._y, a._y"
    assert _runs(own) == (1, 2, 2)
    for body in ("d = {}\nd._x = 1", "import random\nr = random.Random(1)\nr._x = 1",
                 "import statistics\nclass N(statistics.NormalDist):\n    pass\nn = N(0, 1)\nn._sigma = -1.0",
                 "import random\nclass R(random.Random):\n    pass\nR._randbelow = None"):
        with pytest.raises(SandboxViolation):
            run_unguarded(attack_module(body))


def test_an_own_instance_may_shadow_an_inherited_method_for_itself_only() -> None:
    body = ("import random\nclass R(random.Random):\n    pass\n"
            "r = R(1)\nr._randbelow = lambda n: 0\n"
            "return r.randrange(10), [R(1).randrange(10) for _ in range(3)]")
    first, others = _runs(body)
    assert first == 0
    assert others == [random.Random(1).randrange(10)] * 3  # the other instances draw as usual


def test_enum_members_named_with_one_underscore_belong_to_the_enum() -> None:
    assert _runs("import enum\nclass K(enum.Enum):\n    _hidden = 1\n    A = 2\nreturn K._hidden.value") == 1


def test_private_names_reach_the_verify_child_and_pass_the_suite() -> None:
    source = ("from collections import deque\n\n"
              "class _Window:\n    def __init__(self):\n        self._seen = deque(maxlen=4)\n\n"
              "class Guard:\n    def __init__(self, seed):\n        self._window = _Window()\n\n"
              "    def check(self, proposal, trace, space):\n"
              "        key = tuple(sorted(proposal.changes))\n"
              "        if key in self._window._seen:\n            return 'repeat'\n"
              "        self._window._seen.append(key)\n        return None\n\n"
              "def build(seed):\n    return Guard(seed)\n")
    admission = admit(source, "filter")
    assert admission.admitted, admission.feedback()
