"""One run, start to finish: the levels wired to a store, a provider and an executor.

The store is the source of truth. Everything the loop needs to continue
(trials, the iteration counter, the latest search config, mechanism state) is
read back from it, so ``resume`` after a SIGKILL continues exactly where the
last committed step left off; a trial that was in flight is proposed and run
again under the same index, never counted twice.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from interfaces import AutoresearchError, ConfigError, SearchConfig, StoreError, Task, Trial

from .config_file import write_run_config
from .history import RunClock, RunHistory
from .hooks import HookRegistry
from .levels.acceptance import BuiltinAcceptance
from .levels.inner import InnerLoop, LoopEvents
from .levels.outer import OuterLoop
from .settings import LEVELS, RunSettings
from .store import STORE_FILENAME, RunPaths
from .tasks import load_task

if TYPE_CHECKING:  # the provider layer is imported when a run starts, not with this module
    from engine.llm import CatalogEntry

__all__ = ["RESUMABLE_SETTINGS", "UNTOUCHABLE_STORE_CODES", "Run", "RunResult", "initial_search_config", "new_run_id",
           "resolve_run_dir"]

#: Store errors after which the run's store is not written to at all, not even to mark the run failed.
UNTOUCHABLE_STORE_CODES = ("store-corrupt", "store-empty", "store-version")

#: Settings a resume may change: how long the run goes on and what it may spend, how long a model
#: request may take, and where trials are also logged. Any other one changes what the stored trials
#: mean (the task, the levels, the provider, the seed...) and is refused by name.
RESUMABLE_SETTINGS = ("iterations", "max_tokens", "max_usd", "request_timeout_s", "mlflow_uri")


@dataclass(frozen=True)
class RunResult:
    run_id: str
    run_dir: Path
    status: str
    baseline: float | None
    best: float | None
    trials: int
    report: Path | None


def new_run_id(task: str, seed: int) -> str:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{task}-{stamp}-s{seed}"


def resolve_run_dir(resume: str, runs_root: Path) -> Path:
    """``resume`` is a run directory or the id of a run under ``runs_root``."""
    for candidate in (Path(resume), runs_root / resume):
        if RunPaths(candidate).store.exists():
            return candidate
    raise ConfigError(f"no run to resume at {resume!r} (looked for {STORE_FILENAME} there and under "
                      f"{runs_root})")


def _resume_changes(stored: RunSettings, overrides: dict[str, Any]) -> dict[str, Any]:
    """The overrides that change a stored setting; ConfigError ``resume-setting-changed`` names any that
    is not in :data:`RESUMABLE_SETTINGS`, ``unknown-setting`` any name that is no setting at all."""
    current = stored.to_dict()
    unknown = sorted(set(overrides) - set(current))
    if unknown:
        raise ConfigError(f"no such run setting: {', '.join(unknown)}", code="unknown-setting")
    changes = {name: value for name, value in overrides.items() if _normal(value) != _normal(current[name])}
    refused = []
    for name in sorted(set(changes) - set(RESUMABLE_SETTINGS)):
        if name == "task_options":
            old, new = dict(current[name]), dict(changes[name])
            refused += [f"task option {key} ({old.get(key)!r} -> {new.get(key)!r})"
                        for key in sorted(set(old) | set(new)) if _normal(old.get(key)) != _normal(new.get(key))]
        else:
            refused.append(f"{name} ({current[name]!r} -> {changes[name]!r})")
    if refused:
        raise ConfigError(f"a resumed run keeps its settings; these cannot change: {'; '.join(refused)} "
                          f"(a resume may change {', '.join(RESUMABLE_SETTINGS)})",
                          code="resume-setting-changed")
    return changes


def _normal(value: Any) -> Any:
    """A setting's value compared as stored: tuples and lists alike, mappings by their items."""
    if isinstance(value, (list, tuple)):
        return [_normal(item) for item in value]
    if isinstance(value, dict):
        return {key: _normal(item) for key, item in value.items()}
    return value


