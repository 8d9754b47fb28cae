"""Which Prefect task runner a flow run uses: threads, or Dask through prefect-dask.

The choice is a setting (`SPACEDIGEST_TASK_RUNNER`), read when a run starts: Prefect asks a flow's
task runner for a fresh copy (`duplicate()`) at the start of every run, and that is where it is
read, so importing a flow reads no setting and a deployment's runs follow the worker's environment.
"""
from __future__ import annotations

from prefect.task_runners import ThreadPoolTaskRunner

from spacedigest.flows.settings import Settings, load_settings


def task_runner_for(settings: Settings):
    """The task runner of the collect flow: Prefect's thread pool, or Dask through prefect-dask."""
    if settings.task_runner == "dask":
        try:
            from prefect_dask import DaskTaskRunner
        except ImportError:
            raise SystemExit("spacedigest: SPACEDIGEST_TASK_RUNNER=dask needs the dask extra "
                             "(pip install 'spacedigest[dask]')") from None
        if settings.dask_address:
            return DaskTaskRunner(address=settings.dask_address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": 1, "processes": False,
                                              "threads_per_worker": settings.max_workers})
    if settings.task_runner != "threads":
        raise SystemExit(f"spacedigest: SPACEDIGEST_TASK_RUNNER={settings.task_runner!r} is not threads or dask")
    return ThreadPoolTaskRunner(max_workers=settings.max_workers)


class ChosenWhenRunStarts(ThreadPoolTaskRunner):
    """A placeholder runner whose copy for a run is the one the settings choose at that moment."""

    def duplicate(self):
        return task_runner_for(load_settings())
