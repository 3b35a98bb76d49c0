"""Real attacks, each stopped by a named layer.

Every case states the guard's violation code and the deeper layer that stops
the same code when the guard is skipped: ``compile`` (RestrictedPython refuses
it) or ``runtime`` (the restricted environment raises). ``None`` for the guard
means the guard lets it through and only the deeper layer stops it.
"""

from __future__ import annotations

import pytest

from sandbox import SandboxViolation

from ._harness import attack_module, compile_errors, guard_codes, run_unguarded

# (id, body, guard code or None, deeper layer: "compile" | "runtime" | None)
ATTACKS = [
    # -- files, sockets, processes -------------------------------------------------
    ("open-file", "return open('/etc/passwd').read()", "forbidden-name", "runtime"),
    ("import-os", "import os\nreturn os.listdir('/')", "forbidden-import", "runtime"),
    ("import-subprocess", "import subprocess\nreturn subprocess.run(['id'])", "forbidden-import", "runtime"),
    ("import-socket", "import socket\nreturn socket.socket()", "forbidden-import", "runtime"),
    ("from-os-system", "from os import system\nreturn system('id')", "forbidden-import", "runtime"),
    ("import-sys", "import sys\nreturn sys.modules", "forbidden-import", "runtime"),
    ("import-builtins", "import builtins\nreturn builtins.open", "forbidden-import", "compile"),
    ("import-importlib", "import importlib\nreturn importlib.import_module('os')", "forbidden-import", "runtime"),
    ("import-os-path", "import os.path\nreturn os.path", "forbidden-import", "runtime"),
    ("relative-import", "from . import secrets\nreturn secrets", "forbidden-import", "runtime"),
    ("dunder-import", "return __import__('os')", "dunder-name", "compile"),
    ("import-ctypes", "import ctypes\nreturn ctypes.CDLL(None)", "forbidden-import", "runtime"),
    ("import-pickle", "import pickle\nreturn pickle.loads(b'')", "forbidden-import", "runtime"),
    ("import-time", "import time\nreturn time.time()", "forbidden-import", "runtime"),
    # -- eval and friends ----------------------------------------------------------
    ("eval", "return eval('1 + 1')", "forbidden-name", "compile"),
    ("exec", "exec('x = 1')", "forbidden-name", "compile"),
    ("compile", "return compile('1', 'f', 'eval')", "forbidden-name", "runtime"),
    ("globals", "return globals()['__builtins__']", "forbidden-name", "runtime"),
    ("locals", "return locals()", "forbidden-name", "runtime"),
    ("vars", "return vars()", "forbidden-name", "runtime"),
    ("breakpoint", "breakpoint()", "forbidden-name", "compile"),
    ("input", "return input()", "forbidden-name", "runtime"),
    ("builtins-subscript", "return __builtins__['open']", "dunder-name", "compile"),
    ("builtins-attribute", "return __builtins__.open", "dunder-name", "compile"),
    ("exit", "exit(0)", "forbidden-name", "runtime"),
    ("quit", "quit()", "forbidden-name", "runtime"),
    ("raise-system-exit", "raise SystemExit(0)", "forbidden-name", "runtime"),
    ("raise-keyboard-interrupt", "raise KeyboardInterrupt", "forbidden-name", "runtime"),
    ("memoryview", "return memoryview(b'x')", "forbidden-name", "runtime"),
    ("dir", "return dir()", "forbidden-name", "runtime"),
    # -- dunder walks to object.__subclasses__ -------------------------------------
    ("subclasses-walk", "return ().__class__.__bases__[0].__subclasses__()", "dunder-attribute", "compile"),
    ("mro-walk", "return (1).__class__.__mro__[1].__subclasses__()", "dunder-attribute", "compile"),
    ("object-subclasses", "return object.__subclasses__()", "dunder-attribute", "compile"),
    ("function-globals", "return attack.__globals__", "dunder-attribute", "compile"),
    ("function-code", "return attack.__code__", "dunder-attribute", "compile"),
    ("lambda-globals", "return (lambda: 0).__globals__", "dunder-attribute", "compile"),
    ("lambda-default", "f = lambda g=attack: g.__globals__\nreturn f()", "dunder-attribute", "compile"),
    ("comprehension-mro", "return [c for c in ().__class__.__mro__]", "dunder-attribute", "compile"),
    ("type-call", "return type(1)", "forbidden-name", "runtime"),
    ("type-build-class", "return type('X', (), {})", "forbidden-name", "runtime"),
    ("getattr-dunder", "return getattr((), '__class__')", "dunder-attribute", "runtime"),
    ("getattr-computed", "name = '__cl' + 'ass__'\nreturn getattr((), name)", "computed-attribute", "runtime"),
    ("getattr-frame", "g = (i for i in [1])\nreturn getattr(g, 'gi_frame')", "dunder-attribute", "runtime"),
    ("setattr", "setattr(attack, 'x', 1)", "forbidden-name", "runtime"),
    ("delattr", "delattr(attack, 'x')", "forbidden-name", "runtime"),
    # Single-underscore names are the mechanism's own (``_helper``, ``self._tabu``); what stays
    # refused is private state of objects it did not create, dunders, mangled names, sunder
    # names and the names of RestrictedPython's own helpers.
    ("private-attribute", "import random\nreturn random.Random(1)._randbelow(3)", "private-attribute", "runtime"),
    ("private-attribute-via-variable", "import random\nr = random.Random(1)\nreturn r._randbelow(3)", None,
     "runtime"),
    ("private-attribute-inherited", "import random\nclass R(random.Random):\n    pass\nreturn R(1)._randbelow(3)",
     None, "runtime"),
    ("private-slot-inherited", "import statistics\nclass N(statistics.NormalDist):\n    pass\nreturn N(0, 1)._mu",
     None, "runtime"),
    ("private-slot-write", "import statistics\nclass N(statistics.NormalDist):\n    def poke(self):\n"
     "        self._sigma = -1.0\nN(0, 1).poke()", None, "runtime"),
    ("private-class-write", "import random\nclass R(random.Random):\n    pass\nR._randbelow = None", None,
     "runtime"),
    ("private-attribute-of-list", "x = []\nreturn x._secret", None, "runtime"),
    ("private-attribute-of-function", "return build._secret", None, "runtime"),
    ("private-write-to-function", "build._secret = 1", None, "runtime"),
    ("private-write-to-container", "d = {}\nd._secret = 1", None, "runtime"),
    ("private-module-write", "import math\nmath._secret = 1", "module-write", "runtime"),
    ("getattr-private-foreign", "import random\nreturn getattr(random.Random(1), '_randbelow')(3)", None,
     "runtime"),
    ("dunder-private-name", "__hidden = 1\nreturn __hidden", "dunder-name", "compile"),
    ("mangled-class-attribute", "class A:\n    __secret = 1\nreturn A", "dunder-name", "compile"),
    ("sunder-name", "_hidden_ = 1\nreturn _hidden_", "private-name", "compile"),
    ("sunder-attribute", "import enum\nclass K(enum.Enum):\n    A = 1\nreturn K.A._value_", "private-attribute",
     "compile"),
    ("enum-internal-map", "import enum\nclass K(enum.Enum):\n    A = 1\nreturn K._member_map_",
     "private-attribute", "compile"),
    ("rebind-getattr-guard", "_getattr_ = lambda obj, name: 1\nreturn ().__class__", "private-name", "compile"),
    ("rebind-write-guard", "_write_ = lambda obj: obj", "private-name", "compile"),
    ("rebind-print-collector", "_print = None\nprint('x')", "private-name", "compile"),
    ("generated-temporary-name", "_tmp0 = 1\nreturn _tmp0", "private-name", "compile"),
    ("super-init", "return super().__init__()", "forbidden-name", "compile"),
    # -- format-string attribute access --------------------------------------------
    # str.format is admitted; the run-time guard hands out a version that refuses any field
    # with attribute or index access, however the template was built.
    ("str-format", "return '{0.__class__}'.format(1)", "dunder-string", "runtime"),
    ("str-format-computed", "t = '{0.' + '__class__}'\nreturn t.format(1)", None, "runtime"),
    ("str-format-index", "return '{0[0]}'.format(['secret'])", None, "runtime"),
    ("str-format-nested-spec", "return '{0:{1.real}}'.format(1, 2)", None, "runtime"),
    ("str-format-map", "return '{x.__class__}'.format_map({'x': 1})", "format-method", "runtime"),
    ("str-format-unbound", "return str.format('{0.__class__}', 1)", "dunder-string", "runtime"),
    ("str-format-unbound-computed", "f = str.format\nreturn f('{0.' + 'real}', 1)", None, "runtime"),
    ("str-subclass-format", "class S(str):\n    pass\nreturn S('{0.' + 'real}').format(1)", None, "runtime"),
    ("format-via-methodcaller", "import operator\nreturn operator.methodcaller('format', 1)('{0.' + 'real}')",
     None, "runtime"),
    ("string-formatter", "import string\nreturn string.Formatter().format('{0.__class__}', 1)",
     "forbidden-import", "runtime"),
    ("from-string-formatter", "from string import Formatter\nreturn Formatter", "forbidden-import", "runtime"),
    ("string-template", "import string\nreturn string.Template('$x')", "forbidden-import", "runtime"),
    ("fstring-dunder", "return f'{attack.__globals__}'", "dunder-attribute", "compile"),
    ("format-string-plain", "s = '{0.__globals__}'\nreturn s", "dunder-string", None),
    ("bare-fstring-statement", "f'{attack.__globals__}'", "dunder-attribute", "compile"),
    ("docstring-like-concatenation", "x = 'a' '__globals__'\nreturn x", "dunder-string", None),
    # -- frames and tracebacks -----------------------------------------------------
    ("generator-frame", "g = (i for i in [1])\nreturn g.gi_frame.f_back.f_globals", "frame-attribute", "compile"),
    ("generator-function-frame", "def gen():\n    yield 1\nreturn gen().gi_frame.f_back", "frame-attribute",
     "compile"),
    ("generator-code", "g = (i for i in [1])\nreturn g.gi_code.co_code", "frame-attribute", "compile"),
    ("traceback-frame", "try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    return e.__traceback__.tb_frame",
     "dunder-attribute", "compile"),
    ("exception-context", "try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    return e.__context__",
     "dunder-attribute", "compile"),
    # -- classes, metaclasses, decorators ------------------------------------------
    ("metaclass-keyword", "class M:\n    pass\nclass X(metaclass=M):\n    pass", "forbidden-metaclass",
     "compile"),
    ("type-subclass", "class M(type):\n    pass\nreturn M", "forbidden-name", "runtime"),
    ("init-subclass", "class X:\n    def __init_subclass__(cls):\n        pass", "dunder-method", "compile"),
    ("getattr-hook", "class X:\n    def __getattr__(self, name):\n        return 1", "dunder-method", "compile"),
    ("del-hook", "class X:\n    def __del__(self):\n        pass", "dunder-method", "compile"),
    ("reduce-hook", "class X:\n    def __reduce__(self):\n        return (1,)", "dunder-method", "compile"),
    ("class-getitem", "class X:\n    def __class_getitem__(cls, item):\n        return 1", "dunder-method",
     "compile"),
    ("slots", "class X:\n    __slots__ = ()", "dunder-name", "compile"),
    ("module-override", "class X:\n    __module__ = 'os'", "dunder-name", "compile"),
    ("decorator-lambda", "@(lambda f: f.__globals__)\ndef g():\n    pass\nreturn g", "dunder-attribute",
     "compile"),
    ("decorator-open", "@open\ndef g():\n    pass\nreturn g", "forbidden-decorator", "runtime"),
    ("decorator-eval", "@eval\ndef g():\n    pass", "forbidden-decorator", "runtime"),
    # -- modules that lead to sys ----------------------------------------------------
    ("dataclasses-sys", "import dataclasses\nreturn dataclasses.sys.modules", "forbidden-import", "runtime"),
    ("from-dataclasses-sys", "from dataclasses import sys\nreturn sys", "forbidden-import", "runtime"),
    ("collections-sys", "import collections\nreturn collections.sys", "forbidden-import", "runtime"),
    ("typing-sys", "import typing\nreturn typing.sys", "forbidden-import", "runtime"),
    ("typing-get-type-hints", "import typing\nreturn typing.get_type_hints", "forbidden-import", "runtime"),
    ("functools-wraps", "import functools\nreturn functools.wraps", "forbidden-import", "runtime"),
    ("re-functools", "import re\nreturn re.functools", "forbidden-import", "runtime"),
    ("enum-sys", "import enum\nreturn enum.sys", "forbidden-import", "runtime"),
    ("decimal-getcontext", "import decimal\nreturn decimal.getcontext()", "forbidden-import", "runtime"),
    ("decimal-localcontext", "import decimal\ndef gen():\n    with decimal.localcontext(prec=2):\n"
     "        yield 1\ng = gen()\nnext(g)", "forbidden-import", "runtime"),
    ("random-internal-instance", "import random\nreturn random._inst", "private-attribute", "runtime"),
    ("operator-attrgetter", "import operator\nreturn operator.attrgetter('__globals__')(attack)", "dunder-string",
     "runtime"),
    ("operator-attrgetter-alias", "from operator import attrgetter as g\nreturn g('__globals__')(attack)",
     "dunder-string", "runtime"),
    ("operator-methodcaller", "import operator\nreturn operator.methodcaller('__reduce_ex__', 2)(attack)",
     "dunder-string", "runtime"),
    ("attrgetter-frame", "import operator\ng = (i for i in [1])\nreturn operator.attrgetter('gi_frame')(g)",
     None, "runtime"),
    # -- the global RNG ---------------------------------------------------------------
    ("global-random", "import random\nreturn random.random()", "global-rng", "runtime"),
    ("global-seed", "import random\nrandom.seed(0)", "global-rng", "runtime"),
    ("from-random-choice", "from random import choice\nreturn choice([1])", "global-rng", "runtime"),
    ("system-random", "import random\nreturn random.SystemRandom()", "global-rng", "runtime"),
    # -- homoglyphs (NFKC folds these to ASCII) ------------------------------------------
    ("fullwidth-eval", "return \uff45\uff56\uff41\uff4c('1')", "forbidden-name", "compile"),
    ("fullwidth-open", "return \uff4f\uff50\uff45\uff4e('/etc/passwd')", "forbidden-name", "runtime"),
    ("fullwidth-dunder", "return ().__\uff43\uff4c\uff41\uff53\uff53__", "dunder-attribute", "compile"),
    ("mathematical-type", "return \U0001d42d\U0001d432\U0001d429\U0001d41e(1)", "forbidden-name", "runtime"),
    # -- shared state the code did not create --------------------------------------------
    ("module-write", "import math\nmath.pi = 3", "module-write", "runtime"),
    ("class-method-write", "import random\nrandom.Random.random = lambda self: 4", "module-write", "runtime"),
    ("stdlib-class-write", "from collections import deque\ndeque.append = None", None, "runtime"),
    ("builtin-type-write", "str.upper = None", None, "runtime"),
    ("function-write", "attack.secret = 1", None, "runtime"),
    ("augmented-module-write", "import math\nmath.pi += 1", "module-write", "runtime"),
    ("augmented-class-write", "import random\nrandom.Random.VERSION += 1", "module-write", "runtime"),
    ("augmented-dunder-item", "attack.__dict__['x'] += 1", "dunder-attribute", "compile"),
    ("augmented-private-attribute", "import random\nr = random.Random(1)\nr._x += 1", None, "runtime"),
    ("augmented-sunder-attribute", "class A:\n    pass\na = A()\na._x_ += 1", "private-attribute", "compile"),
    # -- syntax that has no place in a mechanism -----------------------------------------
    ("global-statement", "global leaked\nleaked = 1", "global-statement", None),
    # -- forbidden names: a variable of that name is fine, the builtin never exists -----------
    ("forbidden-name-bound-elsewhere", "def f(type):\n    return type\nreturn type(1)", None, "runtime"),
    ("forbidden-name-bound-in-class-only", "class A:\n    def open(self):\n        return 1\nreturn open('x')",
     "forbidden-name", "runtime"),
    ("eval-even-if-bound", "eval = len\nreturn eval('x')", "forbidden-name", "compile"),
    # -- only the exact __main__ form is ignored ---------------------------------------------
    ("main-block-with-else", "if __name__ == '__main__':\n    pass\nelse:\n    pass", "dunder-name", "compile"),
    ("main-block-negated", "if __name__ != '__main__':\n    pass", "dunder-name", "compile"),
    ("main-block-with-extra-test", "if __name__ == '__main__' or True:\n    pass", "dunder-name", "compile"),
    ("async-def", "async def f():\n    return 1\nreturn f", "async-not-allowed", "compile"),
    ("try-star", "try:\n    pass\nexcept* ValueError:\n    pass", "forbidden-syntax", "compile"),
    ("star-import", "from math import *", "star-import", "compile"),
]

