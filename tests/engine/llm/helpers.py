"""Small builders shared by the LLM layer tests: a GPT-like space, traces, a catalog."""

from __future__ import annotations

from dataclasses import dataclass

from interfaces import Decision, ParamSpec, SearchConfig, SearchSpace, Trial, TrialStatus

GPT_SPACE = SearchSpace((
    ParamSpec("DEPTH", "int", 8, low=2, high=16),
    ParamSpec("TOTAL_BATCH_SIZE", "int", 2**19, low=2**14, high=2**21, log=True),
    ParamSpec("WINDOW_PATTERN", "choice", "SSSL", choices=("SSSL", "SSLL", "LLLL", "L")),
    ParamSpec("EMBEDDING_LR", "float", 0.6, low=0.01, high=2.0, log=True),
    ParamSpec("MATRIX_LR", "float", 0.04, low=0.001, high=0.2, log=True),
    ParamSpec("WEIGHT_DECAY", "float", 0.2, low=0.0, high=0.5),
    ParamSpec("WARMDOWN_RATIO", "float", 0.5, low=0.0, high=1.0),
    ParamSpec("USE_ROPE", "bool", True, locked=True),
))


def trial(index, changes, decision, metric=1.0, config=None):
    status = TrialStatus.REJECTED if decision is Decision.REJECTED else TrialStatus.OK
    return Trial(index, config or changes, changes, status, metric if status is TrialStatus.OK else None, decision)


def trace_list(*trials):
    return [t.to_dict() for t in trials]


def config(space=GPT_SPACE, **kw):
    return SearchConfig(active=space.searchable(), **kw).to_dict()


@dataclass(frozen=True)
class Entry:
    name: str
    hook: str
    description: str
    addresses: tuple[str, ...]
    source: str


def _source(cls, method):
    return f"class {cls}:\n    def {method}(self, *args):\n        return None\n"


CATALOG = (
    Entry("latin_hypercube", "source", "Latin hypercube design around the incumbent. Spreads early trials.",
          ("cold-start",), _source("LatinHypercube", "propose")),
    Entry("tabu_filter", "filter", "Vetoes proposals close to recently tried ones. Breaks ruts.",
          ("repetition",), _source("TabuFilter", "check")),
    Entry("orthogonal_exploration", "advisor", "Names the least explored parameter direction.",
          ("repetition", "plateau"), _source("OrthogonalExploration", "advise")),
    Entry("plateau_escape", "advisor", "Widens steps after a long run of discards.",
          ("plateau",), _source("PlateauEscape", "advise")),
    Entry("noise_aware_acceptance", "acceptance", "Keeps only improvements larger than the noise floor.",
          ("noisy-keeps",), _source("NoiseAwareAcceptance", "accept")),
)


def catalog():
    return CATALOG
