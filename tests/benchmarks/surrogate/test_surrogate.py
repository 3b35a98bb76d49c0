"""The surrogate recovers a known surface, extrapolates pessimistically, keeps
crash regions, and its trial script prints exactly what the model says."""

from __future__ import annotations

import json
import math
import random
import statistics
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from benchmarks.surrogate import (
    SurrogateModel,
    SurrogateTask,
    estimate_noise,
    fit_surrogate,
    holdout_report,
    load_surrogate_task,
)
from benchmarks.surrogate._predict import encode
from interfaces import ConfigError, Decision, SearchSpace, Task, Trial, TrialStatus
from tests.interfaces.strategies import spaces, values_for

from .synthetic import NOISE, SPACE, random_config, synthetic_runs, true_metric


def _all(runs):
    return [t for trials in runs.values() for t in trials]


@pytest.fixture(scope="module")
def runs():
    return synthetic_runs(3, 30, seed=1, crash_lr=0.05)


@pytest.fixture(scope="module")
def model(runs):
    return fit_surrogate(_all(runs), SPACE, NOISE)


def test_recovers_the_known_surface_on_fresh_configs(model):
    rng = random.Random(42)
    configs = [c for c in (random_config(rng) for _ in range(300)) if c["LR"] <= 0.05]
    errors = [model.predict(c) - true_metric(c) for c in configs]
    rmse = math.sqrt(sum(e * e for e in errors) / len(errors))
    assert rmse < 2 * NOISE
    optimum = {"DEPTH": 8, "LR": 0.01, "WEIGHT_DECAY": 0.2, "WARMUP_STEPS": 100, "WINDOW_PATTERN": "SL",
               "USE_ROPE": True}
    assert model.predict(optimum) < model.predict(SPACE.defaults()) - 0.01


def test_gp_correction_captures_structure_the_bowl_cannot():
    # 1-D surface with a narrow dip at WEIGHT_DECAY=0.35 that no quadratic can express.
    space = SearchSpace((SPACE["WEIGHT_DECAY"],))
    rng = random.Random(3)

    def surface(wd):
        return 1.0 - 0.05 * math.exp(-((wd - 0.35) / 0.04) ** 2)

    trials = []
    for index in range(60):
        wd = rng.uniform(0.0, 0.5)
        trials.append(Trial(index, {"WEIGHT_DECAY": wd}, {}, TrialStatus.OK, surface(wd) + rng.gauss(0, 0.002),
                            Decision.DISCARD))
    fitted = fit_surrogate(trials, space, 0.002)
    assert abs(fitted.predict({"WEIGHT_DECAY": 0.35}) - surface(0.35)) < 0.01
    assert abs(fitted.predict({"WEIGHT_DECAY": 0.1}) - surface(0.1)) < 0.01


def test_extrapolates_pessimistically_away_from_the_data():
    rng = random.Random(5)
    trials = []
    for index in range(40):
        config = random_config(rng)
        config["LR"] = 10 ** rng.uniform(-3, -2)  # data only for LR in [1e-3, 1e-2]
        trials.append(Trial(index, config, {}, TrialStatus.OK, true_metric(config), Decision.DISCARD))
    fitted = fit_surrogate(trials, SPACE, NOISE)
    best_seen = min(t.metric for t in trials)
    far = dict(SPACE.defaults(), LR=1e-4)
    assert fitted.predict(far) > best_seen
    assert math.isfinite(fitted.predict(dict(SPACE.defaults(), LR=0.1)))


def test_json_round_trip_predicts_identically(model, tmp_path):
    path = model.save(tmp_path / "model.json")
    again = SurrogateModel.load(path)
    rng = random.Random(7)
    for _ in range(20):
        config = random_config(rng)
        assert again.predict(config) == model.predict(config)
    assert again.space == model.space
    assert SurrogateModel.from_dict(json.loads(json.dumps(model.to_dict()))).data == model.data


