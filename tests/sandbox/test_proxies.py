"""Attacks on the curated module proxies, written against their source.

Each attack gets past the guard (its literals name nothing suspicious), so
only the run-time environment stands between it and the engine. Each one is
run through the real restricted compile and load and must be stopped there:
by a :class:`SandboxViolation`, or by the library itself refusing the crafted
input (``ValueError``/``TypeError``) after the environment has handed it exact
strings.
"""

from __future__ import annotations

import fractions
import random

import pytest

from sandbox import SandboxViolation

from ._harness import attack_module, guard_codes, run_unguarded

# A str-mixin enum prints as "K.D" but its characters spell the dunder.
LYING_ENUM = "import enum\nclass K(str, enum.Enum):\n    D = '__' + 'globals' + '__'\n"
LYING_SUBCLASS = "class S(str):\n    def split(self, sep=None):\n        return ['real']\n" \
                 "    def startswith(self, prefix):\n        return False\nD = S('__' + 'globals' + '__')\n"


def _stopped(body: str, expected: type[BaseException] = SandboxViolation) -> BaseException:
    source = attack_module(body)
    # The guard cannot see these; at most it asks for a literal getattr name, which is advice,
    # not a boundary.
    assert guard_codes(source) <= {"computed-attribute"}, "these attacks are the ones the guard cannot see"
    with pytest.raises(expected) as caught:
        run_unguarded(source)
    return caught.value


def test_the_enum_string_really_lies() -> None:
    # The premise of the attacks below: the value's str() and its characters differ.
    body = LYING_ENUM + "return str(K.D), ''.join([K.D])"
    assert run_unguarded(attack_module(body)) == ("K.D", "__globals__")


def test_a_lying_attrgetter_name_cannot_walk_a_function_s_globals_to_os() -> None:
    # The confirmed escape: attrgetter checked str(name) and handed the real string to the
    # C attrgetter; operator.attrgetter is a Python function of the engine, its globals hold
    # importlib, and importlib.import_module('os') is in importlib.__all__.
    body = LYING_ENUM + "import operator\ng = operator.attrgetter(K.D)(operator.attrgetter)\n" \
                        "return g['importlib'].import_module('os').getpid()"
    assert "__globals__" in str(_stopped(body))


@pytest.mark.parametrize("prelude", [LYING_ENUM, LYING_SUBCLASS], ids=["str-enum", "str-subclass"])
@pytest.mark.parametrize("reach", [
    "import operator\nreturn operator.attrgetter(K.D)(build)",
    "import operator\nreturn operator.attrgetter('real', K.D)(build)",
    "import operator\nreturn operator.methodcaller(K.D)(build)",
    "return getattr(build, K.D)",
    "return getattr(build, K.D, None)",
    "from operator import attrgetter\nreturn attrgetter(K.D)(attrgetter)['importlib']",
], ids=["attrgetter", "attrgetter-several", "methodcaller", "getattr", "getattr-default",
        "attrgetter-own-globals"])
def test_a_name_whose_string_form_lies_is_checked_by_its_characters(prelude: str, reach: str) -> None:
    body = prelude.replace("D = S(", "class K:\n    pass\nK.D = S(") if prelude is LYING_SUBCLASS else prelude
    _stopped(body + reach)


def test_a_dotted_name_is_split_on_its_real_characters() -> None:
    # The subclass's split() claims there is only 'real'; the check splits the copied characters.
    _stopped(LYING_SUBCLASS + "import operator\nreturn operator.attrgetter(S('real.__' + 'class__'))(1)")


def test_hasattr_with_a_lying_name_answers_false() -> None:
    assert run_unguarded(attack_module(LYING_ENUM + "return hasattr(build, K.D)")) is False


@pytest.mark.parametrize("name", ["K.A", "1", "None", "b'__class__'"])
def test_names_that_are_not_strings_at_all_are_refused(name: str) -> None:
    prelude = "import enum, operator\nclass K(enum.IntEnum):\n    A = 0\n"
    for reach in (f"return getattr(build, {name})", f"return operator.attrgetter({name})(build)",
                  f"return operator.methodcaller({name})(build)"):
        assert "must be a string" in str(_stopped(prelude + reach))


