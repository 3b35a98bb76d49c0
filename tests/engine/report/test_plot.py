"""The progress chart and the running best it draws."""

from __future__ import annotations

from hypothesis import given, strategies as st

from engine.report import plot_progress, running_best
from interfaces import Decision, ParamKind, ParamSpec, SearchSpace, Trial, TrialStatus
from tests.interfaces.strategies import traces

from .test_report import png_size

_space = SearchSpace(
    (
        ParamSpec("LR", ParamKind.FLOAT, 0.01, low=1e-4, high=1.0),
        ParamSpec("DEPTH", ParamKind.INT, 4, low=1, high=12),
    )
)


@given(trace=traces(_space, max_trials=20), minimize=st.booleans())
def test_running_best_is_monotone_and_made_of_kept_trials(trace, minimize):
    steps = running_best(trace.trials, minimize=minimize)
    kept = {t.index: t.metric for t in trace.trials if t.kept and t.ok}
    assert all(kept[i] == m for i, m in steps)
    metrics = [m for _, m in steps]
    assert metrics == sorted(metrics, reverse=minimize)
    assert len(set(metrics)) == len(metrics)  # strictly improving
    if kept:
        assert metrics[-1] == (min(kept.values()) if minimize else max(kept.values()))
        assert steps[0][0] == min(kept)


def test_plot_of_many_trials(tmp_path):
    trials = []
    best = 2.0
    for index in range(300):
        if index % 17 == 5:
            trials.append(Trial(index, {}, {"LR": index}, TrialStatus.CRASHED, None, Decision.DISCARD))
            continue
        metric = 2.0 - index * 0.001 + (index % 7) * 0.004
        decision = Decision.BASELINE if index == 0 else Decision.KEEP if metric < best else Decision.DISCARD
        best = min(best, metric) if decision is not Decision.DISCARD else best
        trials.append(Trial(index, {}, {"LR": index * 1e-3}, TrialStatus.OK, metric, decision))
    path = plot_progress(trials, tmp_path / "sub" / "progress.png", title="many")
    assert path == tmp_path / "sub" / "progress.png"
    width, height = png_size(path)
    assert (width, height) == (1400, 700)


def test_plot_with_only_failures(tmp_path):
    trials = [Trial(i, {}, {}, TrialStatus.CRASHED, None, Decision.DISCARD) for i in range(3)]
    png_size(plot_progress(trials, tmp_path / "p.png"))
    png_size(plot_progress([], tmp_path / "empty.png"))
