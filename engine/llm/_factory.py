"""Build a provider by name, the way the command line asks for one."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from interfaces import ConfigError

from ._endpoints import ENDPOINTS
from ._heuristic import CatalogEntry, HeuristicProvider, OuterRules
from ._ledger import Budget, Ledger, Price
from ._openai import OpenAIProvider, OpenAISettings
from ._protocol import Provider
from ._replay import RecordingProvider, ReplayProvider

__all__ = ["PROVIDERS", "make_provider"]

PROVIDERS = ("heuristic", "replay", *ENDPOINTS)
_DEFAULT_MODELS = {"openai": "gpt-4o-mini", "deepseek": "deepseek-chat", "llamacpp": "default"}
_SETTING_NAMES = {f.name for f in dataclasses.fields(OpenAISettings)}


def _library_catalog() -> Iterable[CatalogEntry]:
    # Imported on first use: the library is data that the engine needs only at Level 2.
    import mechanism_library

    return mechanism_library.catalog()


def _openai_provider(name: str, model: str | None, base_url: str | None, ledger: Ledger,
                     kw: dict[str, Any]) -> OpenAIProvider:
    settings = kw.pop("settings", None)
    overrides = {k: kw.pop(k) for k in list(kw) if k in _SETTING_NAMES}
    if settings is not None and overrides:
        raise ConfigError("give either settings= or individual settings, not both", code="bad-config")
    settings = settings or OpenAISettings(**overrides)
    price = kw.pop("price", None)
    if isinstance(price, (tuple, list)):
        price = Price(*price)
    options = {k: kw.pop(k) for k in ("mode", "api_key_env") if k in kw}
    _no_leftovers(kw)
    return OpenAIProvider(model or _DEFAULT_MODELS.get(name, ""), endpoint=name, base_url=base_url, price=price,
                          ledger=ledger, settings=settings, **options)


def _no_leftovers(kw: dict[str, Any]) -> None:
    if kw:
        raise ConfigError(f"unknown provider option(s): {', '.join(sorted(kw))}", code="unknown-option")


def make_provider(
    name: str,
    *,
    model: str | None = None,
    base_url: str | None = None,
    seed: int = 0,
    record: str | Path | None = None,
    replay: str | Path | None = None,
    ledger: Ledger | None = None,
    catalog: Callable[[], Iterable[CatalogEntry]] | None = None,
    **kw: Any,
) -> Provider:
    """A provider by name: ``heuristic``, ``replay`` or an endpoint (``openai``, ``deepseek``,
    ``vllm``, ``llamacpp``, ``ollama``, ``compatible``).

    ``record`` wraps it to write a transcript; ``replay`` answers from one
    (with ``name="replay"``, or the recorded provider's name). Extra options:
    ``budget`` (a :class:`Budget`, when no ledger is given), ``mode``,
    ``api_key_env``, ``price``, ``settings`` or any :class:`OpenAISettings`
    field, ``outer_rules``, ``strict_messages``.
    """
    kw = dict(kw)
    budget = kw.pop("budget", None)
    if budget is not None and ledger is not None:
        raise ConfigError("give the budget to the ledger, or budget= without a ledger", code="bad-config")
    if isinstance(budget, dict):
        budget = Budget(**budget)
    ledger = ledger if ledger is not None else Ledger(budget)
    if name not in PROVIDERS:
        raise ConfigError(f"unknown provider {name!r}; choose one of {', '.join(PROVIDERS)}",
                          code="unknown-provider")
    if replay is not None:
        if record is not None:
            raise ConfigError("record and replay together would copy a transcript", code="bad-config")
        replaying = ReplayProvider(replay, ledger=ledger, strict_messages=kw.pop("strict_messages", False))
        _no_leftovers(kw)
        if name != "replay" and name != replaying.recorded_provider:
            raise ConfigError(
                f"the transcript was recorded with {replaying.recorded_provider!r}, not {name!r}",
                code="replay-mismatch",
            )
        return replaying
    if name == "replay":
        raise ConfigError("the replay provider needs replay=<transcript path>", code="replay-missing")
    if name == "heuristic":
        rules = kw.pop("outer_rules", None) or OuterRules()
        _no_leftovers(kw)
        provider: Provider = HeuristicProvider(seed, catalog=catalog or _library_catalog, ledger=ledger, outer_rules=rules)
    else:
        provider = _openai_provider(name, model, base_url, ledger, kw)
    return RecordingProvider(provider, record) if record is not None else provider
