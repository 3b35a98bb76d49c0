import pytest

from benchmarks.gpt import GptTask
from benchmarks.gpt_collect import collect_run, draw_configs
from benchmarks.surrogate import estimate_noise
from benchmarks.trial_stores import trials_from_stores
from interfaces import Decision

from .conftest import TINY


def test_draws_alternate_whole_space_and_local_changes_within_the_space(cache):
    space = GptTask().space()
    defaults = dict(space.defaults())
    configs = draw_configs(space, seed=3, count=8)
    assert [how for _, how in configs] == ["random", "local"] * 4
    for config, how in configs:
        changed = {k for k in config if config[k] != defaults[k]}
        # every draw is a proposable change: within bounds and choices, nothing locked
        assert space.validate({k: config[k] for k in changed} or {"DEPTH": 1}) == ()
        if how == "local":
            assert 1 <= len(changed) <= 3
    assert draw_configs(space, seed=3, count=8) == configs
    assert draw_configs(space, seed=4, count=8) != configs


@pytest.mark.slow
def test_a_collected_run_is_a_store_the_surrogate_reads(cache, tmp_path):
    task = GptTask(max_steps=2, extra=TINY)
    database = collect_run(task, seed=0, trials=2, out=tmp_path, command="test")
    runs = trials_from_stores([database])
    (trials,) = runs.values()
    assert [t.index for t in trials] == [0, 1, 2, 3]
    assert trials[0].decision is Decision.BASELINE and trials[0].ok
    assert trials[-1].config == trials[0].config
    # fixed-steps mode repeats exactly, so the repeated baseline measures no noise
    assert estimate_noise(trials) == 0.0
    # resuming a complete run measures nothing again
    assert collect_run(task, seed=0, trials=2, out=tmp_path, command="test") == database
    assert len(next(iter(trials_from_stores([database]).values()))) == 4


@pytest.mark.slow
def test_fitting_collected_runs_saves_a_model_and_reports_held_out_runs(cache, tmp_path, capsys):
    from benchmarks.gpt_fit import main as fit
    from benchmarks.surrogate import SurrogateModel

    # The surrogate reads configurations of the task's own space; TINY's 64-token sequences make
    # batch sizes below the space's smallest choice, so this run trains 128-token sequences.
    task = GptTask(max_steps=2, extra={**TINY, "SEQ_LEN": 128, "TOTAL_BATCH_SIZE": 2048})
    for seed in (0, 1):
        collect_run(task, seed=seed, trials=2, out=tmp_path / "stores", command="test")
    out = tmp_path / "model.json"
    assert fit(["--stores", str(tmp_path / "stores"), "--out", str(out), "--noise", "0.05",
                "--report", str(tmp_path / "holdout.md")]) == 0
    model = SurrogateModel.load(out)
    assert model.noise == 0.05 and model.data["fit"]["ok_trials"] >= 4
    printed = capsys.readouterr().out
    assert "Leave-one-run-out over 2 runs" in printed and "collect-s0" in printed
    assert (tmp_path / "holdout.md").read_text() in printed
