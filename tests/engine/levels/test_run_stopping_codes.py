"""Every level stops the run on the same provider failures, and only skips its step on any other."""

from pathlib import Path

import pytest

from engine.runner import Run
from engine.settings import RunSettings
from engine.store import RunStore
from interfaces import RUN_STOPPING_PROVIDER_CODES, AutoresearchError, ProviderError

QUAD = Path(__file__).parents[1] / "data" / "quad.py"
# The first request each level makes: Level 1 proposes, Level 1.5 revises the search, Level 2 explores.
FIRST_REQUEST = {"1": "propose", "1.5": "outer", "2": "explore"}
OPTIONS = {"path": str(QUAD), "metric": "loss", "budget_s": 10.0}


def _run(tmp_path: Path, wrap_provider, purpose: str, code: str):
    asked = []

    def fail_once(inner, request, response_model):
        if request.purpose == purpose and not asked:
            asked.append(request.purpose)
            raise ProviderError(f"the provider failed with {code}", code=code)
        return inner.ask(request, response_model)

    wrap_provider(fail_once)
    settings = RunSettings(task="script", task_options=OPTIONS,
                           provider="heuristic", iterations=6, outer_every=3, research_every=1)
    run = Run.create(settings, tmp_path)
    return run, asked


def _status(run: Run) -> str:
    with RunStore.open(run.run_dir) as store:
        return store.run(run.run_id).status


@pytest.mark.parametrize("level", sorted(FIRST_REQUEST))
@pytest.mark.parametrize("code", sorted(RUN_STOPPING_PROVIDER_CODES))
def test_a_run_stopping_failure_stops_the_run_at_every_level(tmp_path, wrap_provider, level, code):
    run, asked = _run(tmp_path, wrap_provider, FIRST_REQUEST[level], code)
    if code == "budget-exceeded":  # a stop the user asked for: the run ends whole, resumable with more budget
        assert run.execute().status == "stopped"
    else:
        with pytest.raises(AutoresearchError) as stopped:
            run.execute()
        assert stopped.value.code == code
    assert asked == [FIRST_REQUEST[level]]
    assert _status(run) == ("stopped" if code == "budget-exceeded" else "failed")


@pytest.mark.parametrize("level", sorted(FIRST_REQUEST))
def test_any_other_provider_failure_costs_only_the_step_that_asked(tmp_path, wrap_provider, level):
    run, asked = _run(tmp_path, wrap_provider, FIRST_REQUEST[level], "provider-timeout")
    assert "provider-timeout" not in RUN_STOPPING_PROVIDER_CODES
    result = run.execute()
    assert asked == [FIRST_REQUEST[level]]
    assert result.status == "finished" and _status(run) == "finished"
