"""Completion-style requests: the model continues a pre-filled assistant turn.

The request's last message is ``{"role": "assistant", "content": prefix}``.
Servers differ in what they send back: llama.cpp's server answers with the
assistant message continued (``prefix + continuation``), others with the
continuation alone. :func:`continuation` accepts both and always returns the
continuation only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["AnswerNotText", "assistant_prefix", "continuation"]


class AnswerNotText(ValueError):
    """The server's message content was neither text nor absent: its fault, like a body that is not JSON."""


def assistant_prefix(messages: Sequence[Mapping[str, Any]]) -> str:
    """The pre-filled assistant text the model continues; empty unless the last message is the assistant's."""
    if not messages or messages[-1].get("role") != "assistant":
        return ""
    content = messages[-1].get("content")
    return content if isinstance(content, str) else ""


def continuation(response: Any, prefix: str) -> tuple[str, str]:
    """The text the model added after ``prefix``, and the finish reason (empty when none was given).

    Raises IndexError for a response with no choices (the provider's
    ``provider-empty-answer``) and :class:`AnswerNotText` when the content is
    not a string. An absent content is an empty continuation, a valid answer.
    """
    choice = response.choices[0]
    content = choice.message.content
    if content is None:
        content = ""
    if not isinstance(content, str):
        raise AnswerNotText(f"the completion's message content is {type(content).__name__}, not text")
    if prefix and content.startswith(prefix):
        content = content[len(prefix):]
    return content, str(getattr(choice, "finish_reason", None) or "")
