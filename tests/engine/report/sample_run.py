"""A small, fully known run used by the report tests."""

from __future__ import annotations

from pathlib import Path

from engine.store import RunStore
from interfaces import Decision, Outcome, SearchConfig, Trial, TrialStatus

OK, KEEP, DISCARD = TrialStatus.OK, Decision.KEEP, Decision.DISCARD

# index, changes, status, metric, decision, source, rationale, reason
TRIALS = [
    (0, {}, OK, 1.000000, Decision.BASELINE, "baseline", "", ""),
    (1, {"LR": 0.02}, OK, 0.980000, KEEP, "llm:gpt", "higher learning rate", ""),
    (2, {"DEPTH": 8}, OK, 0.990000, DISCARD, "llm:gpt", "deeper | wider", ""),
    (
        3,
        {"DEPTH": 12},
        TrialStatus.CRASHED,
        None,
        DISCARD,
        "llm:gpt",
        "much deeper",
        "exit code 1: CUDA error",
    ),
    (
        4,
        {"WD": 0.5},
        TrialStatus.REJECTED,
        None,
        Decision.REJECTED,
        "mechanism:dedupe",
        "",
        "duplicate-config",
    ),
    (5, {"LR": 0.03, "WARMUP": 100}, OK, 0.950000, KEEP, "mechanism:ucb", "explore LR", ""),
    (6, {"LR": 0.05}, TrialStatus.TIMED_OUT, None, DISCARD, "llm:gpt", "even higher", "timed out after 90 s"),
    (7, {"WD": 0.1}, OK, 0.960000, DISCARD, "llm:gpt", "regularise", ""),
]
BASELINE, BEST, BEST_INDEX = 1.0, 0.95, 5


def build(path: Path, *, provider: str = "openai", model: str = "gpt-4o-mini") -> RunStore:
    store = RunStore.open(path)
    store.create_run(
        "sample",
        task="surrogate",
        settings={"budget_s": 30, "iterations": 8, "seed": 7},
        provider=provider,
        model=model,
    )
    config = {"LR": 0.01, "DEPTH": 4, "WD": 0.0, "WARMUP": 0}
    for index, changes, status, metric, decision, source, rationale, reason in TRIALS:
        trial = Trial(
            index,
            dict(config, **changes),
            changes,
            status,
            metric,
            decision,
            duration_s=30.0,
            rationale=rationale,
            source=source,
            reason=reason,
        )
        outcome = (
            None if status is TrialStatus.REJECTED else Outcome(status, metric, {"val_bpb": metric or 0.0})
        )
        store.finish_trial("sample", trial, outcome)
        if decision is KEEP:
            config = dict(trial.config)
    store.add_config_snapshot("sample", 0, 3, SearchConfig(active=("LR", "DEPTH", "WD", "WARMUP")), "start")
    store.add_config_snapshot(
        "sample",
        1,
        6,
        SearchConfig(active=("LR", "WD", "WARMUP"), frozen=("DEPTH",), strategy="exploit"),
        "DEPTH crashed twice",
    )
    store.add_mechanism_event("sample", "ucb", "admission", None,
                              {"hooks": ["proposal_source"], "likeness": {"score": 0.31, "nearest": "tabu_filter"}})
    store.add_mechanism_event("sample", "ucb", "activation", 4, {})
    store.add_mechanism_event("sample", "ucb", "calls", 5, {"counts": {"proposal_source": 2}})
    store.add_mechanism_event("sample", "ucb", "calls", 6, {"counts": {"proposal_source": 1, "observer": 3}})
    store.add_mechanism_event("sample", "ucb", "effect", 5, {"hook": "proposal_source", "changed": True})
    store.add_mechanism_event("sample", "ucb", "keep", 7, {"reason": "beat the window"})
    store.add_mechanism_event("sample", "dedupe", "admission", None, {})
    store.add_mechanism_event("sample", "dedupe", "ejection", 6, {"code": "timeout", "reason": "hung 5 s"})
    store.add_mechanism_event(
        "sample", "greedy_bomb", "rejection", None, {"violations": ["forbidden-import"]}
    )
    for level, prompt, completion, cost in [
        (1, 100, 20, 0.01),
        (1, 200, 30, 0.02),
        (1.5, 50, 10, 0.005),
        (2, 1000, 400, 0.3),
    ]:
        store.add_llm_call(
            "sample",
            {
                "purpose": "p",
                "level": level,
                "provider": provider,
                "model": model,
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "cost_usd": cost,
            },
        )
    return store
