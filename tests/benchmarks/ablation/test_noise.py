"""The ablation's noise floor: the baseline configuration rerun with its seeds varied, in the same run."""

from __future__ import annotations

import json
import random
import statistics
from pathlib import Path

import pytest
from typer.testing import CliRunner

from benchmarks.ablation import _engine
from benchmarks.ablation.__main__ import app
from benchmarks.ablation.noise import NoiseFloor, load_noise, measure_noise, noise_lines, seed_parameters
from interfaces import ConfigError

QUAD = Path(__file__).parents[2] / "engine" / "data" / "quad.py"
SEEDED = '''import random

WIDTH = 4.0
SEED = 7
random.seed(SEED)
print(f"loss: {WIDTH + random.random():.6f}")
'''


def _seeded(tmp_path: Path) -> Path:
    path = tmp_path / "seeded.py"
    path.write_text(SEEDED)
    return path


def test_a_seeded_script_is_reseeded_each_repeat_and_its_spread_is_that_of_the_seeds(tmp_path):
    task = _engine.load_task("script", {"path": str(_seeded(tmp_path)), "metric": "loss"})
    assert seed_parameters(task) == ("SEED",), "the script task locks SEED; it is the one varied"
    with _engine.local_executor(tmp_path / "trials") as executor:
        noise = measure_noise(task, executor, 3)
    expected = [4 + random.Random(seed).random() for seed in (7, 8, 9)]
    assert noise.values == pytest.approx(expected, abs=1e-6)
    assert noise.std == pytest.approx(statistics.stdev(expected), abs=1e-6) and noise.std > 0
    assert noise.varied == ("SEED",)


def test_a_script_without_a_seed_is_rerun_unchanged_and_said_to_be_deterministic(tmp_path):
    task = _engine.load_task("script", {"path": str(QUAD), "metric": "loss"})
    with _engine.local_executor(tmp_path / "trials") as executor:
        noise = measure_noise(task, executor, 2)
    assert noise.varied == () and noise.std == 0 and len(set(noise.values)) == 1
    text = "\n".join(noise_lines(noise, "loss"))
    assert "no seed parameter" in text and "deterministic" in text


def test_one_repeat_is_refused_and_a_failing_baseline_stops_with_a_code(tmp_path):
    task = _engine.load_task("script", {"path": str(QUAD), "metric": "loss"})
    with _engine.local_executor(tmp_path / "trials") as executor, pytest.raises(ConfigError) as caught:
        measure_noise(task, executor, 1)
    assert caught.value.code == "bad-config"
    broken = tmp_path / "broken.py"
    broken.write_text("SEED = 0\nRATE = 0.1\nraise SystemExit(3)\n")
    task = _engine.load_task("script", {"path": str(broken), "metric": "loss"})
    with _engine.local_executor(tmp_path / "trials2") as executor, pytest.raises(ConfigError) as caught:
        measure_noise(task, executor, 2)
    assert caught.value.code == "noise-measurement-failed"


def test_the_report_states_the_floor_and_each_arms_improvement_against_it():
    text = "\n".join(noise_lines(NoiseFloor((1.0, 1.2, 1.4), ("SEED",)), "val_loss", [0.4, 0.1]))
    assert "## Noise floor" in text and "3 times" in text and "SEED" in text and "sd 0.2" in text
    assert "0.5 to 2 times that sd" in text
    assert noise_lines(None, "val_loss") == []


def test_cli_measures_the_floor_first_and_reanalysis_and_merge_keep_it(tmp_path):
    out = tmp_path / "report"
    result = CliRunner().invoke(app, ["--task", "script", "--script", str(_seeded(tmp_path)), "--metric", "loss",
                                      "--groups", "", "--baselines", "random", "--seeds", "2", "--iterations", "2",
                                      "--noise-repeats", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    measured = load_noise(out)
    assert measured is not None and len(measured.values) == 3 and measured.std > 0
    assert json.loads((out / "analysis.json").read_text())["noise"]["std"] == pytest.approx(measured.std)
    assert "## Noise floor" in (out / "report.md").read_text() and "--noise-repeats 3" in (out / "report.md").read_text()
    (out / "report.md").unlink()
    assert CliRunner().invoke(app, ["--reanalyse", str(out)]).exit_code == 0
    assert "## Noise floor" in (out / "report.md").read_text()
    merged = tmp_path / "merged"
    result = CliRunner().invoke(app, ["--reanalyse", str(merged), "--merge", f"{out}::random=rs"])
    assert result.exit_code == 0, result.output
    assert load_noise(merged) == measured and "## Noise floor" in (merged / "report.md").read_text()


def test_cli_refuses_a_single_noise_repeat_before_running_anything(tmp_path):
    result = CliRunner().invoke(app, ["--groups", "", "--baselines", "random", "--noise-repeats", "1",
                                      "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and "bad-config" in result.output
    assert not (tmp_path / "r").exists()


def test_a_run_records_what_it_ran_on_and_a_merge_says_when_installations_differ(tmp_path):
    from benchmarks.ablation.environment import load_environment

    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["--task", "script", "--script", str(QUAD), "--metric", "loss", "--groups", "",
                                      "--baselines", "random", "--seeds", "1", "--iterations", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    env = load_environment(out)
    assert env is not None and env["packages"]["optuna"] and env["cpus"] and env["started"] <= env["ended"]
    report = (out / "report.md").read_text()
    assert "## Environment" in report and f"optuna {env['packages']['optuna']}" in report
    other = tmp_path / "other"
    other.mkdir()
    for name in ("trials.csv", "runs.csv"):
        (other / name).write_text((out / name).read_text().replace("random", "rs"))
    (other / "environment.json").write_text(json.dumps(dict(env, packages=dict(env["packages"], optuna="0.0"))))
    merged = tmp_path / "merged"
    assert CliRunner().invoke(app, ["--reanalyse", str(merged), "--merge", str(out), "--merge", str(other)]).exit_code == 0
    text = (merged / "report.md").read_text()
    assert f"`{out}`" in text and f"`{other}`" in text and "different package versions" in text
    assert set(json.loads((merged / "analysis.json").read_text())["environments"]) == {str(out), str(other)}
