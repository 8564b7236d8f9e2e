"""The Ray Tune engine of a sweep: one trial per sweep point, on this machine (`ray.init()`) or on an existing
cluster (`address`), with per-trial CPU/GPU resources and optional ASHA early stopping.

Trials send each epoch's metrics through `tune.report`; a Tune callback in this (driver) process writes
them into the run store, so a cluster's workers need no access to the store's file. They need the
workbench installed and the datasets/teachers they train on. Ray runs record epoch metrics only (no
per-step rows). A run stopped early by ASHA ends `done` with the final metric `early_stopped` = 1 and a
message; a run whose cancel flag is set in the store (from the app) is stopped and ends `cancelled`.
Ray is an optional extra: `pip install 'kd-workbench[ray]'`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from ..config import RunConfig
from ..engine.events import RunInfo
from ..engine.loop import final_metrics
from ..errors import WorkbenchError
from ..paths import default_data_dir
from ..store import FINISHED, RunStore

if TYPE_CHECKING:
    from .run import RunEnded
    from .spec import SweepPoint

METRIC_PREFIX = "m/"
INFO_KEYS = ("student_params", "student_macs", "student_size_kb")


def import_ray() -> Any:
    """The `ray` module with Tune, or a WorkbenchError saying how to install it."""
    try:
        import ray
        import ray.tune  # noqa: F401
    except ImportError:
        raise WorkbenchError(
            "engine: ray is not installed; install it with: pip install 'kd-workbench[ray]' "
            "(or pip install 'ray[tune]'), or use --engine local"
        ) from None
    return ray


def ray_trial(params: dict[str, Any]) -> None:
    """A Tune trial (runs in a Ray worker): train one sweep point, reporting every epoch's metrics."""
    from ray import tune

    from ..engine import Callback, EpochEvent, fit
    from ..teachers import resolve_for, train_and_cache

    class Report(Callback):
        """Sends each epoch's metrics (and the student's size facts) to Tune."""

        def __init__(self) -> None:
            self.info: dict[str, float] = {}

        def on_start(self, info: RunInfo) -> None:
            self.info = {
                "student_params": float(info.student_params),
                "student_macs": float(info.student_macs),
                "student_size_kb": float(info.student_size_kb),
            }

        def on_epoch(self, event: EpochEvent) -> None:
            tune.report(
                {
                    "epoch": event.epoch,
                    "step": event.step,
                    "test_acc": event.metrics["test_acc"],
                    **self.info,
                    **{METRIC_PREFIX + name: value for name, value in event.metrics.items()},
                }
            )

    try:
        config = RunConfig.from_dict(params["trial"]["config"])
        # the driver trained missing teachers (`runner.prepare_teachers`); a worker without them trains its own
        result = fit(config, [Report()], **resolve_for(config, train=train_and_cache))
    except WorkbenchError as error:
        tune.report({"run_status": "failed", "run_message": str(error)})
        return
    if result.status != "done":
        tune.report({"epoch": len(result.history), "run_status": result.status, "run_message": result.message})


class StoreRecording:
    """Driver-side: writes trial starts, epoch results and endings into the run store, and stops trials
    whose run has its cancel flag set (`should_stop`, Tune's stopper)."""

    def __init__(self, store: RunStore, configs: dict[str, RunConfig], on_run_end: "RunEnded | None") -> None:
        self.store, self.configs, self.on_run_end = store, configs, on_run_end
        self.run_of: dict[str, str] = {}  # Tune trial id -> run id
        self.history: dict[str, list[dict[str, float]]] = {run_id: [] for run_id in configs}
        self.info: dict[str, dict[str, float]] = {}
        self.ended: dict[str, tuple[str, str]] = {}  # run id -> (status, message) reported by the trial
        self.finished = 0

    def started(self, trial: Any) -> None:
        """A trial began: mark its run running."""
        run_id = trial.config["trial"]["run_id"]
        self.run_of[trial.trial_id] = run_id
        self.store.mark_running(run_id)

    def result(self, trial: Any, result: dict[str, Any]) -> None:
        """A trial reported: write an epoch's metrics, or remember the status it ended with."""
        run_id = self.run_of.get(trial.trial_id) or trial.config["trial"]["run_id"]
        if "run_status" in result:
            self.ended[run_id] = (str(result["run_status"]), str(result.get("run_message", "")))
            return
        metrics = {
            key[len(METRIC_PREFIX) :]: float(value)
            for key, value in result.items()
            if key.startswith(METRIC_PREFIX) and isinstance(value, (int, float))
        }
        if not metrics:
            return
        self.info[run_id] = {key: float(result[key]) for key in INFO_KEYS if key in result}
        self.history[run_id].append(metrics)
        step, epoch = int(result.get("step", 0)), int(result["epoch"])
        self.store.log_metrics(run_id, [(step, epoch, "epoch", name, value) for name, value in metrics.items()])

    def completed(self, trial: Any, error: str | None = None) -> None:
        """A trial ended (finished, stopped by the scheduler or a cancel, or raised): record how."""
        run_id = self.run_of.get(trial.trial_id) or trial.config["trial"]["run_id"]
        history, config = self.history[run_id], self.configs[run_id]
        info = self.info.get(run_id, {})
        final = final_metrics(
            history,
            RunInfo(
                config.to_dict(),
                "",
                "",
                0,
                0,
                0,
                int(info.get("student_params", 0)),
                int(info.get("student_macs", 0)),
                info.get("student_size_kb", 0.0),
                [],
            ),
        )
        if error is not None:
            status, message = "failed", error
        elif run_id in self.ended:
            status, message = self.ended[run_id]
        elif self.store.cancel_requested(run_id):
            status, message = "cancelled", f"cancelled after epoch {len(history)}"
        elif len(history) < config.epochs:
            status, message = "done", f"stopped early by ASHA after epoch {len(history)} of {config.epochs}"
            final["early_stopped"] = 1.0
        else:
            status, message = "done", ""
        self.store.finish(run_id, status, final_metrics=final, message=message)
        self.finished += 1
        if self.on_run_end is not None:
            self.on_run_end(self.store.get_run(run_id), self.finished, len(self.configs))

    def should_stop(self, trial_id: str, result: dict[str, Any]) -> bool:
        """Tune's stopper: stop a trial whose run was asked to cancel."""
        run_id = self.run_of.get(trial_id)
        return bool(run_id) and self.store.cancel_requested(run_id)


