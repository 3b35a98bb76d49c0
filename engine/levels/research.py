"""Level 2, mechanism research: a session, admission, splice, evaluate, keep or revert.

One session (every ``research_every`` Level 1.5 cycles) writes a mechanism
in one of two styles: the four-round dialogue of :mod:`.dialogue` (capable
models), or the fill-in of :mod:`.fill` (small models: the engine chooses
the idea and writes the module, the model fills one method, several samples
judged on the trace)::

    dialogue or fill-in -> an admitted mechanism
      -> the mechanism host loads it -> the hook registry splices it in
      -> calls and effects are recorded every iteration
      -> after its evaluation window: keep, or revert (gone from the host and
         every hook); never called or no effect is reported as such

Everything is saved under ``<run_dir>/level2/session-<n>/``: each round's
messages and answer, every code attempt, every admission record, the decision.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from interfaces import RUN_STOPPING_PROVIDER_CODES, AutoresearchError, Combine, Task, TraceView, hook_spec

from ..hooks import HookRegistry
from .dialogue import admission_dict, run_dialogue
from .inner import InnerLoop, ask_recorded
from .outer import parameter_summary

if TYPE_CHECKING:  # the run and the host are built by the runner; only their types are needed here
    from sandbox import MechanismHost

    from ..llm import Provider
    from ..runner import Run
    from ..store import RunStore

__all__ = ["Research", "judge", "symptoms"]


def symptoms(trace: TraceView) -> dict[str, Any]:
    """What the trace shows, in the terms mechanisms are catalogued by."""
    ran = trace.ran()
    rejected = [t for t in trace.trials if t.decision.value == "rejected"]
    duplicates = [t for t in rejected if t.reason.startswith("duplicate")]
    counts = trace.change_counts()
    top_share = max(counts.values()) / max(1, sum(counts.values())) if counts else 0.0
    return {
        "trials": len(trace),
        "ran": len(ran),
        "keeps": len(trace.kept()),
        "discard_streak": trace.discard_streak(),
        "rejected": len(rejected),
        "duplicates": len(duplicates),
        "most_changed_share": round(top_share, 3),
        "repetition": len(duplicates) >= 2 or top_share >= 0.5,
        "plateau": trace.discard_streak() >= 4,
        "fixation": top_share >= 0.5,
        "crashes": sum(1 for t in ran if not t.ok),
    }


@dataclass
class _Evaluation:
    name: str
    hook: str
    session: int
    activated_at: int
    activated_iteration: int
    best_before: float | None
    window: int


@dataclass
class Research:
    run: Run
    store: RunStore
    provider: Provider
    task: Task
    record: Callable[[Any], None]
    host: MechanismHost
    registry: HookRegistry
    repairs: int = 2
    window: int = 10
    evaluations: list[_Evaluation] = field(default_factory=list)

    @classmethod
    def for_run(cls, run: Run, *, store: RunStore, provider: Provider, task: Task,
                record: Callable[[Any], None]) -> Research:
        from sandbox import MechanismHost

        run_id = run.run_id

        def on_event(name: str, kind: str, trial: int | None, data: Any) -> None:
            store.add_mechanism_event(run_id, name, kind, trial, dict(data))

        host = MechanismHost()
        registry = HookRegistry(host, on_event=on_event)
        window = run.settings.outer_every * run.settings.research_every
        return cls(run, store, provider, task, record, host, registry, window=window)

    # -- paths and persistence -------------------------------------------------
    @property
    def root(self) -> Path:
        return self.run.run_dir / "level2"

    def _session_dir(self, session: int) -> Path:
        path = self.root / f"session-{session}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _save(self, path: Path, data: Any) -> None:
        path.write_text(json.dumps(data, indent=2, default=str))

    # -- resume ----------------------------------------------------------------
    def restore(self, inner: InnerLoop) -> None:
        """Reload mechanisms that were active when the run stopped (their state restarts)."""
        state = self.store.get_state(self.run.run_id, "level2_active", [])
        for item in state:
            source = Path(item["path"]).read_text()
            self._activate(item["name"], item["hook"], source, item["session"], inner, restoring=item)

    def _persist_active(self) -> None:
        items = [
            {"name": e.name, "hook": e.hook, "session": e.session, "activated_at": e.activated_at,
             "activated_iteration": e.activated_iteration, "best_before": e.best_before, "window": e.window,
             "path": str(self.root / "mechanisms" / f"{e.name}.py")}
            for e in self.evaluations
        ]
        self.store.set_state(self.run.run_id, "level2_active", items)

    # -- the cycle hook --------------------------------------------------------
    def after_cycle(self, cycle: int, inner: InnerLoop) -> None:
        iteration = int(self.store.get_state(self.run.run_id, "iteration", 0))
        for evaluation in list(self.evaluations):
            if iteration - evaluation.activated_iteration >= evaluation.window:
                self._evaluate(evaluation, inner, final=False)
        if cycle % self.run.settings.research_every == 0:
            if int(self.store.get_state(self.run.run_id, "level2_cycle_done", 0)) >= cycle:
                return  # this cycle's session ended before the run was killed; it is not run twice
            if self._interrupted_before(cycle):
                return
            self.session(inner, cycle=cycle)

    def _interrupted_before(self, cycle: int) -> bool:
        """Record a session a kill interrupted; True when this cycle's session is to be skipped.

        The rule: a session interrupted by a kill is recorded (an ``interrupted``
        event, ``decision.json`` saying so) and run once more, under a new
        number, when the run resumes. If that second try is interrupted too,
        the cycle's session is skipped (recorded as such), so a run that keeps
        being killed there still moves on.
        """
        run_id = self.run.run_id
        open_session = self.store.get_state(run_id, "level2_open", None)
        if not open_session or int(open_session["cycle"]) != cycle:
            return False
        number, attempt = int(open_session["session"]), int(open_session.get("attempt", 1))
        skip = attempt >= 2
        with self.store.transaction():
            self.store.add_mechanism_event(run_id, f"session-{number}", "interrupted", None,
                                           {"cycle": cycle, "attempt": attempt,
                                            "then": "skipped" if skip else "run again"})
            self.store.set_state(run_id, "level2_open", None)
            if skip:
                self.store.set_state(run_id, "level2_cycle_done", cycle)
            else:
                self.store.set_state(run_id, "level2_retry", {"cycle": cycle, "attempt": attempt + 1})
        self._save(self._session_dir(number) / "decision.json",
                   {"decision": "interrupted", "then": "skipped" if skip else "run again"})
        then = "skipping this cycle's session (its second try)" if skip else "running it again"
        self.run.events.message(f"Level 2 session {number} was interrupted by a stop; {then}")
        return skip

    def _session_ended(self, cycle: int | None) -> None:
        if cycle is None:
            return
        with self.store.transaction():
            self.store.set_state(self.run.run_id, "level2_open", None)
            self.store.set_state(self.run.run_id, "level2_cycle_done", cycle)

    def finish(self, inner: InnerLoop) -> None:
        for evaluation in list(self.evaluations):
            self._evaluate(evaluation, inner, final=True)

    # -- one session -----------------------------------------------------------
    def session(self, inner: InnerLoop, *, cycle: int | None = None) -> None:
        """One session; with ``cycle``, marked open while it runs so a kill inside it is found on resume."""
        try:
            self._session(inner, cycle)
        except AutoresearchError:
            raise  # the run stops (budget, replay, auth); the session stays open and is re-run on resume
        else:
            self._session_ended(cycle)

    def _session(self, inner: InnerLoop, cycle: int | None) -> None:
        from engine.llm import LLMRequest

        run_id = self.run.run_id
        number = int(self.store.get_state(run_id, "level2_sessions", 0)) + 1
        retry = self.store.get_state(run_id, "level2_retry", None)
        attempt = int(retry["attempt"]) if retry and cycle is not None and int(retry["cycle"]) == cycle else 1
        with self.store.transaction():
            self.store.set_state(run_id, "level2_sessions", number)
            if cycle is not None:
                self.store.set_state(run_id, "level2_open",
                                     {"session": number, "cycle": cycle, "attempt": attempt})
        folder = self._session_dir(number)
        trace = inner.trace()
        tried = self.store.get_state(self.run.run_id, "level2_tried", [])
        facts = symptoms(trace)
        context = {
            "symptoms": facts,
            "trace": trace.to_list(),
            "space": inner.space.to_dict(),
            "search_config": inner.search_config.to_dict(),
            "active": self.registry.summaries(),
            "tried_mechanisms": [t["name"] for t in tried],
            "noise_floor": inner.noise_floor,
            "summary": parameter_summary(trace, inner.space),
        }
        self.run.events.level_started("2", f"session {number}: reading the trace")
        self.run.events.message(f"Level 2 session {number}: trace shows {self._describe(facts)}")
        if self.run.settings.level2_style == "fill":
            self._fill_session(inner, number, folder, context, tried)
            return

        def ask(purpose: str, messages: list[dict[str, str]], model: Any) -> Any:
            self.run.events.level_started("2", f"session {number}: round {purpose}")
            return ask_recorded(self.run.events, self.provider, LLMRequest(purpose, tuple(messages), context, "2"),
                                model, self.record).value

        def on_rejection(name: str, hook: str, attempt: int, admission: Any) -> None:
            self.store.add_mechanism_event(run_id, name, "rejection", None,
                                           {"hook": hook, "attempt": attempt, **admission_dict(admission, brief=True)})

        taken = {str(t["name"]) for t in tried} | {m["name"] for m in self.registry.summaries()}
        try:
            result = run_dialogue(ask, trace, inner.task.metric, facts, tried, self.registry.summaries(),
                                  repairs=self.repairs, number=number, taken=taken, context=context, folder=folder,
                                  on_rejection=on_rejection,
                                  on_repair=lambda attempt, feedback: self.run.events.message(
                                      f"  attempt {attempt} rejected: {feedback.splitlines()[0][:140]}"))
        except AutoresearchError as exc:
            self._session_failed(number, folder, exc)
            return
        spec_name, source, attempts = result.name, result.source, result.attempts
        admitted = result.admission if result.admitted else None

        tried.append({"name": spec_name, "hook": result.hook, "session": number,
                      "admitted": admitted is not None, "outcome": "activated" if admitted else "rejected"})
        self.store.set_state(self.run.run_id, "level2_tried", tried)
        if admitted is None:
            self.run.events.message(f"Level 2 session {number}: {spec_name} was not admitted after {attempts} attempts")
            self._save(folder / "decision.json", {"decision": "rejected", "name": spec_name, "attempts": attempts})
            return
        from .fill.novelty import NEW_THRESHOLD, library_references, likeness

        earlier = {f"earlier:{t['name']}": str(t["body"]) for t in tried if t.get("body")}
        novelty = likeness(source, {**library_references(), **earlier}).to_dict()
        tried[-1]["body"] = source
        self.store.set_state(self.run.run_id, "level2_tried", tried)
        if self.run.settings.research_new_only and novelty["score"] >= NEW_THRESHOLD:
            self._not_new(number, folder, spec_name, novelty)
            return
        self._activate(spec_name, result.hook, source, number, inner, admission=admitted, novelty=novelty)
        self._save(folder / "decision.json", {"decision": "activated", "name": spec_name, "hook": result.hook,
                                              "attempts": attempts, "likeness": novelty})

    def _session_failed(self, number: int, folder: Path, exc: AutoresearchError) -> None:
        """A session whose model requests failed: recorded, said, and the run goes on (unless it must stop)."""
        if exc.code in RUN_STOPPING_PROVIDER_CODES:
            raise exc
        self.store.add_mechanism_event(self.run.run_id, f"session-{number}", "failure", None,
                                       {"code": exc.code, "message": exc.message})
        self.run.events.message(f"Level 2 session {number} failed: {exc}")
        self._save(folder / "decision.json", {"decision": "session-failed", "error": str(exc)})

    # -- the fill-in session (small models) ----------------------------------------
    def _fill_session(self, inner: InnerLoop, number: int, folder: Path, context: dict[str, Any],
                      tried: list[dict[str, Any]]) -> None:
        """The engine picks the idea and writes the module; the model fills one method, several samples."""
        from engine.llm import CodeCompletion, LLMRequest

        from .fill.generate import FillSettings, best, generate
        from .fill.goals import choose_goal

        trace, space, config = inner.trace(), inner.space, inner.search_config
        # A hook whose first answer wins asks a second mechanism only when the first passes: it is taken.
        busy = sorted({m["hook"] for m in self.registry.summaries()
                       if hook_spec(m["hook"]).combine is Combine.FIRST_ANSWER})
        goal = choose_goal(trace, space, config, tried, busy)
        self._save(folder / "goal.json", goal.to_dict())
        article = "an" if goal.hook[0] in "aeio" else "a"
        self.run.events.message(f"Level 2 session {number}: filling {article} {goal.hook} ({goal.idea}): "
                                f"{goal.sentence}")
        fill_context = dict(context, hook=goal.hook, goal=goal.sentence, idea=goal.idea)
        samples = self.run.settings.research_samples
        requests = [0]  # requests so far: one per sample, one per repair round

        def ask(messages: list[dict[str, str]], options: Any) -> tuple[str, int]:
            requests[0] += 1
            self.run.events.level_started("2", f"session {number}: fill request {requests[0]} "
                                               f"(of {samples} samples, with their repairs)")
            request = LLMRequest("fill", tuple(messages), fill_context, "2", options=options)
            reply = ask_recorded(self.run.events, self.provider, request, CodeCompletion, self.record)
            return reply.value.text, reply.exchange.usage.total_tokens

        def on_candidate(candidate: Any) -> None:
            data = {"session": number, "hook": goal.hook, "idea": goal.idea, **candidate.to_dict()}
            data.pop("completion"), data.pop("body")
            self.store.add_mechanism_event(self.run.run_id, f"session-{number}", "candidate", None, data)
            novelty = "" if candidate.likeness is None else (
                f", likeness {candidate.likeness.score:.2f} to {candidate.likeness.nearest or 'nothing'}")
            self.run.events.message(f"  sample {candidate.number} ({candidate.draw}): {candidate.verdict}"
                                    f"{': ' + candidate.reason[:120] if not candidate.passed else ''}{novelty}")

        earlier = {str(t["name"]): str(t["body"]) for t in tried if t.get("body")}
        settings = FillSettings(samples=self.run.settings.research_samples, repairs=self.repairs)
        try:
            candidates = generate(ask, goal, trace, space, config, inner.task.metric, host=self.host,
                                  seed=self.run.settings.seed * 100 + number, settings=settings, tried=tried,
                                  references={"earlier": earlier}, folder=folder, on_candidate=on_candidate)
        except AutoresearchError as exc:
            self._session_failed(number, folder, exc)
            return
        chosen = best(candidates, new_only=self.run.settings.research_new_only)
        name = f"{goal.idea.replace('-', '_')}_{number}"
        verdicts = ", ".join(c.verdict for c in candidates)
        tried.append({"name": name, "hook": goal.hook, "session": number, "admitted": chosen is not None,
                      "idea": goal.idea, "outcome": "activated" if chosen else "nothing-passed",
                      "body": chosen.body.text if chosen else "",
                      "copy": bool(chosen and chosen.copy)})
        self.store.set_state(self.run.run_id, "level2_tried", tried)
        passed_but_old = best(candidates) if chosen is None and self.run.settings.research_new_only else None
        if passed_but_old is not None and passed_but_old.likeness is not None:
            self._not_new(number, folder, name, passed_but_old.likeness.to_dict())
            return
        if chosen is None:
            self.run.events.message(f"Level 2 session {number}: none of {len(candidates)} samples passed "
                                    f"({verdicts}); the search goes on without a new mechanism")
            self._save(folder / "decision.json", {"decision": "nothing-passed", "idea": goal.idea,
                                                  "verdicts": [c.verdict for c in candidates]})
            return
        novelty = chosen.likeness.to_dict() if chosen.likeness is not None else None
        self._activate(name, goal.hook, chosen.source, number, inner, admission=chosen.admission, novelty=novelty)
        self._save(folder / "decision.json", {"decision": "activated", "name": name, "hook": goal.hook,
                                              "idea": goal.idea, "candidate": chosen.number, "likeness": novelty,
                                              "verdicts": [c.verdict for c in candidates]})

    def _not_new(self, number: int, folder: Path, name: str, novelty: dict[str, Any]) -> None:
        """A session whose admitted mechanism is not new, under ``--new-only``: recorded, not spliced."""
        self.store.add_mechanism_event(self.run.run_id, name, "failure", None,
                                       {"code": "not-new", "message": f"likeness {novelty['score']:.2f} to "
                                        f"{novelty['nearest']}; --new-only splices only new mechanisms",
                                        "likeness": novelty})
        self.run.events.message(f"Level 2 session {number}: {name} is not new (likeness {novelty['score']:.2f} to "
                                f"{novelty['nearest']}); --new-only leaves it out")
        self._save(folder / "decision.json", {"decision": "not-new", "name": name, "likeness": novelty})

    def _describe(self, facts: dict[str, Any]) -> str:
        flags = [k for k in ("repetition", "plateau", "fixation") if facts.get(k)]
        return (", ".join(flags) or "no clear failure") + f" ({facts['keeps']} keeps in {facts['ran']} runs)"

    # -- activation, evaluation, revert ------------------------------------------
    def _activate(self, name: str, hook: str, source: str, session: int, inner: InnerLoop, *,
                  admission: Any = None, restoring: dict[str, Any] | None = None,
                  novelty: dict[str, Any] | None = None) -> None:
        from sandbox import admit

        if admission is None:
            admission = admit(source, hook)
            if not admission.admitted:
                self.store.add_mechanism_event(self.run.run_id, name, "failure", None,
                                               admission_dict(admission, brief=True))
                return
        folder = self.root / "mechanisms"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.py").write_text(source)
        loaded = self.host.load(admission, self.run.settings.seed)
        if not loaded.ok:
            self.store.add_mechanism_event(self.run.run_id, name, "failure", None,
                                           {"code": loaded.code, "message": loaded.message})
            self.run.events.message(f"Level 2: {name} failed to load: {loaded.code}: {loaded.message}")
            return
        if "unavailable" in loaded.confinement or "failed" in loaded.confinement:
            self.run.events.message(f"Level 2: {name} runs without part of its kernel confinement "
                                    f"({loaded.confinement}); the restricted environment still holds")
        trace = inner.trace()
        at = len(trace.trials)
        iteration = int(self.store.get_state(self.run.run_id, "iteration", 0))
        if restoring is None:
            self.store.add_mechanism_event(self.run.run_id, name, "admission", at,
                                           {"hook": hook, "session": session, "digest": admission.digest,
                                            "likeness": novelty, **admission_dict(admission, brief=True)})
            self.registry.activate(name, hook, loaded.handle, at)
            self.evaluations.append(_Evaluation(name, hook, session, at, iteration, trace.best_metric(), self.window))
            kind = "" if novelty is None else (
                f" (a copy of {novelty['nearest']}, likeness {novelty['score']:.2f})" if novelty["score"] >= 0.8
                else f" (new: likeness {novelty['score']:.2f} to {novelty['nearest'] or 'nothing'})")
            self.run.events.message(f"Level 2: {name} admitted and spliced into the {hook} hook{kind}")
        else:
            self.store.add_mechanism_event(self.run.run_id, name, "restore", at, {"hook": hook})
            self.registry.activate(name, hook, loaded.handle, at)
            self.evaluations.append(_Evaluation(name, hook, session, restoring["activated_at"],
                                                restoring["activated_iteration"], restoring["best_before"],
                                                restoring["window"]))
        self._persist_active()

    def _evaluate(self, evaluation: _Evaluation, inner: InnerLoop, *, final: bool) -> None:
        mechanism = self.registry.get(evaluation.name)
        self.evaluations.remove(evaluation)
        self._persist_active()
        if mechanism is None:  # ejected earlier; the ejection is already recorded
            self._set_outcome(evaluation.name, "ejected")
            return
        trace = inner.trace()
        since = [t for t in trace.trials if t.index >= evaluation.activated_at]
        improved = any(t.decision.value == "keep" for t in since)
        best_now = trace.best_metric()
        gain = None
        if best_now is not None and evaluation.best_before is not None:
            gain = (evaluation.best_before - best_now) if trace.minimize else (best_now - evaluation.best_before)
        data: dict[str, Any] = {"calls": mechanism.calls, "effects": mechanism.effects, "trials_in_window": len(since),
                "improved": improved, "gain": gain, "final": final}
        verdict, why = judge(mechanism.hook, mechanism.calls, mechanism.effects, improved)
        data["reason"] = why
        self.registry.flush_calls(mechanism)
        self.store.add_mechanism_event(self.run.run_id, evaluation.name, "evaluation", len(trace.trials), data)
        self._set_outcome(evaluation.name, "reverted" if verdict == "revert" else "kept")
        if verdict == "revert":
            self.registry.revert(evaluation.name, why)
            self.run.events.message(f"Level 2: {evaluation.name} reverted: {why} "
                                    f"({mechanism.calls} calls, {mechanism.effects} effects)")
        else:
            self.store.add_mechanism_event(self.run.run_id, evaluation.name, "keep", len(trace.trials), data)
            self.run.events.message(f"Level 2: {evaluation.name} kept: {why} "
                                    f"({mechanism.calls} calls, {mechanism.effects} effects)")

    def _set_outcome(self, name: str, outcome: str) -> None:
        """How a tried mechanism fared, for the next sessions' list of ideas already tried."""
        tried = self.store.get_state(self.run.run_id, "level2_tried", [])
        for item in tried:
            if item.get("name") == name:
                item["outcome"] = outcome
        self.store.set_state(self.run.run_id, "level2_tried", tried)


def judge(hook: str, calls: int, effects: int, improved: bool) -> tuple[str, str]:
    """Keep or revert a mechanism at the end of its evaluation window, and why.

    A mechanism that was never called, or was called but never changed
    anything (a hook whose calls are its effects, as an observer's
    observations are, excepted), is reverted and reported as such whatever the
    trace did: it cannot have caused it.
    """
    if calls == 0:
        return "revert", "never called during its window"
    if effects == 0 and not hook_spec(hook).calls_are_effects:
        return "revert", "called but had no effect during its window"
    if not improved:
        return "revert", "no improvement during its window"
    return "keep", "improved the incumbent during its window"
