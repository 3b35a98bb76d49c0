"""Every run's trials are an Optuna study beside its store: `optuna.load_study` returns exactly the run's
trials (params under their distributions, metric as value, states, our fields as user attributes), the copy
is completed from the store after a kill or a failure, and Optuna's plots of a run are written."""

from __future__ import annotations

import shutil
from pathlib import Path

import optuna
import pytest
from hypothesis import given, settings, strategies as st
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState
from typer.testing import CliRunner

import engine
from engine.export import (
    MIN_CONTOUR_TRIALS,
    OptunaMirror,
    contour_params,
    distributions_of,
    optuna_value,
    sync_run,
    to_frozen_trial,
    write_plots,
)
from engine.run import app
from interfaces import Decision, ParamKind, ParamSpec, SearchSpace, Trial, TrialStatus

QUAD = Path(__file__).parent / "data" / "quad.py"

SPACE = SearchSpace((
    ParamSpec("LR", ParamKind.FLOAT, 0.01, low=1e-4, high=1.0, log=True),
    ParamSpec("DEPTH", ParamKind.INT, 4, low=1, high=12),
    ParamSpec("BIAS", ParamKind.BOOL, False),
    ParamSpec("BETAS", ParamKind.CHOICE, (0.9, 0.95), choices=((0.9, 0.95), (0.9, 0.99))),
    ParamSpec("ACT", ParamKind.CHOICE, "relu", choices=("relu", "gelu")),
))


def trial(index, config, *, status=TrialStatus.OK, metric=1.0, decision=Decision.DISCARD, **extra):
    full = {**SPACE.defaults(), **config}
    return Trial(index, full, config, status, metric if status is TrialStatus.OK else None, decision, **extra)


def load(run_dir: Path, run_id: str) -> optuna.Study:
    return optuna.load_study(study_name=run_id, storage=f"sqlite:///{run_dir}/optuna.sqlite3")


# -- the mapping -------------------------------------------------------------------------------------------

def test_each_kind_of_parameter_maps_to_its_distribution():
    found = distributions_of(SPACE)
    assert found["LR"] == FloatDistribution(1e-4, 1.0, log=True)
    assert found["DEPTH"] == IntDistribution(1, 12)
    assert found["BIAS"] == CategoricalDistribution((False, True))
    assert found["BETAS"] == CategoricalDistribution(("[0.9, 0.95]", "[0.9, 0.99]"))  # tuples as JSON text
    assert found["ACT"] == CategoricalDistribution(("relu", "gelu"))


def test_a_rejected_proposal_out_of_bounds_is_a_failed_trial_with_the_value_kept_aside():
    rejected = trial(3, {"LR": 5.0, "DEPTH": 40}, status=TrialStatus.REJECTED, decision=Decision.REJECTED,
                     reason="out of bounds: LR", source="llm")
    frozen = to_frozen_trial(rejected, distributions_of(SPACE))
    assert frozen.state is TrialState.FAIL and frozen.value is None
    assert "LR" not in frozen.params and "DEPTH" not in frozen.params
    assert frozen.user_attrs["unmapped_params"] == {"LR": 5.0, "DEPTH": 40}
    assert frozen.params["BETAS"] == "[0.9, 0.95]" and frozen.params["BIAS"] is False
    assert frozen.user_attrs["decision"] == "rejected" and frozen.user_attrs["reason"] == "out of bounds: LR"


def test_a_re_measurement_names_the_trial_it_measured_again_and_others_name_none():
    distributions = distributions_of(SPACE)
    again = to_frozen_trial(trial(4, {"LR": 0.02}, remeasure_of=3), distributions)
    first = to_frozen_trial(trial(3, {"LR": 0.02}), distributions)
    assert again.user_attrs["remeasure_of"] == 3 and "remeasure_of" not in first.user_attrs


def test_throughput_and_steps_are_attributes_where_known_and_a_whole_count_of_steps_an_integer():
    distributions = distributions_of(SPACE)
    known = to_frozen_trial(trial(1, {}), distributions, throughput=812.5, steps=300.0)
    assert (known.user_attrs["throughput"], known.user_attrs["steps"]) == (812.5, 300)
    assert isinstance(known.user_attrs["steps"], int)
    unknown = to_frozen_trial(trial(2, {}), distributions)
    assert "throughput" not in unknown.user_attrs and "steps" not in unknown.user_attrs


def _in_space(spec: ParamSpec):
    if spec.kind is ParamKind.FLOAT:
        return st.floats(spec.low, spec.high, allow_nan=False)
    if spec.kind is ParamKind.INT:
        return st.integers(int(spec.low), int(spec.high))
    if spec.kind is ParamKind.BOOL:
        return st.booleans()
    return st.sampled_from(spec.choices)


@given(st.fixed_dictionaries({spec.name: _in_space(spec) for spec in SPACE}),
       st.floats(-1e6, 1e6, allow_nan=False), st.sampled_from([TrialStatus.OK, TrialStatus.CRASHED]))
