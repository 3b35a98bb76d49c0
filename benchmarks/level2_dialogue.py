"""The four-round dialogue on the same rut traces as the fill-in, for the Level 2 benchmark.

Each session runs :func:`engine.levels.dialogue.run_dialogue` (Explore,
Critique, Specify, Generate, admission with repairs) exactly as a run does.
An admitted mechanism is then judged like a fill-in candidate, for the
record: the behavioural check on the replayed iterations and its likeness
(its hook method's body against the library, which holds the example the
Generate prompt shows, and the earlier sessions). As in a run, the dialogue
splices what was admitted whatever that check says; the window (when asked
for) shows what it did. The files each session writes match the fill-in's,
so :func:`benchmarks.level2_bench.summarise` reads both.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

from interfaces import HOOKS, AutoresearchError, SearchConfig, TraceView

__all__ = ["run_dialogue_sessions"]


def run_dialogue_sessions(provider: Any, model: str, task_name: str, trace: TraceView, space: Any,
                          config: SearchConfig, metric: str, sessions: int, folder: Path, *, task: Any = None,
                          window: int = 0, repairs: int = 2) -> list[dict[str, Any]]:
    """``sessions`` dialogue sessions on ``trace``, one after the other; one figures record per session."""
    from benchmarks.level2_bench import load_average
    from benchmarks.level2_window import run_window
    from engine.levels.dialogue import run_dialogue
    from engine.levels.fill.behaviour import check_behaviour
    from engine.levels.fill.goals import find_rut
    from engine.levels.fill.novelty import body_likeness, method_body
    from engine.levels.research import symptoms
    from engine.llm import LLMRequest
    from sandbox import MechanismHost

    rut = find_rut(trace, space, config)
    facts = symptoms(trace)
    tried: list[dict[str, Any]] = []
    earlier: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    host = MechanismHost()
    try:
        for number in range(1, sessions + 1):
            tokens = 0
            context: dict[str, Any] = {"symptoms": facts, "trace": trace.to_list(), "space": space.to_dict(),
                                       "search_config": config.to_dict()}

            def ask(purpose: str, messages: list[dict[str, str]], answer: Any,
                    context: dict[str, Any] = context) -> Any:
                nonlocal tokens
                reply = provider.ask(LLMRequest(purpose, tuple(messages), context, "2"), answer)
                tokens += reply.exchange.usage.total_tokens
                return reply.value

            session_dir = folder / f"session-{number}"
            session_dir.mkdir(parents=True, exist_ok=True)
            started = time.monotonic()
            candidate: dict[str, Any] = {"number": 1, "verdict": "session-failed", "reason": "", "fixes": [],
                                         "likeness": None, "behaviour": None}
            result = None
            try:
                result = run_dialogue(ask, trace, metric, facts, tried, [], repairs=repairs, number=number,
                                      taken={str(t["name"]) for t in tried}, context=context, folder=session_dir)
            except AutoresearchError as exc:
                candidate["reason"] = f"{exc.code}: {exc.message[:300]}"
            seconds = time.monotonic() - started
            if result is not None:
                candidate.update(number=result.attempts, verdict="rejected", hook=result.hook, name=result.name)
                if result.admitted:
                    body = method_body(result.source, HOOKS[result.hook].method) or result.source
                    similar = body_likeness(body, HOOKS[result.hook].method, earlier=earlier)
                    loaded = host.load(result.admission, number)
                    behaviour = None
                    if loaded.ok:
                        behaviour = check_behaviour(host, loaded.handle, result.hook, trace, space, config, rut)
                        host.unload(loaded.handle)
                    candidate.update(verdict="copy" if similar.verdict == "copy" else "admitted",
                                     likeness=similar.to_dict(),
                                     behaviour=None if behaviour is None else behaviour.to_dict(),
                                     reason="" if behaviour is None else behaviour.reason)
                    earlier[result.name] = body
                else:
                    candidate["reason"] = "; ".join(f"[{v.code}] {v.message}"
                                                    for v in result.admission.violations)[:300]
                tried.append({"name": result.name, "hook": result.hook, "session": number,
                              "admitted": result.admitted, "outcome": "activated" if result.admitted else "rejected"})
            spliced = candidate["verdict"] == "admitted"
            likeness = candidate["likeness"]
            row = {"model": model, "task": task_name, "session": number, "style": "dialogue",
                   "idea": "" if result is None else result.name, "hook": "" if result is None else result.hook,
                   "verdicts": [candidate["verdict"]], "chosen": candidate["number"] if spliced else None,
                   "likeness": None if likeness is None else round(likeness["score"], 3),
                   "nearest": "" if likeness is None else likeness["nearest"],
                   "new": bool(spliced and likeness and likeness["verdict"] == "new"),
                   "seconds": round(seconds, 1), "tokens": tokens,
                   "behaviour": "" if not candidate["behaviour"] else candidate["behaviour"]["verdict"]}
            (session_dir / "candidates.json").write_text(json.dumps([candidate], indent=2, default=str))
            (session_dir / "figures.json").write_text(json.dumps(row, indent=2))
            rows.append(row)
            print(f"  {model} {task_name} dialogue session {number}: {row['hook']} {row['idea']} -> "
                  f"{candidate['verdict']} after {candidate['number']} attempt(s) (likeness {row['likeness']}); "
                  f"{seconds:.0f} s; {load_average()}", flush=True)
            if spliced and task is not None and window > 0 and result is not None:
                figures = run_window(provider, task, trace, config, stuck=rut.stuck, iterations=window, host=host,
                                     admission=result.admission, name=result.name, hook=result.hook, seed=number,
                                     folder=Path(tempfile.mkdtemp(prefix=f"window-{task_name}-d{number}-")))
                (session_dir / "window.json").write_text(json.dumps(figures.to_dict(), indent=2))
                print(f"    window: {figures.calls} calls, effects {figures.effects}"
                      f"{'; ejected ' + figures.ejected if figures.ejected else ''}", flush=True)
    finally:
        host.close()
    return rows
