"""A provider for any OpenAI-compatible endpoint: the openai SDK with instructor.

Two loops, each for its own kind of failure:

* instructor's loop repairs answers that do not validate: it sends the
  validation error back to the model (``repair_rounds`` times at most), then
  gives up with ``invalid-answer``;
* our loop around it (tenacity) retries transport failures that may pass:
  timeouts, connection errors, 408/409/429 and 5xx, with exponential backoff
  and jitter, or as long as the server's ``Retry-After`` (``retry-after-ms``)
  asks, up to ``retry_after_max_s``; also a response with no choices
  (``provider-empty-answer``) and a body that is not JSON or not text
  (``provider-undecodable``). 400, 401, 403, 404 and 422 are not retried:
  asking again gets the same answer.

Every request streams (``stream=True``, with ``stream_options.include_usage`` for the usage): instructor
is given a create function that makes the streamed request, tells :func:`.report_generated` the tokens
written so far as the chunks come (one streamed chunk is about one token: exactly one from llama.cpp's
server), and hands instructor the whole ``ChatCompletion`` gathered from the chunks by the SDK's
``ChatCompletionStreamState``. So instructor parses, validates and repairs the answer as it would a
response that was not streamed, and its hooks see that one completion. (instructor's own streaming,
``create_partial``, yields partial objects that are validated only as the caller iterates them, outside
its repair loop, and gives no usage: it would lose the repair rounds and the accounting.) The usage is the
stream's last usage chunk; a server that sends none is charged the chunks it sent as completion tokens.
A stream that breaks, carries an error event or ends before the answer has finished is
``provider-unavailable`` and is retried like a dropped connection; one still streaming after ``timeout_s`` is ``provider-timeout``. A server that
answers a streamed request with one whole JSON response (it does not stream) is read as that response,
and the first time is logged as a warning and recorded in :attr:`OpenAIProvider.server_streams`:
nothing is counted while its answers are written. ``OpenAISettings(stream=False)`` asks for whole
answers, for a server that refuses streamed requests.

A completion-style answer (:class:`CodeCompletion`) is asked without a
schema: the call goes through instructor with ``response_model=None``, which
hands it straight to the SDK (no tools, no ``response_format``, no repair
rounds, and no instructor hooks, so this module counts the request and its
usage itself); the transport retries are the same.

:meth:`OpenAIProvider.preflight` is one cheap request (the server's model
list) made before a run trains anything, so that a server that is not there,
a refused key or an unknown model stops the run at once with what to fix.

The SDK's own retries are off so that only this policy applies. The API key
is read from an environment variable, held only by the HTTP client, and
scrubbed from every error text we produce.
"""

from __future__ import annotations

import email.utils
import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import instructor
import openai
from instructor.core.exceptions import InstructorError, InstructorRetryException
from instructor.core.hooks import Hooks
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types import CompletionUsage
from openai.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionMessageParam
from pydantic import BaseModel, ValidationError
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from interfaces import ConfigError, thaw

from ._answers import CodeCompletion, is_completion
from ._completion import AnswerNotText, assistant_prefix, continuation
from ._endpoints import ENDPOINTS, Endpoint, default_price, instructor_mode
from ._errors import provider_error
from ._generation import report_generated
from ._ledger import Ledger, Price, estimate_tokens
from ._records import Exchange, LLMReply, LLMRequest, Usage
from ._redact import register_secret

__all__ = ["OpenAISettings", "OpenAIProvider"]

