"""Level 2 fill-in sessions with the local models, on real traces that show a rut.

    python -m benchmarks.level2_bench --model qwen-1.5b --model qwen-0.5b --task digits --task gpt --sessions 10

For each task a rut trace is measured first (and cached in ``--out``): the
baseline, then a Level 1 that fixates, changing one parameter again and
again in small steps (``--rut-trials`` real training runs, decided by the
engine's keep-if-better rule). For each model, ``--sessions`` Level 2
sessions then run on that trace through the engine's own fill path
(:func:`engine.levels.fill.generate.generate`): the idea chosen from the
trace, ``--samples`` bodies sampled, admitted by the sandbox, loaded into the
mechanism host and replayed on the trace's recent iterations, likeness
measured against the library and the earlier sessions. Sessions follow each
other as in a run: each sees the ideas the earlier ones tried.

Printed per model and task: sessions that produced a new (likeness below
0.6 to everything), effective mechanism; copies; sessions with nothing that
passed; seconds per session and per new effective mechanism; tokens. The
load average is printed with the figures: on a shared machine every second
here is inflated. A session's full record (every candidate's completion,
body, fixes, verdict, likeness) is in ``--out/<model>-<task>/``.

With ``--window N`` (default 4) each session's chosen mechanism is then
spliced into N real Level 1 iterations from the trace, through the engine's
own loop, with the same model proposing (:mod:`benchmarks.level2_window`):
was it called, what did it change, was it ejected. ``--controls`` windows
with no mechanism are the control, and every model proposal in every window
counts toward Level 1's valid share. ``--style dialogue`` runs the
four-round dialogue on the same traces instead
(:mod:`benchmarks.level2_dialogue`), into ``<model>-<task>-dialogue/``.

    python -m benchmarks.level2_bench --summarise --model qwen-1.5b --task digits --task gpt

reads the saved sessions back and prints the figures again.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interfaces import Decision, SearchConfig, TraceView, Trial

__all__ = ["RUT_PLANS", "SessionFigures", "load_average", "main", "run_sessions", "rut_trace", "summarise"]

_ROOT = Path(__file__).resolve().parents[1]

#: Per task: how it is loaded, the parameter Level 1 fixates on, the multipliers it tries on it.
RUT_PLANS: dict[str, dict[str, Any]] = {
    "digits": {"task": "script", "options": {"path": str(_ROOT / "examples/digits/train.py"), "metric": "val_loss",
                                            "budget_s": 60.0},
               "stuck": "ALPHA", "steps": (1.2, 0.9, 1.1, 0.8, 1.3, 0.95, 1.05)},
    "gpt": {"task": "gpt", "options": {"preset": "cpu", "max_steps": 30},
            "stuck": "MATRIX_LR", "steps": (1.2, 0.9, 1.1, 0.8, 1.3, 0.95, 1.05, 1.15, 0.85)},
}


def load_average() -> str:
    return "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())


def rut_trace(name: str, out: Path, trials: int) -> tuple[TraceView, Any, SearchConfig, str]:
    """The task's rut trace: measured once, then read from ``out/trace-<name>.json``."""
    from engine.executors import LocalExecutor
    from engine.tasks import load_task

    plan = RUT_PLANS[name]
    task = load_task(plan["task"], **plan["options"])
    space = task.space()
    config = SearchConfig(active=tuple(space.searchable()))
    cached = out / f"trace-{name}.json"
    if cached.is_file():
        data = json.loads(cached.read_text())
        return TraceView.from_list(data["trials"], minimize=task.minimize), space, config, task.metric
    stuck, steps = plan["stuck"], plan["steps"][:trials]
    records: list[Trial] = []
    executor = LocalExecutor(workers=1, root=Path(tempfile.mkdtemp(prefix=f"rut-{name}-")))
    try:
        incumbent = dict(space.defaults())
        best: float | None = None
        # A keep must beat the noise: the task's floor where it has one, else 0.1% of the metric.
        floor = task.noise_floor() or 0.0
        for index in range(len(steps) + 1):
            config_now = dict(incumbent)
            changes: dict[str, Any] = {}
            if index:
                spec = space[stuck]
                value = spec.coerce(float(incumbent[stuck]) * steps[index - 1])
                changes = {stuck: value}
                config_now[stuck] = value
            outcome = executor.submit(task.build_trial(index, config_now)).result()
            measured = outcome.metric if outcome.ok else None
            if index == 0:
                decision = Decision.BASELINE
            elif measured is not None and best is not None and best - measured > max(floor, 0.001 * abs(best)):
                decision = Decision.KEEP
            else:
                decision = Decision.DISCARD
            if decision in (Decision.BASELINE, Decision.KEEP) and measured is not None:
                best, incumbent = measured, config_now
            records.append(Trial(index, config_now, changes, outcome.status, outcome.metric, decision,
                                 outcome.duration_s, rationale=f"fixation on {stuck}" if index else "baseline",
                                 source="llm" if index else "baseline", reason=outcome.reason))
            print(f"  {name} trial {index}: {changes or 'baseline'} -> {outcome.metric} ({decision.value})",
                  flush=True)
    finally:
        executor.close()
    trace = TraceView(tuple(records), minimize=task.minimize)
    out.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps({"task": name, "measured_under": load_average(), "trials": trace.to_list()}, indent=2,
                                 default=str))
    return trace, space, config, task.metric