def initial_search_config(task: Task, settings: RunSettings | None = None) -> SearchConfig:
    """Every unlocked parameter active, with the proposer policy ``settings`` ask for."""
    space = task.space()
    active = space.searchable()
    s = settings or RunSettings()
    return SearchConfig(active=active, min_active=min(3, len(active)) or 1, proposer=s.proposer,
                        sampler=s.sampler, warm_start=s.warm_start, pick_from=s.pick_from)


class Run:
    def __init__(self, settings: RunSettings, run_dir: Path, run_id: str, *, events: LoopEvents | None = None,
                 resume: bool = False) -> None:
        self.settings = settings
        self.run_dir = run_dir
        self.run_id = run_id
        self.events = events or LoopEvents()
        self.resume = resume
        self.stop_reason = ""
        self._clock: RunClock | None = None
        self._mirrors: list[Any] = []
        self._mirror_errors: dict[str, str] = {}

    @classmethod
    def create(cls, settings: RunSettings, runs_root: Path, *, run_id: str | None = None,
               events: LoopEvents | None = None) -> Run:
        run_id = run_id or new_run_id(settings.task, settings.seed)
        run_dir = runs_root / run_id
        if RunPaths(run_dir).store.exists():
            raise ConfigError(f"run directory {run_dir} already holds a run; use --resume {run_id}")
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the run directory {run_dir}: {exc.strerror}",
                             code="run-dir-unwritable") from None
        return cls(settings, run_dir, run_id, events=events)

    @classmethod
    def reopen(cls, run_dir: Path, *, events: LoopEvents | None = None,
               overrides: dict[str, Any] | None = None) -> Run:
        """The run stored in ``run_dir``, to resume.

        ``overrides`` (settings by field name) replace stored ones: a higher budget, or a larger
        ``iterations``, which runs that many iterations in all (the loop goes on from the stored
        iteration counter). An override equal to the stored value is no change. ConfigError
        ``resume-setting-changed`` names each changed setting not in :data:`RESUMABLE_SETTINGS`,
        ``resume-iterations-below-done`` refuses fewer iterations than already ran.
        """
        from engine.store import RunStore

        store = RunStore.open(RunPaths(run_dir).store)
        try:
            runs = store.runs()
            if len(runs) != 1:
                raise StoreError(f"{run_dir} holds {len(runs)} runs; expected exactly one")
            info = runs[0]
            done = int(store.get_state(info.run_id, "iteration", 0))
        finally:
            store.close()
        try:
            if not isinstance(info.settings, dict):
                raise TypeError(f"a {type(info.settings).__name__}, not a mapping")
            stored = RunSettings.from_dict(info.settings)
        except (TypeError, ValueError, AttributeError) as exc:
            raise StoreError(f"the settings stored in {RunPaths(run_dir).store} are not run settings "
                             f"({exc}); the store was edited or damaged", code="store-corrupt") from None
        changes = _resume_changes(stored, overrides or {})
        if "iterations" in changes and int(changes["iterations"]) < done:
            raise ConfigError(f"run {info.run_id} has already run {done} iterations; it cannot resume with "
                              f"iterations {changes['iterations']} (give {done} or more)",
                              code="resume-iterations-below-done")
        loaded = RunSettings.from_dict(dict(stored.to_dict(), **changes)) if changes else stored
        return cls(loaded, run_dir, info.run_id, events=events, resume=True)

    # -- wiring -----------------------------------------------------------------
    def _task(self) -> Task:
        return load_task(self.settings.task, **self.settings.task_options)

    def _executor(self) -> Any:
        from engine import executors

        root = RunPaths(self.run_dir).trials
        if self.settings.executor == "ray":
            if self.settings.confine != "none":
                raise ConfigError("--confine applies to the local executor only", code="bad-confinement")
            return executors.RayExecutor(workers=self.settings.workers, root=root)
        return executors.LocalExecutor(workers=self.settings.workers, root=root,
                                       confine=self.settings.confine)

    @contextlib.contextmanager
    def _provider(self, ledger: Any) -> Iterator[Any]:
        from engine.llm import make_provider

        s = self.settings
        catalog: Callable[[], Iterable[CatalogEntry]] | None = None
        if "2" in s.levels or s.provider == "heuristic":
            import mechanism_library

            catalog = mechanism_library.catalog
        record = Path(s.record) if s.record else None
        if record is not None and self.resume:
            record = record.with_name(f"{record.stem}.resumed-{len(list(record.parent.glob(record.stem + '*')))}{record.suffix}")
        # The request timeout is for real models; the heuristic and replay providers make no requests.
        timing: dict[str, Any] = {"timeout_s": s.request_timeout_s} if s.request_timeout_s else {}
        if s.level_models and not s.replay:
            with self._level_router(ledger, record, timing) as provider:
                yield provider
            return
        if s.provider == "local":
            from engine.llm.local import local_provider

            with local_provider(s.model, run_dir=self.run_dir, model_path=s.model_path, ledger=ledger,
                                record=record, threads=s.server_threads, **timing) as provider:
                yield provider
            return
        yield make_provider(s.provider, model=s.model, base_url=s.base_url, seed=s.seed, record=record,
                            replay=Path(s.replay) if s.replay else None, ledger=ledger, catalog=catalog,
                            **({} if s.provider in ("heuristic", "replay") else timing))

    @contextlib.contextmanager
    def _level_router(self, ledger: Any, record: Path | None, timing: dict[str, Any]) -> Iterator[Any]:
        """One provider per distinct model of ``level_models`` (a local server each), routed by level."""
        from engine.llm import LevelRouter, RecordingProvider, make_provider

        s = self.settings
        base = s.model
        if s.provider == "local" and base is None:
            from engine.llm.local import DEFAULT_MODEL

            base = DEFAULT_MODEL
        # Only the levels this run has: a model no level of it asks is not started (a local server each).
        level_model = {level: s.model_for(level) or base for level in LEVELS if level in s.levels}
        requested = base  # the one --model-path is the weights of
        if base not in level_model.values():
            base = level_model[min(level_model, key=LEVELS.index)]
        with contextlib.ExitStack() as stack:
            by_model: dict[str | None, Any] = {}
            for model in dict.fromkeys([base, *level_model.values()]):
                if s.provider == "local":
                    from engine.llm.local import local_provider

                    default = model == requested
                    by_model[model] = stack.enter_context(local_provider(
                        model, run_dir=self.run_dir, model_path=s.model_path if default else None, ledger=ledger,
                        threads=s.server_threads, log_name=None if default else f"local-model-{model}.log",
                        **timing))
                else:
                    by_model[model] = make_provider(s.provider, model=model, base_url=s.base_url, seed=s.seed,
                                                    ledger=ledger, **timing)
            router = LevelRouter(by_model[base], {level: by_model[model] for level, model in level_model.items()
                                                  if model != base})
            yield RecordingProvider(router, record) if record is not None else router

    # -- the run ----------------------------------------------------------------
    def execute(self) -> RunResult:
        from engine.store import RunLock

        # One engine per run: a second one is refused here, before it reads or writes anything.
        lock = RunLock.acquire(self.run_dir)
        if lock.previous_pid is not None:
            self.events.message(f"took over the run lock of engine pid {lock.previous_pid}, "
                                "which is no longer running")
        try:
            return self._execute_locked()
        finally:
            lock.release()

    def _execute_locked(self) -> RunResult:
        from engine.executors import become_subreaper
        from engine.llm import Budget, Ledger
        from engine.report import write_report
        from engine.store import RunStore

        s = self.settings
        # Orphans of a trial whose supervisor died re-parent here, not to PID 1, where a sweep finds them.
        become_subreaper()
        task = self._task()
        store = RunStore.open(RunPaths(self.run_dir).store)
        budget = Budget(max_tokens=s.max_tokens, max_usd=s.max_usd)
        ledger = Ledger(budget)
        if self.resume:
            saved = store.get_state(self.run_id, "ledger", None)
            if saved:
                # The spending so far, under the cap the run resumes with (a stopped run gets a higher one).
                ledger = Ledger.from_dict(saved, budget=budget)
            store.set_settings(self.run_id, s.to_dict())
        self.ledger = ledger
        status = "failed"
        if not self.resume:
            # Before the provider starts, so that a provider that cannot start (a model not installed,
            # a server that does not come up) leaves a failed run that says why and can be resumed.
            store.create_run(self.run_id, task=s.task, settings=s.to_dict(), provider=s.provider,
                             model=s.model or "")
        self._mirrors = self._make_mirrors(task, store)
        try:
            self._clock = RunClock(store, self.run_id, resumed=self.resume)
            if self.resume:
                self.events.run_resumed(RunHistory.read(store, self.run_id))
            write_run_config(self.run_dir, s)
            with contextlib.ExitStack() as stack:
                provider = stack.enter_context(self._provider(ledger))
                store.set_provider(self.run_id, provider.name, provider.model)
                # Before anything trains: a provider that cannot answer (no server at the URL, a refused key,
                # an unknown model) fails the run here, with what to fix, and the run resumes once it is fixed.
                preflight = getattr(provider, "preflight", None)
                if callable(preflight):
                    self.events.level_started("setup", "checking the model provider")
                    preflight()
                if self.resume:
                    lost = store.in_flight(self.run_id)
                    if lost:
                        # Cleared, the lost indices are free again: the next proposals take them, so
                        # indices stay contiguous (see InnerLoop.next_index).
                        self.events.message(f"re-running {len(lost)} trial(s) that were in flight: {lost}")
                    store.clear_in_flight(self.run_id)
                    store.set_status(self.run_id, "running")
                self.events.message(f"provider: {provider.describe()}")
                executor = self._executor()
                stack.callback(executor.close)
                # Runs before close: on any way out but the normal one (Ctrl-C, an error), trials in
                # flight are stopped now instead of being waited for.
                stack.push(_stop_trials_on_error(executor))
                status = self._loop(task, store, provider, executor)
        except KeyboardInterrupt:
            status = "interrupted"
            self._mark(store, status, "stopped by Ctrl-C or SIGTERM")
            raise
        except AutoresearchError as exc:
            if exc.code != "budget-exceeded":
                self._mark(store, "failed", str(exc)[:2000], exc)
                raise
            # The budget is a stop the user asked for, not a failure: the run is whole and resumes with a
            # higher cap.
            status = "stopped"
            self._mark(store, status, f"{exc.message} Resume with a higher --max-tokens or --max-usd.")
            self.stop_reason = exc.message
        except BaseException as exc:
            self._mark(store, "failed", str(exc)[:2000], exc)
            raise
        finally:
            result = self._result(store, task, status, write_report)
        return result

    def _mark(self, store: Any, status: str, note: str, cause: BaseException | None = None) -> None:
        """Record how the run ended, never raising: this runs while another error is on its way out.

        A store that is corrupt or empty is left exactly as it was found.
        """
        if isinstance(cause, StoreError) and cause.code in UNTOUCHABLE_STORE_CODES:
            return
        try:
            store.set_status(self.run_id, status, note=note)
        except Exception as exc:  # noqa: BLE001 - disk full, read-only: the first error is the one to report
            self.events.message(f"could not record the run as {status}: {exc}")
        if self._clock is not None:
            with contextlib.suppress(Exception):  # only the elapsed time a later resume shows depends on it
                self._clock.save()

    def _result(self, store: Any, task: Task, status: str, write_report: Any) -> RunResult:
        report = baseline = best = None
        trials = 0
        self._sync_mirrors(store)  # first: the report reads the Optuna copy
        with contextlib.suppress(Exception):  # a report is a convenience; the store holds the run
            report = write_report(store, self.run_id, self.run_dir)
        self._finish_mirrors(status)
        with contextlib.suppress(Exception):
            trace = store.trace(self.run_id, minimize=task.minimize)
            first, best, trials = trace.baseline(), trace.best_metric(), len(trace)
            baseline = first.metric if first else None
        with contextlib.suppress(Exception):
            store.close()
        return RunResult(self.run_id, self.run_dir, status, baseline, best, trials, report)

    def _make_mirrors(self, task: Task, store: Any) -> list[Any]:
        """The copies of the trials kept beside the store: an Optuna study always, MLflow when asked."""
        from engine.export import MlflowMirror, OptunaMirror, StoredTrialDetails

        def reported(trial: Trial) -> Mapping[str, float]:
            outcome = store.outcome(self.run_id, trial.index)  # None for a proposal that never ran
            return outcome.metrics if outcome is not None else {}

        mirrors: list[Any] = [OptunaMirror(self.run_dir, self.run_id, space=task.space(), minimize=task.minimize,
                                           metric=task.metric, task=self.settings.task,
                                           throughput_metric=getattr(task, "throughput_metric", None),
                                           steps_metric=getattr(task, "steps_metric", None), reported=reported)]
        if self.settings.mlflow_uri:
            details = StoredTrialDetails(store, self.run_id, RunPaths(self.run_dir).trials)
            mirrors.append(MlflowMirror(self.settings.mlflow_uri, self.run_id, metric=task.metric,
                                        minimize=task.minimize, task=self.settings.task, details=details,
                                        run_dir=self.run_dir))
        return mirrors

    def _sync_mirrors(self, store: Any) -> None:
        """Bring each copy up to date with the store; a failure is said, with the code
        ``<target>-sync-failed``, when the copy starts failing or fails with another kind of error (the
        store is whole and the next sync retries, so the same error at each sync is said once)."""
        try:
            trials = store.trials(self.run_id)
        except Exception as exc:  # noqa: BLE001 - the run is ending on a store error already; the copies wait for resume
            self.events.message(f"the copies of the trials were not brought up to date: {exc}")
            return
        for mirror in self._mirrors:
            synced = mirror.sync(trials)
            said = self._mirror_errors.get(mirror.target)
            if synced.error and synced.error_type != said:
                self.events.message(f"[{mirror.target}-sync-failed] the {mirror.target} copy of the trials has "
                                    f"{synced.total} of {len(trials)} ({synced.error}); the store has them all, "
                                    "the next sync retries")
            self._mirror_errors[mirror.target] = synced.error_type

    def _finish_mirrors(self, status: str) -> None:
        """Give each copy what the run wrote at its end, then close it; a failure is said with the code
        ``<target>-finish-failed`` (the run directory holds it all; a resume finishes the copy again)."""
        for mirror in self._mirrors:
            error = mirror.finish(status)
            if error:
                self.events.message(f"[{mirror.target}-finish-failed] the {mirror.target} copy did not get the "
                                    f"run's report, plot and best script ({error}); the run directory has them")
            with contextlib.suppress(Exception):  # releasing a connection pool; nothing is lost
                mirror.close()

    def _record_exchange(self, store: Any) -> Any:
        def record(exchange: Any) -> None:
            data = exchange.to_dict() if hasattr(exchange, "to_dict") else dict(exchange)
            store.add_llm_call(self.run_id, data)
            store.set_state(self.run_id, "ledger", self.ledger.to_dict())

        return record

    def _loop(self, task: Task, store: Any, provider: Any, executor: Any) -> str:
        s = self.settings
        clock = self._clock
        assert clock is not None, "the run's clock starts before its loop"
        record = self._record_exchange(store)
        snapshots = store.config_snapshots(self.run_id)
        config = snapshots[-1][2] if snapshots else initial_search_config(task, s)
        if not snapshots:
            store.add_config_snapshot(self.run_id, 0, 0, config, "initial: every unlocked parameter active, "
                                      f"proposer {config.proposer}")
        noise = self._noise_floor(task, store, executor)
        if s.acceptance is None:
            # The default follows the noise: with a known floor a gain inside it is not progress. The rule
            # chosen is stored, so a resume decides as this run did.
            s = self.settings = dataclasses.replace(s, acceptance="noise-aware" if noise else "keep-if-better")
            store.set_settings(self.run_id, s.to_dict())
        acceptance = BuiltinAcceptance(s.acceptance or "keep-if-better", noise)
        research = None
        host = None
        if "2" in s.levels:
            from .levels.research import Research

            research = Research.for_run(self, store=store, provider=provider, task=task, record=record)
            host = research.host
        if research is None and s.mechanisms:
            from sandbox import MechanismHost

            host = MechanismHost()
            registry = HookRegistry(host, on_event=lambda name, kind, trial, data: store.add_mechanism_event(
                self.run_id, name, kind, trial, dict(data)))
        else:
            registry = research.registry if research is not None else HookRegistry(None)
        inner = InnerLoop(task=task, executor=executor, provider=provider, store=store, run_id=self.run_id,
                          registry=registry, acceptance=acceptance, search_config=config,
                          max_rejections=s.max_rejections, events=self.events, record_exchange=record,
                          seed=s.seed, remeasure_slow=s.remeasure_slow)
        inner.noise_floor = noise
        check = inner.throughput
        store.set_state(self.run_id, "objective", {
            "metric": task.metric, "minimize": task.minimize,
            "throughput_metric": check.metric if check is not None else None,
            "fixed_work": check.fixed_work if check is not None else None,
            "steps_metric": getattr(task, "steps_metric", None) or None})
        inner.grid_points = s.grid_points
        outer = OuterLoop(provider=provider, space=inner.space, metric=task.metric, task_name=task.name,
                          every=s.outer_every, record_exchange=record, events=self.events) if "1.5" in s.levels else None
        try:
            if s.mechanisms:
                self._activate_library(s.mechanisms, host, registry, store)
            if research is not None:
                research.restore(inner)
            inner.ensure_baseline()
            self._sync_mirrors(store)
            iteration = int(store.get_state(self.run_id, "iteration", 0))
            # ``outer_cycle`` counts cycles *completed*: it is saved after a cycle's Level 1.5 and Level 2
            # work, so a run killed inside a cycle runs that cycle again on resume (each part skips what it
            # had already stored: a snapshot, an evaluation, a finished session).
            done = int(store.get_state(self.run_id, "outer_cycle", 0))
            while True:
                began = time.monotonic()
                if iteration and iteration % s.outer_every == 0 and iteration < s.iterations:
                    cycle = iteration // s.outer_every
                    if done < cycle:
                        self._cycle(cycle, store, inner, outer, research)
                        done = cycle
                        store.set_state(self.run_id, "outer_cycle", cycle)
                if iteration >= s.iterations:
                    break
                self.events.iteration_started(iteration + 1, s.iterations)
                following = iteration + 1
                # A proposal asked ahead is made under this search config: not across a Level 1.5 / 2 cycle.
                cycle_next = (outer is not None or research is not None) and following % s.outer_every == 0
                inner.iterate(ahead=s.overlap and following < s.iterations and not cycle_next)
                registry.flush_calls()
                iteration += 1
                with store.transaction():
                    store.set_state(self.run_id, "iteration", iteration)
                    clock.iteration_done(time.monotonic() - began)
                self._sync_mirrors(store)
            if research is not None:
                research.finish(inner)
            self._save_best(task, inner)
            clock.save()
            store.set_status(self.run_id, "finished")
            return "finished"
        finally:
            if host is not None:
                host.close()

    def _activate_library(self, names: tuple[str, ...], host: Any, registry: HookRegistry, store: Any) -> None:
        """Admit, load and activate the library mechanisms the settings name, from the baseline on.

        Each is admitted again by the sandbox (the library's manifest is not trusted for it) and recorded
        as a ``library`` event, or ``restore`` on resume (its state starts over, as a Level 2 mechanism's
        does). One that cannot be admitted or loaded stops the run with what went wrong: the user asked
        for it, and a run without it would answer a different question.
        """
        import mechanism_library
        from sandbox import admit

        for name in names:
            entry = mechanism_library.get(name)
            admission = admit(entry.source, entry.hook)
            if not admission.admitted:
                raise ConfigError(f"library mechanism {name} is not admitted by the sandbox: "
                                  f"{admission.feedback()[:600]}", code="mechanism-not-admitted")
            loaded = host.load(admission, self.settings.seed)
            if not loaded.ok:
                raise ConfigError(f"library mechanism {name} did not load: {loaded.code}: {loaded.message}",
                                  code="mechanism-not-loaded")
            registry.activate(name, entry.hook, loaded.handle, 0)
            store.add_mechanism_event(self.run_id, name, "restore" if self.resume else "library", 0,
                                      {"hook": entry.hook, "digest": admission.digest, "library": True})
            self.events.message(f"library mechanism {name} active in the {entry.hook} hook from the start "
                                "(chosen in the settings, not written by Level 2)")

    def _cycle(self, cycle: int, store: Any, inner: InnerLoop, outer: Any, research: Any) -> None:
        """Level 1.5 then Level 2 after cycle ``cycle``'s iterations; a part already stored is not redone."""
        if outer is not None:
            stored = {snapshot.cycle: snapshot for snapshot in store.config_snapshots(self.run_id)}
            if cycle in stored:
                inner.search_config = stored[cycle].config
            else:
                self.events.level_started("1.5", f"cycle {cycle}")
                trace = inner.trace()
                update = outer.update(trace, inner.search_config)
                inner.search_config = update.config
                note = update.reason + ("" if not update.notes else " | " + "; ".join(update.notes))
                store.add_config_snapshot(self.run_id, cycle, len(trace), update.config, note)
                self.events.message(f"Level 1.5 cycle {cycle}: {note[:160]}")
        if research is not None:
            research.after_cycle(cycle, inner)

    def _noise_floor(self, task: Task, store: Any, executor: Any) -> float | None:
        """The task's noise floor, measured first when ``noise_repeats`` asks for it.

        The repeats run the baseline configuration through the same executor;
        they are stored as run state, not as trials, so they never count as
        search iterations. A resumed run reuses the stored measurement.
        """
        repeats = int(self.settings.task_options.get("noise_repeats") or 0)
        if repeats < 2:
            return task.noise_floor()
        saved = store.get_state(self.run_id, "noise", None)
        if saved is not None:
            return saved["std"]
        import statistics

        config = task.space().defaults()
        values = []
        for repeat in range(repeats):
            self.events.message(f"measuring noise: baseline repeat {repeat + 1} of {repeats}")
            outcome = executor.submit(task.build_trial(-(repeat + 1), config)).result()
            if not outcome.ok:
                raise ConfigError(f"a noise repeat of the baseline failed: {outcome.status.value}: {outcome.reason}",
                                  code="noise-measurement-failed")
            values.append(outcome.metric)
        std = statistics.stdev(values)
        store.set_state(self.run_id, "noise", {"std": std, "values": values})
        self.events.message(f"noise floor: std {std:.6g} over {repeats} baseline repeats")
        return std

    def _save_best(self, task: Task, inner: InnerLoop) -> None:
        incumbent = inner.trace().incumbent()
        if incumbent is None:
            return
        request = task.build_trial(incumbent.index, incumbent.config)
        for name, text in request.files.items():
            if name.endswith(".py"):
                (self.run_dir / f"best_{Path(name).name}").write_text(text)


def _stop_trials_on_error(executor: Any) -> Any:
    """An exit callback that stops the executor's trials in flight when the block ends by an exception."""
    def exit_callback(kind: type[BaseException] | None, *_rest: object) -> bool:
        if kind is not None and hasattr(executor, "stop"):
            executor.stop()
        return False  # the exception goes on

    return exit_callback

