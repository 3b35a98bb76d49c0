"""What untrusted code may use: the allow-lists, shared by the guard (which
explains refusals) and the environment (which is the real boundary)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["Policy", "Limits", "DEFAULT_POLICY", "MODULE_EXPORTS", "GLOBAL_RNG_FUNCTIONS", "is_private_name",
           "ALWAYS_FORBIDDEN_NAMES"]

# Per allowed module, the only names a mechanism can reach. Everything else a
# real module holds (``dataclasses.sys``, ``functools.recursive_repr``'s
# internals, ``random._inst``) stays out, because the environment hands the code
# a fresh module holding just these names, never the real module.
MODULE_EXPORTS: Mapping[str, frozenset[str]] = MappingProxyType({
    "math": frozenset(n for n in dir(math) if not n.startswith("_")),
    "random": frozenset({"Random"}),
    "statistics": frozenset({
        "mean", "fmean", "geometric_mean", "harmonic_mean", "median", "median_low", "median_high",
        "median_grouped", "mode", "multimode", "quantiles", "pstdev", "pvariance", "stdev", "variance",
        "covariance", "correlation", "linear_regression", "NormalDist", "StatisticsError",
    }),
    "collections": frozenset({"deque", "Counter", "defaultdict", "OrderedDict", "namedtuple", "ChainMap"}),
    "itertools": frozenset({
        "accumulate", "chain", "combinations", "combinations_with_replacement", "compress", "count",
        "cycle", "dropwhile", "filterfalse", "groupby", "islice", "pairwise", "permutations", "product",
        "repeat", "starmap", "takewhile", "tee", "zip_longest",
    }),
    "functools": frozenset({"reduce", "partial", "lru_cache", "cache", "cmp_to_key", "total_ordering"}),
    "heapq": frozenset({"heappush", "heappop", "heapify", "heapreplace", "heappushpop", "nlargest",
                        "nsmallest", "merge"}),
    "bisect": frozenset({"bisect", "bisect_left", "bisect_right", "insort", "insort_left", "insort_right"}),
    "dataclasses": frozenset({"dataclass", "field", "fields", "asdict", "astuple", "replace", "is_dataclass",
                              "FrozenInstanceError"}),
    "typing": frozenset({
        "Any", "Optional", "Union", "List", "Dict", "Tuple", "Set", "FrozenSet", "Sequence", "Mapping",
        "MutableMapping", "Iterable", "Iterator", "Callable", "Deque", "DefaultDict", "Counter", "Final",
        "ClassVar", "Literal", "cast", "TYPE_CHECKING", "NamedTuple", "Hashable",
    }),
    "enum": frozenset({"Enum", "IntEnum", "Flag", "IntFlag", "auto", "unique"}),
    "operator": frozenset({
        "abs", "add", "and_", "attrgetter", "concat", "contains", "countOf", "eq", "floordiv", "ge",
        "gt", "index", "indexOf", "inv", "invert", "is_", "is_not", "itemgetter", "le", "lshift", "lt",
        "methodcaller", "mod", "mul", "ne", "neg", "not_", "or_", "pos", "pow", "rshift", "sub",
        "truediv", "truth", "xor",
    }),
    "fractions": frozenset({"Fraction"}),
    # ``localcontext`` is left out: it changes the thread's current context, which a generator
    # suspended inside the ``with`` block leaves changed after the call returns. A ``Context``
    # object is private to the code that made it (``Context(prec=50).divide(a, b)``).
    "decimal": frozenset({
        "Decimal", "Context", "InvalidOperation", "DivisionByZero", "ROUND_HALF_UP", "ROUND_HALF_EVEN",
        "ROUND_HALF_DOWN", "ROUND_DOWN", "ROUND_UP", "ROUND_FLOOR", "ROUND_CEILING",
    }),
    "copy": frozenset({"copy", "deepcopy"}),
    "string": frozenset({"ascii_letters", "ascii_lowercase", "ascii_uppercase", "digits", "hexdigits",
                         "octdigits", "punctuation", "printable", "whitespace", "capwords"}),
    "re": frozenset({
        "compile", "search", "match", "fullmatch", "split", "findall", "finditer", "sub", "subn", "escape",
        "IGNORECASE", "I", "MULTILINE", "M", "DOTALL", "S", "VERBOSE", "X", "ASCII", "A", "error",
        "Pattern", "Match",
    }),
})

# Module-level functions of ``random`` that draw from the shared global
# generator: named here so the guard can say "use self.rng" instead of a bare
# "not exported".
GLOBAL_RNG_FUNCTIONS = frozenset({
    "random", "randint", "randrange", "choice", "choices", "shuffle", "sample", "uniform", "gauss",
    "normalvariate", "lognormvariate", "expovariate", "betavariate", "gammavariate", "triangular",
    "vonmisesvariate", "paretovariate", "weibullvariate", "seed", "getstate", "setstate", "getrandbits",
    "randbytes", "binomialvariate", "SystemRandom",
})

# Names that reach outside the sandbox or defeat the guards. Builtins not in
# the environment fail at run time anyway; naming them here gives a clear
# message at admission.
FORBIDDEN_NAMES = frozenset({
    "eval", "exec", "compile", "open", "globals", "locals", "vars", "breakpoint", "input", "type",
    "setattr", "delattr", "dir", "help", "exit", "quit", "super", "memoryview", "id", "classmethod",
    "BaseException", "SystemExit", "KeyboardInterrupt", "GeneratorExit", "print_function",
    "copyright", "credits", "license", "printed",
})

# Forbidden names the restricted compiler refuses wherever they appear, even where the
# module binds them itself: it rewrites or refuses them by name (``printed``, ``eval(...)``).
ALWAYS_FORBIDDEN_NAMES = frozenset({"eval", "exec", "breakpoint", "printed", "print_function"})

# Single-underscore names RestrictedPython itself uses in the code it generates.
_GENERATED_NAMES = re.compile(r"_print|_tmp\d+")


def is_private_name(name: str) -> bool:
    """True for a single-underscore name a mechanism may give its own things: ``_tabu``,
    ``_helper``, ``_CACHE``. Never ``_`` alone, a dunder or mangled ``__x``, a sunder ``_x_``
    (enum internals and RestrictedPython's guards ``_getattr_``, ``_write_``, ...) or a name
    RestrictedPython generates (``_print``, ``_tmp0``)."""
    return (len(name) > 1 and name[0] == "_" and name[1] != "_" and name[-1] != "_"
            and not _GENERATED_NAMES.fullmatch(name))


# Dunder methods a class may define. The restricted compiler accepts exactly
# these; hostile ``__eq__`` results never reach the engine because only plain
# data crosses the host boundary.
ALLOWED_DUNDER_METHODS = frozenset({"__init__", "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__",
                                    "__contains__"})

ALLOWED_DECORATORS = frozenset({
    "dataclass", "dataclasses.dataclass", "staticmethod", "property", "lru_cache", "functools.lru_cache",
    "cache", "functools.cache", "total_ordering", "functools.total_ordering",
})

# Attributes that lead from an ordinary object to frames, code or globals.
FRAME_ATTRIBUTES = frozenset({
    "gi_frame", "gi_code", "gi_yieldfrom", "cr_frame", "cr_code", "cr_await", "ag_frame", "ag_code",
    "tb_frame", "tb_next", "f_back", "f_builtins", "f_code", "f_globals", "f_locals", "f_trace",
    "co_code", "func_globals", "func_code", "mro",
})


@dataclass(frozen=True)
class Policy:
    """The static rules: allow-lists and size limits checked before any code runs."""

    modules: Mapping[str, frozenset[str]] = field(default_factory=lambda: MODULE_EXPORTS)
    forbidden_names: frozenset[str] = FORBIDDEN_NAMES
    dunder_methods: frozenset[str] = ALLOWED_DUNDER_METHODS
    decorators: frozenset[str] = ALLOWED_DECORATORS
    max_bytes: int = 64_000
    max_lines: int = 1_500
    max_nodes: int = 40_000
    max_depth: int = 40  # bracket and block nesting


@dataclass(frozen=True)
class Limits:
    """Run-time limits for the verify child and the mechanism host."""

    cpu_s: int = 20
    memory_bytes: int = 1 << 30
    verify_wall_s: float = 30.0
    load_wall_s: float = 5.0
    call_wall_s: float | None = None  # None: the hook's own call budget
    max_examples: int = 12
    max_reply_bytes: int = 1 << 20


DEFAULT_POLICY = Policy()


def policy_to_dict(policy: Policy) -> dict:
    """JSON form of a policy, for handing it to a child process."""
    return {
        "modules": {name: sorted(exports) for name, exports in policy.modules.items()},
        "forbidden_names": sorted(policy.forbidden_names),
        "dunder_methods": sorted(policy.dunder_methods),
        "decorators": sorted(policy.decorators),
        "max_bytes": policy.max_bytes,
        "max_lines": policy.max_lines,
        "max_nodes": policy.max_nodes,
        "max_depth": policy.max_depth,
    }


def policy_from_dict(data: dict) -> Policy:
    return Policy(
        modules=MappingProxyType({name: frozenset(exports) for name, exports in data["modules"].items()}),
        forbidden_names=frozenset(data["forbidden_names"]),
        dunder_methods=frozenset(data["dunder_methods"]),
        decorators=frozenset(data["decorators"]),
        max_bytes=data["max_bytes"], max_lines=data["max_lines"], max_nodes=data["max_nodes"],
        max_depth=data["max_depth"],
    )