T = TypeVar("T", bound=BaseModel)
_log = logging.getLogger(__name__)
_NO_KEY = "no-key-needed"  # the SDK insists on some key; local servers ignore it
_RETRYABLE_STATUS = frozenset({408, 409, 429})
#: Seconds the preflight request may take: the model list is small, and a server that takes longer to
#: answer it is not ready for a run.
PREFLIGHT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class OpenAISettings:
    """Timeouts, retries and repair rounds. Backoff grows from ``backoff_s`` to ``backoff_max_s``."""

    timeout_s: float = 60.0
    max_attempts: int = 4
    backoff_s: float = 1.0
    backoff_max_s: float = 30.0
    repair_rounds: int = 1
    temperature: float | None = None
    max_output_tokens: int | None = None
    #: The longest ``Retry-After`` honoured; a server asking for more is waited for this long.
    retry_after_max_s: float = 120.0
    #: Stream each answer, counting its tokens as they come; off for a server that refuses streamed requests.
    stream: bool = True

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise ConfigError("timeout_s must be positive", code="bad-timeout")
        if self.max_attempts < 1:
            raise ConfigError("max_attempts must be at least 1", code="bad-retries")
        if self.repair_rounds < 0:
            raise ConfigError("repair_rounds cannot be negative", code="bad-retries")
        if self.backoff_s < 0 or self.backoff_max_s < 0:
            raise ConfigError("backoff cannot be negative", code="bad-retries")


class _StreamBroken(Exception):
    """A streamed answer that stopped before it was whole; ``code`` is the failure's stable code."""

    def __init__(self, message: str, code: str = "provider-unavailable") -> None:
        super().__init__(message)
        self.code = code


def _failure_code(exc: BaseException, log: _CallLog | None = None) -> tuple[str, bool]:
    """The stable code for a failure, and whether trying again may help.

    ``provider-empty-answer`` (a response with no choices) and
    ``provider-undecodable`` (a body that is not JSON, or not text) are the
    server's fault, not the model's, and are retried like a 5xx; ``log``
    tells them from an answer that did not parse, which goes to a repair
    round instead.
    """
    if isinstance(exc, _StreamBroken):
        return exc.code, True  # a transport failure halfway through, retried like one before the answer
    if isinstance(exc, (UnicodeDecodeError, AnswerNotText)):
        return "provider-undecodable", True
    body_unparsed = log is not None and log.requests > log.responses
    if body_unparsed and isinstance(exc, json.JSONDecodeError):
        return "provider-undecodable", True  # the HTTP body itself did not parse: no response was seen
    if log is not None and log.last_choices == 0 and isinstance(exc, (IndexError, TypeError, AttributeError)):
        return "provider-empty-answer", True
    if isinstance(exc, openai.APIResponseValidationError):
        return "provider-undecodable", True
    if isinstance(exc, openai.APITimeoutError):
        return "provider-timeout", True
    if isinstance(exc, openai.APIConnectionError):
        return "provider-unavailable", True
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status in (401, 403):
            return "provider-auth", False
        if status == 429:
            return "provider-rate-limited", True
        if status in _RETRYABLE_STATUS or status >= 500:
            return "provider-unavailable", True
        return "provider-rejected", False
    if isinstance(exc, (ValidationError, json.JSONDecodeError, InstructorError)):
        return "invalid-answer", False
    return "provider-failed", False


def _connection_reason(exc: BaseException) -> str:
    """The innermost cause of a connection failure, e.g. ``[Errno 111] Connection refused``."""
    for _depth in range(10):  # a chain is short; the bound only guards against a cycle
        inner = exc.__cause__ or exc.__context__
        if inner is None:
            break
        exc = inner
    return str(exc) or type(exc).__name__


def _root_cause(exc: BaseException) -> BaseException:
    # instructor wraps whatever ended its loop; the cause says what really happened.
    while isinstance(exc, InstructorRetryException) and exc.__cause__ is not None:
        exc = exc.__cause__
    return exc