@settings(max_examples=60, deadline=None)
def test_any_configuration_in_the_space_survives_a_round_trip_through_an_optuna_study(config, metric, status):
    record = trial(0, config, status=status, metric=metric, rationale="why", duration_s=1.5)
    study = optuna.create_study()
    study.add_trial(to_frozen_trial(record, distributions_of(SPACE)))
    back = study.trials[0]
    assert back.params == {name: optuna_value(value) for name, value in record.config.items()}
    assert "unmapped_params" not in back.user_attrs
    assert back.state is (TrialState.COMPLETE if status is TrialStatus.OK else TrialState.FAIL)
    assert back.value == (metric if status is TrialStatus.OK else None)
    assert (back.user_attrs["rationale"], back.user_attrs["duration_s"]) == ("why", 1.5)


def test_sync_adds_only_what_is_missing_and_keeps_numbers_equal_to_indices(tmp_path):
    trials = [trial(0, {}, decision=Decision.BASELINE, metric=2.0), trial(1, {"LR": 0.02}, metric=3.0),
              trial(2, {"DEPTH": 6}, status=TrialStatus.CRASHED), trial(3, {"ACT": "gelu"}, metric=1.0)]
    first = OptunaMirror(tmp_path, "r", space=SPACE, minimize=False, metric="acc")
    assert first.sync(trials[:2]).added == 2
    first.close()  # a kill here: the next engine opens the study again
    second = OptunaMirror(tmp_path, "r", space=SPACE, minimize=False, metric="acc")
    done = second.sync(trials)
    assert (done.ok, done.added, done.total) == (True, 2, 4)
    assert second.sync(trials).added == 0
    second.close()
    study = load(tmp_path, "r")
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE
    assert [(t.number, t.user_attrs["index"], t.state, t.value) for t in study.trials] == [
        (0, 0, TrialState.COMPLETE, 2.0), (1, 1, TrialState.COMPLETE, 3.0), (2, 2, TrialState.FAIL, None),
        (3, 3, TrialState.COMPLETE, 1.0)]
    assert study.best_trial.number == 1 and study.user_attrs == {"metric": "acc", "task": ""}


# -- a real run --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def crashing_run(tmp_path_factory) -> engine.Study:
    """quad.py that crashes above LEARNING_RATE 0.015 (the heuristic's first move is to 0.02)."""
    folder = tmp_path_factory.mktemp("script")
    script = folder / "quad_crash.py"
    script.write_text(QUAD.read_text() + "\nif LEARNING_RATE > 0.015:\n    raise SystemExit('diverged')\n")
    return engine.optimize(script, metric="loss", n=6, levels="1", run_dir=folder / "runs", run_id="crash")


def test_load_study_returns_exactly_the_runs_trials(crashing_run):
    study = load(crashing_run.run_dir, crashing_run.run_id)
    ours = crashing_run.trials
    assert study.direction == optuna.study.StudyDirection.MINIMIZE
    assert study.user_attrs == {"metric": "loss", "task": "script"}
    assert len(study.trials) == len(ours)
    for frozen, record in zip(study.trials, ours, strict=True):
        assert frozen.number == record.index == frozen.user_attrs["index"]
        assert frozen.state is (TrialState.COMPLETE if record.ok else TrialState.FAIL)
        assert frozen.value == record.metric
        mapped = {name: optuna_value(value) for name, value in record.config.items()}
        assert {**frozen.params, **frozen.user_attrs.get("unmapped_params", {})} == mapped
        for name in ("decision", "source", "rationale", "duration_s", "reason"):
            value = getattr(record, name)
            assert frozen.user_attrs[name] == (value.value if name == "decision" else value)
        assert frozen.user_attrs["status"] == record.status.value
    states = {t.user_attrs["status"] for t in study.trials}
    assert "crashed" in states and "ok" in states  # both kinds were exercised
    assert study.best_value == crashing_run.best_metric


def test_a_lost_copy_is_rebuilt_from_the_store(crashing_run, tmp_path):
    run_dir = tmp_path / crashing_run.run_id
    shutil.copytree(crashing_run.run_dir, run_dir)
    (run_dir / "optuna.sqlite3").unlink()
    rebuilt = sync_run(run_dir)
    assert (rebuilt.ok, rebuilt.added) == (True, len(crashing_run.trials))
    assert sync_run(run_dir).added == 0
    assert [t.params for t in load(run_dir, crashing_run.run_id).trials] == [
        t.params for t in load(crashing_run.run_dir, crashing_run.run_id).trials]


def test_a_copy_that_cannot_be_written_is_said_and_never_stops_the_run(tmp_path, caplog):
    (tmp_path / "blocked" / "optuna.sqlite3").mkdir(parents=True)  # a folder where the file should be
    with caplog.at_level("INFO", logger="engine"):
        study = engine.optimize(QUAD, metric="loss", n=2, levels="1", run_dir=tmp_path, run_id="blocked")
    assert study.status == "finished" and len(study.trials) >= 3
    said = [r.getMessage() for r in caplog.records if "optuna copy of the trials" in r.getMessage()]
    assert len(said) == 1 and "the store has them all" in said[0]
    (tmp_path / "blocked" / "optuna.sqlite3").rmdir()
    assert sync_run(study.run_dir).added == len(study.trials)