_RUNTIME_STOPS = (SandboxViolation, AttributeError, NameError, ImportError, NotImplementedError, TypeError)


@pytest.mark.parametrize("body, guard_code", [pytest.param(b, g, id=i) for i, b, g, _ in ATTACKS if g])
def test_guard_names_the_attack(body: str, guard_code: str) -> None:
    assert guard_code in guard_codes(attack_module(body))


@pytest.mark.parametrize("body", [pytest.param(b, id=i) for i, b, _, layer in ATTACKS if layer == "compile"])
def test_restricted_compile_refuses_the_attack_without_the_guard(body: str) -> None:
    assert compile_errors(attack_module(body))


@pytest.mark.parametrize("body", [pytest.param(b, id=i) for i, b, _, layer in ATTACKS if layer == "runtime"])
def test_runtime_environment_stops_the_attack_without_the_guard(body: str) -> None:
    source = attack_module(body)
    assert not compile_errors(source), "this case is meant to reach the run-time layer"
    with pytest.raises(_RUNTIME_STOPS):
        run_unguarded(source)


def test_there_are_many_attacks() -> None:
    assert len(ATTACKS) >= 60


def test_every_violation_is_reported_not_just_the_first() -> None:
    source = attack_module("import os\nreturn eval(open('x').read()).__class__")
    assert {"forbidden-import", "forbidden-name", "dunder-attribute"} <= guard_codes(source)


def test_missing_entry_point_is_reported() -> None:
    assert "missing-entry-point" in guard_codes("def make(seed):\n    return None\n")


def test_oversized_and_overdeep_sources_are_refused_before_parsing() -> None:
    from sandbox import parse_stage

    huge = "x = 1\n" * 20_000
    deep = "x = " + "(" * 200 + "1" + ")" * 200 + "\n"
    assert {v.code for v in parse_stage(huge).violations} == {"too-large"}
    assert {v.code for v in parse_stage(deep).violations} == {"too-deep"}


def test_syntax_errors_carry_line_and_column() -> None:
    from sandbox import parse_stage

    result = parse_stage("x = 1\ndef broken(:\n    pass\n")
    assert not result.ok
    (violation,) = result.violations
    assert violation.code == "syntax-error" and violation.line == 2 and violation.col >= 0