def retry_after_s(exc: BaseException) -> float | None:
    """Seconds a server asked us to wait (``Retry-After``: seconds or an HTTP date; ``retry-after-ms``)."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    milliseconds = headers.get("retry-after-ms")
    if milliseconds:
        try:
            return max(0.0, float(milliseconds) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _answer_text(response: Any) -> str:
    """What the model said: tool-call arguments if it called a tool, else the message text."""
    try:
        message = response.choices[0].message
    except (AttributeError, IndexError, TypeError):
        return ""
    calls = getattr(message, "tool_calls", None) or []
    if calls:
        return "".join(call.function.arguments or "" for call in calls)
    return message.content or ""


def _writes(chunk: ChatCompletionChunk) -> bool:
    """Whether a streamed chunk carries a piece of the answer (text, a refusal or tool-call arguments)."""
    for choice in chunk.choices:
        delta = choice.delta
        if delta is None:
            continue
        if delta.content or delta.refusal:
            return True
        if any(call.function is not None and call.function.arguments for call in delta.tool_calls or []):
            return True
    return False


class _CallLog:
    """Per-call instructor hooks: counts requests, keeps answer texts and usage."""

    def __init__(self, price: Price | None) -> None:
        self.price = price
        self.requests = 0
        self.responses = 0
        self.last_choices: int | None = None
        self.texts: list[str] = []
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.cached_prompt_tokens = 0
        self.hooks = Hooks()
        self.hooks.on("completion:kwargs", self._on_request)
        self.hooks.on("completion:response", self._on_response)

    def _on_request(self, *args: Any, **kwargs: Any) -> None:
        self.requests += 1

    def _on_response(self, response: Any) -> None:
        self.record_response(response, _answer_text(response))

    def record_response(self, response: Any, text: str) -> None:
        """Count one response: its number of choices, its answer ``text`` and its usage."""
        self.responses += 1
        self.last_choices = len(getattr(response, "choices", None) or [])
        self.texts.append(text)
        usage = getattr(response, "usage", None)
        if usage is not None:
            self.prompt_tokens += int(getattr(usage, "prompt_tokens", 0) or 0)
            self.completion_tokens += int(getattr(usage, "completion_tokens", 0) or 0)
            details = getattr(usage, "prompt_tokens_details", None)
            self.cached_prompt_tokens += int(getattr(details, "cached_tokens", 0) or 0)

    def usage(self) -> Usage:
        cost = None if self.price is None else self.price.cost(self.prompt_tokens, self.completion_tokens)
        return Usage(self.prompt_tokens, self.completion_tokens, cost, calls=1,
                     cached_prompt_tokens=self.cached_prompt_tokens)


class OpenAIProvider:
    """Structured answers from an OpenAI-compatible chat-completions endpoint."""

    name = "openai"

    def __init__(
        self,
        model: str,
        *,
        endpoint: str = "openai",
        base_url: str | None = None,
        api_key_env: str | None = None,
        mode: str | None = None,
        price: Price | None = None,
        ledger: Ledger | None = None,
        settings: OpenAISettings | None = None,
    ) -> None:
        if endpoint not in ENDPOINTS:
            raise ConfigError(
                f"unknown endpoint {endpoint!r}; known: {', '.join(ENDPOINTS)}", code="unknown-endpoint"
            )
        if not model:
            raise ConfigError("a model name is required", code="missing-model")
        preset: Endpoint = ENDPOINTS[endpoint]
        self.endpoint = preset.name
        self.model = model
        self.base_url = base_url or preset.base_url
        if not self.base_url:
            raise ConfigError(f"endpoint {endpoint!r} needs a base_url", code="missing-base-url")
        self.mode_name = (mode or preset.mode).lower()
        self.settings = settings or OpenAISettings()
        self.ledger = ledger if ledger is not None else Ledger()
        self.price = price if price is not None else default_price(preset, model)
        key_env = api_key_env or preset.api_key_env
        self._api_key = self._read_key(key_env)
        if self._api_key != _NO_KEY:
            register_secret(self._api_key)
        client = openai.OpenAI(
            api_key=self._api_key,
            base_url=self.base_url,
            timeout=self.settings.timeout_s,
            max_retries=0,
        )
        self._openai = client
        self._key_env = key_env
        #: Whether the server streamed its last answer: None before the first, False for a server that
        #: answers streamed requests with whole responses (then warned of once).
        self.server_streams: bool | None = None
        self._warned_unstreamed = False
        answer_mode = instructor_mode(self.mode_name)
        # What instructor.from_openai builds, with the create function that streams in place of the SDK's.
        self._client = instructor.Instructor(
            client=client, create=instructor.patch(create=self._send, mode=answer_mode), mode=answer_mode)

    @staticmethod
    def _read_key(env_name: str | None) -> str:
        if env_name is None:
            return _NO_KEY
        key = os.environ.get(env_name, "")
        if not key:
            raise ConfigError(
                f"set the API key in the environment variable {env_name}", code="missing-api-key"
            )
        return key

    def describe(self) -> str:
        price = "unknown price" if self.price is None else (
            f"${self.price.prompt_per_mtok}/${self.price.completion_per_mtok} per Mtok"
        )
        return (
            f"openai-compatible endpoint {self.endpoint} at {self.base_url}, model {self.model}, "
            f"instructor mode {self.mode_name}, {price}"
        )

    def preflight(self) -> None:
        """Check that the endpoint answers, takes the key and serves the model; raise ProviderError if not.

        ``provider-unreachable``: nothing answers at ``base_url`` (connection refused, no such host, a
        timeout) or the server answers with a 5xx other than 501. ``provider-auth``: 401 or 403.
        ``model-not-found``: the server lists its models and ``model`` is not among them (not checked for
        llama.cpp's server, which serves its one model under any name). A server that does not list models
        (501, another 4xx, a body that is not a model list) passes: the run's first request reports
        whatever is wrong with it.
        """
        client = self._openai.with_options(timeout=min(PREFLIGHT_TIMEOUT_S, self.settings.timeout_s), max_retries=0)
        where = f"the model server at {self.base_url}"
        try:
            listed = [str(entry.id) for entry in client.models.list().data]
        except openai.APIConnectionError as exc:  # APITimeoutError is one too
            reason = "did not answer in time" if isinstance(exc, openai.APITimeoutError) else \
                self._scrub(f"cannot be reached ({_connection_reason(exc)})")
            raise provider_error("provider-unreachable", f"{where} {reason}; start the server, or give its "
                                 "address with --base-url (e.g. http://127.0.0.1:8000/v1)") from None
        except openai.APIStatusError as exc:
            if exc.status_code in (401, 403):
                key = f"set a valid key in {self._key_env}" if self._key_env else "check the server's key setting"
                raise provider_error("provider-auth", f"{where} refused the API key (HTTP {exc.status_code}); "
                                     f"{key}") from None
            if exc.status_code >= 500 and exc.status_code != 501:  # 501: the server has no model list
                raise provider_error("provider-unreachable", f"{where} answered HTTP {exc.status_code}; check "
                                     "that the server has started and loaded its model") from None
            return  # the server does not list models
        except (openai.APIError, ValueError, TypeError, AttributeError):
            return  # an answer that is not a model list: this server does not list models
        if listed and self.model not in listed and self.endpoint != "llamacpp":
            shown = ", ".join(listed[:10]) + (f" and {len(listed) - 10} more" if len(listed) > 10 else "")
            raise provider_error("model-not-found", f"{where} serves no model {self.model!r}; it serves "
                                 f"{shown}; give one with --model")

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, "[redacted]") if self._api_key != _NO_KEY else text

    def _create_kwargs(self, allowance: int | None, options: Any = None) -> dict[str, Any]:
        """Sampling arguments: the request's options over the settings; ``max_tokens`` within every cap."""
        options = thaw(options or {})
        extra: dict[str, Any] = {}
        temperature = options.get("temperature", self.settings.temperature)
        if temperature is not None:
            extra["temperature"] = temperature
        for name in ("seed", "stop"):
            if options.get(name) is not None:
                extra[name] = options[name]
        caps = [cap for cap in (options.get("max_tokens"), self.settings.max_output_tokens, allowance)
                if cap is not None]
        if caps:
            extra["max_tokens"] = min(caps)
        return extra

    def ask(self, request: LLMRequest, response_model: type[T]) -> LLMReply[T]:
        # Before anything is sent: refused when the budget is spent, and the answer capped by what is left.
        allowance = self.ledger.completion_allowance(estimate_tokens(request.chat_messages()), self.price,
                                                     request.purpose)
        log = _CallLog(self.price)
        started = time.monotonic()
        sampling = self._create_kwargs(allowance, request.options)
        try:
            if is_completion(response_model):
                value: Any = self._retrying(request, log)(self._complete_once, request, log, sampling)
            else:
                value = self._retrying(request, log)(
                    self._client.create,
                    response_model=response_model,
                    messages=request.chat_messages(),
                    model=self.model,
                    max_retries=self.settings.repair_rounds,
                    hooks=log.hooks,
                    **sampling,
                )
        except Exception as exc:  # noqa: BLE001 - any provider failure becomes a coded exchange record
            cause = _root_cause(exc)
            code, _ = _failure_code(cause, log)
            message = self._scrub(f"{type(cause).__name__}: {cause}")
            if code == "invalid-answer":
                message = (
                    f"the answer did not validate as {response_model.__name__} after "
                    f"{self.settings.repair_rounds} repair round(s): {message}"
                )
            else:
                message = f"{request.purpose} call failed after {log.requests} request(s): {message}"
            exchange = self._exchange(request, response_model, log, started, None, {"code": code, "message": message})
            self.ledger.add(request.level, exchange.usage)
            raise provider_error(code, message, exchange) from None
        # instructor answers with a subclass carrying the raw response; hand back the model itself.
        value = response_model.model_validate(value.model_dump())
        exchange = self._exchange(request, response_model, log, started, value.model_dump(mode="json"), None)
        self.ledger.add(request.level, exchange.usage)
        return LLMReply(value=value, exchange=exchange)

    def _retrying(self, request: LLMRequest, log: _CallLog) -> Retrying:
        """The transport retry policy for one call (see the module docstring)."""
        s = self.settings
        backoff = wait_exponential_jitter(multiplier=s.backoff_s, max=s.backoff_max_s, jitter=s.backoff_s)

        def wait(state: Any) -> float:
            # A server that says how long to wait is believed, up to retry_after_max_s.
            asked = retry_after_s(_root_cause(state.outcome.exception()))
            return backoff(state) if asked is None else min(asked, self.settings.retry_after_max_s)

        def before_sleep(state: RetryCallState) -> None:
            # Called only after a failed attempt, so the outcome holds the exception.
            error = state.outcome.exception() if state.outcome is not None else None
            code = _failure_code(_root_cause(error), log)[0] if error is not None else "no-exception"
            _log.info("retrying %s call after %s", request.purpose, code)

        return Retrying(
            stop=stop_after_attempt(self.settings.max_attempts),
            wait=wait,
            retry=retry_if_exception(lambda exc: _failure_code(_root_cause(exc), log)[1]),
            before_sleep=before_sleep,
            reraise=True,
        )

    def _send(self, **kwargs: Any) -> Any:
        """The HTTP request instructor makes: streamed, and handed back as the whole ``ChatCompletion``."""
        if not self.settings.stream:
            return self._openai.chat.completions.create(**kwargs)
        started = time.monotonic()
        stream = self._openai.chat.completions.create(**kwargs, stream=True, stream_options={"include_usage": True})
        content_type = stream.response.headers.get("content-type", "")
        if not content_type.startswith("text/event-stream"):
            return self._unstreamed(stream)
        self.server_streams = True
        return self._gathered(stream, started)

    def _unstreamed(self, stream: Any) -> ChatCompletion:
        """A whole response to a streamed request, read the way the SDK reads one that was not streamed."""
        if not self._warned_unstreamed:
            self._warned_unstreamed = True
            _log.warning("the model server at %s answered a streamed request with one whole response; it does not "
                         "stream, so no tokens are counted while its answers are written (stream=False asks it for "
                         "whole answers)", self.base_url)
        self.server_streams = False
        try:
            data = json.loads(stream.response.read())  # UnicodeDecodeError, JSONDecodeError: undecodable
        finally:
            stream.close()
        if not isinstance(data, dict):
            raise _StreamBroken(f"the response is JSON but not a completion: {str(data)[:100]}",
                                "provider-undecodable")
        return ChatCompletion.construct(**data)

    def _gathered(self, stream: Any, started: float) -> ChatCompletion:
        """The chunks of a streamed answer gathered into one completion, its tokens reported as they come."""
        # The SDK's stream raises its HTTP library's errors as they are (it wraps only those before the
        # answer); that library is httpx or httpx2 by the SDK's version, so it is taken from the response.
        http = sys.modules[type(stream.response).__module__.partition(".")[0]]
        state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
        generated = 0
        usage: CompletionUsage | None = None
        finished = chunks = False
        try:
            for chunk in stream:
                if time.monotonic() - started > self.settings.timeout_s:
                    raise _StreamBroken(f"the answer was still streaming after {self.settings.timeout_s:g} s "
                                        f"({generated} tokens)", "provider-timeout")
                state.handle_chunk(chunk)
                chunks = True
                usage = chunk.usage or usage
                finished = finished or any(choice.finish_reason for choice in chunk.choices)
                if _writes(chunk):
                    generated += 1
                    report_generated(generated)
        except http.TimeoutException as exc:
            raise _StreamBroken(f"the stream stalled after {generated} tokens: {exc}", "provider-timeout") from exc
        except http.TransportError as exc:
            raise _StreamBroken(f"the stream broke after {generated} tokens: {exc}") from exc
        except openai.APIError as exc:  # an error event in the stream: the server gave up on the answer
            raise _StreamBroken(f"the server broke off the stream after {generated} tokens: {exc.message}") from exc
        finally:
            stream.close()
        if not chunks or not finished:
            raise _StreamBroken(f"the stream ended after {generated} tokens, before the answer finished")
        if usage is None:  # the server kept its count to itself: the chunks are the best count there is
            usage = CompletionUsage(prompt_tokens=0, completion_tokens=generated, total_tokens=generated)
        elif usage.completion_tokens > generated:  # several tokens to a chunk: the server's figure is exact
            report_generated(usage.completion_tokens)
        # A plain ChatCompletion, without the snapshot's parsed fields and the chunks' tool-call indexes:
        # instructor's repair round sends the answer's message back to the server, which may refuse fields
        # that a message does not have.
        snapshot = state.current_completion_snapshot.model_dump(
            exclude={"choices": {"__all__": {"message": {"parsed": True, "tool_calls": {
                "__all__": {"index": True, "function": {"parsed_arguments"}}}}}}})
        snapshot["usage"] = usage.model_dump()
        return ChatCompletion.construct(**snapshot)

    def _complete_once(self, request: LLMRequest, log: _CallLog, sampling: dict[str, Any]) -> CodeCompletion:
        """One completion-style HTTP request; the answer is what the model wrote after the prefix."""
        messages = request.chat_messages()
        log.requests += 1  # instructor fires no hooks without a response model: counted here instead
        # The SDK's message types are TypedDicts; these plain role/content dicts are their runtime form.
        sdk_messages = cast("list[ChatCompletionMessageParam]", messages)
        response = self._client.create(response_model=None, messages=sdk_messages, model=self.model, **sampling)
        text, finish_reason = "", ""
        try:
            text, finish_reason = continuation(response, assistant_prefix(messages))
        finally:
            # Counted even when the response is unusable: its tokens were spent, and its choices tell
            # an empty response (retried) from other failures.
            log.record_response(response, text)
        return CodeCompletion(text=text, finish_reason=finish_reason)

    def _exchange(
        self,
        request: LLMRequest,
        response_model: type[BaseModel],
        log: _CallLog,
        started: float,
        parsed: Any,
        error: dict[str, str] | None,
    ) -> Exchange:
        return Exchange(
            purpose=request.purpose,
            level=request.level,
            provider=self.name,
            model=self.model,
            response_model=response_model.__name__,
            messages=request.messages,
            raw_text=tuple(self._scrub(t) for t in log.texts),
            parsed=parsed,
            usage=log.usage(),
            duration_s=time.monotonic() - started,
            attempts=log.requests,
            error=error,
        )

