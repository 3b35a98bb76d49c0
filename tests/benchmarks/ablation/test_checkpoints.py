"""Improvement at fixed trial budgets, chosen comparisons, and reports merged from several folders."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from typer.testing import CliRunner

from benchmarks.ablation import analyse, read_runs, write_report
from benchmarks.ablation.__main__ import app
from benchmarks.ablation.checkpoints import merge_folders, parse_checkpoints, parse_pairs
from interfaces import ConfigError

from .fakes import make_run


def _early_and_late(seeds: int = 8):
    """'early' finds 0.5 at its first trial; 'late' finds the same at its fifth; 'never' stays at 0.9."""
    runs = []
    for seed in range(seeds):
        jitter = seed * 1e-3  # no ties between seeds
        runs.append(make_run("early", seed, [1.0, 0.5 - jitter, 0.9, 0.9, 0.9, 0.9]))
        runs.append(make_run("late", seed, [1.0, 0.9 + jitter, 0.9, 0.9, 0.9, 0.5 - jitter]))
        runs.append(make_run("never", seed, [1.0, 0.95, 0.9 + jitter, 0.95, 0.95, 0.95]))
    return runs


def test_an_arm_ahead_early_separates_at_the_early_budget_and_not_at_the_end():
    analysis = analyse(_early_and_late(), pairs=[("early", "late")], checkpoints=(2, 5))
    at2, at5 = analysis.checkpoints
    assert [c.trials for c in analysis.checkpoints] == [2, 5]
    early2 = next(s for s in at2.summaries if s.arm == "early")
    late2 = next(s for s in at2.summaries if s.arm == "late")
    assert early2.mean == pytest.approx(0.5 + 3.5e-3)
    assert late2.mean == pytest.approx(0.1)  # its 0.9 at the second trial
    assert at2.comparisons[0].separated and at2.comparisons[0].verdict.startswith("early better than late")
    assert not at5.comparisons[0].separated
    assert not analysis.comparisons[0].separated  # the whole budget: the same best, found later


def test_only_the_named_pairs_are_tested_and_holm_counts_only_them():
    runs = _early_and_late()
    every = analyse(runs, checkpoints=(2,))
    named = analyse(runs, pairs=[("early", "never")], checkpoints=(2,))
    assert {(c.first, c.second) for c in every.comparisons} == {("early", "late"), ("early", "never"),
                                                                 ("late", "never")}
    assert [(c.first, c.second) for c in named.comparisons] == [("early", "never")]
    alone = named.checkpoints[0].comparisons[0]
    among_three = next(c for c in every.checkpoints[0].comparisons if c.second == "never" and c.first == "early")
    assert alone.wilcoxon_p == among_three.wilcoxon_p
    assert alone.adjusted_p < among_three.adjusted_p  # a family of one is not adjusted upward


def test_the_report_tables_each_budget_and_says_which_pairs_separate(tmp_path):
    text = write_report(_early_and_late(), tmp_path, pairs=[("early", "late")], checkpoints=(2, 5)).read_text()
    section = text.split("## At 2 and 5 trials")[1]
    assert "| arm | 2 trials | 5 trials |" in section
    assert "| 2 | early | late | 8 |" in section and "| 5 | early | late | 8 |" in section
    assert "- at 2 trials: early better than late" in section
    assert "- at 5 trials:" not in section
    assert "Holm-adjusted within the budget (1 comparisons each)" in section
    again = analyse(read_runs(tmp_path), pairs=[("early", "late")], checkpoints=(2, 5))
    assert again.to_dict() == analyse(_early_and_late(), pairs=[("early", "late")], checkpoints=(2, 5)).to_dict()


@pytest.mark.parametrize("text", ["10,x", "0,10", "20,10", "10,10"])
def test_bad_checkpoints_are_refused_with_a_code(text):
    with pytest.raises(ConfigError) as caught:
        parse_checkpoints(text)
    assert caught.value.code == "bad-checkpoint"


def test_a_checkpoint_beyond_the_budget_is_refused():
    with pytest.raises(ConfigError) as caught:
        analyse(_early_and_late(), checkpoints=(2, 40))
    assert caught.value.code == "bad-checkpoint" and "40" in str(caught.value)


@pytest.mark.parametrize("text", ["W", "W:", "W:W", "W:gp,W:gp"])
def test_bad_comparisons_are_refused_with_a_code(text):
    with pytest.raises(ConfigError) as caught:
        parse_pairs(text)
    assert caught.value.code == "bad-comparison"


def test_a_comparison_naming_an_arm_without_repeats_is_refused():
    with pytest.raises(ConfigError) as caught:
        analyse(_early_and_late(), pairs=[("early", "gp")])
    assert caught.value.code == "unknown-arm" and "gp" in str(caught.value)


def test_the_cli_refuses_an_unknown_arm_before_running_anything(tmp_path):
    result = CliRunner().invoke(app, ["--groups", "A", "--baselines", "random", "--compare", "A:gp",
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "unknown-arm" in result.output
    assert not (tmp_path / "out").exists()


def test_folders_merge_into_one_report_and_a_repeat_in_two_is_refused(tmp_path):
    runs = _early_and_late()
    for name, arms in (("one", {"early"}), ("two", {"late", "never"})):
        write_report([r for r in runs if r.arm in arms], tmp_path / name)
    merged = tmp_path / "merged"
    result = CliRunner().invoke(app, ["--reanalyse", str(merged), "--merge", str(tmp_path / "one"),
                                      "--merge", str(tmp_path / "two"), "--compare", "early:late,early:never",
                                      "--checkpoints", "2,5", "--title", "Merged"])
    assert result.exit_code == 0, result.output
    with (merged / "runs.csv").open() as handle:
        assert {(r["group"], r["seed"]) for r in csv.DictReader(handle)} == {(r.arm, str(r.seed)) for r in runs}
    text = (merged / "report.md").read_text()
    assert text.startswith("# Merged")
    assert "--merge " + str(tmp_path / "one") + " --merge " + str(tmp_path / "two") in text
    assert "- at 2 trials: early better than late" in text
    with pytest.raises(ConfigError) as caught:
        merge_folders([tmp_path / "one", tmp_path / "merged"])
    assert caught.value.code == "duplicate-repeat"


def test_merge_without_reanalyse_is_a_config_error(tmp_path):
    result = CliRunner().invoke(app, ["--merge", str(tmp_path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "bad-config" in result.output


# -- against wall-clock seconds ------------------------------------------------------
def _timed(run, seconds_per_trial):
    from dataclasses import replace

    return replace(run, rows=tuple(replace(row, elapsed=row.index * seconds_per_trial) for row in run.rows))


def test_improvement_by_seconds_counts_only_what_was_recorded_in_time():
    run = _timed(make_run("W", 0, [1.0, 0.9, 0.6, 0.7, 0.5]), 10.0)
    assert [run.improvement_by(t) for t in (5, 10, 25, 39, 40)] == pytest.approx([0.0, 0.1, 0.4, 0.4, 0.5])
    assert make_run("W", 0, [1.0, 0.5]).improvement_by(100) is None  # no recorded times: unknown, not 0


def test_a_slow_arm_ahead_by_trials_is_behind_by_seconds(tmp_path):
    """The model's time is part of the cost: 'late' finds its best at trial 1 but takes 100 s a trial."""
    runs = []
    for seed in range(6):
        runs.append(_timed(make_run("model", seed, [1.0, 0.5 - seed * 1e-3, 0.9, 0.9]), 100.0))
        runs.append(_timed(make_run("sampler", seed, [1.0, 0.9, 0.8, 0.7 - seed * 1e-3]), 1.0))
    analysis = analyse(runs)
    bands = {band.arm: band for band in analysis.seconds_curves}
    at_ten = {arm: float(np.interp(10.0, band.seconds, band.mean)) for arm, band in bands.items()}
    assert at_ten["sampler"] > at_ten["model"] == 0.0
    assert bands["model"].mean[-1] > bands["sampler"].mean[-1]
    report = write_report(runs, tmp_path).read_text()
    assert "![anytime curves by seconds](anytime_seconds.png)" in report
    assert (tmp_path / "anytime_seconds.png").read_bytes()[:4] == b"\x89PNG"
    again = read_runs(tmp_path)
    assert [row.elapsed for row in again[0].rows] == [0.0, 100.0, 200.0, 300.0]


