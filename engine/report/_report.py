"""report.md: everything a person needs to judge one run, on one page."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from engine.levels.proposers import by_source
from engine.store import STORE_FILENAME, RunStore, write_atomic
from interfaces import Decision, TraceView, TrialStatus

from ._mechanisms import summarise_mechanisms, summarise_samples
from ._plot import plot_progress
from ._text import cell, changes_text, delta_text, metric_text
from ._time import TrialTime, importance_lines, trial_times

__all__ = ["PROGRESS_NAME", "REPORT_NAME", "write_report"]

REPORT_NAME = "report.md"
PROGRESS_NAME = "progress.png"
# Providers that do not ask a language model; the report must say so, so that
# nobody reads a heuristic run as evidence about an LLM.
STAND_IN_PROVIDERS = ("heuristic",)


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return lines


def _settings_section(store: RunStore, run_id: str) -> list[str]:
    info = store.run(run_id)
    lines = ["## Run", "", f"- task: `{info.task}`", f"- status: **{info.status}**"]
    if info.note:
        lines.append(f"- note: {cell(info.note, 400)}")
    lines += [f"- started: {info.created_at}", f"- finished: {info.finished_at or '—'}"]
    model = f"`{info.provider}` / `{info.model or '—'}`"
    if info.provider in STAND_IN_PROVIDERS:
        model += (
            " — a stand-in: proposals came from a rule-based heuristic, not a language model,"
            " so this run says nothing about what an LLM would do"
        )
    lines += [f"- provider / model: {model}", ""]
    if info.settings:
        lines += _table(
            ["setting", "value"],
            [[key, json.dumps(value, default=str)] for key, value in sorted(info.settings.items())],
        )
        lines.append("")
    return lines


def _result_section(trace: TraceView, in_flight: list[int]) -> list[str]:
    baseline = trace.baseline()
    kept = [t for t in trace.trials if t.kept and t.ok]
    best = None
    for trial in kept:
        if best is None or trace.is_better(trial.metric, best.metric):
            best = trial
    lines = ["## Result", ""]
    lines.append(
        f"- baseline metric: {metric_text(baseline.metric) if baseline else '— (no baseline trial)'}"
    )
    if best is not None:
        lines.append(f"- best kept metric: {metric_text(best.metric)} (trial {best.index})")
        if best.metric is not None and baseline is not None and baseline.metric is not None:
            lines.append(f"- change from baseline: {delta_text(best.metric, baseline.metric)}")
    observed = trace.best_metric()
    if observed is not None and (best is None or trace.is_better(observed, best.metric)):
        lines.append(f"- best metric observed (not kept): {metric_text(observed)}")
    decisions = Counter(t.decision for t in trace.trials)
    statuses = Counter(t.status for t in trace.trials)
    failed = sum(n for s, n in statuses.items() if s not in (TrialStatus.OK, TrialStatus.REJECTED))
    lines.append(
        f"- trials: {len(trace)} (baseline {decisions[Decision.BASELINE]}, kept {decisions[Decision.KEEP]}, discarded {decisions[Decision.DISCARD]}, "
        f"rejected {decisions[Decision.REJECTED]}); failed runs: {failed}"
    )
    if statuses:
        lines.append("- by status: " + ", ".join(f"{s.value} {n}" for s, n in sorted(statuses.items())))
    sources = by_source(trace)
    if sources:
        lines.append("- by source (trials that ran, kept): " + ", ".join(
            f"{kind} {row['trials']} ({row['kept']} kept)" for kind, row in sorted(sources.items())))
        if any(kind.startswith(("sampler:", "pick:")) for kind in sources):
            lines.append("- `sampler:` and `pick:` trials were proposed by an Optuna sampler (`pick:` ones chosen "
                         "among its candidates by the model): engine code, not a Level 2 mechanism")
    again = [t for t in trace.trials if t.remeasure_of is not None]
    if again:
        lines.append(f"- measured again after a `slow-machine` flag (the same configuration, no iteration used): "
                     f"{', '.join(f'{t.index} (of {t.remeasure_of})' for t in again)}; "
                     f"kept {sum(t.decision is Decision.KEEP for t in again)}")
    if in_flight:
        lines.append(f"- in flight when last written (re-run on resume): {', '.join(map(str, in_flight))}")
    return lines + ["", f"![progress]({PROGRESS_NAME})", ""]


def _trials_section(trace: TraceView, times: dict[int, TrialTime], throughput_metric: str | None,
                    steps_metric: str | None = None) -> list[str]:
    rows = []
    for t in trace.trials:
        # A trial that ran has a reason only when something is to be said: a failure, a slow machine.
        why = f"{t.rationale} — {t.reason}" if t.rationale and t.reason else t.reason or t.rationale
        time = times[t.index]
        extra: list[Any] = [f"{time.seconds:.1f}" if t.decision is not Decision.REJECTED else "—"]
        if throughput_metric:
            extra.append("—" if time.throughput is None else f"{time.throughput:g}")
        if steps_metric:
            # Whole counts in full: ``:g`` would print a million steps as 1e+06.
            extra.append("—" if time.steps is None else
                         str(int(time.steps)) if float(time.steps).is_integer() else f"{time.steps:g}")
        extra += [f"{time.model_seconds:.1f}", time.model_tokens]
        rows.append(
            [
                t.index if t.remeasure_of is None else f"{t.index} (again: {t.remeasure_of})",
                changes_text(t.changes),
                t.status.value,
                metric_text(t.metric),
                t.decision.value,
                t.source,
                why,
                *extra,
            ]
        )
    header = ["#", "changes", "status", "metric", "decision", "source", "rationale / reason", "seconds",
              *([throughput_metric] if throughput_metric else []), *(["steps"] if steps_metric else []),
              "model s", "model tokens"]
    ran = [times[t.index].seconds for t in trace.trials if t.decision is not Decision.REJECTED]
    model = sum(x.model_seconds for x in times.values())
    return [
        "## Trials",
        "",
        f"Trials ran for {sum(ran):.1f} s in all; the model answered for {model:.1f} s. `model s` and "
        "`model tokens` are the model calls made since the trial before, those of Level 1.5 and Level 2 "
        "included.",
        "",
        *_table(header, rows),
        "",
    ]


def _snapshots_section(store: RunStore, run_id: str) -> list[str]:
    snapshots = store.config_snapshots(run_id)
    lines = ["## Level 1.5 search configuration", ""]
    if not snapshots:
        return lines + ["No Level 1.5 changes.", ""]
    rows = [
        [
            s.cycle,
            s.after_trial,
            s.config.strategy,
            s.config.proposer + ("" if s.config.proposer == "llm" else f" ({s.config.sampler})"),
            ", ".join(s.config.active) or "—",
            ", ".join(s.config.frozen) or "—",
            s.config.max_changes,
            s.reason,
        ]
        for s in snapshots
    ]
    return (
        lines
        + _table(["cycle", "after trial", "strategy", "proposer", "active", "frozen", "max changes", "reason"], rows)
        + [""]
    )


def _mechanisms_section(store: RunStore, run_id: str) -> list[str]:
    events = store.mechanism_events(run_id)
    summaries = summarise_mechanisms(events)
    lines = ["## Mechanisms (Level 2)", ""]
    samples = summarise_samples(events)
    if samples:
        lines += ["Fill-in sessions: the engine chose the idea and wrote the module; the model filled one method, "
                  "sampled several times. Each sample's verdict:", ""]
        lines += _table(["session", "idea", "hook", "samples", "verdicts"],
                        [[s.session, s.idea, s.hook, sum(s.verdicts.values()),
                          ", ".join(f"{v} {n}" for v, n in sorted(s.verdicts.items()))] for s in samples]) + [""]
    if not summaries:
        return lines + ["No mechanisms were proposed.", ""]
    rows = []
    for s in summaries:
        calls = ", ".join(f"{hook} {n}" for hook, n in sorted(s.calls.items())) or "none"
        ejections = f"{len(s.ejections)} ({'; '.join(s.ejections)})" if s.ejections else "0"
        rejected = f"{len(s.rejections)} ({'; '.join(s.rejections)})" if s.rejections else "0"
        final = s.final + (f": {s.reasons[-1]}" if s.reasons else "")
        rows.append(
            [
                s.name,
                rejected,
                "yes" if s.admitted else "no",
                s.origin if s.admitted else "—",
                "—" if s.activated_at is None else s.activated_at,
                calls,
                s.effects,
                ejections,
                final,
            ]
        )
    return (
        lines
        + _table(
            ["mechanism", "rejected attempts", "admitted", "new or copy", "active from trial", "calls per hook",
             "effects",
             "ejections", "final"],
            rows,
        )
        + [""]
    )


def _usage_section(store: RunStore, run_id: str) -> list[str]:
    usage = store.usage(run_id)
    lines = ["## LLM usage", ""]
    if not usage["levels"]:
        return lines + ["No LLM calls.", ""]
    rows = [
        [
            f"level {level}",
            u["calls"],
            u["failed"],
            u["prompt_tokens"],
            u["cached_prompt_tokens"],
            u["completion_tokens"],
            u["total_tokens"],
            f"{u['cost_usd']:.4f}",
        ]
        for level, u in usage["levels"].items()
    ]
    total = usage["total"]
    rows.append(
        [
            "**total**",
            total["calls"],
            total["failed"],
            total["prompt_tokens"],
            total["cached_prompt_tokens"],
            total["completion_tokens"],
            total["total_tokens"],
            f"{total['cost_usd']:.4f}",
        ]
    )
    return (
        lines
        + _table(
            ["level", "calls", "failed", "prompt tokens", "of them cached", "completion tokens", "total tokens",
             "cost (USD)"],
            rows,
        )
        + ["", "Cached prompt tokens were read from the server's prompt cache, not evaluated again (as the "
           "server reports them; 0 where it reports none).", ""]
        + _per_call_section(store, run_id)
    )


_PER_CALL_ROWS = 200  # a long run's table would bury the rest of the report; the store holds every call


def _per_call_section(store: RunStore, run_id: str) -> list[str]:
    calls = store.llm_call_rows(run_id)
    lines = ["### Tokens per call", ""]
    shown = calls[-_PER_CALL_ROWS:]
    if len(calls) > len(shown):
        lines += [f"The last {len(shown)} of {len(calls)} calls (all are in `{STORE_FILENAME}`, "
                  "table `llm_calls`).", ""]
    rows = [
        [c["id"], f"level {c['level']}", c["purpose"], c["prompt_tokens"], c["cached_prompt_tokens"],
         c["completion_tokens"],
         c["prompt_tokens"] + c["completion_tokens"], f"{c['cost_usd']:.4f}", f"{c['duration_s']:.2f}",
         "yes" if c["failed"] else ""]
        for c in shown
    ]
    return lines + _table(["call", "level", "purpose", "prompt tokens", "of them cached", "completion tokens",
                           "total tokens",
                           "cost (USD)", "seconds", "failed"], rows) + [""]


def write_report(store: RunStore, run_id: str, run_dir: str | Path) -> Path:
    """Write ``report.md`` and ``progress.png`` for ``run_id`` into ``run_dir``.

    The metric's name, its direction and the task's throughput metric come from the run state
    ``objective`` (``{"metric", "minimize", "throughput_metric", "fixed_work", "steps_metric"}``, written
    when the run starts); without it, from the run setting ``minimize`` (default True, lower is better).
    The trial table has a column for the throughput metric and one of steps when the task names them.
    """
    run_dir = Path(run_dir)
    info = store.run(run_id)
    objective = store.get_state(run_id, "objective", None) or {}
    minimize = bool(objective.get("minimize", info.settings.get("minimize", True)))
    throughput_metric = objective.get("throughput_metric")
    steps_metric = objective.get("steps_metric")
    trace = store.trace(run_id, minimize=minimize)
    plot_progress(trace.trials, run_dir / PROGRESS_NAME, minimize=minimize, title=f"{run_id}: {info.task}",
                  metric=objective.get("metric"))
    outcomes = {}
    for trial in trace.trials:
        outcome = store.outcome(run_id, trial.index) if trial.decision is not Decision.REJECTED else None
        outcomes[trial.index] = dict(outcome.metrics) if outcome is not None else {}
    times = {row.index: row for row in trial_times(trace, store.trial_finish_times(run_id),
                                                   store.llm_call_rows(run_id), outcomes, throughput_metric,
                                                   steps_metric)}
    lines = [f"# Run report: {run_id}", ""]
    lines += _settings_section(store, run_id)
    lines += _result_section(trace, store.in_flight(run_id))
    lines += _trials_section(trace, times, throughput_metric, steps_metric)
    lines += importance_lines(run_dir, run_id)
    lines += _snapshots_section(store, run_id)
    lines += _mechanisms_section(store, run_id)
    lines += _usage_section(store, run_id)
    return write_atomic(run_dir / REPORT_NAME, "\n".join(lines))