def test_an_int_subclass_index_is_only_an_index() -> None:
    body = "import enum, operator\nclass K(enum.IntEnum):\n    B = 1\n" \
           "return [10, 20][K.B], operator.itemgetter(K.B)('ab'), '{0}'.format(K.B)"
    assert run_unguarded(attack_module(body)) == (20, "b", "1")


def test_a_format_template_whose_string_form_lies_is_checked_by_its_characters() -> None:
    prelude = "import enum\nclass T(str, enum.Enum):\n    X = '{0.' + 'real}'\n"
    _stopped(prelude + "return T.X.format(1)")
    _stopped(prelude + "return str.format(T.X, 1)")


def test_the_checked_format_exposes_nothing_but_itself() -> None:
    _stopped("f = '{}'.format\ng = getattr(f, 'func')\nreturn getattr(g, '__glo' + 'bals__')")


# -- enum --------------------------------------------------------------------------------------

def test_the_functional_enum_api_cannot_plant_a_reducer_that_copy_calls() -> None:
    # With the real enum.Enum this writes limit_denominator on the shared Fraction class:
    # the names become class attributes unchecked, and copy.copy calls __reduce_ex__ and
    # setattr()s the state it returns on whatever the reducer's callable returned.
    original = fractions.Fraction.limit_denominator
    body = ("import enum, copy, fractions\n"
            "def reduce(self, protocol):\n"
            "    return (lambda: fractions.Fraction, (), (None, {'limit_denominator': 'patched'}))\n"
            "names = {'A': 1, '__co' + 'py__': None, '__reduce' + '_ex__': reduce}\n"
            "E = enum.Enum('E', names)\n"
            "copy.copy(E.A)")
    assert "functional Enum API" in str(_stopped(body))
    assert fractions.Fraction.limit_denominator is original


@pytest.mark.parametrize("call", ["enum.Enum('E', 'A B')", "enum.IntEnum('E', [('A', 1)])",
                                  "enum.Flag('E', 'A', module='os')", "enum.Enum('E', 'A', type=str)"])
def test_every_form_of_the_functional_enum_api_is_refused(call: str) -> None:
    _stopped(f"import enum\nreturn {call}")


def test_enum_bases_are_shared_and_not_writable() -> None:
    _stopped("import enum\nbase = enum.Enum\nbase.marker = 1")


# -- collections.namedtuple and typing.NamedTuple ---------------------------------------------

CRAFTED_FIELD = "class S(str):\n    def isidentifier(self):\n        return True\n" \
                "    def startswith(self, prefix):\n        return False\n" \
                "bad = S('x=().__cl' + 'ass__.__ba' + 'se__')\n"


def test_namedtuple_field_names_are_validated_on_their_characters() -> None:
    # namedtuple builds its __new__ with eval(); a name that passes isidentifier() by lying
    # would inject code there.
    _stopped(CRAFTED_FIELD + "import collections\nreturn collections.namedtuple('P', [bad, 'y'])", ValueError)
    _stopped(CRAFTED_FIELD + "import collections\nreturn collections.namedtuple(bad, 'a b')", ValueError)
    _stopped(CRAFTED_FIELD + "import collections\nreturn collections.namedtuple('P', bad)", ValueError)


def test_namedtuple_module_cannot_be_chosen() -> None:
    _stopped("import collections\nreturn collections.namedtuple('P', 'a', module='sandbox._environment')",
             TypeError)


def test_typing_namedtuple_refuses_crafted_and_underscore_field_names() -> None:
    _stopped(CRAFTED_FIELD + "import typing\nreturn typing.NamedTuple('P', [(bad, int)])", ValueError)
    _stopped("import typing\nreturn typing.NamedTuple('P', [('_x', int)])", ValueError)
    _stopped("import typing\nreturn typing.NamedTuple('P', **{'__reduce' + '_ex__': int})", ValueError)


def test_a_namedtuple_belongs_to_the_mechanism_that_made_it() -> None:
    body = ("import collections, typing\nP = collections.namedtuple('P', 'a b', defaults=[0])\n"
            "Q = typing.NamedTuple('Q', [('a', int)])\n"
            "return P(1)._replace(b=2), Q(3)._asdict(), P._make([4, 5]), P._fields, P._field_defaults")
    assert run_unguarded(attack_module(body)) == ((1, 2), {"a": 3}, (4, 5), ("a", "b"), {"b": 0})


