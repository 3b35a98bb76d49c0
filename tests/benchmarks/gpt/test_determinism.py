import pytest

from benchmarks.gpt import GptTask
from engine.executors import LocalExecutor, RayExecutor
from interfaces import TrialStatus

from .conftest import TINY

TIMING = {"training_seconds", "total_seconds", "tokens_per_second", "peak_memory_mb", "compile_seconds"}


@pytest.mark.slow
def test_fixed_steps_mode_repeats_to_the_last_digit(cache, tmp_path):
    same = GptTask(max_steps=3, extra=TINY)
    other_seed = GptTask(max_steps=3, seed=7, extra=TINY)
    with LocalExecutor(workers=2, root=tmp_path) as executor:
        futures = [executor.submit(same.build_trial(i, same.space().defaults())) for i in (0, 1)]
        futures.append(executor.submit(other_seed.build_trial(2, other_seed.space().defaults())))
        first, second, third = (f.result(timeout=300) for f in futures)
    assert first.status is second.status is third.status is TrialStatus.OK, first.log_tail
    assert first.metric == second.metric
    untimed = lambda o: {k: v for k, v in o.metrics.items() if k not in TIMING}  # noqa: E731
    assert untimed(first) == untimed(second)
    # the seed matters, so equality above is not a constant
    assert third.metric != first.metric


@pytest.mark.slow
@pytest.mark.ray
def test_a_real_training_through_ray_gives_the_local_record(cache, tmp_path):
    pytest.importorskip("ray", reason="the optional ray extra is not installed")
    task = GptTask(max_steps=3, extra=TINY)
    request = task.build_trial(0, task.space().defaults())
    with LocalExecutor(root=tmp_path / "local") as local:
        expected = local.submit(request).result(timeout=300)
    with RayExecutor(root=tmp_path / "ray", num_cpus=1) as remote:
        got = remote.submit(request).result(timeout=300)
    assert expected.status is got.status is TrialStatus.OK, got.log_tail
    assert got.metric == expected.metric
    untimed = lambda o: {k: v for k, v in o.metrics.items() if k not in TIMING}  # noqa: E731
    assert untimed(got) == untimed(expected)
