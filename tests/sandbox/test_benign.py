"""Benign code a good model writes must pass every static stage and run.

A false rejection is a defect: each case here is ordinary Python that a
mechanism legitimately needs.
"""

from __future__ import annotations

import pytest

from sandbox import admit
from interfaces import SearchSpace, ParamSpec, SearchConfig, TraceView, Trial, Proposal

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


MECHANISMS = {"tabu_filter": "filter", "bandit_advisor": "advisor", "random_source": "source",
              "noise_acceptance": "acceptance", "plateau_observer": "observer"}


@pytest.mark.parametrize("name", MECHANISMS)
def test_benign_mechanism_passes_static_stages(name: str) -> None:
    text = source(name)
    assert guard_codes(text) == set()
    assert compile_errors(text) == ()


@pytest.mark.parametrize("name, hook", [
    pytest.param(n, h, marks=() if n == "tabu_filter" else pytest.mark.slow) for n, h in MECHANISMS.items()])
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