def test_csvs_without_recorded_times_still_read_and_draw_no_seconds_curve(tmp_path):
    runs = _early_and_late(4)
    write_report(runs, tmp_path)
    for name in ("trials.csv",):
        lines = (tmp_path / name).read_text().splitlines()
        (tmp_path / name).write_text("\n".join(line.rsplit(",", 1)[0] for line in lines) + "\n")  # drop 'elapsed'
    again = read_runs(tmp_path)
    assert all(row.elapsed is None for run in again for row in run.rows)
    assert analyse(again).seconds_curves == ()
    report = write_report(again, tmp_path / "redone").read_text()
    assert "anytime_seconds.png" not in report


def test_a_baseline_repeat_records_when_each_trial_finished():
    from benchmarks.ablation import run_baseline

    from .fakes import FakeExecutor, FakeTask

    task = FakeTask()
    run = run_baseline("random", task, FakeExecutor(task), trials=6, seed=3)
    times = [row.elapsed for row in run.rows]
    assert all(t is not None and t >= 0 for t in times)
    assert times == sorted(times) and len(times) == 7


def test_engine_record_times_become_seconds_since_the_run_began():
    from benchmarks.ablation._engine import seconds_since

    times = {0: "2026-01-01T00:00:02.500+00:00", 1: "2026-01-01T00:01:00.000+00:00"}
    assert seconds_since("2026-01-01T00:00:00.000+00:00", times) == {0: 2.5, 1: 60.0}


