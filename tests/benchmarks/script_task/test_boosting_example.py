"""The shipped boosting example: a second kind of real cheap task (trees, regression), searched as written."""

from __future__ import annotations

from pathlib import Path

from benchmarks.ablation import _engine
from benchmarks.ablation.noise import measure_noise
from benchmarks.script_task import script_task

BOOSTING = Path(__file__).parents[3] / "examples" / "boosting" / "train.py"


def test_its_space_is_the_hyperparameter_block_with_the_seed_locked():
    space = script_task(BOOSTING, metric="val_rmse").space()
    assert space.names == ("LEARNING_RATE", "MAX_ITER", "MAX_LEAF_NODES", "MAX_DEPTH", "MIN_SAMPLES_LEAF",
                           "L2_REGULARIZATION", "MAX_FEATURES", "SEED")
    assert space["SEED"].locked and not any(space[n].locked for n in space.names if n != "SEED")
    assert space["LEARNING_RATE"].log and space["MAX_FEATURES"].high == 1.0


def test_every_corner_of_its_box_trains_and_the_seed_moves_the_score(tmp_path):
    """The bounds discovery gives are all values the regressor accepts (no trial is lost to a bad
    value), and SEED matters (features are drawn with it), so the noise floor is not zero."""
    task = _engine.load_task("script", {"path": str(BOOSTING), "metric": "val_rmse"})
    space = task.space()
    low = {p.name: p.low for p in space.params if not p.locked}
    high = {p.name: p.high for p in space.params if not p.locked}
    with _engine.local_executor(tmp_path / "trials", workers=2) as executor:
        corners = [executor.submit(task.build_trial(i, dict(space.defaults(), **corner)))
                   for i, corner in enumerate((low, high))]
        outcomes = [future.result() for future in corners]
        noise = measure_noise(task, executor, 2)
    assert all(o.ok and o.metric is not None and o.metric > 0 for o in outcomes), [o.reason for o in outcomes]
    assert noise.varied == ("SEED",) and noise.std > 0
