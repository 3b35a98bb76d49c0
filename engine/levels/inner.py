"""Level 1, the inner loop.

One iteration::

    proposal (mechanism source, else the proposer policy: the LLM, an Optuna
    sampler, or the LLM picking among the sampler's candidates; see
    :mod:`.proposers`) -> coerce + validate against the space -> duplicate
    check -> proposal filters -> run the trial -> acceptance -> store ->
    observers

A proposal that fails validation, repeats a configuration that already ran,
or is vetoed by a filter is recorded as a REJECTED trial with the reason and
costs no training run; the model is asked again with the reason, up to
``max_rejections`` times per iteration. A malformed model answer is recorded
the same way. A provider that cannot be reached (``provider-unavailable``
after its own retries) is recorded under that code, not as a malformed
answer, and :data:`UNREACHABLE_LIMIT` such failures in a row stop the run
with ``provider-unreachable``. Every trial is written to the store the moment
it is decided.

A source mechanism's proposal that is rejected hands the rest of that
iteration's attempts to the proposer policy (the source is not asked again
until the next iteration, so it cannot spend the iteration repeating itself),
and a source whose last :data:`SOURCE_REJECTION_LIMIT` proposals were all
rejected is ejected with ``rejected-proposals``: it gives nothing a trial
could measure.

With ``ahead`` (the run's ``overlap`` setting), the model is asked for the
next iteration's proposal while this iteration's trial trains, so the model's
time hides behind the training instead of adding to it. That proposal is
made from the trace without the training trial's result (it is told the
trial is running), and it is screened only when it is about to run: its
changes apply to the incumbent of that moment, and a proposal that has become
a repeat or invalid is rejected then like any other and the model is asked
again. It is asked only where the model would propose the next trial anyway
(the ``llm`` policy, or the warm start): a sampler's turn is fast and should
see every result. A proposal asked ahead lives in memory only; a run stopped
before it runs asks again on resume.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from interfaces import (
    RUN_STOPPING_PROVIDER_CODES,
    AutoresearchError,
    Decision,
    Outcome,
    Proposal,
    SearchConfig,
    Task,
    TraceView,
    Trial,
    TrialRequest,
    TrialStatus,
    thaw,
)

from .acceptance import BuiltinAcceptance
from .prompts import proposal_messages
from .proposers import next_proposer, pick_messages
from .samplers import REDRAWS, SamplerSource
from .throughput import (
    Remeasured,
    SlowTrial,
    ThroughputCheck,
    awaiting_remeasure,
    baseline_notice,
    is_measured_again,
)

if TYPE_CHECKING:
    from engine.history import RunHistory

__all__ = ["InnerLoop", "LoopEvents", "SOURCE_REJECTION_LIMIT", "UNREACHABLE_LIMIT", "ask_announced",
           "ask_recorded", "tried_from"]

#: Proposals in a row of one source mechanism that may be rejected (repeats, no-change, out of the space,
#: vetoed) before it is ejected with ``rejected-proposals``.
SOURCE_REJECTION_LIMIT = 3

#: Level 1 proposals in a row that fail with ``provider-unavailable`` (each after the provider's own
#: retries) before the run stops with ``provider-unreachable``: a server that is gone does not come back
#: by itself, and every further try would only record one more rejected trial.
UNREACHABLE_LIMIT = 3


def _same(a: Any, b: Any) -> bool:
    """Equal as configuration values: a list read back from JSON is its tuple, and True is not 1."""
    def norm(v: Any) -> Any:
        return tuple(v) if isinstance(v, list) else v
    return isinstance(a, bool) == isinstance(b, bool) and norm(a) == norm(b)


def tried_from(trace: TraceView, current: Mapping[str, Any]) -> dict[str, tuple[Any, ...]]:
    """Each parameter's values that a trial which ran set against ``current`` alone or together with one
    other change (the trial differed from ``current`` in one or two parameters).

    The value grid leaves these out: a small model that repeats a change from the same incumbent repeats
    it in pairs as often as alone (each repeat a rejected duplicate that costs a model request), and a
    value already measured beside the incumbent is the least informative one to offer again.
    """
    tried: dict[str, list[Any]] = {}
    for trial in trace.ran():
        config = trial.config
        changed = [n for n in current if n in config and not _same(config[n], current[n])]
        if 1 <= len(changed) <= 2:
            for name in changed:
                if not any(_same(config[name], v) for v in tried.get(name, ())):
                    tried.setdefault(name, []).append(config[name])
    return {name: tuple(values) for name, values in tried.items()}


@dataclass
class LoopEvents:
    """Callbacks for the live display; all optional.

    ``iteration_started(n, total)``: Level 1 iteration ``n`` (1-based) of ``total`` begins.
    ``level_started(level, detail)``: the run moves to a step of a level ("1", "1.5", "2"), e.g.
    ``("1", "proposing")``, ``("1.5", "cycle 2")``, ``("2", "session 1: round explore")``.
    ``model_asked(purpose)``: a request to the model begins; ``model_generated(tokens)``: while it runs, the
    tokens its answer has so far, each time a streamed piece comes (a retried or repaired request counts
    again from 1; only a provider that streams calls it: ``openai``, not ``heuristic`` nor ``replay``,
    whose answers come whole at once); ``model_answered(tokens, seconds)``: it ended (``tokens`` 0 when
    nothing came back). ``run_resumed(history)``: a resumed run found this
    :class:`engine.history.RunHistory` in its store, before it goes on.
    """

    trial_started: Callable[[int, Mapping[str, Any], float], None] = lambda i, c, b: None
    trial_finished: Callable[[Trial], None] = lambda t: None
    message: Callable[[str], None] = lambda text: None
    iteration_started: Callable[[int, int], None] = lambda n, total: None
    level_started: Callable[[str, str], None] = lambda level, detail: None
    model_asked: Callable[[str], None] = lambda purpose: None
    model_generated: Callable[[int], None] = lambda tokens: None
    model_answered: Callable[[int, float], None] = lambda tokens, seconds: None
    run_resumed: Callable[[RunHistory], None] = lambda history: None


def ask_announced(events: LoopEvents, provider: Any, request: Any, response_model: Any) -> Any:
    """``provider.ask(request, response_model)`` between ``model_asked`` and ``model_answered``, with
    ``model_generated`` hearing the answer's tokens as they stream in.

    ``model_answered`` follows on every way out, a failure included, so the display never shows a
    request still running that has ended.
    """
    from engine.llm import generation_listener

    events.model_asked(request.purpose)
    started = time.monotonic()
    tokens = 0
    try:
        with generation_listener(events.model_generated):
            reply = provider.ask(request, response_model)
        tokens = int(reply.exchange.usage.total_tokens)
        return reply
    except AutoresearchError as exc:
        exchange = getattr(exc, "exchange", None)
        tokens = int(exchange.usage.total_tokens) if exchange is not None else 0
        raise
    finally:
        events.model_answered(tokens, time.monotonic() - started)


def ask_recorded(events: LoopEvents, provider: Any, request: Any, response_model: Any,
                 record: Callable[[Any], None]) -> Any:
    """:func:`ask_announced`, and the exchange passed to ``record`` whichever way the request ends.

    A failed request still cost time and tokens, so its exchange (where the error carries one) is
    recorded like any other before the error goes on.
    """
    try:
        reply = ask_announced(events, provider, request, response_model)
    except AutoresearchError as exc:
        exchange = getattr(exc, "exchange", None)
        if exchange is not None:
            record(exchange)
        raise
    record(reply.exchange)
    return reply


@dataclass
class _Pending:
    index: int
    proposal: Proposal
    config: dict[str, Any]
    future: Future[Outcome]
    remeasure_of: int | None = None  # the first trial of the configuration this run measures again
    started: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class _Ahead:
    """A proposal asked while the trial before it trained, and what was wrong with it, if anything."""

    proposal: Proposal
    problem: tuple[str, str] | None
    asked_during: int  # the index of the trial that was training


class InnerLoop:
    def __init__(
        self,
        *,
        task: Task,
        executor: Any,
        provider: Any,
        store: Any,
        run_id: str,
        registry: Any,
        acceptance: BuiltinAcceptance,
        search_config: SearchConfig,
        max_rejections: int = 3,
        events: LoopEvents | None = None,
        record_exchange: Callable[[Any], None] | None = None,
        seed: int = 0,
        remeasure_slow: int = 1,
    ) -> None:
        self.task = task
        self.space = task.space()
        self.executor = executor
        self.provider = provider
        self.store = store
        self.run_id = run_id
        self.registry = registry
        self.acceptance = acceptance
        self.search_config = search_config
        self.max_rejections = max_rejections
        self.events = events or LoopEvents()
        self.record_exchange = record_exchange or (lambda exchange: None)
        self.workers = max(1, int(getattr(executor, "workers", 1)))
        self.noise_floor: float | None = task.noise_floor()
        self.grid_points = 0  # values offered per parameter in the proposal schema; 0: any value
        self.unreachable_streak = 0  # proposals in a row that failed with provider-unavailable
        # ``remeasure_slow``: times a configuration flagged slow-machine under a time budget runs again.
        self.throughput: ThroughputCheck | None = ThroughputCheck.for_task(task, remeasure=remeasure_slow)
        self.seed = int(seed)  # seeds the Optuna samplers, with each trial's index
        self._samplers: dict[str, SamplerSource] = {}
        self._ahead: _Ahead | None = None  # the next iteration's proposal, asked while a trial trained
        self._stop: AutoresearchError | None = None  # a run-stopping failure of the proposal asked ahead
        self._source_rejections: dict[str, int] = {}  # a source mechanism's rejected proposals in a row

    # -- state ---------------------------------------------------------------
    def trace(self) -> TraceView:
        return self.store.trace(self.run_id, minimize=self.task.minimize)

    def next_index(self) -> int:
        """The smallest index neither stored as a trial nor begun (in flight).

        An index is taken only when its trial is written: begun (it runs) or
        finished (rejected). Nothing is saved when an index is merely chosen,
        so a run killed while asking for a proposal re-uses that index on
        resume, and so does a trial that was in flight and is run again:
        indices have no gaps.
        """
        used = {t.index for t in self.store.trials(self.run_id)} | set(self.store.in_flight(self.run_id))
        index = 0
        while index in used:
            index += 1
        return index

    def _reserve_index(self) -> int:
        return self.next_index()

    def incumbent_config(self, trace: TraceView) -> dict[str, Any]:
        incumbent = trace.incumbent()
        return dict(incumbent.config) if incumbent is not None else dict(self.space.defaults())

    # -- baseline --------------------------------------------------------------
    def ensure_baseline(self) -> Trial:
        """Measure the unmodified configuration once, as trial 0."""
        trace = self.trace()
        baseline = trace.baseline()
        if baseline is not None:
            return baseline
        config = dict(self.space.defaults())
        proposal = Proposal({}, "the unmodified configuration", "baseline")
        index = self._reserve_index()
        self.events.level_started("1", "training the baseline")
        pending = self._submit(index, proposal, config)
        outcome = pending.future.result()
        trial = self._trial(pending, outcome, Decision.BASELINE)
        self._finish(trial, outcome)
        if not trial.ok:
            raise AutoresearchError(
                f"the baseline configuration did not run: {outcome.status.value}: {outcome.reason}\n"
                f"{outcome.log_tail[-1500:]}",
                code="baseline-failed",
            )
        notice = baseline_notice(self.throughput, outcome.metrics)
        if notice is not None:
            self.events.message(notice)
        return trial

    # -- one iteration ---------------------------------------------------------
    def iterate(self, ahead: bool = False) -> list[Trial]:
        """Propose, screen and run up to ``workers`` trials; decide them in order.

        ``ahead``: while the (single) trial trains, ask the model for the next iteration's proposal
        (see the module docstring); the caller passes it when another Level 1 iteration follows with
        the same search config.

        A trial flagged ``slow-machine`` under a time budget is measured again (:mod:`.throughput`):
        its configuration is submitted as a new trial when the flagged one is decided, and decided after
        the trials begun before it, so decisions stay in index order. A re-measurement uses no iteration
        of the run's budget: it belongs to the iteration of the trial it measures again. A run killed
        between a flagged trial and its re-measurement resumes with that iteration's re-measurements
        alone: the flagged trial is stored, and nothing new is proposed in the cut iteration.
        """
        if self._stop is not None:
            stop, self._stop = self._stop, None
            raise stop
        queue: list[_Pending] = [self._submit_again(t) for t in awaiting_remeasure(self.store.trials(self.run_id))]
        for _slot in range(0 if queue else self.workers):
            feedback: list[str] = []
            screened = self._taken_ahead(queue, feedback) if self._ahead is not None else None
            screened = screened or self._screened_proposal(queue, feedback)
            if screened is None:
                break
            index, proposal, config, request = screened
            queue.append(self._submit(index, proposal, config, request))
        self._ahead = None
        if ahead and len(queue) == 1 and self._model_proposes_next():
            try:
                self._ahead = self._asked_ahead(queue[0])
            except AutoresearchError as exc:
                # A failure that stops the run belongs to the next iteration, whose proposal it was: this
                # iteration's trial is decided and stored, and the run stops where the next one begins.
                self._stop = exc
        finished: list[Trial] = []
        while queue:
            item = queue.pop(0)
            trial = self._decide_and_store(item, item.future.result())
            finished.append(trial)
            if is_measured_again(trial):
                queue.append(self._submit_again(trial))
        return finished

    def _model_proposes_next(self) -> bool:
        """Whether the model (not a sampler) proposes the trial after the one now training."""
        config = self.search_config
        if config.proposer == "llm":
            return True
        ran = sum(1 for t in self.trace().ran() if t.decision is not Decision.BASELINE and t.remeasure_of is None)
        return ran + 1 < config.warm_start  # the training trial will have run by then

    def _asked_ahead(self, training: _Pending) -> _Ahead:
        """The next proposal, asked while ``training`` runs; screened when it is taken."""
        trace = self.trace()
        current = self.incumbent_config(trace)
        self.registry.trial_index = self._reserve_index()
        self.events.level_started("1", f"proposing the next trial while #{training.index} trains")
        feedback = [f"#{training.index} {dict(training.proposal.changes)} is training now; its result is not "
                    "known yet; propose something else"]
        proposal, problem = self._proposal(trace, current, feedback)
        self.events.level_started("1", f"training trial #{training.index}")
        return _Ahead(proposal, problem, training.index)

    def _taken_ahead(self, pending: list[_Pending],
                     feedback: list[str]) -> tuple[int, Proposal, dict[str, Any], TrialRequest] | None:
        """The proposal asked ahead, screened against the trace as it is now; None (its rejection stored
        and its reason added to ``feedback``) when it no longer passes."""
        ahead, self._ahead = self._ahead, None
        assert ahead is not None
        trace = self.trace()
        current = self.incumbent_config(trace)
        index = self._reserve_index()
        self.registry.trial_index = index
        screened = ahead.problem if ahead.problem is not None else \
            self._screen(ahead.proposal, trace, current, pending)
        if isinstance(screened, TrialRequest):
            self._source_rejections.pop(ahead.proposal.source, None)
            return index, ahead.proposal, dict(current, **ahead.proposal.changes), screened
        code, reason = screened
        self._reject(index, ahead.proposal, current, code,
                     f"{reason} (proposed while #{ahead.asked_during} trained)")
        feedback.append(reason)
        return None

    def _screened_proposal(self, pending: list[_Pending],
                           feedback: list[str] | None = None) -> tuple[int, Proposal, dict[str, Any], TrialRequest] | None:
        feedback = list(feedback or []) + [
            f"#{p.index} {dict(p.proposal.changes)} is already running; propose something else"
            for p in pending
        ]
        sources = True  # until a source's proposal is rejected in this iteration
        for _attempt in range(self.max_rejections + 1):
            trace = self.trace()
            current = self.incumbent_config(trace)
            index = self._reserve_index()
            self.registry.trial_index = index
            self.events.level_started("1", f"proposing trial #{index}")
            proposal, problem = self._proposal(trace, current, feedback, sources=sources)
            screened: TrialRequest | tuple[str, str] = problem if problem is not None else \
                self._screen(proposal, trace, current, pending)
            if isinstance(screened, TrialRequest):
                self._source_rejections.pop(proposal.source, None)
                return index, proposal, dict(current, **proposal.changes), screened
            code, reason = screened
            self._reject(index, proposal, current, code, reason)
            sources = sources and not proposal.source.startswith("mechanism:")
            feedback.append(reason)
        self.events.message(f"{self.max_rejections + 1} proposals in a row were rejected; moving on")
        return None

    def _proposal(self, trace: TraceView, current: dict[str, Any], feedback: list[str], *,
                  sources: bool = True) -> tuple[Proposal, tuple[str, str] | None]:
        from_source = self.registry.propose(trace, self.space, self.search_config) if sources else None
        if from_source is not None:
            changes, name = from_source
            return Proposal(self.space.coerce(changes), f"proposed by mechanism {name}", f"mechanism:{name}"), None
        who = next_proposer(self.search_config, trace)
        # Advisors are asked only when the model reads their advice: a sampler's turn ignores it.
        advice = [] if who == "sampler" else \
            [text for _name, text in self.registry.advise(trace, self.space, self.search_config)]
        if who != "llm":
            offered = self._sampled(who, trace, current, advice)
            if offered is not None:
                return offered
            if who == "sampler":  # the sampler found nothing untried: the model proposes, with the advice
                advice = [text for _name, text in self.registry.advise(trace, self.space, self.search_config)]
        messages = proposal_messages(
            task_name=self.task.name,
            metric=self.task.metric,
            minimize=self.task.minimize,
            space=self.space,
            trace=trace,
            config=self.search_config,
            incumbent_config=current,
            advice=advice,
            feedback=feedback,
        )
        context = {
            "task": self.task.name,
            "metric": self.task.metric,
            "minimize": self.task.minimize,
            "space": self.space.to_dict(),
            "current": thaw(current),
            "trace": trace.to_list(),
            "config": self.search_config.to_dict(),
            "iteration": len(trace),
            "advice": advice,
            "feedback": list(feedback),
        }
        from engine.llm import LLMRequest, proposal_answer_for, value_grid

        # Tagged with the model that answers Level 1, which a per-level router may not make its default.
        answering = self.provider.provider_for("1") if hasattr(self.provider, "provider_for") else self.provider
        source = f"{answering.name}:{answering.model}"
        changeable = tuple(n for n in self.search_config.active
                           if n in self.space and not self.space[n].locked and n not in self.search_config.frozen)

        # Every single change that ran from here is among these (it differs from ``current`` in one).
        beside = tried_from(trace, current) if self.grid_points else {}

        def tried(name: str) -> Callable[[Any], bool]:
            return lambda value: any(_same(value, v) for v in beside.get(name, ()))

        grids = tuple((n, value_grid(self.space[n], current.get(n, self.space[n].default), self.grid_points,
                                     exclude=tried(n)))
                      for n in changeable) if self.grid_points else ()
        # A parameter whose every grid value was tried (a bool flipped, a narrow choice) would otherwise be
        # offered with no grid at all, and a small model then proposes the tried value again: it is left
        # out of this request, unless that leaves nothing to change.
        exhausted = {n for n, g in grids
                     if g is None and value_grid(self.space[n], current.get(n, self.space[n].default), 1) is not None}
        if exhausted and len(exhausted) < len(changeable):
            changeable = tuple(n for n in changeable if n not in exhausted)
        try:
            reply = ask_recorded(self.events, self.provider, LLMRequest("propose", tuple(messages), context, "1"),
                                 proposal_answer_for(changeable, tuple((n, g) for n, g in grids if g)),
                                 self.record_exchange)
        except AutoresearchError as exc:
            return Proposal({}, "", source), self._model_failed(exc)
        self.unreachable_streak = 0
        answer = reply.value
        changes = self.space.coerce({k: (tuple(v) if isinstance(v, list) else v) for k, v in answer.as_changes().items()})
        # Small models often restate unchanged parameters; those entries are not changes.
        changes = {k: v for k, v in changes.items()
                   if not (k in current and current[k] == v and type(current[k]) is type(v))} or dict(changes)
        return Proposal(changes, answer.rationale[:300], source), None

    def _model_failed(self, exc: AutoresearchError) -> tuple[str, str]:
        """The rejection of a proposal the model could not give; raises when the run cannot go on."""
        if exc.code in RUN_STOPPING_PROVIDER_CODES:
            raise exc  # the run cannot go on usefully; it stops cleanly and can resume
        if exc.code == "provider-unavailable":
            return self._unreachable(exc)
        self.unreachable_streak = 0
        return "malformed-answer", f"the model's answer was unusable: {exc.message}"

    def sampler(self, name: str) -> SamplerSource:
        """The run's Optuna sampler source ``name``, made on first use (it holds no state of its own)."""
        if name not in self._samplers:
            self._samplers[name] = SamplerSource(self.space, name, seed=self.seed, minimize=self.task.minimize)
        return self._samplers[name]

    def _sampled(self, who: str, trace: TraceView, current: dict[str, Any],
                 advice: list[str]) -> tuple[Proposal, tuple[str, str] | None] | None:
        """A ``sampler`` or ``pick`` turn's proposal; None (said in one line) when the sampler finds
        nothing untried, and the model proposes instead."""
        config = self.search_config
        source = self.sampler(config.sampler)
        self.events.level_started("1", f"asking {source.describe()}")
        found = source.candidates(trace, current, config, config.pick_from if who == "pick" else 1,
                                  index=self.registry.trial_index)
        if not found:
            self.events.message(f"sampler-exhausted: {source.describe()} returned only configurations already "
                                f"tried in {REDRAWS} asks; the model proposes this trial")
            return None
        if who == "sampler" or len(found) == 1:
            return Proposal(self.space.coerce(found[0]), f"proposed by {source.describe()}", source.source), None
        from engine.llm import LLMRequest, pick_answer_for

        messages = pick_messages(task_name=self.task.name, metric=self.task.metric, minimize=self.task.minimize,
                                 trace=trace, candidates=found, sampler=source.describe(), advice=advice,
                                 guidance=config.guidance)
        context = {"task": self.task.name, "metric": self.task.metric, "minimize": self.task.minimize,
                   "space": self.space.to_dict(), "current": thaw(current), "trace": trace.to_list(),
                   "config": config.to_dict(), "iteration": len(trace), "advice": advice,
                   "candidates": [thaw(c) for c in found]}
        picked_by = f"pick:{config.sampler}"
        try:
            reply = ask_recorded(self.events, self.provider, LLMRequest("pick", messages, context, "1"),
                                 pick_answer_for(len(found)), self.record_exchange)
        except AutoresearchError as exc:
            return Proposal({}, "", picked_by), self._model_failed(exc)
        self.unreachable_streak = 0
        chosen = found[reply.value.choice - 1]
        return Proposal(self.space.coerce(chosen), reply.value.rationale[:300], picked_by), None

    def _unreachable(self, exc: AutoresearchError) -> tuple[str, str]:
        """A proposal the provider could not be reached for: its rejection, or the run's stop at the limit."""
        self.unreachable_streak += 1
        if self.unreachable_streak >= UNREACHABLE_LIMIT:
            raise AutoresearchError(
                f"the model provider could not be reached for {self.unreachable_streak} proposals in a row "
                f"({exc.message.splitlines()[0][:300]}); check that its server is running and the --base-url, "
                "then resume the run", code="provider-unreachable")
        return "provider-unavailable", f"the model provider could not be reached: {exc.message}"

    def _screen(self, proposal: Proposal, trace: TraceView, current: dict[str, Any],
                pending: list[_Pending]) -> TrialRequest | tuple[str, str]:
        """The request that runs ``proposal``, or the ``(code, reason)`` it is rejected with."""
        changes = dict(proposal.changes)
        # A sampler proposes a whole point; the cap is on an LLM's (or a mechanism's) edit.
        whole_point = proposal.source.startswith(("sampler:", "pick:"))
        if len(changes) > self.search_config.max_changes and not whole_point:
            return "too-many-changes", (
                f"{len(changes)} parameters changed; at most {self.search_config.max_changes} per proposal")
        problems = self.space.validate(changes, current=current, frozen=self.search_config.frozen)
        if problems:
            return problems[0].code, "; ".join(p.message for p in problems)
        inactive = [n for n in changes if n not in self.search_config.active]
        if inactive:
            return "inactive-parameter", f"{', '.join(inactive)} may not change now; change only: {', '.join(self.search_config.active)}"
        config = dict(current, **changes)
        if trace.has_tried(config) or any(p.config == config for p in pending):
            described = ", ".join(f"{k}={v}" for k, v in changes.items())
            return "duplicate", f"{described} was already tried from this configuration; try a different change"
        try:  # the task's own cross-parameter rules (e.g. width a multiple of the head size)
            request = self.task.build_trial(-1, config)
        except AutoresearchError as exc:
            return exc.code, exc.message
        veto = self.registry.veto(proposal, trace, self.space)
        if veto is not None:
            reason, name = veto
            return "vetoed", f"vetoed by {name}: {reason}"
        return request

    # -- running and deciding --------------------------------------------------
    def _submit(self, index: int, proposal: Proposal, config: dict[str, Any],
                request: TrialRequest | None = None, remeasure_of: int | None = None) -> _Pending:
        """Run ``config`` as trial ``index``; ``request`` is the one screening built (built here if none)."""
        self.store.begin_trial(self.run_id, index, proposal, config)
        request = self.task.build_trial(index, config) if request is None else replace(request, index=index)
        self.events.trial_started(index, proposal.changes, request.budget_s)
        return _Pending(index, proposal, config, self.executor.submit(request), remeasure_of)

    def _submit_again(self, trial: Trial) -> _Pending:
        """Run the configuration of the flagged measurement ``trial`` once more, as a new trial."""
        first = trial.index if trial.remeasure_of is None else trial.remeasure_of
        index = self._reserve_index()
        self.events.level_started("1", f"measuring trial #{first} again as #{index}")
        proposal = Proposal(trial.changes, trial.rationale, trial.source)
        return self._submit(index, proposal, dict(trial.config), remeasure_of=first)

    def _trial(self, pending: _Pending, outcome: Outcome, decision: Decision) -> Trial:
        return Trial(
            index=pending.index,
            config=pending.config,
            changes=pending.proposal.changes,
            status=outcome.status,
            metric=outcome.metric if outcome.ok else None,
            decision=decision,
            duration_s=outcome.duration_s,
            rationale=pending.proposal.rationale,
            source=pending.proposal.source,
            reason=outcome.reason,
            log_tail=outcome.log_tail[-2000:],
            remeasure_of=pending.remeasure_of,
        )

    def _decide_and_store(self, pending: _Pending, outcome: Outcome) -> Trial:
        trace = self.trace()
        self.registry.trial_index = pending.index
        undecided = self._trial(pending, outcome, Decision.DISCARD)
        keep = False
        if undecided.ok:
            incumbent = trace.incumbent()
            default = self.acceptance.decide(undecided, incumbent, trace)
            keep, _rule = self.registry.decide(undecided, incumbent, trace, default)
            slow = self._slow(pending.index, outcome, trace)
            if self.throughput is not None and (slow is not None or pending.remeasure_of is not None):
                earlier = self._measurements(pending.remeasure_of, trace)
                note = Remeasured(pending.index, earlier, slow,
                                  again=self.throughput.measures_again(slow, len(earlier) + 1))
                keep = self.throughput.keep(keep, slow)
                undecided = replace(undecided, reason=note.reason())
                self.events.message(note.line())
        trial = undecided.with_decision(Decision.KEEP if keep else Decision.DISCARD)
        self._finish(trial, outcome)
        return trial

    def _slow(self, index: int, outcome: Outcome, trace: TraceView) -> SlowTrial | None:
        """The slow-machine flag of a trial that ran (:mod:`.throughput`), against the baseline's outcome."""
        reference = self._baseline_metrics(trace)
        if self.throughput is None or reference is None:
            return None
        return self.throughput.slow(index, outcome.metrics, reference)

    def _baseline_metrics(self, trace: TraceView) -> Mapping[str, float] | None:
        baseline = trace.baseline()
        reference = self.store.outcome(self.run_id, baseline.index) if baseline is not None else None
        return None if reference is None else reference.metrics

    def _measurements(self, first: int | None, trace: TraceView) -> tuple[tuple[int, float | None], ...]:
        """``(index, throughput ratio)`` of each stored measurement of trial ``first``'s configuration."""
        if first is None or self.throughput is None:
            return ()
        reference = self._baseline_metrics(trace)
        found: list[tuple[int, float | None]] = []
        for trial in trace.trials:
            if trial.index == first or trial.remeasure_of == first:
                outcome = self.store.outcome(self.run_id, trial.index)
                found.append((trial.index, None if outcome is None or reference is None else
                              self.throughput.ratio(outcome.metrics, reference)))
        return tuple(found)

    def _finish(self, trial: Trial, outcome: Outcome | None) -> None:
        self.store.finish_trial(self.run_id, trial, outcome)
        self.events.trial_finished(trial)
        self.registry.observe(trial, self.trace())

    def _reject(self, index: int, proposal: Proposal, current: dict[str, Any], code: str, reason: str) -> None:
        known = {k: v for k, v in proposal.changes.items() if k in self.space}
        trial = Trial(
            index=index,
            config=dict(current, **known),
            changes=proposal.changes,
            status=TrialStatus.REJECTED,
            metric=None,
            decision=Decision.REJECTED,
            rationale=proposal.rationale,
            source=proposal.source,
            reason=f"{code}: {reason}",
        )
        self.store.finish_trial(self.run_id, trial, None)
        self.events.trial_finished(trial)
        self.registry.observe(trial, self.trace())
        self._count_source_rejection(proposal.source, f"{code}: {reason}")

    def _count_source_rejection(self, source: str, reason: str) -> None:
        """Eject a source mechanism whose last SOURCE_REJECTION_LIMIT proposals were all rejected."""
        if not source.startswith("mechanism:"):
            return
        count = self._source_rejections[source] = self._source_rejections.get(source, 0) + 1
        name = source.removeprefix("mechanism:")
        mechanism = self.registry.get(name)
        if count < SOURCE_REJECTION_LIMIT or mechanism is None:
            return
        del self._source_rejections[source]
        message = f"its last {count} proposals were rejected, the last with {reason[:160]}"
        self.registry.eject(mechanism, "rejected-proposals", message)
        self.events.message(f"mechanism {name} ejected [rejected-proposals]: {message}")
