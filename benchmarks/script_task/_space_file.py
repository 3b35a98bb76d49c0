"""Overrides for a discovered search space, from a small TOML file (the format: docs/space-toml.md).

Either a file of its own::

    exclude = ["MAX_EPOCHS"]          # not searched at all (keeps its value)

    [params.LEARNING_RATE]
    low = 1e-4
    high = 0.1
    log = true

    [params.ACTIVATION]
    choices = ["relu", "tanh", "logistic"]

    [params.SEED]
    locked = true

    [params."params.n_estimators"]    # a key of the dict literal ``params``
    low = 100
    high = 1000

or the same table under ``[tool.engine.space]`` in a ``pyproject.toml``. A
dict key may also be written as nested tables (``[params.params.n_estimators]``)
and ``exclude`` may name a whole dict. Every entry is checked against the
script before any trial runs: an unknown parameter, ``low > high``, a
default outside its own bounds, a ``kind`` other than the parameter's or an
unknown key is a one-line error with a stable code. ``python -m engine.run
script PATH --metric NAME --dry-run`` prints the discovered space in this
format (:mod:`._space_render`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from interfaces import ConfigError, ParamKind, ParamSpec, SpaceError

from ._discover import default_spec

__all__ = ["SpaceFile", "load_space_file", "parse_space_table"]

_KEYS = {"low", "high", "log", "choices", "locked", "kind", "description"}


@dataclass(frozen=True)
class SpaceFile:
    overrides: tuple[ParamSpec, ...]
    locked: tuple[str, ...]
    exclude: tuple[str, ...]


def load_space_file(path: str | Path, values: Mapping[str, Any]) -> SpaceFile:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"space file {path} does not exist", code="space-file-not-found")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ConfigError(f"space file {path} is not UTF-8 text (line {line}, byte {exc.start}); "
                          "TOML must be UTF-8", code="space-file-not-utf8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"space file {path} is not valid TOML: {exc}", code="space-file-invalid") from None
    table = data.get("tool", {}).get("engine", {}).get("space") if "tool" in data else data
    if table is None:
        raise ConfigError(f"{path} has no [tool.engine.space] table", code="space-file-invalid")
    return parse_space_table(table, values, where=str(path))


def _expand_excluded(names: list[Any], values: Mapping[str, Any], where: str) -> tuple[str, ...]:
    expanded: list[str] = []
    for name in names:
        keys = [v for v in values if v.startswith(f"{name}.")] if isinstance(name, str) else []
        if name in values:
            expanded.append(name)
        elif keys:
            expanded.extend(keys)  # a dict's name stands for all of its keys
        else:
            raise SpaceError(f"{where}: {name} is not a hyperparameter of the script (found: "
                             f"{', '.join(values) or 'none'})", code="unknown-parameter")
    return tuple(dict.fromkeys(expanded))


def _flatten_params(params: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    # [params.params.n_estimators] is TOML for {"params": {"n_estimators": {...}}}: the dict key written as
    # nested tables. Only a name that is no parameter itself and whose every sub-table names one of its keys.
    flat: dict[str, Any] = {}
    for name, entry in params.items():
        nested = (name not in values and isinstance(entry, Mapping) and bool(entry)
                  and all(f"{name}.{key}" in values and isinstance(sub, Mapping) for key, sub in entry.items()))
        if nested:
            flat.update({f"{name}.{key}": sub for key, sub in entry.items()})
        else:
            flat[name] = entry
    return flat


def parse_space_table(table: Mapping[str, Any], values: Mapping[str, Any], *, where: str = "space") -> SpaceFile:
    """The overrides of a space table (a file's parsed TOML) for a script assigning ``values``."""
    unexpected = sorted(set(table) - {"params", "exclude"})
    if unexpected:
        raise ConfigError(f"{where}: unknown top-level keys {', '.join(unexpected)}; use [params.NAME] and exclude",
                          code="space-file-invalid")
    raw_exclude = table.get("exclude", [])
    if not isinstance(raw_exclude, list):
        raise ConfigError(f"{where}: exclude must be a list of names", code="space-file-invalid")
    exclude = _expand_excluded(raw_exclude, values, where)
    raw_params = table.get("params", {})
    if not isinstance(raw_params, Mapping):
        raise ConfigError(f"{where}: params must be a table of [params.NAME] tables", code="space-file-invalid")
    params = _flatten_params(raw_params, values)
    for name in params:
        if name not in values:
            known = ", ".join(values) or "none"
            raise SpaceError(f"{where}: {name} is not a hyperparameter of the script (found: {known})",
                             code="unknown-parameter")
    overrides: list[ParamSpec] = []
    locked: list[str] = []
    for name, entry in params.items():
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{where}: params.{name} must be a table", code="space-file-invalid")
        bad = sorted(set(entry) - _KEYS)
        if bad:
            raise ConfigError(f"{where}: params.{name} has unknown keys {', '.join(bad)} "
                              f"(allowed: {', '.join(sorted(_KEYS))})", code="space-file-invalid")
        if entry.get("locked") and set(entry) == {"locked"}:
            locked.append(name)
            continue
        spec = _spec(name, values[name], entry, where)
        if "kind" in entry and entry["kind"] != spec.kind.value:
            raise ConfigError(f"{where}: params.{name}.kind is {entry['kind']!r} but {name} is a "
                              f"{spec.kind.value} parameter (its default is {values[name]!r})",
                              code="space-file-invalid")
        overrides.append(spec)
    return SpaceFile(tuple(overrides), tuple(locked), exclude)


def _as_value(item: Any) -> Any:
    # TOML has arrays, not tuples; a script's tuple literal reads back as a list, at any depth.
    return tuple(_as_value(x) for x in item) if isinstance(item, list) else item


def _spec(name: str, default: Any, entry: Mapping[str, Any], where: str) -> ParamSpec:
    base = default_spec(name, default)
    low, high = entry.get("low", base.low), entry.get("high", base.high)
    for key in ("low", "high"):
        bound = entry.get(key)
        if key in entry and (isinstance(bound, bool) or not isinstance(bound, (int, float))):
            raise ConfigError(f"{where}: params.{name}.{key} must be a number, got {bound!r}",
                              code="space-file-invalid")
    if "choices" in entry:
        if not isinstance(entry["choices"], list) or not entry["choices"]:
            raise ConfigError(f"{where}: params.{name}.choices must be a non-empty list", code="space-file-invalid")
        choices = tuple(_as_value(c) for c in entry["choices"])
        kind = ParamKind.CHOICE
        if default not in choices:
            raise SpaceError(f"{where}: {name}'s default {default!r} is not among its choices {list(choices)}",
                             code="default-out-of-bounds")
        try:
            return ParamSpec(name, kind, default, choices=choices, locked=bool(entry.get("locked", False)),
                             description=entry.get("description", ""))
        except ValueError as exc:  # e.g. a default 1 among the choices [1.0, 2.0]: equal, not the same type
            raise SpaceError(f"{where}: {exc}", code="bad-space-entry") from None
    if low is not None and high is not None and low > high:
        raise SpaceError(f"{where}: {name} has low {low} > high {high}", code="low-above-high")
    numeric = base.kind in (ParamKind.FLOAT, ParamKind.INT)
    if numeric and low is not None and high is not None and not (low <= default <= high):
        raise SpaceError(f"{where}: {name}'s default {default!r} is outside its bounds [{low}, {high}]",
                         code="default-out-of-bounds")
    try:
        return replace(base, low=low, high=high, log=bool(entry.get("log", base.log)),
                       locked=bool(entry.get("locked", base.locked)), description=entry.get("description", ""))
    except ValueError as exc:
        raise SpaceError(f"{where}: {exc}", code="bad-space-entry") from None
