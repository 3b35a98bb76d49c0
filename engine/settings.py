"""Run settings: one frozen record, stored with the run so a resume is exact."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from interfaces import PROPOSERS, SAMPLERS, ConfigError

__all__ = ["RunSettings", "LEVELS"]

#: Which loop asks, and which a run enables: Level 1 (inner), Level 1.5 (outer), Level 2 (research).
LEVELS = ("1", "1.5", "2")


def _parse_level_models(entries: Any) -> dict[str, str]:
    """``("2=qwen-1.5b", ...)`` or ``{"2": "qwen-1.5b"}`` as ``{level: model}``; ValueError names the bad entry."""
    pairs: list[tuple[str, str]] = []
    if isinstance(entries, Mapping):
        pairs = [(str(level), str(model)) for level, model in entries.items()]
    else:
        for entry in entries or ():
            level, sep, model = str(entry).partition("=")
            if not sep:
                raise ValueError(f"{entry!r} is not LEVEL=MODEL (for example 2=qwen-1.5b)")
            pairs.append((level.strip(), model.strip()))
    models: dict[str, str] = {}
    for level, model in pairs:
        if level not in LEVELS:
            raise ValueError(f"{level!r} is not a level; the levels are {', '.join(LEVELS)}")
        if not model:
            raise ValueError(f"level {level} names no model")
        if level in models:
            raise ValueError(f"level {level} is given a model twice")
        models[level] = model
    return models


@dataclass(frozen=True)
class RunSettings:
    task: str = "gpt"
    task_options: Mapping[str, Any] = field(default_factory=dict)
    provider: str = "heuristic"
    model: str | None = None
    model_path: str | None = None
    #: A model for some levels, as ``"LEVEL=MODEL"`` (``("2=qwen-1.5b",)``): those levels' requests go to
    #: that model, the others to ``model``. With ``--provider local`` each distinct model gets its own
    #: server; with an endpoint, the same endpoint is asked for another model.
    level_models: tuple[str, ...] = ()
    base_url: str | None = None
    #: Seconds a model request may take (None: the provider's default, 900 s local, 60 s for endpoints).
    request_timeout_s: float | None = None
    #: Threads of the local model's server (``--provider local``).
    server_threads: int = 2
    iterations: int = 30
    levels: tuple[str, ...] = LEVELS
    seed: int = 0
    workers: int = 1
    executor: str = "local"
    #: The engine's acceptance rule (``keep-if-better``, ``noise-aware``). None: ``noise-aware`` when the
    #: task's noise floor is known, else ``keep-if-better``; the run stores the rule it chose.
    acceptance: str | None = None
    outer_every: int = 5
    research_every: int = 2
    max_rejections: int = 3
    #: Times a trial flagged ``slow-machine`` under a time budget has its configuration run again, each
    #: run a trial of its own; the first at normal speed decides (0: never, the flagged trial is not kept).
    remeasure_slow: int = 1
    #: Ask the model for the next Level 1 proposal while the current trial trains (one trial at a time):
    #: the model's time hides behind training, at the cost of the proposal not seeing the result of the
    #: trial that was training. Off by default: see the README for when it pays on a small machine.
    overlap: bool = False
    #: Values offered per parameter in a proposal's schema (0: any value; None: 8 for the local
    #: model, whose grammar then keeps every proposal in bounds, 0 for other providers).
    value_grid: int | None = None
    #: How Level 2 writes a mechanism: ``fill`` (the engine writes the module and picks the hook from the
    #: trace; the model fills one method, several samples), ``dialogue`` (four rounds, the model writes the
    #: whole module). None: ``fill`` for the local model, ``dialogue`` for other providers.
    research_style: str | None = None
    #: Samples drawn per Level 2 fill session (the best that passes is spliced in).
    research_samples: int = 4
    #: Level 2 splices only mechanisms it wrote itself: likeness below 0.6 to the library and to earlier
    #: sessions. A near copy or a copy is recorded and left out (the "C, new only" arm of an ablation).
    research_new_only: bool = False
    #: Who proposes Level 1's trials at the start (``interfaces.PROPOSERS``: llm, sampler, alternate, pick);
    #: Level 1.5 may change it. ``sampler`` names the Optuna sampler (gp, tpe, cmaes, random),
    #: ``warm_start`` the trials after the baseline that the model proposes whatever the proposer, and
    #: ``pick_from`` the candidates the sampler offers under ``pick``.
    proposer: str = "llm"
    sampler: str = "gp"
    warm_start: int = 0
    pick_from: int = 4
    #: Library mechanisms (names in ``mechanism_library``) active from the baseline on, chosen by the user:
    #: admitted and loaded like any mechanism, never written by Level 2, active for the whole run unless
    #: ejected. The control that tells what Level 2 adds from what the library already holds.
    mechanisms: tuple[str, ...] = ()
    max_tokens: int | None = None
    max_usd: float | None = None
    record: str | None = None
    replay: str | None = None
    #: How trials are confined: ``none`` (processes only) or ``bwrap`` (files and network too; needs bwrap).
    confine: str = "none"
    #: An MLflow tracking URI that every trial is also logged to (None: no MLflow; needs the mlflow extra).
    mlflow_uri: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "levels", tuple(str(level) for level in self.levels))
        object.__setattr__(self, "task_options", dict(self.task_options))
        object.__setattr__(self, "mechanisms", tuple(str(name) for name in self.mechanisms))
        object.__setattr__(self, "level_models", self._checked_level_models())
        unknown = [level for level in self.levels if level not in LEVELS]
        if unknown or "1" not in self.levels:
            raise ConfigError(f"levels must include 1 and be among {', '.join(LEVELS)}; got {', '.join(self.levels)}")
        if self.request_timeout_s is not None and not float(self.request_timeout_s) > 0:
            raise ConfigError(f"request-timeout must be positive, got {self.request_timeout_s}")
        for name in ("iterations", "workers", "outer_every", "research_every", "server_threads"):
            if int(getattr(self, name)) < (0 if name == "iterations" else 1):
                raise ConfigError(f"{name.replace('_', '-')} must be positive, got {getattr(self, name)}")
        if self.research_style not in (None, "fill", "dialogue"):
            raise ConfigError(f"research-style must be fill or dialogue, got {self.research_style!r}")
        if int(self.research_samples) < 1:
            raise ConfigError(f"samples must be positive, got {self.research_samples}")
        if self.proposer not in PROPOSERS:
            raise ConfigError(f"proposer must be one of {', '.join(PROPOSERS)}, got {self.proposer!r}",
                              code="bad-proposer")
        if self.sampler not in SAMPLERS:
            raise ConfigError(f"sampler must be one of {', '.join(SAMPLERS)}, got {self.sampler!r}",
                              code="bad-sampler")
        if int(self.remeasure_slow) < 0:
            raise ConfigError(f"remeasure-slow must be 0 or more, got {self.remeasure_slow}")
        if self.overlap and int(self.workers) != 1:
            raise ConfigError(f"overlap asks ahead while one trial trains; it needs workers 1, got {self.workers}",
                              code="bad-config")
        if int(self.warm_start) < 0:
            raise ConfigError(f"warm-start must be 0 or more, got {self.warm_start}")
        if not 2 <= int(self.pick_from) <= 8:
            raise ConfigError(f"pick-from must be between 2 and 8, got {self.pick_from}")
        if self.mechanisms:
            import mechanism_library

            known = [entry.name for entry in mechanism_library.catalog()]
            unknown = [name for name in self.mechanisms if name not in known]
            if unknown:
                raise ConfigError(f"no library mechanism named {', '.join(unknown)}; the library has: "
                                  f"{', '.join(known)}", code="unknown-mechanism")
            if len(set(self.mechanisms)) != len(self.mechanisms):
                raise ConfigError(f"a library mechanism is named twice: {', '.join(self.mechanisms)}",
                                  code="mechanism-repeated")
        if self.value_grid is not None and int(self.value_grid) < 0:
            raise ConfigError(f"value-grid must be 0 or more, got {self.value_grid}")
        if self.value_grid and self.provider == "heuristic":
            raise ConfigError("value-grid needs a model: the heuristic stand-in's moves are not on the grid; "
                              "drop --value-grid or pick another provider")
        from engine.executors import check_confinement

        check_confinement(self.confine)  # a typed error now, before a run is created, if bwrap is missing
        if self.executor not in ("local", "ray"):
            raise ConfigError(f"executor must be local or ray, got {self.executor!r}")
        if self.mlflow_uri is not None:
            import importlib.util

            if not self.mlflow_uri.strip():
                raise ConfigError("mlflow-uri is empty; give a tracking URI such as sqlite:///mlflow.db",
                                  code="bad-mlflow-uri")
            if importlib.util.find_spec("mlflow") is None:
                raise ConfigError('--mlflow-uri needs MLflow, which is not installed: pip install -e ".[mlflow]"',
                                  code="mlflow-not-installed")

    def _checked_level_models(self) -> tuple[str, ...]:
        try:
            models = _parse_level_models(self.level_models)
        except ValueError as exc:
            raise ConfigError(f"level-model: {exc}", code="bad-level-model") from None
        if models and self.provider in ("heuristic", "replay"):
            raise ConfigError(f"level-model needs a model provider; the {self.provider} provider has no models "
                              "to choose from", code="bad-level-model")
        if models and self.provider == "local":
            from engine.llm.local import MODELS

            unknown = sorted({model for model in models.values() if model not in MODELS})
            if unknown:
                raise ConfigError(f"level-model: no local model named {', '.join(unknown)}; the local models are "
                                  f"{', '.join(MODELS)}", code="unknown-model")
        return tuple(f"{level}={models[level]}" for level in LEVELS if level in models)

    def model_for(self, level: str) -> str | None:
        """The model named for ``level`` by ``level_models``, else ``model`` (None: the provider's default)."""
        for entry in self.level_models:
            named, _, model = entry.partition("=")
            if named == level:
                return model
        return self.model

    @property
    def grid_points(self) -> int:
        """Values offered per parameter in the proposal schema (0: any value)."""
        if self.value_grid is not None:
            return int(self.value_grid)
        return 8 if self.provider == "local" else 0

    @property
    def level2_style(self) -> str:
        """How Level 2 writes mechanisms in this run: ``fill`` or ``dialogue``."""
        if self.research_style is not None:
            return self.research_style
        return "fill" if self.provider == "local" else "dialogue"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["levels"] = list(self.levels)
        data["mechanisms"] = list(self.mechanisms)
        data["level_models"] = list(self.level_models)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunSettings:
        names = {f.name for f in fields(cls)}
        known: dict[str, Any] = {k: (tuple(v) if k in ("levels", "mechanisms", "level_models") else v) for k, v in data.items()
                                 if k in names}
        return cls(**known)
