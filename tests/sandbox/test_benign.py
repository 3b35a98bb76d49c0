"""Benign code a good model writes must pass every static stage and run.

A false rejection is a defect: each case here is ordinary Python that a
mechanism legitimately needs.
"""

from __future__ import annotations

import pytest

from sandbox import admit

from ._harness import compile_errors, guard_codes, run_unguarded
from .mechanisms import source

SNIPPETS = {
    "tabu-deque": "from collections import deque\nq = deque(maxlen=3)\nfor i in range(5):\n    q.append(i)\n"
                  "return list(q)",
    "bandit-rng": "import random\nrng = random.Random(7)\nreturn [rng.random() < 0.1 for _ in range(3)]",
    "sort-key-lambda": "pairs = [('b', 2), ('a', 3)]\nreturn sorted(pairs, key=lambda p: (-p[1], p[0]))",
    "fstring": "x = 3.14159\nreturn f'{x:.2f} and {x!r} and {len([1, 2])}'",
    "dataclass-helper": "from dataclasses import dataclass, field\n@dataclass\nclass Stat:\n    name: str\n"
                        "    count: int = 0\n    seen: list = field(default_factory=list)\ns = Stat('a')\n"
                        "s.count += 2\ns.seen.append(1)\nreturn (s.name, s.count, s.seen)",
    "frozen-dataclass": "from dataclasses import dataclass, replace\n@dataclass(frozen=True)\nclass P:\n"
                        "    x: int\nreturn replace(P(1), x=2).x",
    "typing-annotations": "from typing import Optional, Dict, List\ndef f(a: Optional[int], b: Dict[str, List[int]]) "
                          "-> List[int]:\n    return b.get('k', []) + ([a] if a is not None else [])\n"
                          "return f(1, {'k': [2]})",
    "comprehensions": "d = {k: v * 2 for k, v in {'a': 1}.items()}\ns = {x % 3 for x in range(10)}\n"
                      "return [x for x in range(5) if x % 2], d, sorted(s), list(x * x for x in range(3))",
    "math-functions": "import math\nreturn math.log(math.e), math.sqrt(16.0), math.isfinite(1.0), math.inf > 1",
    "statistics-mean": "import statistics\nreturn statistics.mean([1, 2, 3]), statistics.median([3, 1, 2])",
    "tuple-unpacking": "a, (b, c) = 1, (2, 3)\nfor i, (x, y) in enumerate([(1, 2)]):\n    a += x + y\n"
                       "first, *rest = [1, 2, 3]\nreturn a, b, c, first, rest",
    "augmented-assignment": "class C:\n    def __init__(self):\n        self.n = 0\n        self.d = {'k': 1}\n"
                            "c = C()\nc.n += 5\nc.d['k'] *= 3\nitems = [1]\nitems += [2]\nreturn c.n, c.d, items",
    "try-except": "try:\n    int('x')\nexcept ValueError as error:\n    return 'bad: ' + str(error.args[0])[:10]",
    "methods-calling-each-other": "class A:\n    def __init__(self, k):\n        self.k = k\n"
                                  "    def double(self):\n        return self.k * 2\n"
                                  "    def quad(self):\n        return self.double() * 2\nreturn A(3).quad()",
    "heapq-bisect": "import heapq, bisect\nh = []\nfor x in [5, 1, 3]:\n    heapq.heappush(h, x)\n"
                    "a = [1, 3, 5]\nbisect.insort(a, 4)\nreturn heapq.heappop(h), a",
    "itertools-functools": "import itertools, functools, operator\n"
                           "return list(itertools.combinations([1, 2, 3], 2)), functools.reduce(operator.add, [1, 2, 3])",
    "counter-defaultdict": "from collections import Counter, defaultdict\nc = Counter('abca')\nd = defaultdict(list)\n"
                           "d['x'].append(1)\nreturn c.most_common(1), dict(d)",
    "enum-class": "from enum import Enum\nclass Mode(Enum):\n    EXPLORE = 'explore'\n    EXPLOIT = 'exploit'\n"
                  "return Mode('explore').name, [m.value for m in Mode]",
    "property-and-staticmethod": "class A:\n    def __init__(self):\n        self.v = 2\n    @property\n"
                                 "    def twice(self):\n        return self.v * 2\n    @staticmethod\n"
                                 "    def unit():\n        return 1\nreturn A().twice + A.unit()",
    "getattr-literal": "class A:\n    x = 1\nreturn getattr(A(), 'x', 0), getattr(A(), 'missing', 5), hasattr(A(), 'x')",
    "comparison-dunders": "class V:\n    def __init__(self, v):\n        self.v = v\n    def __lt__(self, other):\n"
                          "        return self.v < other.v\n    def __eq__(self, other):\n        return self.v == other.v\n"
                          "return [v.v for v in sorted([V(2), V(1)])]",
    "fractions-decimal": "from fractions import Fraction\nfrom decimal import Decimal\n"
                         "return str(Fraction(1, 3) + Fraction(1, 6)), str(Decimal('0.1') + Decimal('0.2'))",
    "regex-and-string": "import re, string\nreturn re.findall(r'[A-Z]+', 'lr=LR wd=WD'), string.ascii_lowercase[:3]",
    "copy-deepcopy": "import copy\nd = {'a': [1]}\ne = copy.deepcopy(d)\ne['a'].append(2)\nreturn d, e",
    "walrus-and-ifexp": "xs = [1, 5, 9]\nreturn [y for x in xs if (y := x * 2) > 4], ('big' if len(xs) > 2 else 'small')",
    "underscore-loop-variable": "total = 0\nfor _ in range(3):\n    total += 1\nreturn total",
    "print-is-collected": "print('debugging output')\nreturn 1",
    "generator-function": "def gen(n):\n    for i in range(n):\n        yield i * i\nreturn list(gen(4))",
    "module-string-join": "parts = ['a', 'b']\nreturn '_'.join(parts) + ', '.join(parts)",
    # -- forms strong models write that used to be refused -----------------------------------
    "private-attributes-and-helpers": "from collections import deque\ndef _clip(x):\n    return min(x, 9)\n"
                                      "class T:\n    def __init__(self):\n        self._tabu = deque(maxlen=2)\n"
                                      "    def _push(self, x):\n        self._tabu.append(_clip(x))\n"
                                      "        return list(self._tabu)\nt = T()\nt._push(20)\nreturn t._push(3)",
    "namedtuple-methods": "from collections import namedtuple\nP = namedtuple('P', 'x y')\np = P(1, 2)\n"
                          "return p._replace(y=5), p._asdict(), P._make([7, 8]), P._fields, "
                          "namedtuple('Q', 'a')._make([1]).a",
    "typing-namedtuple-methods": "from typing import NamedTuple\nclass P(NamedTuple):\n    x: int\n"
                                 "    y: int = 0\nreturn P(1)._replace(y=3), P._field_defaults",
    "nonlocal-closure": "def counter():\n    n = 0\n    def bump():\n        nonlocal n\n        n += 1\n"
                        "        return n\n    return bump\nc = counter()\nc()\nreturn c()",
    "raise-from": "class BadSpace(ValueError):\n    pass\ntry:\n    try:\n        int('x')\n"
                  "    except ValueError as error:\n        raise BadSpace('no') from error\n"
                  "except BadSpace as error:\n    return str(error)",
    "raise-from-none": "try:\n    try:\n        {}['k']\n    except KeyError:\n        raise ValueError('k') from None\n"
                       "except ValueError as error:\n    return error.args",
    "yield-from": "def inner():\n    yield 1\n    yield 2\ndef outer():\n    yield from inner()\n"
                  "    yield from [3]\nreturn list(outer())",
    "str-format": "x = 3.14159\nreturn '{:.3g}'.format(x), '{0:>{w}}|{name!r}'.format('a', w=3, name='n'), "
                  "str.format('{}-{}', 1, 2), '{{literal}} {0:{1}}'.format(7, '03d')",
    "builtin-names-as-variables": "id = 3\ntype = 'kind'\ntotal = 0\nfor dir in ['a', 'b']:\n    total += len(dir)\n"
                                  "def pick(input, license=1, vars=None):\n    return input + license\n"
                                  "filter = [x for x in range(3)]\nreturn id, type, total, pick(1), filter",
    "keyword-named-like-builtin": "from dataclasses import dataclass, field\n@dataclass\nclass F:\n"
                                  "    kind: str = field(default='x')\nreturn dict(type=1, id=2), F().kind",
    "decimal-context": "import decimal\nctx = decimal.Context(prec=4)\n"
                       "return str(ctx.divide(decimal.Decimal(2), decimal.Decimal(3)))",
    "docstring-naming-dunders": "class A:\n    \"\"\"Built in __init__; see __main__.\"\"\"\n"
                                "    def f(self):\n        'Like __eq__, ' 'but looser.'\n        return 1\n"
                                "return A().f()",
    "own-enum-and-abc": "import enum, typing\nclass Mode(enum.IntEnum):\n    A = 1\n    B = 2\n"
                        "class M(typing.Mapping):\n    def keys(self):\n        return []\n"
                        "return Mode(2).name, Mode.A + 1, M.register(int) is int",
}