def _tune_callback(recording: StoreRecording) -> Any:
    from ray.tune import Callback

    class ToStore(Callback):
        """Forwards Tune's trial events to a StoreRecording."""

        def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            recording.started(trial)

        def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
            recording.result(trial, result)

        def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            recording.completed(trial)

        def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            error = getattr(trial, "error_msg", None) or "the trial raised an error (see the Ray logs)"
            recording.completed(trial, error=f"ray trial failed: {str(error).strip().splitlines()[-1]}")

    return ToStore()


def start_ray(ray: Any, address: str | None, num_cpus: int | None) -> None:
    """Start Ray on this machine (`num_cpus`, default all cores) or connect to the cluster at `address`;
    WorkbenchError with Ray's first line when that fails."""
    env = {"env_vars": {"KDW_DATA_DIR": str(default_data_dir().resolve())}}
    try:
        if address:
            ray.init(address=address, log_to_driver=False, runtime_env=env)
        else:
            ray.init(num_cpus=num_cpus or os.cpu_count(), include_dashboard=False, log_to_driver=False, runtime_env=env)
    except Exception as error:  # Ray raises plain Exceptions, ConnectionErrors and RuntimeErrors here
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        raise WorkbenchError(f"engine: could not start or reach {where}: {first}") from None


def run_ray(
    points: Sequence["SweepPoint"],
    store: RunStore,
    sweep_id: str,
    *,
    max_concurrent: int | None = None,
    owner: str = "",
    on_run_end: "RunEnded | None" = None,
    address: str | None = None,
    num_cpus: int | None = None,
    cpus_per_trial: float = 1.0,
    gpus_per_trial: float = 0.0,
    asha: bool = False,
    grace_period: int = 1,
    reduction_factor: float = 2.0,
) -> list[str]:
    """Run the sweep's points as Ray Tune trials and return their run ids (in point order).

    Ray is started here unless already initialised (then it is left running): on this machine with
    `num_cpus` (default: all cores) or, with `address`, connected to that cluster."""
    if cpus_per_trial <= 0 or gpus_per_trial < 0:
        raise WorkbenchError("cpus_per_trial must be > 0 and gpus_per_trial >= 0")
    if grace_period < 1 or reduction_factor <= 1:
        raise WorkbenchError("asha: grace_period must be at least 1 and reduction_factor greater than 1")
    ray = import_ray()
    from ..runner import prepare_teachers

    prepare_teachers([point.config for point in points], store, owner=owner)  # recorded here, once each
    started_here = not ray.is_initialized()
    if started_here:
        start_ray(ray, address, num_cpus)
    try:
        return _tune(
            points,
            store,
            sweep_id,
            owner,
            on_run_end,
            max_concurrent,
            cpus_per_trial,
            gpus_per_trial,
            asha,
            grace_period,
            reduction_factor,
        )
    finally:
        if started_here:
            ray.shutdown()


def _tune(
    points: Sequence["SweepPoint"],
    store: RunStore,
    sweep_id: str,
    owner: str,
    on_run_end: "RunEnded | None",
    max_concurrent: int | None,
    cpus_per_trial: float,
    gpus_per_trial: float,
    asha: bool,
    grace_period: int,
    reduction_factor: float,
) -> list[str]:
    """Record the runs, then fit one Tune trial per run; runs left unfinished end cancelled."""
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    threads = max(1, int(cpus_per_trial))
    configs = {}
    for point in points:
        # one thread is the sweep's default: a trial given more CPUs trains with that many threads
        config = point.config.replace(threads=threads) if point.config.threads == 1 else point.config
        run_id = store.create_run(config.to_dict(), name=config.name, group_id=sweep_id, owner=owner)
        configs[run_id] = config
    recording = StoreRecording(store, configs, on_run_end)
    scheduler = None
    if asha:
        scheduler = ASHAScheduler(
            time_attr="epoch",
            metric="test_acc",
            mode="max",
            grace_period=grace_period,
            reduction_factor=reduction_factor,
            max_t=max(config.epochs for config in configs.values()),
        )
    trials = [{"run_id": run_id, "config": config.to_dict()} for run_id, config in configs.items()]
    tuner = tune.Tuner(
        tune.with_resources(ray_trial, {"cpu": cpus_per_trial, "gpu": gpus_per_trial}),
        param_space={"trial": tune.grid_search(trials)},
        # reused actors keep torch imported and the data loaded from one trial to the next
        tune_config=tune.TuneConfig(scheduler=scheduler, max_concurrent_trials=max_concurrent, reuse_actors=True),
        run_config=tune.RunConfig(
            name=sweep_id,
            storage_path=str(Path(store.root).resolve() / "ray_results"),
            verbose=0,
            stop=recording.should_stop,
            callbacks=[_tune_callback(recording)],
        ),
    )
    try:
        tuner.fit()
    finally:
        for run_id in configs:
            if store.get_run(run_id).status not in FINISHED:
                store.finish(run_id, "cancelled", message="the sweep stopped before this trial finished")
    return list(configs)
