"""Repeats, anytime curves, baselines and the report, on a fast fake task."""

from __future__ import annotations

import csv
import statistics
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from benchmarks.ablation import (
    GROUPS,
    analyse,
    anytime_band,
    anytime_matrix,
    group_settings,
    parse_groups,
    read_runs,
    run_baseline,
    run_baselines,
    run_groups,
    write_report,
)
from benchmarks.ablation.__main__ import app
from interfaces import AutoresearchError, ConfigError, Decision

from .fakes import SPACE, FakeExecutor, FakeTask, make_run, smooth


# -- one repeat -----------------------------------------------------------------
def test_improvement_keep_and_crash_rates_of_a_repeat():
    run = make_run("A", 0, [1.0, 1.2, 0.9, None, 0.95, 0.7, 1.1], rejected_at=(6,))
    assert run.baseline == 1.0
    assert [r.index for r in run.searched()] == [1, 2, 3, 4, 5]  # rejected trial 6 cost no run
    assert run.improvement == pytest.approx(0.3)
    assert run.improvement_after(0) == 0.0
    assert run.improvement_after(2) == pytest.approx(0.1)
    assert run.keep_rate == pytest.approx(2 / 5)
    assert run.crash_rate == pytest.approx(1 / 5)
    maximise = make_run("A", 0, [0.5, 0.4, 0.8], minimize=False)
    assert maximise.improvement == pytest.approx(0.3)


def test_a_repeat_that_never_beats_its_baseline_improves_by_zero():
    assert make_run("A", 0, [1.0, 1.5, None, 1.2]).improvement == 0.0


# -- anytime curves ---------------------------------------------------------------
def test_anytime_matrix_is_best_so_far_and_carries_forward():
    runs = [make_run("A", 0, [1.0, 0.8, 0.9, 0.5]), make_run("A", 1, [2.0, 1.0])]
    matrix = anytime_matrix(runs, 3)
    np.testing.assert_allclose(matrix, [[0.0, 0.2, 0.2, 0.5], [0.0, 1.0, 1.0, 1.0]])


def test_anytime_band_brackets_the_mean_and_is_flat_where_all_agree():
    rng = np.random.default_rng(0)
    runs = [make_run("A", s, [1.0] + list(1.0 - np.cumsum(rng.uniform(0, 0.1, 8)))) for s in range(10)]
    band = anytime_band("A", runs, 8)
    assert band.n == 10
    assert band.low[0] == band.mean[0] == band.high[0] == 0.0
    assert np.all(band.low[1:] <= band.mean[1:]) and np.all(band.mean[1:] <= band.high[1:])
    assert np.all(band.high[1:] > band.low[1:])
    assert np.all(np.diff(band.mean) >= 0)  # best-so-far never gets worse


# -- baselines ----------------------------------------------------------------------
@pytest.mark.parametrize("method", ["random", "tpe", "gp", "cmaes"])
def test_baseline_repeat_has_the_engines_shape(method):
    task = FakeTask()
    executor = FakeExecutor(task)
    run = run_baseline(method, task, executor, trials=12, seed=3)
    assert executor.submitted == list(range(13))
    assert [r.index for r in run.rows] == list(range(13))
    assert run.rows[0].decision == Decision.BASELINE.value
    assert run.rows[0].metric == pytest.approx(smooth(SPACE.defaults()))
    incumbent = run.rows[0].metric
    for row in run.rows[1:]:
        assert row.config["DEPTH"] == 8  # locked parameters stay put
        assert not SPACE.validate(SPACE.coerce({k: v for k, v in row.config.items() if k != "DEPTH"}))
        kept = row.metric < incumbent
        assert row.decision == (Decision.KEEP.value if kept else Decision.DISCARD.value)
        incumbent = min(incumbent, row.metric)
    assert run.tokens == 0 and run.arm == method


@pytest.mark.parametrize("method", ["random", "tpe", "gp", "cmaes"])
def test_same_seed_same_trials_other_seed_other_trials(method):
    task = FakeTask()
    first = run_baseline(method, task, FakeExecutor(task), trials=12, seed=5)
    again = run_baseline(method, task, FakeExecutor(task), trials=12, seed=5)
    other = run_baseline(method, task, FakeExecutor(task), trials=12, seed=6)
    assert [r.config for r in first.rows] == [r.config for r in again.rows]
    assert [r.config for r in first.rows] != [r.config for r in other.rows]


