"""`python -m engine.run script`: discovery shown by --dry-run, every bad input refused before a trial."""

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.run import app
from engine.store import RunStore

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, ["script", *map(str, args)])


def test_dry_run_prints_the_space_and_the_command_and_runs_nothing(tmp_path, quad_script):
    result = invoke(quad_script, "--metric", "loss", "--dry-run", "--run-dir", tmp_path)
    assert result.exit_code == 0, result.output
    for name in ("LEARNING_RATE", "BATCH_SIZE", "USE_BIAS", "log scale", "true or false"):
        assert name in result.output
    assert "quad.py" in result.output and "lower is better" in result.output
    assert list(tmp_path.iterdir()) == []


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "script, space, code",
    [
        ("missing.py", None, "script-not-found"),
        ("def f():\n    X = 1\n", None, "no-parameters"),
        ("LR = 0.1\n", "[params.NOPE]\nlow = 1\n", "unknown-parameter"),
        ("LR = 0.1\n", "[params.LR]\nlow = 0.5\nhigh = 0.2\n", "low-above-high"),
        ("LR = 0.1\n", "[params.LR]\nlow = 0.2\nhigh = 0.5\n", "default-out-of-bounds"),
        ("LR = 0.1\n", "[params.LR]\nstep = 2\n", "space-file-invalid"),
        ("LR = 0.1\nLR = 0.2\n", None, "duplicate-assignment"),
    ],
)
def test_bad_input_is_a_one_line_error_before_any_trial(tmp_path, script, space, code):
    path = tmp_path / script if script == "missing.py" else write(tmp_path, "s.py", script)
    args = [path, "--metric", "loss", "--run-dir", tmp_path / "runs"]
    if space:
        args += ["--space", write(tmp_path, "space.toml", space)]
    result = invoke(*args)
    assert result.exit_code == 2
    assert f"[{code}]" in result.output
    assert not (tmp_path / "runs").exists()


def test_toml_overrides_reach_the_space(tmp_path):
    script = write(tmp_path, "s.py", 'LR = 0.1\nACT = "relu"\nSEED = 3\nEPOCHS = 5\n')
    space = write(tmp_path, "space.toml", '\n'.join([
        'exclude = ["EPOCHS"]', "[params.LR]", "low = 0.01", "high = 0.3", "log = false",
        "[params.ACT]", 'choices = ["relu", "tanh"]', "[params.SEED]", "locked = true"]))
    from engine.tasks import load_task

    task = load_task("script", path=str(script), metric="loss", space_file=str(space))
    s = task.space()
    assert s.names == ("LR", "ACT", "SEED")
    assert (s["LR"].low, s["LR"].high, s["LR"].log) == (0.01, 0.3, False)
    assert s["ACT"].choices == ("relu", "tanh") and not s["ACT"].locked
    assert s["SEED"].locked


def test_pyproject_table_works_too(tmp_path):
    script = write(tmp_path, "s.py", "LR = 0.1\n")
    space = write(tmp_path, "pyproject.toml", "[tool.engine.space.params.LR]\nhigh = 0.2\n")
    from engine.tasks import load_task

    assert load_task("script", path=str(script), metric="loss", space_file=str(space)).space()["LR"].high == 0.2


METRIC_FILE_SCRIPT = """
import json
X = 2.0
json.dump({"score": (X - 3.0) ** 2}, open("result.json", "w"))
"""


def test_metric_from_a_json_file_and_maximize(tmp_path):
    script = write(tmp_path, "s.py", METRIC_FILE_SCRIPT)
    result = invoke(script, "--metric", "score", "--metric-file", "result.json", "--provider", "heuristic",
                    "--iterations", "3", "--levels", "1", "--run-dir", tmp_path / "runs")
    assert result.exit_code == 0, result.output
    store = RunStore.open(next((tmp_path / "runs").iterdir()) / "run.sqlite")
    trials = store.trials(store.runs()[0].run_id)
    assert trials[0].metric == 1.0
    assert all(t.metric is not None for t in trials if t.decision.value != "rejected")
    store.close()


