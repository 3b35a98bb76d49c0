"""Overrides for a discovered search space, from a small TOML file.

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

or the same table under ``[tool.engine.space]`` in a ``pyproject.toml``. Every
entry is checked against the script before any trial runs: an unknown
parameter, ``low > high``, a default outside its own bounds or an unknown
key is a one-line error with a stable code.
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


def parse_space_table(table: Mapping[str, Any], values: Mapping[str, Any], *, where: str = "space") -> SpaceFile:
    unexpected = sorted(set(table) - {"params", "exclude"})
    if unexpected:
        raise ConfigError(f"{where}: unknown top-level keys {', '.join(unexpected)}; use [params.NAME] and exclude",
                          code="space-file-invalid")
    exclude = tuple(table.get("exclude", ()))
    params = table.get("params", {})
    for name in (*exclude, *params):
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
        overrides.append(_spec(name, values[name], entry, where))
    return SpaceFile(tuple(overrides), tuple(locked), exclude)


def _spec(name: str, default: Any, entry: Mapping[str, Any], where: str) -> ParamSpec:
    base = default_spec(name, default)
    low, high = entry.get("low", base.low), entry.get("high", base.high)
    for key in ("low", "high"):
        bound = entry.get(key)
        if key in entry and (isinstance(bound, bool) or not isinstance(bound, (int, float))):
            raise ConfigError(f"{where}: params.{name}.{key} must be a number, got {bound!r}",
                              code="space-file-invalid")
    if "choices" in entry:
        choices = tuple(tuple(c) if isinstance(c, list) else c for c in entry["choices"])
        kind = ParamKind.CHOICE
        if default not in choices:
            raise SpaceError(f"{where}: {name}'s default {default!r} is not among its choices {list(choices)}",
                             code="default-out-of-bounds")
        return ParamSpec(name, kind, default, choices=choices, locked=bool(entry.get("locked", False)),
                         description=entry.get("description", ""))
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
