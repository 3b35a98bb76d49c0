"""The command line's side of config files and resumes (click's context, read in one place).

* :func:`apply_config_file` (the ``--config`` option's callback, an eager option): the file's values
  become the command's defaults (the context's ``default_map``), so a flag on the command line wins
  over them; each value is checked against the type the command function declares first, so a
  wrong one names its key and line.
* :func:`resume_overrides`: what a ``--resume`` command line may change, refusing by name any flag
  given with it that a resumed run cannot take.
"""

from __future__ import annotations

import inspect
import typing
from pathlib import Path
from typing import Any

from interfaces import ConfigError

from .config_file import config_line, read_config
from .flags import COMMON_FLAGS, RESUMABLE_FLAGS

__all__ = ["apply_config_file", "resume_overrides"]

# Compared by name: typer ships its own copy of click, whose enum is not click's.
_EXPLICIT = ("COMMANDLINE", "ENVIRONMENT")


def _kinds(ctx: Any) -> dict[str, type]:
    """Each parameter's type as the command function declares it (``Optional[X]`` as X)."""
    hints = typing.get_type_hints(inspect.unwrap(ctx.command.callback))
    kinds: dict[str, type] = {}
    for name, hint in hints.items():
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)] or [hint]
        kinds[name] = options[0]
    return kinds


def _fits(kind: type, value: Any) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind in (str, Path):
        return isinstance(value, str)
    return True


def apply_config_file(ctx: Any, path: Path | None) -> None:
    """Make the settings of the config file at ``path`` the defaults of the command in ``ctx``."""
    if path is None:
        return
    names = [param.name for param in ctx.command.params if param.name and param.name != "config"]
    values = read_config(path, names)
    text = path.read_text(encoding="utf-8")
    folder = path.resolve().parent
    kinds = _kinds(ctx)
    defaults: dict[str, Any] = {}
    for name, value in values.items():
        kind = kinds.get(name, object)
        if name == "levels" and isinstance(value, list):
            value = ",".join(str(level) for level in value)
        if not _fits(kind, value):
            line = config_line(text, name) or config_line(text, name.replace("_", "-"))
            where = f"{path}" + (f", line {line}" if line else "")
            wanted = {bool: "true or false", int: "a whole number", float: "a number", Path: "a path"}.get(
                kind, "a string")
            raise ConfigError(f"config file {where}: {name.replace('_', '-')} = {value!r} must be {wanted}",
                              code="config-value-invalid")
        if kind is Path and not Path(value).is_absolute():
            value = str(folder / value)
        defaults[name] = value
    ctx.default_map = {**(ctx.default_map or {}), **defaults}


def resume_overrides(ctx: Any) -> dict[str, Any]:
    """The settings (by RunSettings field) a ``--resume`` command line changes.

    ConfigError ``config-on-resume`` for ``--config`` (a resumed run has its settings already) and
    ``resume-setting-changed`` naming every other flag given that a resume cannot take.
    """
    if ctx.params.get("config") is not None:
        raise ConfigError("--config starts a new run; a resumed run keeps the settings stored with it "
                          "(give --iterations, --max-tokens... on the command line)", code="config-on-resume")
    given = [param.name for param in ctx.command.params
             if param.name and getattr(ctx.get_parameter_source(param.name), "name", None) in _EXPLICIT]
    refused = [name for name in given if name not in (*RESUMABLE_FLAGS, "resume", "run_dir")]
    if refused:
        shown = ", ".join("--" + name.replace("_", "-") for name in refused)
        allowed = ", ".join("--" + name.replace("_", "-") for name in RESUMABLE_FLAGS)
        raise ConfigError(f"{shown} cannot be given with --resume: a resumed run keeps the settings stored "
                          f"with it (a resume may change {allowed})", code="resume-setting-changed")
    return {COMMON_FLAGS[name]: ctx.params[name] for name in given if name in RESUMABLE_FLAGS}
