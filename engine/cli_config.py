"""The command line's side of config files and resumes (click's context, read in one place).

* :func:`apply_config_file` (the ``--config`` option's callback, an eager option): the file's values
  become the command's defaults (click's ``default_map``), so a flag on the command line wins over
  them, and each value is converted by the option's own type first so a wrong one names its key.
* :func:`resume_overrides`: what a ``--resume`` command line may change, refusing by name any flag
  given with it that a resumed run cannot take.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from interfaces import ConfigError

from .config_file import config_line, read_config
from .flags import COMMON_FLAGS, RESUMABLE_FLAGS

__all__ = ["apply_config_file", "resume_overrides"]

_EXPLICIT = (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)


def apply_config_file(ctx: click.Context, path: Path | None) -> None:
    """Make the settings of the config file at ``path`` the defaults of the command in ``ctx``."""
    if path is None:
        return
    params = {param.name: param for param in ctx.command.params if param.name and param.name != "config"}
    values = read_config(path, params)
    text = path.read_text(encoding="utf-8")
    folder = path.resolve().parent
    defaults: dict[str, Any] = {}
    for name, value in values.items():
        param = params[name]
        if name == "levels" and isinstance(value, list):
            value = ",".join(str(level) for level in value)
        if isinstance(param.type, click.Path) and isinstance(value, str) and not Path(value).is_absolute():
            value = str(folder / value)
        try:
            param.type_cast_value(ctx, value)
        except click.BadParameter as exc:
            line = config_line(text, name) or config_line(text, name.replace("_", "-"))
            where = f"{path}" + (f", line {line}" if line else "")
            raise ConfigError(f"config file {where}: {name.replace('_', '-')} = {value!r}: {exc.message}",
                              code="config-value-invalid") from None
        defaults[name] = value
    ctx.default_map = {**(ctx.default_map or {}), **defaults}


def resume_overrides(ctx: click.Context) -> dict[str, Any]:
    """The settings (by RunSettings field) a ``--resume`` command line changes.

    ConfigError ``config-on-resume`` for ``--config`` (a resumed run has its settings already) and
    ``resume-setting-changed`` naming every other flag given that a resume cannot take.
    """
    if ctx.params.get("config") is not None:
        raise ConfigError("--config starts a new run; a resumed run keeps the settings stored with it "
                          "(give --iterations, --max-tokens... on the command line)", code="config-on-resume")
    given = [param.name for param in ctx.command.params
             if param.name and ctx.get_parameter_source(param.name) in _EXPLICIT]
    refused = [name for name in given if name not in (*RESUMABLE_FLAGS, "resume", "run_dir")]
    if refused:
        shown = ", ".join("--" + name.replace("_", "-") for name in refused)
        allowed = ", ".join("--" + name.replace("_", "-") for name in RESUMABLE_FLAGS)
        raise ConfigError(f"{shown} cannot be given with --resume: a resumed run keeps the settings stored "
                          f"with it (a resume may change {allowed})", code="resume-setting-changed")
    return {COMMON_FLAGS[name]: ctx.params[name] for name in given if name in RESUMABLE_FLAGS}