def test_the_plots_of_a_run_are_written(crashing_run, tmp_path):
    written = {(p.name, p.format): p for p in write_plots(crashing_run.run_dir, out_dir=tmp_path)}
    assert set(written) == {(name, fmt) for name in ("history", "importances", "parallel", "contour")
                            for fmt in ("html", "png")}
    complete = sum(t.ok for t in crashing_run.trials)
    assert complete < MIN_CONTOUR_TRIALS  # the run is short, and the first move crashes
    for fmt in ("html", "png"):
        contour = written[("contour", fmt)]
        assert contour.path is None and not (tmp_path / f"optuna-contour.{fmt}").exists()
        assert contour.reason == (f"{complete} trials completed with a metric; the contour over the two most "
                                  f"important parameters needs at least {MIN_CONTOUR_TRIALS}")
    for name in ("history", "importances", "parallel"):
        png = written[(name, "png")]
        assert png.path == tmp_path / f"optuna-{name}.png" and png.path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        html = written[(name, "html")]
        if optuna.visualization.is_available():
            assert html.path is not None and "plotly" in html.path.read_text()
        else:
            assert html.path is None and "plotly is not installed" in html.reason


def test_the_history_plot_counts_trials_in_whole_numbers_and_names_the_metric(crashing_run, tmp_path, monkeypatch):
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    saved = []
    original = Figure.savefig

    def record(self, path, *args, **kwargs):
        axes = self.axes[0]
        saved.append((str(path), axes.get_ylabel(), axes.xaxis.get_major_locator()))
        return original(self, path, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", record)
    write_plots(crashing_run.run_dir, out_dir=tmp_path, formats=("png",))
    history = next(item for item in saved if item[0].endswith("optuna-history.png"))
    assert history[1] == "loss" and isinstance(history[2], MaxNLocator)
    ticks = history[2].tick_values(0, 7)
    assert all(float(t).is_integer() for t in ticks)


@pytest.fixture(scope="module")
def long_run(tmp_path_factory) -> engine.Study:
    """quad.py searched long enough for an importance estimate: more than one parameter moves."""
    folder = tmp_path_factory.mktemp("long")
    return engine.optimize(QUAD, metric="loss", n=10, levels="1", run_dir=folder / "runs", run_id="long")


def test_the_contour_is_drawn_over_the_two_most_important_parameters(long_run, tmp_path, monkeypatch):
    from matplotlib.figure import Figure
    from optuna.importance import FanovaImportanceEvaluator, get_param_importances

    drawn = []
    original = Figure.savefig

    def record(self, path, *args, **kwargs):
        drawn.append((str(path), [(axes.get_xlabel(), axes.get_ylabel()) for axes in self.axes]))
        return original(self, path, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", record)
    written = {(p.name, p.format): p for p in write_plots(long_run.run_dir, out_dir=tmp_path)}
    study = load(long_run.run_dir, long_run.run_id)
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    varied = [name for name in complete[0].params if len({repr(t.params[name]) for t in complete}) > 1]
    assert len(complete) >= MIN_CONTOUR_TRIALS and len(varied) >= 2
    ranked = list(get_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=0), params=varied))
    first, second = ranked[:2]
    assert contour_params(study) == ((first, second), "")

    png = written[("contour", "png")]
    assert png.path == tmp_path / "optuna-contour.png" and png.path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    labels = next(axes for path, axes in drawn if path.endswith("optuna-contour.png"))
    # The contour itself, over the two parameters, and its colour bar, the metric.
    assert labels == [(first, second), ("", "loss")]
    html = written[("contour", "html")]
    if optuna.visualization.is_available():
        assert html.path is not None and "plotly" in html.path.read_text()
    else:
        assert html.path is None and "plotly is not installed" in html.reason


def test_no_contour_when_fewer_than_two_parameters_varied():
    study = optuna.create_study()
    distributions = distributions_of(SPACE)
    for index in range(MIN_CONTOUR_TRIALS + 2):
        record = trial(index, {"LR": 0.01 * (index + 1)}, metric=float(index))
        study.add_trial(to_frozen_trial(record, distributions))
    assert contour_params(study) == (None, "1 parameter varied across the completed trials (LR); a contour "
                                           "needs two")


def test_the_plots_command_says_where_each_plot_is(crashing_run, tmp_path):
    result = CliRunner().invoke(app, ["plots", crashing_run.run_id, "--run-dir", str(crashing_run.run_dir.parent),
                                      "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert f"history (png): {tmp_path / 'optuna-history.png'}" in result.output.replace("\n", "")
    missing = CliRunner().invoke(app, ["plots", "nope", "--run-dir", str(tmp_path)])
    assert missing.exit_code == 2 and "no run to resume at 'nope'" in missing.output