def _module(body: str) -> str:
    from ._harness import attack_module

    return attack_module(body)


@pytest.mark.parametrize("body", [pytest.param(b, id=k) for k, b in SNIPPETS.items()])
def test_benign_snippet_passes_every_static_stage_and_runs(body: str) -> None:
    source_text = _module(body)
    assert guard_codes(source_text) == set()
    assert compile_errors(source_text) == ()
    run_unguarded(source_text)  # raises if the environment wrongly refuses it


def test_benign_snippets_compute_what_plain_python_computes() -> None:
    body = SNIPPETS["augmented-assignment"]
    assert run_unguarded(_module(body)) == (5, {"k": 3}, [1, 2])
    assert run_unguarded(_module(SNIPPETS["dataclass-helper"])) == ("a", 2, [1])
    assert run_unguarded(_module(SNIPPETS["module-string-join"])) == "a_ba, b"
    assert run_unguarded(_module(SNIPPETS["private-attributes-and-helpers"])) == [9, 3]
    assert run_unguarded(_module(SNIPPETS["namedtuple-methods"])) == ((1, 5), {"x": 1, "y": 2}, (7, 8), ("x", "y"), 1)
    assert run_unguarded(_module(SNIPPETS["nonlocal-closure"])) == 2
    assert run_unguarded(_module(SNIPPETS["raise-from"])) == "no"
    assert run_unguarded(_module(SNIPPETS["yield-from"])) == [1, 2, 3]
    assert run_unguarded(_module(SNIPPETS["str-format"])) == ("3.14", "  a|'n'", "1-2", "{literal} 007")
    assert run_unguarded(_module(SNIPPETS["builtin-names-as-variables"])) == (3, "kind", 2, 2, [0, 1, 2])