def test_tpe_beats_random_search_on_a_smooth_function():
    task = FakeTask()
    best = {m: [min(r.metric for r in run_baseline(m, task, FakeExecutor(task), trials=40, seed=s).rows)
                for s in range(8)] for m in ("random", "tpe")}
    assert statistics.mean(best["tpe"]) < 0.6 * statistics.mean(best["random"])
    assert sum(t < r for t, r in zip(best["tpe"], best["random"], strict=True)) >= 6


def test_crashes_are_recorded_and_told_to_tpe():
    task = FakeTask(crash_if=lambda c: c["LR"] > 0.03 and c["X"] != 0.9)
    run = run_baseline("tpe", task, FakeExecutor(task), trials=20, seed=0)
    crashed = [r for r in run.rows if r.status == "crashed"]
    assert crashed and all(r.metric is None and r.decision == "discard" for r in crashed)
    assert run.crash_rate == pytest.approx(len(crashed) / 20)


def test_parallel_workers_batch_trials_and_keep_the_budget():
    task = FakeTask()
    executor = FakeExecutor(task, workers=3)
    run = run_baseline("tpe", task, executor, trials=10, seed=1)
    assert len(run.searched()) == 10 and executor.submitted == list(range(11))


def test_a_failing_baseline_stops_the_repeat_with_a_code():
    task = FakeTask(crash_if=lambda c: True)
    with pytest.raises(AutoresearchError) as failed:
        run_baseline("random", task, FakeExecutor(task), trials=3, seed=0)
    assert failed.value.code == "baseline-failed"
    with pytest.raises(ConfigError) as unknown:
        run_baseline("grid", task, FakeExecutor(task), trials=3, seed=0)
    assert unknown.value.code == "unknown-baseline"


def test_run_baselines_covers_every_pair_in_parallel_and_closes_executors():
    executors = []

    def make_executor(method, seed):
        executors.append(FakeExecutor(FakeTask()))
        return executors[-1]

    runs = run_baselines(["random", "tpe"], [0, 1, 2], trials=4, make_task=lambda s: FakeTask(),
                         make_executor=make_executor, parallel=3)
    assert sorted((r.arm, r.seed) for r in runs) == [(m, s) for m in ("random", "tpe") for s in (0, 1, 2)]
    assert len(executors) == 6 and all(e.closed for e in executors)


# -- groups ---------------------------------------------------------------------------
def test_groups_are_the_four_level_sets():
    from engine.settings import RunSettings

    assert {g: GROUPS[g] for g in "ABCD"} == {"A": ("1",), "B": ("1", "1.5"), "C": ("1", "1.5", "2"), "D": ("1", "2")}
    base = RunSettings(task="surrogate", task_options={"model": "m.json"}, iterations=30)
    settings = group_settings("D", base, 7)
    assert settings.levels == ("1", "2") and settings.seed == 7 and settings.iterations == 30
    assert settings.task_options == {"model": "m.json", "noise_seed": 7}
    assert group_settings("A", RunSettings(task="gpt"), 2).task_options == {}
    assert settings.proposer == "llm"
    warm = group_settings("W", RunSettings(task="gpt", sampler="tpe"), 1)
    assert (warm.levels, warm.proposer, warm.sampler, warm.warm_start) == (("1",), "alternate", "tpe", 5)
    assert group_settings("S", base, 1).proposer == "sampler"
    assert group_settings("CW", base, 1).levels == ("1", "1.5", "2")
    assert group_settings("CN", base, 1).research_new_only and not group_settings("C", base, 1).research_new_only
    assert parse_groups("a+tabu_filter, C") == ("A+tabu_filter", "C")
    plus = group_settings("A+gp_expected_improvement", base, 3)
    assert (plus.levels, plus.mechanisms, plus.seed) == (("1",), ("gp_expected_improvement",), 3)
    assert group_settings("A", base, 3).mechanisms == ()
    assert parse_groups("a, C") == ("A", "C")
    with pytest.raises(ConfigError) as bad:
        parse_groups("A,E")
    assert bad.value.code == "unknown-group"