def test_a_merge_can_take_only_some_arms_of_a_folder(tmp_path):
    runs = _early_and_late()
    write_report(runs, tmp_path / "all")
    write_report([r for r in runs if r.arm == "late"], tmp_path / "rerun")
    merged = merge_folders([f"{tmp_path / 'all'}::early,never", tmp_path / "rerun"])
    assert sorted({(r.arm, r.seed) for r in merged}) == sorted({(r.arm, r.seed) for r in runs})
    for text, code in ((f"{tmp_path / 'all'}::", "bad-merge"), (f"{tmp_path / 'all'}::gp", "unknown-arm")):
        with pytest.raises(ConfigError) as caught:
            merge_folders([text])
        assert caught.value.code == code
    result = CliRunner().invoke(app, ["--reanalyse", str(tmp_path / "m"), "--merge", f"{tmp_path / 'all'}::early",
                                      "--merge", str(tmp_path / "rerun")])
    assert result.exit_code == 0, result.output
    assert {r.arm for r in read_runs(tmp_path / "m")} == {"early", "late"}


def test_a_merge_can_rename_an_arm_so_one_group_run_twice_is_two_arms(tmp_path):
    runs = _early_and_late()
    write_report([r for r in runs if r.arm == "early"], tmp_path / "small")
    write_report([r for r in runs if r.arm == "early"], tmp_path / "large")
    with pytest.raises(ConfigError) as caught:
        merge_folders([tmp_path / "small", tmp_path / "large"])
    assert caught.value.code == "duplicate-repeat"
    merged = merge_folders([f"{tmp_path / 'small'}::early=early-0.5b", f"{tmp_path / 'large'}::early=early-1.5b"])
    assert sorted({r.arm for r in merged}) == ["early-0.5b", "early-1.5b"]
    by_arm = {(r.arm, r.seed): r.rows for r in merged}
    assert all(by_arm[("early-0.5b", s)] == by_arm[("early-1.5b", s)] for s in range(8))
    for text in (f"{tmp_path / 'small'}::early=", f"{tmp_path / 'small'}::=x"):
        with pytest.raises(ConfigError) as caught:
            merge_folders([text])
        assert caught.value.code == "bad-merge"