# Whole modules through admit(): module-level private names, a __main__ block, builtin-named
# variables at module level. verify=False loads the module in the child and checks build.
MODULES = {
    "module-private-names": "_CACHE = {}\n_LIMIT = 3\n\ndef _helper(x):\n    return x % _LIMIT\n\n"
                            "class Obs:\n    def __init__(self, seed):\n        self._seen = 0\n\n"
                            "    def observe(self, trial, trace):\n        self._seen = _helper(self._seen + 1)\n\n"
                            "def build(seed):\n    return Obs(seed)\n",
    "main-block": "class Obs:\n    def observe(self, trial, trace):\n        return None\n\n"
                  "def build(seed):\n    return Obs()\n\n"
                  "if __name__ == \"__main__\":\n    import os\n    print(build(0), open('x'))\n",
    "main-block-one-line": "def build(seed):\n    return None\n\nif __name__ == '__main__': build(0)\n",
    "module-level-builtin-names": "id = 1\ntype = 'observer'\n\ndef build(seed):\n    return id + seed\n",
}


@pytest.mark.parametrize("text", [pytest.param(t, id=k) for k, t in MODULES.items()])
def test_benign_module_is_admitted(text: str) -> None:
    admission = admit(text, "observer", verify=False)
    assert admission.admitted, admission.feedback()