def test_run_groups_runs_every_group_under_every_seed(tmp_path):
    from engine.settings import RunSettings

    calls = []

    def fake_repeat(arm, settings, root):
        calls.append((arm, tuple(settings["levels"]), settings["seed"], root))
        return make_run(arm, settings["seed"], [1.0, 0.9])

    runs = run_groups(["A", "C"], [0, 1], RunSettings(task="gpt"), tmp_path, run_repeat=fake_repeat)
    assert [(r.arm, r.seed) for r in runs] == [("A", 0), ("C", 0), ("A", 1), ("C", 1)]
    assert calls[1] == ("C", ("1", "1.5", "2"), 0, str(tmp_path))


# -- report ---------------------------------------------------------------------------
def _ablation_runs():
    rng = np.random.default_rng(9)
    runs = []
    for seed in range(8):
        start = 1.0 + rng.normal(0, 0.01)
        for arm, step in (("A", 0.01), ("C", 0.03), ("random", 0.01)):
            metrics = [start] + list(start - step * np.arange(1, 6) * rng.uniform(0.8, 1.2, 5))
            runs.append(make_run(arm, seed, metrics, tokens=0 if arm == "random" else 1000 + seed))
    return runs


def test_report_writes_csv_plots_and_markdown_with_the_right_numbers(tmp_path):
    runs = _ablation_runs()
    report = write_report(runs, tmp_path, title="Fake ablation", command="python -m benchmarks.ablation --x")
    text = report.read_text()
    with (tmp_path / "trials.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == sum(len(r.rows) for r in runs)
    first = [r for r in rows if r["group"] == "C" and r["seed"] == "0"]
    assert float(first[-1]["best_so_far"]) == pytest.approx(min(x.metric for x in runs[1].rows))
    analysis = analyse(runs)
    c = next(s for s in analysis.summaries if s.arm == "C")
    assert f"| C | 8 | {c.mean:.4g} |" in text
    assert "C better than A" in text and "C better than random" in text
    assert "python -m benchmarks.ablation --x" in text
    for image in ("anytime.png", "improvement.png"):
        assert (tmp_path / image).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_analysis_can_be_redone_from_the_csv_alone(tmp_path):
    runs = _ablation_runs()
    write_report(runs, tmp_path)
    again = read_runs(tmp_path)
    assert analyse(again).to_dict() == analyse(runs).to_dict()
    result = CliRunner().invoke(app, ["--reanalyse", str(tmp_path), "--title", "Redone"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "report.md").read_text().startswith("# Redone")


def test_each_repeats_best_trial_is_attributed_to_its_source_and_survives_the_csv(tmp_path):
    from dataclasses import replace

    def sourced(run, sources):
        rows = tuple(replace(row, source=sources.get(row.index, "local:qwen-1.5b")) for row in run.rows)
        return replace(run, rows=rows)

    runs = [sourced(make_run("C", 0, [1.0, 0.9, 0.5, 0.7]), {2: "mechanism:gp_expected_improvement (library)"}),
            sourced(make_run("C", 1, [1.0, 0.8, 0.8, 0.9]), {}),
            sourced(make_run("C", 2, [1.0, 1.2, 1.1]), {}),
            sourced(make_run("S", 0, [1.0, 0.4, 0.6]), {1: "sampler:gp", 2: "sampler:gp"})]
    assert [r.best_source() for r in runs] == ["mechanism:gp_expected_improvement (library)", "local:qwen-1.5b",
                                               "none", "sampler:gp"]
    text = write_report(runs, tmp_path).read_text()
    assert "| C | mechanism:gp_expected_improvement (library) 1, local:qwen-1.5b 1, none 1 |" in text
    assert [r.best_source() for r in read_runs(tmp_path)] == [r.best_source() for r in runs]


def test_mechanism_kinds_name_library_new_near_and_copied_mechanisms():
    from benchmarks.ablation._engine import mechanism_kinds

    events = [{"mechanism": "tabu_filter", "kind": "library", "data": {}},
              {"mechanism": "m1", "kind": "admission", "data": {"likeness": {"score": 0.31}}},
              {"mechanism": "m2", "kind": "admission", "data": {"likeness": {"score": 0.7}}},
              {"mechanism": "m3", "kind": "admission", "data": {"likeness": {"score": 0.97}}},
              {"mechanism": "m4", "kind": "admission", "data": {}}]
    assert mechanism_kinds(events) == {"tabu_filter": "library", "m1": "Level 2, new", "m2": "Level 2, near",
                                       "m3": "Level 2, copy", "m4": "Level 2, unmeasured"}


def test_report_says_plainly_when_nothing_separates(tmp_path):
    runs = [make_run(arm, s, [1.0, 0.9]) for s in range(5) for arm in ("A", "B")]
    text = write_report(runs, tmp_path).read_text()
    assert "**The data cannot separate any two arms at alpha=0.05.**" in text


def test_repeats_without_a_baseline_are_named_and_left_out(tmp_path):
    runs = _ablation_runs() + [make_run("A", 99, [None, 0.5])]
    analysis = analyse(runs)
    assert analysis.excluded == ("A/99",)
    assert next(s for s in analysis.summaries if s.arm == "A").n == 8


def test_cli_rejects_unknown_baselines_with_a_code(tmp_path):
    result = CliRunner().invoke(app, ["--groups", "", "--baselines", "grid", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "unknown-baseline" in result.output


def test_cli_runs_groups_and_baselines_on_a_script_named_on_the_command_line(tmp_path):
    quad = Path(__file__).parents[2] / "engine" / "data" / "quad.py"
    out = tmp_path / "report"
    result = CliRunner().invoke(app, [
        "--task", "script", "--script", str(quad), "--metric", "loss", "--budget", "10",
        "--groups", "A,B", "--baselines", "random", "--seeds", "2", "--iterations", "3",
        "--outer-every", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((out / "trials.csv").open()))
    assert {(r["group"], r["seed"]) for r in rows} == {(m, s) for m in ("A", "B", "random") for s in ("0", "1")}
    assert all(float(r["metric"]) > 0 for r in rows if r["status"] == "ok"), "the script's loss was read"
    assert any(r["decision"] == "baseline" and r["status"] == "ok" for r in rows)
    for arm in ("A", "B", "random"):  # when each trial was recorded, engine repeats and baselines alike
        times = [float(r["elapsed"]) for r in rows if r["group"] == arm and r["seed"] == "0"]
        assert times == sorted(times) and times[0] >= 0
    report = (out / "report.md").read_text()
    made_with = report.split("```")[1]
    assert "python -m benchmarks.ablation --task script" in made_with
    assert f"--script {quad}" in made_with and "--metric loss" in made_with and "--outer-every 2" in made_with
    assert "driven by the heuristic stand-in" in report and "no difference in this report credits Level 2" in report


def test_cli_says_what_the_script_task_needs(tmp_path):
    result = CliRunner().invoke(app, ["--task", "script", "--groups", "A", "--baselines", "", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "--script PATH and --metric NAME" in result.output


def test_cli_gives_each_level_its_model_and_refuses_one_for_a_provider_without_models(tmp_path):
    result = CliRunner().invoke(app, ["--groups", "A", "--baselines", "", "--seeds", "1", "--iterations", "1",
                                      "--level-model", "1=qwen-0.5b", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "bad-level-model" in result.output and "heuristic provider has no models" in result.output
    assert not (tmp_path / "runs").exists(), "refused before any repeat ran"


def test_group_settings_keep_the_level_models_of_the_base():
    from engine.settings import RunSettings

    base = RunSettings(task="surrogate", provider="local", model="qwen-1.5b", level_models=("1=qwen-0.5b",))
    settings = group_settings("C", base, 3)
    assert settings.model_for("1") == "qwen-0.5b" and settings.model_for("2") == "qwen-1.5b"
    assert RunSettings.from_dict(settings.to_dict()).model_for("1") == "qwen-0.5b", "survives the trip to a repeat"
