"""Arguments to the mechanism host: interface records as tagged plain data.

Every argument crosses as ``{"kind": ..., "value": ...}`` so that a plain dict
argument can never be mistaken for a record, and the host rebuilds records
with their own ``from_dict`` (the host never unpickles anything).
"""

from __future__ import annotations

from typing import Any

from interfaces import Proposal, SearchConfig, SearchSpace, TraceView, Trial

from ._plain import is_plain

__all__ = ["encode_argument", "decode_argument", "CodecError"]


class CodecError(ValueError):
    """An argument is neither an interface record nor plain data."""

    code = "unencodable-argument"


def encode_argument(value: Any) -> dict[str, Any]:
    if isinstance(value, TraceView):
        return {"kind": "TraceView", "value": {"trials": value.to_list(), "minimize": value.minimize}}
    for record in (Trial, Proposal, SearchSpace, SearchConfig):
        if isinstance(value, record):
            return {"kind": record.__name__, "value": value.to_dict()}
    if is_plain(value):
        return {"kind": "plain", "value": value}
    raise CodecError(f"cannot send a {type(value).__name__} to the mechanism host; send an interface record "
                     "or plain data")


_DECODERS = {
    "Trial": Trial.from_dict,
    "Proposal": Proposal.from_dict,
    "SearchSpace": SearchSpace.from_dict,
    "SearchConfig": SearchConfig.from_dict,
    "TraceView": lambda data: TraceView.from_list(data["trials"], minimize=data["minimize"]),
    "plain": lambda data: data,
}


def decode_argument(tagged: dict[str, Any]) -> Any:
    try:
        decoder = _DECODERS[tagged["kind"]]
    except (KeyError, TypeError):
        raise CodecError(f"unknown argument kind in {tagged!r:.80}") from None
    return decoder(tagged["value"])