@dataclass
class SessionFigures:
    model: str
    task: str
    session: int
    idea: str
    hook: str
    verdicts: list[str]
    chosen: int | None
    likeness: float | None
    nearest: str
    new: bool
    seconds: float
    tokens: int
    behaviour: str


def run_sessions(provider: Any, model: str, task_name: str, trace: TraceView, space: Any, config: SearchConfig,
                 metric: str, sessions: int, samples: int, folder: Path, *, task: Any = None,
                 window: int = 0) -> list[SessionFigures]:
    """``sessions`` fill sessions on ``trace`` with ``provider``, one after the other as in a run.

    With ``task`` and ``window`` > 0, each session's chosen mechanism is then spliced into ``window`` real
    Level 1 iterations from the trace (:func:`benchmarks.level2_window.run_window`), recorded in the
    session's ``window.json``.
    """
    from benchmarks.level2_window import run_window
    from engine.levels.fill.generate import FillSettings, best, generate
    from engine.levels.fill.goals import choose_goal, find_rut
    from engine.llm import CodeCompletion, LLMRequest
    from sandbox import MechanismHost

    figures: list[SessionFigures] = []
    tried: list[dict[str, Any]] = []
    earlier: dict[str, str] = {}
    host = MechanismHost()
    try:
        for number in range(1, sessions + 1):
            tokens = 0

            def ask(messages: list[dict[str, str]], options: Any) -> tuple[str, int]:
                nonlocal tokens
                reply = provider.ask(LLMRequest("fill", tuple(messages), {}, "2", options=options), CodeCompletion)
                tokens += reply.exchange.usage.total_tokens
                return reply.value.text, reply.exchange.usage.total_tokens

            goal = choose_goal(trace, space, config, tried)
            session_dir = folder / f"session-{number}"
            session_dir.mkdir(parents=True, exist_ok=True)
            started = time.monotonic()
            candidates = generate(ask, goal, trace, space, config, metric, host=host, seed=number,
                                  settings=FillSettings(samples=samples), tried=tried,
                                  references={"earlier": earlier}, folder=session_dir)
            seconds = time.monotonic() - started
            chosen = best(candidates)
            likeness = chosen.likeness if chosen is not None else None
            new = chosen is not None and likeness is not None and likeness.verdict == "new"
            name = f"{goal.idea.replace('-', '_')}_{number}"
            tried.append({"name": name, "idea": goal.idea, "hook": goal.hook,
                          "outcome": "activated" if chosen else "nothing-passed"})
            if chosen is not None:
                earlier[name] = chosen.body.text
            row = SessionFigures(model, task_name, number, goal.idea, goal.hook, [c.verdict for c in candidates],
                                 None if chosen is None else chosen.number,
                                 None if likeness is None else round(likeness.score, 3),
                                 "" if likeness is None else likeness.nearest, new,
                                 round(seconds, 1), tokens,
                                 "" if chosen is None or chosen.behaviour is None else chosen.behaviour.reason)
            figures.append(row)
            print(f"  {model} {task_name} session {number}: {goal.idea} -> {row.verdicts}; "
                  f"{'new' if new else 'nothing' if chosen is None else 'near'}"
                  f" (likeness {row.likeness}, {row.nearest}); {seconds:.0f} s; {load_average()}", flush=True)
            (session_dir / "figures.json").write_text(json.dumps(row.__dict__, indent=2))
            if chosen is not None and task is not None and window > 0:
                stuck = find_rut(trace, space, config).stuck
                result = run_window(provider, task, trace, config, stuck=stuck, iterations=window, host=host,
                                    admission=chosen.admission, name=name, hook=goal.hook, seed=number,
                                    folder=Path(tempfile.mkdtemp(prefix=f"window-{task_name}-{number}-")))
                (session_dir / "window.json").write_text(json.dumps(result.to_dict(), indent=2))
                print(f"    window: {result.calls} calls, effects {result.effects}, {result.left_rut} of "
                      f"{result.trials} trials off {stuck}, Level 1 {result.llm_proposals - result.llm_invalid}/"
                      f"{result.llm_proposals} valid{'; ejected ' + result.ejected if result.ejected else ''}",
                      flush=True)
    finally:
        host.close()
    return figures


