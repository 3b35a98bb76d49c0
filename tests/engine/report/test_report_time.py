"""The report says where a run's time went and which parameters mattered, from a real heuristic run."""

from __future__ import annotations

import re

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from engine.report import plot_progress
from engine.runner import Run
from engine.settings import RunSettings
from engine.store import RunStore
from interfaces import Decision, Trial, TrialStatus

from .test_report import section, table_rows


def quad_run(tmp_path, quad_script, iterations):
    settings = RunSettings(task="script", task_options={"path": str(quad_script), "metric": "loss", "budget_s": 10.0},
                           provider="heuristic", iterations=iterations, levels=("1",), seed=0)
    result = Run.create(settings, tmp_path).execute()
    with RunStore.open(result.run_dir / "run.sqlite") as store:
        trials = {t.index: t for t in store.trials(result.run_id)}
        calls = store.llm_call_rows(result.run_id)
    return result.report.read_text(), trials, calls


def test_each_trial_row_has_its_seconds_and_the_model_work_before_it(tmp_path, quad_script):
    text, trials, calls = quad_run(tmp_path, quad_script, iterations=10)
    block = section(text, "Trials")
    header = next(line for line in block.splitlines() if line.startswith("| #"))
    assert header.endswith("| seconds | model s | model tokens |")  # quad.py reports no throughput
    rows = {int(r[0]): r for r in table_rows(block)}
    assert set(rows) == set(trials)
    for index, trial in trials.items():
        seconds = rows[index][7]
        assert seconds == ("—" if trial.decision is Decision.REJECTED else f"{trial.duration_s:.1f}")
    # Every call is counted with exactly one trial (each cell is rounded to 0.1 s).
    assert calls and abs(sum(float(r[8]) for r in rows.values()) - sum(c["duration_s"] for c in calls)) \
        <= 0.05 * len(rows) + 1e-9
    assert float(rows[0][8]) == 0.0  # nothing is asked before the baseline
    assert re.search(r"Trials ran for \d+\.\d s in all; the model answered for \d+\.\d s", block)

    importance = section(text, "Parameter importance")
    complete = sum(1 for t in trials.values() if t.ok)
    assert f"fANOVA over the {complete} completed trials" in importance
    shares = {r[0]: float(r[1]) for r in table_rows(importance)}
    assert set(shares) <= {"LEARNING_RATE", "WEIGHT_DECAY", "BATCH_SIZE", "DEPTH", "WARMUP_RATIO", "USE_BIAS"}
    assert abs(sum(shares.values()) - 1.0) < 1e-6


def test_a_short_run_says_why_it_has_no_importance_estimate(tmp_path, quad_script):
    text, trials, _ = quad_run(tmp_path, quad_script, iterations=2)
    complete = sum(1 for t in trials.values() if t.ok)
    assert complete < 8
    assert (f"Not estimated: {complete} trials completed with a metric; the estimate needs at least 8."
            in section(text, "Parameter importance"))


def test_the_plot_names_the_metric_and_numbers_trials_in_whole_steps(tmp_path, monkeypatch):
    drawn: list[Figure] = []
    original = Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda self, *a, **k: (drawn.append(self), original(self, *a, **k))[1])
    trials = [Trial(i, {"LR": i}, {"LR": i}, TrialStatus.OK, 1.0 - i / 10,
                    Decision.BASELINE if i == 0 else Decision.KEEP) for i in range(3)]
    plot_progress(trials, tmp_path / "p.png", minimize=False, metric="accuracy")
    [axes] = drawn[0].axes
    assert axes.get_ylabel() == "accuracy (higher is better)"
    assert isinstance(axes.xaxis.get_major_locator(), MaxNLocator)
    assert all(float(tick).is_integer() for tick in axes.get_xticks())
