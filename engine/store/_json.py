"""Strict JSON for store columns: plain JSON only, or a clear error.

``allow_nan=False`` because NaN and Infinity are not JSON; a column that other
tools (``sqlite3 run.sqlite "select json_extract(...)"``) cannot read would be a
silent trap. Outcome metrics are the one place non-finite numbers are expected
(a diverged run prints ``loss: nan``), so :func:`encode_metrics` spells them
as strings and :func:`decode_metrics` turns them back into floats.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from interfaces import StoreError, thaw

__all__ = ["decode_metrics", "dumps", "encode_metrics", "loads"]

_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def dumps(value: Any, *, what: str) -> str:
    try:
        return json.dumps(thaw(value), allow_nan=False, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise StoreError(f"{what} is not plain JSON: {exc}", code="not-json") from exc


def loads(text: str | None) -> Any:
    """A column's JSON; text that does not parse (a damaged or hand-edited store) is ``store-corrupt``."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"a stored JSON value does not parse ({exc}); the store was edited or damaged",
                         code="store-corrupt") from None


def encode_metrics(metrics: Mapping[str, Any]) -> dict[str, Any]:
    encoded: dict[str, Any] = {}
    for key, value in metrics.items():
        if isinstance(value, float) and not math.isfinite(value):
            encoded[key] = "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
        else:
            encoded[key] = value
    return encoded


def decode_metrics(metrics: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _NON_FINITE[v] if isinstance(v, str) and v in _NON_FINITE else v for k, v in metrics.items()}