def _task(name: str) -> Any:
    from engine.tasks import load_task

    plan = RUT_PLANS[name]
    return load_task(plan["task"], **plan["options"])


def _sessions(model: str, task_name: str, trace: TraceView, space: Any, config: SearchConfig, metric: str,
              sessions: int, samples: int, out: Path, threads: int, window: int = 0,
              controls: int = 0, style: str = "fill") -> list[Any]:
    from benchmarks.level2_window import run_window
    from engine.levels.fill.goals import find_rut
    from engine.llm.local import local_provider

    folder = out / (f"{model}-{task_name}" + ("" if style == "fill" else f"-{style}"))
    folder.mkdir(parents=True, exist_ok=True)
    task = _task(task_name) if window else None
    rows: list[Any]
    with local_provider(model, run_dir=folder, record=folder / "transcript.jsonl", threads=threads) as provider:
        if style == "dialogue":
            from benchmarks.level2_dialogue import run_dialogue_sessions

            rows = run_dialogue_sessions(provider, model, task_name, trace, space, config, metric, sessions, folder,
                                         task=task, window=window)
        else:
            rows = run_sessions(provider, model, task_name, trace, space, config, metric, sessions, samples,
                                folder, task=task, window=window)
        stuck = find_rut(trace, space, config).stuck
        for number in range(1, controls + 1 if window else 1):
            # The control: the same window from the same trace with no mechanism spliced in.
            result = run_window(provider, task, trace, config, stuck=stuck, iterations=window,
                                folder=Path(tempfile.mkdtemp(prefix=f"control-{task_name}-{number}-")))
            control_dir = folder / f"control-{number}"
            control_dir.mkdir(exist_ok=True)
            (control_dir / "window.json").write_text(json.dumps(result.to_dict(), indent=2))
            print(f"  control {number}: {result.left_rut} of {result.trials} trials off {stuck}, Level 1 "
                  f"{result.llm_proposals - result.llm_invalid}/{result.llm_proposals} valid; {load_average()}", flush=True)
    _as_text(folder)
    return rows


def _as_text(folder: Path) -> None:
    """Saved candidate modules as ``.py.txt``: run artefacts, so that no tool takes them for source."""
    for path in folder.rglob("*.py"):
        path.rename(path.with_name(path.name + ".txt"))


def _acted(window: dict[str, Any]) -> bool:
    """An effect, in a window where the search still ran something. Windows recorded before ``ran`` was
    kept count as blocked when the vetoes were as many as the window's trials."""
    ran = window.get("ran", window["trials"] - window["effects"].get("vetoed", 0))
    return bool(window["effective"]) and ran > 0