def test_the_main_block_is_ignored_and_reported_and_other_lines_keep_their_numbers() -> None:
    from sandbox import guard_stage, parse_stage

    text = MODULES["main-block"] + "\n\nTAIL = 1\n"
    result = guard_stage(parse_stage(text).value, entry_point="build")
    assert result.ok
    assert result.details.endswith("ignored the __main__ block at line 8")
    assert isinstance(result.value, str)
    assert "__main__" not in result.value and "open(" not in result.value
    assert result.value.splitlines()[:7] == text.splitlines()[:7]
    assert result.value.splitlines().index("TAIL = 1") == text.splitlines().index("TAIL = 1")
    plain = guard_stage(parse_stage(SOURCE_WITHOUT_MAIN).value)
    assert plain.value == SOURCE_WITHOUT_MAIN and "__main__" not in plain.details


SOURCE_WITHOUT_MAIN = "def build(seed):\n    return None\n"


@pytest.mark.parametrize("block", [
    "if __name__ == '__main__':\n    pass\nelse:\n    pass\n",
    "if __name__ != '__main__':\n    pass\n",
    "if '__main__' == __name__:\n    pass\n",
    "if __name__ == '__main__' or True:\n    pass\n",
    "if __name__ == f'__main__':\n    pass\n",
    "def f():\n    if __name__ == '__main__':\n        pass\n",
])
def test_only_the_exact_main_block_is_ignored(block: str) -> None:
    text = "def build(seed):\n    return None\n\n" + block
    assert not admit(text, "observer", verify=False).admitted
    assert compile_errors(text), "the restricted compiler must refuse what the guard does not ignore"


def test_the_main_block_never_runs_even_when_compiled_from_the_original_text() -> None:
    from sandbox import compile_stage, load_stage, unload

    text = "RAN = []\n\ndef build(seed):\n    return None\n\nif __name__ == '__main__':\n    RAN.append(1)\n"
    compiled = compile_stage(text, "main_probe")
    assert compiled.ok, compiled.violations
    loaded = load_stage(compiled.value, "main_probe")
    try:
        assert loaded.ok and loaded.value.RAN == []
    finally:
        unload("main_probe")


MECHANISMS = {"tabu_filter": "filter", "bandit_advisor": "advisor", "random_source": "source",
              "noise_acceptance": "acceptance", "plateau_observer": "observer", "modern_tabu_filter": "filter"}


@pytest.mark.parametrize("name", MECHANISMS)
def test_benign_mechanism_passes_static_stages(name: str) -> None:
    text = source(name)
    assert guard_codes(text) == set()
    assert compile_errors(text) == ()


@pytest.mark.parametrize("name, hook", [
    pytest.param(n, h, marks=() if n in ("tabu_filter", "modern_tabu_filter") else pytest.mark.slow)
    for n, h in MECHANISMS.items()])
def test_benign_mechanism_is_admitted_end_to_end(name: str, hook: str) -> None:
    admission = admit(source(name), hook)
    assert admission.admitted, admission.feedback()
    assert [s.stage for s in admission.stages] == ["parse", "guard", "compile", "load", "verify"]
    assert admission.name == f"mechanism_{admission.digest[:16]}"


def test_a_method_may_share_its_name_with_a_forbidden_builtin_and_violations_carry_lines():
    from sandbox import admit

    source = (
        "class Counter:\n"
        "    def __init__(self, seed):\n"
        "        self.total = 0\n"
        "    def credits(self):\n"
        "        return self.total\n"
        "    def observe(self, trial, trace):\n"
        "        self.total += self.credits() + 1\n"
        "\n"
        "def build(seed):\n"
        "    return Counter(seed)\n"
    )
    assert admit(source, "observer", verify=False).admitted
    bad = admit(source.replace("        return self.total\n", "        return credits()\n"), "observer", verify=False)
    assert [(v.code, v.line) for v in bad.violations] == [("forbidden-name", 5)]