# -- decorators that rewrite the class they are given --------------------------------------------

@pytest.mark.parametrize("call", [
    "import dataclasses, random\ndataclasses.dataclass(random.Random)",
    "import dataclasses, random\ndataclasses.dataclass(frozen=True)(random.Random)",
    "import dataclasses, fractions\ndataclasses.dataclass(fractions.Fraction)",
    "import functools, fractions\nfunctools.total_ordering(fractions.Fraction)",
    "import functools, collections\nfunctools.total_ordering(collections.Counter)",
])
def test_class_rewriting_decorators_refuse_shared_classes(call: str) -> None:
    before = dict(vars(random.Random))
    assert "classes the mechanism defines" in str(_stopped(call))
    assert dict(vars(random.Random)) == before


# -- abstract base classes ---------------------------------------------------------------------

@pytest.mark.parametrize("reach", [
    "import typing\ntyping.Mapping.register(int)",
    "import typing\ntyping.Hashable.register(list)",
    "import typing, operator\noperator.attrgetter('register')(typing.Sequence)(int)",
    "import typing\nreturn getattr(typing.Iterable, 'register')",
])
def test_shared_abstract_base_classes_cannot_gain_members(reach: str) -> None:
    # Registering int as a Mapping would change isinstance() for every caller in the process.
    _stopped(reach)
    assert not isinstance(1, __import__("collections.abc").abc.Mapping)


def test_an_own_abstract_base_class_may_register() -> None:
    body = ("import typing\nclass M(typing.Mapping):\n    def keys(self):\n        return []\n"
            "M.register(int)\nreturn isinstance(1, M)")
    assert run_unguarded(attack_module(body)) is True


# -- copy --------------------------------------------------------------------------------------

def test_copy_of_crafted_own_objects_copies_and_writes_nothing_shared() -> None:
    body = ("import copy, random\nclass R(random.Random):\n    pass\n"
            "class Box:\n    def __init__(self):\n        self._rng = R(3)\n        self._seen = [1]\n"
            "        self.fn = random.Random.random\n"
            "a = Box()\nb = copy.deepcopy(a)\nb._seen.append(2)\nc = copy.copy(a)\n"
            "return a._seen, b._seen, c._seen is a._seen, b._rng.random() == R(3).random(), b.fn is a.fn")
    assert run_unguarded(attack_module(body)) == ([1], [1, 2], True, True, True)


@pytest.mark.parametrize("target", ["copy", "(i for i in [1])"])
def test_copying_modules_and_generators_fails(target: str) -> None:
    _stopped(f"import copy\nreturn copy.deepcopy({target})", TypeError)


# -- own classes that inherit from allowed classes ----------------------------------------------

def test_an_own_subclass_may_change_itself_but_not_its_shared_base() -> None:
    source = attack_module(
        "import random, collections, enum\n"
        "class R(random.Random):\n    pass\n"
        "R.random = lambda self: 0.5\n"
        "r = R(1)\nr._randbelow = lambda n: 0\n"
        "class D(dict):\n    pass\nD.marker = 1\n"
        "class K(enum.Enum):\n    A = 1\nK.A.note = 'own'\n"
        "return r.random(), r.randrange(10), D.marker, K.A.note")
    assert run_unguarded(source) == (0.5, 0, 1, "own")
    assert random.Random(1).random() == pytest.approx(0.13436424411240122)
    for shared in ("import random\nrandom.Random.random = None",
                   "import collections\ncollections.Counter.x = 1",
                   "import collections\ncollections.OrderedDict.x = 1",
                   "import fractions\nfractions.Fraction.x = 1"):
        source = attack_module(shared)
        with pytest.raises(SandboxViolation):
            run_unguarded(source)


def test_decimal_contexts_are_private_objects() -> None:
    body = ("import decimal\nctx = decimal.Context(prec=3)\n"
            "return str(ctx.divide(decimal.Decimal(1), decimal.Decimal(7))), str(decimal.Decimal(1) / 7)")
    assert run_unguarded(attack_module(body)) == ("0.143", "0.1428571428571428571428571429")
    _stopped("import decimal\nctx = decimal.Context(prec=3)\nctx.prec = 50")