def summarise(folder: Path) -> dict[str, Any]:
    """The figures of one model on one task, read back from its session folders.

    A session *admitted a new, effective mechanism* when the candidate it
    would splice passed the behavioural check (called on the replayed
    iterations and the trace as it is now, changing at least one outcome,
    leaving the rut) and its likeness to every library mechanism is below
    0.6 (``new_vs_library``; nothing else is shown to the model). The
    stricter ``new_vs_everything`` also counts this run's earlier sessions.

    With windows (``window.json`` beside a session), the headline figure is
    ``new_called_effective``: new against everything, and in its real window
    called, with at least one effect (a veto, a proposal, advice, a decision
    flipped), in a window where the search still ran a trial (a filter that vetoed everything stopped
    it), and never ejected. Level 1's valid share counts every model
    proposal in every window, the controls' included.
    """
    rows = []
    for session_dir in sorted(folder.glob("session-*"), key=lambda p: int(p.name.split("-")[1])):
        figures = json.loads((session_dir / "figures.json").read_text())
        candidates = json.loads((session_dir / "candidates.json").read_text())
        chosen = next((c for c in candidates if c["number"] == figures["chosen"]), None)
        library = None
        if chosen is not None and chosen.get("likeness"):
            library = max((v for k, v in chosen["likeness"]["scores"].items() if not k.startswith("earlier:")),
                          default=0.0)
        window_file = session_dir / "window.json"
        figures["window"] = json.loads(window_file.read_text()) if window_file.is_file() else None
        rows.append((figures, candidates, chosen, library))
    controls = [json.loads(p.read_text()) for p in sorted(folder.glob("control-*/window.json"))]
    seconds = sum(f["seconds"] for f, *_ in rows)
    new_library = [r for r in rows if r[2] is not None and r[3] is not None and r[3] < 0.6]
    new_all = [r for r in rows if r[0]["new"]]
    verdicts = Counter(c["verdict"] for _, candidates, *_ in rows for c in candidates)
    windows = [f["window"] for f, *_ in rows if f.get("window")]
    working = [r for r in new_all if r[0].get("window") and r[0]["window"]["called"]
               and _acted(r[0]["window"]) and not r[0]["window"]["ejected"]]
    proposals = sum(w["llm_proposals"] for w in windows + controls)
    invalid = sum(w["llm_invalid"] for w in windows + controls)

    def off_rut(items: list[dict[str, Any]]) -> str | None:
        trials = sum(w["trials"] for w in items)
        return f"{sum(w['left_rut'] for w in items)}/{trials}" if trials else None

    figures_in_windows = {
        "windows": len(windows),
        "new_called_effective": len(working),
        "share_new_called_effective": round(len(working) / len(rows), 3) if rows else None,
        "seconds_per_new_called_effective": round(seconds / len(working), 1) if working else None,
        "ejected_in_window": sum(1 for w in windows if w["ejected"]),
        "window_trials_off_rut": off_rut(windows),
        "control_trials_off_rut": off_rut(controls),
        "controls": len(controls),
        "level1_proposals": proposals,
        "level1_valid_share": round((proposals - invalid) / proposals, 3) if proposals else None,
        "level1_invalid_codes": dict(sum((Counter(w["invalid_codes"]) for w in windows + controls), Counter())),
    } if windows or controls else {}
    return {
        "sessions": len(rows),
        "new_vs_library": len(new_library),
        "share_new_vs_library": round(len(new_library) / len(rows), 3) if rows else None,
        "new_vs_everything": len(new_all),
        "near_or_copy_of_earlier": len(new_library) - len(new_all),
        "nothing_passed": sum(1 for r in rows if r[2] is None),
        "copy_candidates": verdicts.get("copy", 0),
        "median_session_s": round(statistics.median(f["seconds"] for f, *_ in rows), 1) if rows else None,
        "max_session_s": max((f["seconds"] for f, *_ in rows), default=None),
        "seconds_per_new_vs_library": round(seconds / len(new_library), 1) if new_library else None,
        "tokens": sum(f["tokens"] for f, *_ in rows),
        "candidates": sum(verdicts.values()),
        "verdicts": dict(sorted(verdicts.items())),
        "fixes": dict(sorted(Counter(fix for _, candidates, *_ in rows for c in candidates
                                     for fix in c["fixes"]).items())),
        **figures_in_windows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", default=None, help="qwen-1.5b and/or qwen-0.5b (repeatable)")
    parser.add_argument("--task", action="append", default=None, choices=sorted(RUT_PLANS))
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--rut-trials", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--window", type=int, default=4,
                        help="real Level 1 iterations each chosen mechanism runs in (0: no window)")
    parser.add_argument("--controls", type=int, default=2,
                        help="windows with no mechanism spliced in, per model and task")
    parser.add_argument("--out", type=Path, default=_ROOT / "benchmarks/results/level2-fill")
    parser.add_argument("--style", choices=("fill", "dialogue"), default="fill",
                        help="the Level 2 style: fill-in samples, or the four-round dialogue (results in "
                             "<model>-<task>-dialogue)")
    parser.add_argument("--summarise", action="store_true",
                        help="only read the sessions already in --out back and print their figures")
    args = parser.parse_args(argv)
    models = args.model or ["qwen-1.5b"]
    tasks = args.task or ["digits"]
    if args.summarise:
        results = {f"{m}/{t}{suffix}": summarise(args.out / f"{m}-{t}{suffix}") for t in tasks for m in models
                   for suffix in ("", "-dialogue") if (args.out / f"{m}-{t}{suffix}").is_dir()}
        print(json.dumps(results, indent=2))
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "summary.json").write_text(json.dumps({"results": results, "read_under": load_average()}, indent=2))
        return 0
    print(f"Level 2 {args.style} sessions: {models} on {tasks}; {load_average()}", flush=True)
    summary: dict[str, Any] = {"started_under": load_average(), "results": {}}
    for task_name in tasks:
        trace, space, config, metric = rut_trace(task_name, args.out, args.rut_trials)
        from engine.levels.fill.goals import find_rut

        rut = find_rut(trace, space, config)
        print(f"{task_name}: rut {rut.to_dict()}", flush=True)
        for model in models:
            rows = _sessions(model, task_name, trace, space, config, metric, args.sessions, args.samples, args.out,
                             args.threads, args.window, args.controls, args.style)
            key = f"{model}-{task_name}" + ("" if args.style == "fill" else f"-{args.style}")
            figures = summarise(args.out / key)
            summary["results"][key] = {"summary": figures,
                                       "sessions": [r if isinstance(r, dict) else r.__dict__ for r in rows]}
            print(f"{model} on {task_name}: {json.dumps(figures)}; {load_average()}", flush=True)
    summary["ended_under"] = load_average()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"run-summary-{args.style}.json").write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