def test_a_metric_the_baseline_never_prints_stops_the_run_with_a_clear_error(tmp_path, quad_script):
    result = invoke(quad_script, "--metric", "accuracy", "--provider", "heuristic", "--iterations", "2",
                    "--run-dir", tmp_path / "runs")
    assert result.exit_code == 2
    assert "[baseline-failed]" in result.output and "missing-metric" in result.output


def test_noise_repeats_measure_the_baseline_spread_before_the_search(tmp_path):
    script = write(tmp_path, "s.py", "import random\nX = 1.0\nprint(f'loss: {X + random.gauss(0, 0.1):.6f}')\n")
    result = invoke(script, "--metric", "loss", "--noise-repeats", "4", "--acceptance", "noise-aware",
                    "--provider", "heuristic", "--iterations", "2", "--levels", "1", "--run-dir", tmp_path / "runs")
    assert result.exit_code == 0, result.output
    assert "noise floor: std" in result.output
    store = RunStore.open(next((tmp_path / "runs").iterdir()) / "run.sqlite")
    noise = store.get_state(store.runs()[0].run_id, "noise")
    assert len(noise["values"]) == 4 and 0 < noise["std"] < 1
    store.close()


def test_the_users_script_is_never_modified(tmp_path, quad_script):
    copy = write(tmp_path, "quad.py", quad_script.read_text())
    before = copy.read_bytes()
    result = invoke(copy, "--metric", "loss", "--provider", "heuristic", "--iterations", "3", "--levels", "1",
                    "--run-dir", tmp_path / "runs")
    assert result.exit_code == 0, result.output
    assert copy.read_bytes() == before


