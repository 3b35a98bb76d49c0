"""Run trials as Ray tasks, on an existing cluster or a local Ray instance.

Ray is an optional extra (``pip install bilevel-autoresearch[ray]``) and is
imported only when a RayExecutor is built. Each trial runs the same
:func:`run_trial` as locally, inside a Ray worker, so the same request gives
the same record under either executor.
"""

from __future__ import annotations

import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from interfaces import ConfigError, Outcome, TrialRequest

from ._local import guarded_run, new_workdir

__all__ = ["RayExecutor"]


def _remote_trial(request_data: dict[str, Any], root: str) -> dict[str, Any]:
    request = TrialRequest(**request_data)
    return guarded_run(request, new_workdir(Path(root), request.index)).to_dict()


def _request_data(request: TrialRequest) -> dict[str, Any]:
    # Plain data crosses to the worker, not our record types.
    return {
        "index": request.index,
        "argv": list(request.argv),
        "files": dict(request.files),
        "env": dict(request.env),
        "budget_s": request.budget_s,
        "grace_s": request.grace_s,
        "memory_limit_mb": request.memory_limit_mb,
        "metric": request.metric,
        "metric_file": request.metric_file,
        "minimize": request.minimize,
        "metric_regex": request.metric_regex,
    }


class RayExecutor:
    """:class:`interfaces.Executor` whose trials are Ray tasks.

    ``address`` names a running cluster (``"auto"`` or ``"ray://..."``); when
    None and Ray is not yet initialised, a local instance is started with
    ``num_cpus`` CPUs and shut down again by ``close``. ``root`` is the
    directory for trial working directories on the node that runs each
    trial. At most ``workers`` trials are in flight; each reserves
    ``cpus_per_trial`` CPUs of the cluster.
    """

    def __init__(self, workers: int = 1, root: str | Path | None = None, *, address: str | None = None,
                 num_cpus: int | None = None, cpus_per_trial: float = 1.0) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        try:
            import ray
        except ImportError:
            raise ConfigError("RayExecutor needs the optional ray extra: pip install 'ray[default]'",
                              code="ray-not-installed") from None
        self._ray = ray
        self.workers = workers
        self.root = str(root) if root is not None else tempfile.mkdtemp(prefix="trials-")
        self._started_here = False
        if not ray.is_initialized():
            repo_root = str(Path(__file__).resolve().parents[2])
            ray.init(address=address, num_cpus=num_cpus if address is None else None,
                     include_dashboard=False, log_to_driver=False,
                     runtime_env={"env_vars": {"PYTHONPATH": repo_root}} if address is None else None)
            self._started_here = True
        self._remote = ray.remote(num_cpus=cpus_per_trial, max_retries=0)(_remote_trial)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ray-trial")

    def _run(self, request: TrialRequest) -> Outcome:
        ref = self._remote.remote(_request_data(request), self.root)
        return Outcome.from_dict(self._ray.get(ref))

    def submit(self, request: TrialRequest) -> Future[Outcome]:
        return self._pool.submit(self._run, request)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        if self._started_here:
            self._ray.shutdown()
            self._started_here = False

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
