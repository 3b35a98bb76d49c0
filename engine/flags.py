"""One vocabulary for a run's settings: the long option names of ``python -m engine.run script|gpt``.

The same names (dashes or underscores) are the keys of a ``--config`` file, the keyword arguments of
:func:`engine.optimize` and the keys of the ``config.toml`` every run writes. This module maps them to
:class:`RunSettings` and back:

* :data:`COMMON_FLAGS`: the flags of every command, each naming its RunSettings field;
* :data:`TASK_FLAGS`: the task options the ``script`` and ``gpt`` commands take as flags, with the
  command's default; :func:`settings_from_flags` builds the task options from them exactly as the
  command does (a path made absolute, ``--maximize`` as ``minimize``), :func:`flags_from_settings`
  turns stored settings back into flags.

A flag added to a command belongs in one of these tables; ``tests/engine/test_config_file.py``
fails until it is, since a run's ``config.toml`` would otherwise not give that run again.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from interfaces import ConfigError

from .settings import RunSettings

__all__ = ["COMMON_FLAGS", "CONTROL_FLAGS", "RESUMABLE_FLAGS", "TASK_FLAGS", "flags_from_settings",
           "normalise_key", "script_task_options", "settings_from_flags", "unknown_setting"]

#: Flag -> the RunSettings field it sets.
COMMON_FLAGS: dict[str, str] = {
    "provider": "provider",
    "model": "model",
    "model_path": "model_path",
    "level_model": "level_models",
    "base_url": "base_url",
    "request_timeout": "request_timeout_s",
    "server_threads": "server_threads",
    "value_grid": "value_grid",
    "iterations": "iterations",
    "levels": "levels",
    "seed": "seed",
    "workers": "workers",
    "executor": "executor",
    "record": "record",
    "replay": "replay",
    "acceptance": "acceptance",
    "max_tokens": "max_tokens",
    "max_usd": "max_usd",
    "outer_every": "outer_every",
    "research_every": "research_every",
    "research_style": "research_style",
    "samples": "research_samples",
    "new_only": "research_new_only",
    "proposer": "proposer",
    "sampler": "sampler",
    "warm_start": "warm_start",
    "pick_from": "pick_from",
    "remeasure_slow": "remeasure_slow",
    "overlap": "overlap",
    "mechanism": "mechanisms",
    "confine": "confine",
    "mlflow_uri": "mlflow_uri",
}

#: Task -> its flags and their defaults in the command.
TASK_FLAGS: dict[str, dict[str, Any]] = {
    "script": {"path": None, "metric": None, "maximize": False, "metric_file": None, "metric_regex": None,
               "throughput_metric": None, "steps_metric": None, "space": None, "budget": 60.0, "noise_repeats": 0},
    "gpt": {"preset": "cpu", "budget": None, "max_steps": None, "data": None, "noise_repeats": 0, "compile": None},
}

#: Flags that steer a command rather than set a run: where runs live, which run to resume, a dry run,
#: the config file itself.
CONTROL_FLAGS = ("run_dir", "resume", "dry_run", "config")

#: The flags a resume may take (see ``engine.runner.RESUMABLE_SETTINGS``), besides the control flags.
RESUMABLE_FLAGS = ("iterations", "max_tokens", "max_usd", "request_timeout", "mlflow_uri")

_PATH_FLAGS = ("model_path", "record", "replay")


def normalise_key(key: str) -> str:
    """A flag's name as written in Python: ``max-tokens``, ``--max-tokens`` and ``max_tokens`` alike."""
    return key.lstrip("-").replace("-", "_")


def unknown_setting(names: list[str], known: list[str]) -> ConfigError:
    """ConfigError ``unknown-setting`` naming each of ``names``, with the nearest of ``known``."""
    hints = []
    by_field = {field_name: flag for flag, field_name in COMMON_FLAGS.items() if flag != field_name}
    for name in names:
        close = [by_field[name]] if by_field.get(name) in known else difflib.get_close_matches(name, known, n=1)
        hints.append(f"{name}" + (f" (did you mean {close[0]}?)" if close else ""))
    return ConfigError(f"unknown setting {', '.join(hints)}; the settings are: {', '.join(sorted(known))}",
                       code="unknown-setting")


