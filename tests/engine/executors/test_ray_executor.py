"""The same trial gives the same record under Ray as locally (optional extra)."""

import sys

import pytest

from engine.executors import LocalExecutor, RayExecutor
from interfaces import ConfigError, Executor, TrialRequest, TrialStatus

DETERMINISTIC = """
import random, os
random.seed(int(os.environ["SEED"]))
print("val_bpb:", round(sum(random.random() for _ in range(1000)) / 1000, 12))
print("num_steps: 3")
"""


def test_missing_ray_is_a_clear_config_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ConfigError) as info:
        RayExecutor()
    assert info.value.code == "ray-not-installed"


@pytest.mark.slow
@pytest.mark.ray
def test_ray_and_local_executors_give_the_same_records(tmp_path):
    pytest.importorskip("ray", reason="the optional ray extra is not installed")
    requests = [
        TrialRequest(0, argv=(sys.executable, "t.py"), files={"t.py": DETERMINISTIC}, env={"SEED": "3"},
                     budget_s=60, grace_s=0),
        TrialRequest(1, argv=(sys.executable, "-c", "import sys; sys.exit(5)"), budget_s=60, grace_s=0),
        TrialRequest(2, argv=(sys.executable, "-c", "import time; time.sleep(60)"), budget_s=1, grace_s=0),
        TrialRequest(3, argv=(sys.executable, "-c", "print('val_bpb: nan')"), budget_s=60, grace_s=0),
    ]
    with LocalExecutor(root=tmp_path / "local") as local:
        expected = [local.submit(r).result(timeout=120) for r in requests]
    with RayExecutor(workers=2, root=tmp_path / "ray", num_cpus=2) as remote:
        assert isinstance(remote, Executor)
        got = [f.result(timeout=300) for f in [remote.submit(r) for r in requests]]
    assert [o.status for o in got] == [TrialStatus.OK, TrialStatus.CRASHED, TrialStatus.TIMED_OUT,
                                       TrialStatus.DIVERGED]
    for a, b in zip(expected, got, strict=True):
        assert (a.status, a.metric, a.metrics, a.exit_code, a.reason) == (b.status, b.metric, b.metrics,
                                                                           b.exit_code, b.reason)
    assert len(list((tmp_path / "ray").iterdir())) == len(requests)