def test_noise_is_fixed_per_config_and_seed_and_has_the_measured_spread(model):
    config = dict(SPACE.defaults())
    assert model.observe(config, 3) == model.observe(config, 3)
    draws = [model.observe(config, seed) - model.predict(config) for seed in range(600)]
    assert len(set(draws)) == 600
    assert statistics.stdev(draws) == pytest.approx(NOISE, rel=0.15)
    assert abs(statistics.mean(draws)) < 4 * NOISE / math.sqrt(600)
    moved = dict(config, WEIGHT_DECAY=0.11)
    assert model.observe(moved, 3) - model.predict(moved) != draws[3]


def _near_a_recorded_crash(runs):
    crashed = next(t for t in _all(runs) if t.status is TrialStatus.DIVERGED)
    return dict(crashed.config, LR=crashed.config["LR"] * 0.99)


def test_crash_regions_are_kept_and_nothing_else_crashes(model, runs):
    assert "diverged" in model.crash_reason(_near_a_recorded_crash(runs))
    assert model.crash_reason(dict(SPACE.defaults())) is None
    ok_configs = [t.config for t in _all(runs) if t.ok]
    assert all(model.crash_reason(c) is None for c in ok_configs)


def _run_trial(task: SurrogateTask, config, workdir: Path) -> subprocess.CompletedProcess:
    request = task.build_trial(1, config)
    workdir.mkdir()
    for name, text in request.files.items():
        (workdir / name).write_text(text)
    return subprocess.run(request.argv, cwd=workdir, capture_output=True, text=True, env={},
                          timeout=request.time_limit_s)


def test_trial_script_prints_exactly_what_the_model_observes(model, tmp_path):
    task = SurrogateTask(model, noise_seed=11)
    assert isinstance(task, Task)
    config = dict(SPACE.defaults(), LR=0.02, WINDOW_PATTERN="L")
    done = _run_trial(task, config, tmp_path / "ok")
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(": ") for line in done.stdout.splitlines())
    assert float(lines["val_bpb"]) == model.observe(config, 11)
    assert float(lines["surrogate_mean"]) == model.predict(config)


def test_trial_script_crashes_in_crash_regions_and_rejects_bad_values(model, runs, tmp_path):
    task = SurrogateTask(model)
    crashed = _run_trial(task, _near_a_recorded_crash(runs), tmp_path / "crash")
    assert crashed.returncode == 1
    assert "simulated crash" in crashed.stderr
    assert "val_bpb" not in crashed.stdout
    bad = _run_trial(task, dict(SPACE.defaults(), WINDOW_PATTERN="XL"), tmp_path / "bad")
    assert bad.returncode == 2
    assert "not-a-choice" in bad.stderr


def test_task_speaks_the_task_protocol(model, tmp_path):
    path = model.save(tmp_path / "m.json")
    task = load_surrogate_task(str(path), noise_seed=4)
    assert task.space() == SPACE
    assert task.noise_floor() == NOISE
    assert (task.metric, task.minimize) == ("val_bpb", True)
    request = task.build_trial(7, SPACE.defaults())
    assert request.index == 7 and request.metric == "val_bpb"
    assert json.loads(request.files["config.json"]) == {"config": json.loads(json.dumps(SPACE.defaults())),
                                                        "noise_seed": 4}


def test_holdout_report_tracks_a_good_fit(runs):
    report = holdout_report(runs, SPACE, NOISE)
    assert len(report.runs) == 3
    assert report.points == sum(1 for t in _all(runs) if t.ok)
    assert report.rmse_over_noise < 2.0
    assert report.spearman > 0.9
    assert "Leave-one-run-out over 3 runs" in report.to_markdown()


def test_holdout_report_shows_a_bad_fit_as_bad(runs):
    # Scramble the held-out metrics: predictions must no longer track them.
    rng = random.Random(0)
    scrambled = {}
    for name, trials in runs.items():
        metrics = [t.metric for t in trials]
        rng.shuffle(metrics)
        scrambled[name] = tuple(Trial(t.index, t.config, {}, t.status, m, t.decision)
                                for t, m in zip(trials, metrics, strict=True))
    report = holdout_report(scrambled, SPACE, NOISE)
    assert report.rmse_over_noise > 3.0
    assert abs(report.spearman) < 0.4