def test_the_shipped_example_finishes_offline_with_a_report(tmp_path):
    example = Path(__file__).parents[2] / "examples" / "digits" / "train.py"
    pytest.importorskip("sklearn")
    proc = subprocess.run(
        [sys.executable, "-m", "engine.run", "script", str(example), "--metric", "val_loss", "--provider",
         "heuristic", "--iterations", "3", "--levels", "1,1.5", "--run-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=Path(__file__).parents[2])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "report:" in proc.stdout
    report = next(tmp_path.iterdir()) / "report.md"
    assert "baseline metric" in report.read_text()


GBR_SCRIPT = '''params = {"n_estimators": 500, "max_depth": 4, "min_samples_split": 5, "learning_rate": 0.01,
          "loss": "squared_error", "random_state": 13}
LABELS = ("a", "b")
print(f"loss: {params['learning_rate'] * params['n_estimators']}")
'''


def test_dry_run_prints_a_space_toml_that_reads_back_as_the_same_space(tmp_path):
    import tomllib

    from engine.tasks import load_task

    script = write(tmp_path, "gbr.py", GBR_SCRIPT)
    first = invoke(script, "--metric", "loss", "--dry-run", "--run-dir", tmp_path / "runs")
    assert first.exit_code == 0, first.output
    table = tomllib.loads(first.stdout)  # stdout is the TOML alone; the table went to stderr
    assert table["params"]["params.min_samples_split"]["low"] == 2
    assert table["params"]["params.random_state"]["locked"] is True
    assert "search space of gbr" in first.stderr
    space = write(tmp_path, "space.toml", first.stdout)
    discovered = load_task("script", path=str(script), metric="loss").space()
    assert load_task("script", path=str(script), metric="loss", space_file=str(space)).space() == discovered
    again = invoke(script, "--metric", "loss", "--dry-run", "--space", space, "--run-dir", tmp_path / "runs")
    assert again.exit_code == 0 and again.stdout == first.stdout
    # The printed file is the starting point for edits: a narrower range and an excluded dict key.
    edited = first.stdout.replace("exclude = []", 'exclude = ["params.max_depth"]').replace(
        "high = 1000", "high = 700")
    space.write_text(edited)
    changed = load_task("script", path=str(script), metric="loss", space_file=str(space)).space()
    assert "params.max_depth" not in changed and changed["params.n_estimators"].high == 700
    assert not (tmp_path / "runs").exists()


MSE_SCRIPT = '''params = {"n_estimators": 50, "learning_rate": 0.1}
mse = 3000.0 + (params["learning_rate"] - 0.05) ** 2 * 1e4 + params["n_estimators"] * 0.01
print(f"The mean squared error (MSE) on test set: {mse:.4f}")
'''
MSE_PATTERN = r"The mean squared error \(MSE\) on test set: (\S+)"


def test_a_metric_read_with_a_regex_drives_a_whole_run(tmp_path):
    script = write(tmp_path, "gbr.py", MSE_SCRIPT)
    result = invoke(script, "--metric", "mse", "--metric-regex", MSE_PATTERN, "--provider", "heuristic",
                    "--iterations", "3", "--levels", "1", "--run-dir", tmp_path / "runs")
    assert result.exit_code == 0, result.output
    store = RunStore.open(next((tmp_path / "runs").iterdir()) / "run.sqlite")
    trials = store.trials(store.runs()[0].run_id)
    store.close()
    assert trials[0].metric == pytest.approx(3025.5)
    assert all(t.metric is not None for t in trials if t.decision.value != "rejected")


def test_output_the_regex_does_not_match_fails_the_baseline_saying_so(tmp_path):
    script = write(tmp_path, "gbr.py", MSE_SCRIPT.replace("on test set", "on the test set"))
    result = invoke(script, "--metric", "mse", "--metric-regex", MSE_PATTERN, "--provider", "heuristic",
                    "--iterations", "2", "--levels", "1", "--run-dir", tmp_path / "runs")
    assert result.exit_code == 2
    assert "[baseline-failed]" in result.output and "no match for the metric pattern" in result.output


@pytest.mark.parametrize("extra, code", [
    (["--metric-regex", "MSE: ([0-9.]+"], "bad-metric-regex"),
    (["--metric-regex", r"MSE: \S+"], "bad-metric-regex"),
    (["--metric-regex", r"(\w+): (\S+)"], "bad-metric-regex"),
    (["--metric-regex", r"MSE: (\S+)", "--metric-file", "m.json"], "conflicting-metric-sources"),
])
def test_a_bad_metric_regex_is_a_one_line_error_before_any_trial(tmp_path, extra, code):
    script = write(tmp_path, "gbr.py", MSE_SCRIPT)
    result = invoke(script, "--metric", "mse", *extra, "--provider", "heuristic", "--run-dir", tmp_path / "runs")
    assert result.exit_code == 2
    assert result.output.strip().startswith(f"error [{code}]") and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()


def test_mechanism_flags_name_library_mechanisms_and_a_wrong_name_is_one_line(tmp_path, quad_script):
    ran = invoke(quad_script, "--metric", "loss", "--provider", "heuristic", "--levels", "1", "-n", "2",
                 "--mechanism", "tabu_filter", "--mechanism", "gp_expected_improvement", "--run-dir", tmp_path)
    assert ran.exit_code == 0, ran.output
    assert "library mechanism tabu_filter active in the filter hook" in ran.output
    assert "library mechanism gp_expected_improvement active in the source hook" in ran.output
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert 'mechanism = ["tabu_filter", "gp_expected_improvement"]' in (run_dir / "config.toml").read_text()
    wrong = invoke(quad_script, "--metric", "loss", "--provider", "heuristic", "--mechanism", "tabu",
                   "--run-dir", tmp_path / "other")
    assert wrong.exit_code == 2 and "[unknown-mechanism]" in wrong.output and "tabu_filter" in wrong.output


# The baseline (X = 2.0) runs at 1000 items a second, every other configuration at 300: slow whenever the
# machine is busy, and on a quiet machine slow by its own configuration.
PACED_SCRIPT = """
X = 2.0
print(f"loss: {(X - 5.0) ** 2:.6f}")
print(f"items_per_second: {1000.0 if X == 2.0 else 300.0}")
"""
PACED_FILE_SCRIPT = """
import json
X = 2.0
json.dump({"loss": (X - 5.0) ** 2, "items_per_second": 1000.0 if X == 2.0 else 300.0}, open("m.json", "w"))
"""
BUSY, QUIET = (5.8, 2), (0.4, 2)


def paced_run(tmp_path, monkeypatch, *args, load=BUSY, script=PACED_SCRIPT):
    from engine.levels import throughput

    monkeypatch.setattr(throughput, "machine_load", lambda: load)
    path = write(tmp_path, "paced.py", script)
    result = invoke(path, "--metric", "loss", *args, "--provider", "heuristic", "--iterations", "4",
                    "--levels", "1", "--run-dir", tmp_path / "runs")
    assert result.exit_code == 0, result.output
    run_dir = next((tmp_path / "runs").iterdir())
    store = RunStore.open(run_dir / "run.sqlite")
    run_id = store.runs()[0].run_id
    ran = [(trial, store.outcome(run_id, trial.index)) for trial in store.trials(run_id)
           if trial.decision.value != "rejected"]
    objective = store.get_state(run_id, "objective")
    store.close()
    return " ".join(result.output.split()), ran, objective, run_dir


@pytest.mark.parametrize("script, source", [(PACED_SCRIPT, []), (PACED_FILE_SCRIPT, ["--metric-file", "m.json"])])
def test_a_throughput_metric_is_recorded_and_flags_the_trials_a_busy_machine_slowed(tmp_path, monkeypatch,
                                                                                   script, source):
    # Re-measurement off: this test is about the flag; tests/engine/levels/test_throughput.py covers what follows it.
    said, ran, objective, run_dir = paced_run(tmp_path, monkeypatch, *source, "--throughput-metric",
                                              "items_per_second", "--remeasure-slow", "0", script=script)
    assert objective["throughput_metric"] == "items_per_second" and objective["fixed_work"] is False
    assert [outcome.metrics["items_per_second"] for _, outcome in ran] == [1000.0] + [300.0] * (len(ran) - 1)
    slowed = [trial for trial, _ in ran[1:]]
    assert slowed and all(trial.reason.startswith("slow-machine: ran at 30% ") for trial in slowed)
    assert not any(trial.decision.value == "keep" for trial in slowed)
    assert said.count("of the baseline's throughput (load 5.8)") == len(slowed)
    assert "slow trials cannot be flagged" not in said and "throughput-metric-missing" not in said
    assert "| items_per_second |" in (run_dir / "report.md").read_text()
    assert 'throughput-metric = "items_per_second"' in (run_dir / "config.toml").read_text()


def test_on_a_quiet_machine_a_slower_configuration_is_not_flagged(tmp_path, monkeypatch):
    said, ran, _, _ = paced_run(tmp_path, monkeypatch, "--throughput-metric", "items_per_second", load=QUIET)
    assert len(ran) > 1 and not any(trial.reason.startswith("slow-machine") for trial, _ in ran)
    assert any(trial.decision.value == "keep" for trial, _ in ran)
    assert "of the baseline's throughput" not in said


def test_without_a_throughput_metric_the_run_says_once_that_slow_trials_cannot_be_flagged(tmp_path, monkeypatch):
    said, ran, objective, _ = paced_run(tmp_path, monkeypatch)
    assert objective["throughput_metric"] is None
    assert said.count("slow trials cannot be flagged") == 1
    assert "e.g. --throughput-metric items_per_second (the baseline printed it)" in said
    assert not any(trial.reason.startswith("slow-machine") for trial, _ in ran)


def test_a_throughput_metric_the_baseline_never_reports_is_said_once_and_the_run_goes_on(tmp_path, monkeypatch):
    said, ran, _, _ = paced_run(tmp_path, monkeypatch, "--throughput-metric", "tokens_per_second")
    assert said.count("throughput-metric-missing: the baseline reported no positive tokens_per_second") == 1
    assert "it reported items_per_second, loss" in said
    assert len(ran) > 1 and not any(trial.reason.startswith("slow-machine") for trial, _ in ran)


@pytest.mark.parametrize("name, code", [("loss", "throughput-metric-is-objective"),
                                        ("items per second", "bad-metric-name")])
def test_a_bad_throughput_metric_is_a_one_line_error_before_any_trial(tmp_path, name, code):
    script = write(tmp_path, "paced.py", PACED_SCRIPT)
    result = invoke(script, "--metric", "loss", "--throughput-metric", name, "--provider", "heuristic",
                    "--run-dir", tmp_path / "runs")
    assert result.exit_code == 2
    assert result.output.strip().startswith(f"error [{code}]") and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()


# Steps depend on the configuration, so each trial's attribute can be told from the baseline's.
STEPPED_SCRIPT = PACED_SCRIPT + 'print(f"num_steps: {int(X * 10)}")\n'


def _optuna_attrs(run_dir):
    import optuna

    store = RunStore.open(run_dir / "run.sqlite")
    run_id = store.runs()[0].run_id
    store.close()
    study = optuna.load_study(study_name=run_id, storage=f"sqlite:///{run_dir}/optuna.sqlite3")
    return {t.user_attrs["index"]: t.user_attrs for t in study.trials}


def _trial_table(run_dir):
    """The report's trial table: its column names, and each row's cells by the trial's index."""
    section = (run_dir / "report.md").read_text().split("## Trials", 1)[1].split("\n## ", 1)[0]
    table = [[c.strip() for c in line.strip().strip("|").split("|")]
             for line in section.splitlines() if line.startswith("|")]
    return table[0], {row[0]: row for row in table[2:]}


def test_throughput_and_steps_are_optuna_attributes_and_steps_a_report_column(tmp_path, monkeypatch):
    from engine.export import sync_run

    _, ran, objective, run_dir = paced_run(tmp_path, monkeypatch, "--throughput-metric", "items_per_second",
                                              "--steps-metric", "num_steps", load=QUIET, script=STEPPED_SCRIPT)
    assert objective["steps_metric"] == "num_steps"
    attrs = _optuna_attrs(run_dir)
    ran_indices = {trial.index for trial, _ in ran}
    assert len(ran_indices) > 1 and ran_indices < set(attrs)  # the heuristic's repeats are rejected, never run
    for trial, outcome in ran:
        assert attrs[trial.index]["throughput"] == outcome.metrics["items_per_second"]
        assert attrs[trial.index]["steps"] == int(trial.config["X"] * 10)
        assert isinstance(attrs[trial.index]["steps"], int)
    for index in set(attrs) - ran_indices:  # a rejected proposal reported nothing
        assert "throughput" not in attrs[index] and "steps" not in attrs[index]

    columns, rows = _trial_table(run_dir)
    assert columns[columns.index("seconds") + 1:columns.index("model s")] == ["items_per_second", "steps"]
    for trial, _ in ran:
        assert rows[str(trial.index)][columns.index("steps")] == str(int(trial.config["X"] * 10))
    for index in set(attrs) - ran_indices:
        assert rows[str(index)][columns.index("steps")] == "—"
    assert 'steps-metric = "num_steps"' in (run_dir / "config.toml").read_text()

    # The copy rebuilt from the store alone (`python -m engine.run plots`) has the same attributes.
    (run_dir / "optuna.sqlite3").unlink()
    assert sync_run(run_dir).ok
    assert _optuna_attrs(run_dir) == attrs


def test_without_a_steps_metric_there_is_no_steps_column_or_attribute(tmp_path, monkeypatch):
    _, ran, objective, run_dir = paced_run(tmp_path, monkeypatch, load=QUIET, script=STEPPED_SCRIPT)
    assert objective["steps_metric"] is None and objective["throughput_metric"] is None
    attrs = _optuna_attrs(run_dir)
    assert ran and not any("steps" in a or "throughput" in a for a in attrs.values())
    columns, rows = _trial_table(run_dir)
    assert len(rows) == len(attrs) and "steps" not in columns and "items_per_second" not in columns


@pytest.mark.parametrize("name, code", [("loss", "steps-metric-is-objective"), ("num steps", "bad-metric-name")])
def test_a_bad_steps_metric_is_a_one_line_error_before_any_trial(tmp_path, name, code):
    script = write(tmp_path, "stepped.py", STEPPED_SCRIPT)
    result = invoke(script, "--metric", "loss", "--steps-metric", name, "--provider", "heuristic",
                    "--run-dir", tmp_path / "runs")
    assert result.exit_code == 2
    assert result.output.strip().startswith(f"error [{code}]") and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()
