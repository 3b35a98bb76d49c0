"""Run config files: ``--config FILE.toml`` in, ``<run dir>/config.toml`` out.

A config file holds flags of ``python -m engine.run script|gpt`` as top-level keys, the long option
names with dashes or underscores (``max-tokens = 5000`` or ``max_tokens = 5000``); flags on the
command line override it. A relative path in it is relative to the file's folder. Every run writes
the settings it runs with, in the same form, to ``config.toml`` in its run directory (absolute
paths), so ``--config runs/<id>/config.toml`` starts the same run again.

Bad input is a ConfigError with a stable code and, where there is one, the line:
``config-file-not-found``, ``config-file-not-utf8``, ``config-file-invalid`` (not TOML),
``unknown-config-key`` (naming the key and the known ones), ``config-key-repeated`` (``max-tokens``
and ``max_tokens`` both), ``config-value-invalid`` (a value of the wrong type).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from interfaces import ConfigError, toml_key, toml_value

from .settings import RunSettings

__all__ = ["config_line", "read_config", "to_toml", "write_run_config"]


def config_line(text: str, key: str) -> int | None:
    """The line (1-based) where ``key`` is set or opens a table in TOML ``text``; None if not found."""
    pattern = re.compile(rf'^\s*(\[\s*)?["\']?{re.escape(key)}["\']?\s*(=|\])')
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return None


def _at(path: Path, line: int | None) -> str:
    return f"{path}" + (f", line {line}" if line else "")


def read_config(path: str | Path, known: Collection[str]) -> dict[str, Any]:
    """The settings of the config file at ``path``: keys as Python names (``max_tokens``), values as
    TOML gives them. ``known`` are the names allowed (Python spelling)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist", code="config-file-not-found") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}", code="config-file-not-found") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ConfigError(f"config file {_at(path, line)} is not UTF-8 text", code="config-file-not-utf8") from None
    try:
        parsed = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}", code="config-file-invalid") from None
    values: dict[str, Any] = {}
    spelled: dict[str, str] = {}
    for key, value in parsed.items():
        name = key.replace("-", "_")
        if name not in known:
            shown = ", ".join(sorted(k.replace("_", "-") for k in known))
            raise ConfigError(f"config file {_at(path, config_line(text, key))}: unknown key {key!r}; the keys "
                              f"are the command's long options: {shown}", code="unknown-config-key")
        if name in values:
            raise ConfigError(f"config file {_at(path, config_line(text, key))}: {key!r} repeats "
                              f"{spelled[name]!r}", code="config-key-repeated")
        values[name], spelled[name] = value, key
    return values


def to_toml(values: Mapping[str, Any], *, header: str = "") -> str:
    """TOML text of ``values``: plain keys first (None left out), then each mapping as a table."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    tables = {key: value for key, value in values.items() if isinstance(value, Mapping)}
    for key, value in values.items():
        if key not in tables and value is not None:
            lines.append(f"{toml_key(key)} = {toml_value(value)}")
    for key, table in tables.items():
        lines += ["", f"[{toml_key(key)}]"]
        lines += [f"{toml_key(str(k))} = {toml_value(v)}" for k, v in table.items() if v is not None]
    return "\n".join(lines) + "\n"


def write_run_config(run_dir: Path, settings: RunSettings) -> Path:
    """Write ``<run dir>/config.toml``: the flags that give ``settings`` again, keys with dashes."""
    from .flags import flags_from_settings
    from .store import RunPaths, write_atomic

    flags = flags_from_settings(settings)
    flags["run_dir"] = str(Path(run_dir).resolve().parent)
    options = flags.pop("task_options", None)
    dashed: dict[str, Any] = {key.replace("_", "-"): value for key, value in flags.items()}
    if settings.task in ("script", "gpt") and not options:
        header = (f"The settings of run {Path(run_dir).name}. Start it again with:\n"
                  f"  python -m engine.run {settings.task} --config config.toml")
    else:
        # Options no flag covers (a task without a command of its own): the file records them, and the
        # command refuses the table, as it should, since it cannot give them.
        header = (f"The settings of run {Path(run_dir).name} (task {settings.task}). [task-options] are "
                  f"passed to the task:\n  engine.optimize({settings.task!r}, task_options=..., ...)")
        if options:
            dashed["task-options"] = dict(options)
    return write_atomic(RunPaths(Path(run_dir)).config_file, to_toml(dashed, header=header))