def _levels(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return tuple(str(level) for level in value)


def _absolute(value: Any) -> str | None:
    return str(Path(value).resolve()) if value is not None else None


def script_task_options(flags: Mapping[str, Any]) -> dict[str, Any]:
    """The script task's options from the ``script`` command's flags (a missing one: its default)."""
    return _script_options({**TASK_FLAGS["script"], **{normalise_key(k): v for k, v in flags.items()}})


def _script_options(flags: Mapping[str, Any]) -> dict[str, Any]:
    if flags.get("path") is None or flags.get("metric") is None:
        raise ConfigError("the script task needs the script's path and the metric's name", code="metric-required")
    return {"path": _absolute(flags["path"]), "metric": flags["metric"], "minimize": not flags["maximize"],
            "metric_file": flags["metric_file"], "metric_regex": flags.get("metric_regex"),
            "throughput_metric": flags.get("throughput_metric"), "steps_metric": flags.get("steps_metric"),
            "space_file": _absolute(flags["space"]),
            "budget_s": flags["budget"], "noise_repeats": flags["noise_repeats"]}


def _gpt_options(flags: Mapping[str, Any]) -> dict[str, Any]:
    return {"preset": flags["preset"], "budget_s": flags["budget"], "max_steps": flags["max_steps"],
            "data": str(flags["data"]) if flags["data"] else None, "noise_repeats": flags["noise_repeats"] or None,
            "compile": flags.get("compile")}


def _script_flags(options: dict[str, Any]) -> dict[str, Any]:
    return {"path": options.pop("path", None), "metric": options.pop("metric", None),
            "maximize": not options.pop("minimize", True), "metric_file": options.pop("metric_file", None),
            "metric_regex": options.pop("metric_regex", None),
            "throughput_metric": options.pop("throughput_metric", None),
            "steps_metric": options.pop("steps_metric", None),
            "space": options.pop("space_file", None), "budget": options.pop("budget_s", 60.0),
            "noise_repeats": options.pop("noise_repeats", 0)}


def _gpt_flags(options: dict[str, Any]) -> dict[str, Any]:
    return {"preset": options.pop("preset", "cpu"), "budget": options.pop("budget_s", None),
            "max_steps": options.pop("max_steps", None), "data": options.pop("data", None),
            "noise_repeats": options.pop("noise_repeats", None) or 0, "compile": options.pop("compile", None)}


_TO_OPTIONS = {"script": _script_options, "gpt": _gpt_options}
_TO_FLAGS = {"script": _script_flags, "gpt": _gpt_flags}


def settings_from_flags(task: str, flags: Mapping[str, Any], *,
                        task_options: Mapping[str, Any] | None = None) -> RunSettings:
    """The RunSettings that ``python -m engine.run <task>`` builds from these flags.

    ``flags`` are names of :data:`COMMON_FLAGS` and of the task's :data:`TASK_FLAGS` (dashes or
    underscores); a missing one takes the command's default. ``task_options`` are passed to the task
    as they are, over those the flags give (for a task without flags of its own, they are all its
    options). ConfigError ``unknown-setting`` names any other flag, with the nearest known name;
    RunSettings refuses bad values with its own codes. ``provider`` None picks the command's default
    (the local model when it is installed).
    """
    given = {normalise_key(key): value for key, value in flags.items()}
    own = TASK_FLAGS.get(task, {})
    known = [*COMMON_FLAGS, *own]
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise unknown_setting(unknown, known)
    options = _TO_OPTIONS[task]({**own, **given}) if task in _TO_OPTIONS else {}
    options.update(task_options or {})
    values: dict[str, Any] = {}
    for flag, field_name in COMMON_FLAGS.items():
        if flag not in given or given[flag] is None:
            continue
        value = given[flag]
        if flag == "levels":
            value = _levels(value)
        elif flag in _PATH_FLAGS:
            value = str(value)
        values[field_name] = value
    if values.get("provider") is None:
        from .run import default_provider

        values["provider"] = default_provider(values.get("model"), values.get("model_path"))
    return RunSettings(task=task, task_options=options, **values)


def flags_from_settings(settings: RunSettings) -> dict[str, Any]:
    """The flags that give ``settings`` again (None values left out), ``task_options`` holding the task
    options no flag of the task's command covers (all of them for a task without a command)."""
    current = settings.to_dict()
    flags: dict[str, Any] = {}
    for flag, field_name in COMMON_FLAGS.items():
        value = current[field_name]
        if value is not None:
            flags[flag] = ",".join(value) if flag == "levels" else value
    options = dict(settings.task_options)
    if settings.task in _TO_FLAGS:
        flags.update({key: value for key, value in _TO_FLAGS[settings.task](options).items() if value is not None})
    leftover = {key: value for key, value in options.items() if value is not None}
    if leftover:
        flags["task_options"] = leftover
    return flags
