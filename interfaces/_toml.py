"""TOML text for the closed set of value shapes this project writes: one writer for every file.

A run's ``config.toml`` and ``--dry-run``'s space file hold booleans, integers, floats (infinities
and NaN included), strings, paths, and lists or tuples of those; ``tomllib`` reads each back as the
value it was (a tuple as a list). Written by hand because the shapes are few and the standard
library reads TOML but does not write it.
"""

from __future__ import annotations

import math
import re
from pathlib import PurePath
from typing import Any

__all__ = ["toml_key", "toml_value"]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _string(text: str) -> str:
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")  # TOML forbids raw control characters in a basic string
        elif 0xD800 <= ord(char) <= 0xDFFF:
            raise ValueError(f"{text!r} holds a lone surrogate, which TOML (UTF-8) cannot represent")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def toml_value(value: Any) -> str:
    """``value`` (bool, int, float, str, a path, or a tuple/list of those) as a TOML value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)  # repr round-trips and always has a '.' or an exponent: a TOML float
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, PurePath):
        return _string(str(value))
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise ValueError(f"a {type(value).__name__} has no TOML form")


def toml_key(name: str) -> str:
    """``name`` as one TOML key: bare when it can be, quoted otherwise (``"params.n_estimators"``)."""
    return name if _BARE_KEY.fullmatch(name) else _string(name)