def test_bad_input_gets_stable_codes(runs):
    with pytest.raises(ConfigError) as one_run:
        holdout_report({"only": runs["run0"]}, SPACE, NOISE)
    assert one_run.value.code == "too-few-runs"
    with pytest.raises(ConfigError) as few:
        fit_surrogate(runs["run0"][:1], SPACE, NOISE)
    assert few.value.code == "too-few-trials"
    with pytest.raises(ConfigError) as noise:
        fit_surrogate(_all(runs), SPACE, float("nan"))
    assert noise.value.code == "bad-noise"
    with pytest.raises(ConfigError) as fmt:
        SurrogateModel.from_dict({"format": "other"})
    assert fmt.value.code == "bad-surrogate-model"


def test_noise_is_estimated_from_repeated_configurations():
    rng = random.Random(2)
    trials = [Trial(i, dict(SPACE.defaults(), WARMUP_STEPS=i % 5), {}, TrialStatus.OK, 1.0 + rng.gauss(0, 0.01),
                    Decision.DISCARD) for i in range(400)]
    assert estimate_noise(trials) == pytest.approx(0.01, rel=0.15)
    with pytest.raises(ConfigError) as unknown:
        estimate_noise(trials[:5])
    assert unknown.value.code == "noise-unknown"


@st.composite
def space_and_config(draw):
    space = draw(spaces())
    return space, {spec.name: draw(values_for(spec)) for spec in space}


@given(space_and_config())
def test_every_valid_config_encodes_into_the_unit_cube(pair):
    space, config = pair
    from benchmarks.surrogate._model import _features

    point = encode({"features": _features(space)}, config)
    assert len(point) == len(space.searchable())
    assert all(-1e-9 <= x <= 1 + 1e-9 for x in point)


# -- the floor: no configuration in the box is predicted past what a run could reach --------------
def _gpt_model():
    from benchmarks.surrogate.models import GPT_CPU

    return SurrogateModel.load(GPT_CPU)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_the_shipped_gpt_surrogate_never_predicts_below_its_floor_anywhere_in_the_box(data):
    model = _gpt_model()
    config = {spec.name: data.draw(values_for(spec)) for spec in model.space if not spec.locked}
    # Corners are where an unbounded bowl dips furthest: draw them too.
    for spec in model.space:
        if spec.kind.value in ("float", "int") and not spec.locked and data.draw(st.booleans()):
            config[spec.name] = data.draw(st.sampled_from((spec.low, spec.high)))
    assert model.predict(config) >= model.floor
    assert model.floor < model.data["floor"]["best_measured"]


def test_the_floor_leaves_predictions_near_the_data_alone_and_bounds_the_far_ones():
    from benchmarks.surrogate._predict import bounded

    model = _gpt_model()
    floor, margin = model.floor, model.data["floor"]["margin"]
    assert bounded(model.data, floor + 3 * margin) == pytest.approx(floor + 3 * margin, abs=1e-6)
    assert bounded(model.data, model.data["floor"]["best_measured"]) == pytest.approx(
        model.data["floor"]["best_measured"], abs=0.01 * margin)
    assert floor <= bounded(model.data, floor - 10.0) < floor + 1e-6
    raw = [floor - 2 * margin + k * margin / 10 for k in range(60)]
    values = [bounded(model.data, r) for r in raw]
    assert values == sorted(values), "the floor keeps the surface's order"


@given(st.floats(0.01, 1.0), st.floats(-5.0, 5.0))
def test_a_maximising_surface_has_a_ceiling(margin, raw):
    from benchmarks.surrogate._predict import bounded

    model = {"minimize": False, "floor": {"value": 1.0, "softness": margin / 4}}
    assert bounded(model, raw) <= 1.0 + 1e-12


def test_a_model_without_a_floor_is_refused_with_how_to_refit():
    data = _gpt_model().to_dict()
    data["format"] = "surrogate-v1"
    with pytest.raises(ConfigError) as refused:
        SurrogateModel.from_dict(data)
    assert refused.value.code == "bad-surrogate-model" and "benchmarks.gpt_fit" in refused.value.message
