"""`spacedigest serve`: register the scheduled deployments with a Prefect server and run them.

Needs a real server (`prefect server start`, PREFECT_API_URL set): a temporary one cannot schedule.
"""
from __future__ import annotations

import os

from prefect import serve as prefect_serve
from prefect.schedules import Cron

from spacedigest.flows.weekly import daily_flow, release_flow, weekly_flow

TIMEZONE = "Asia/Tokyo"
WEEKLY_DEPLOYMENT = "weekly-digest"
COLLECT_DEPLOYMENT = "daily-collect"
RELEASE_DEPLOYMENT = "release-reviewed"
RELEASE_CRON = "5 * * * *"  # hourly: reviewed digests go out within the hour after their time


def deployments(weekly_cron: str, collect_cron: str):
    # One weekly run at a time; a late run (machine was off) is caught up once, since the
    # digest window starts at the previous cutoff and a second run in a week sends nothing.
    weekly = weekly_flow.to_deployment(
        name=WEEKLY_DEPLOYMENT, schedules=[Cron(weekly_cron, timezone=TIMEZONE)], concurrency_limit=1,
        description="Collect, build the weekly digest (Japanese first) and mail it to subscribers.",
        tags=["spacedigest"],
    )
    collect = daily_flow.to_deployment(
        name=COLLECT_DEPLOYMENT, schedules=[Cron(collect_cron, timezone=TIMEZONE)], concurrency_limit=1,
        parameters={"due_only": True},
        description="Fetch the sources that are due (failing ones back off), load the warehouse, and mail the "
                    "daily alert of new calls open to Japan to those who asked for it.",
        tags=["spacedigest"],
    )
    release = release_flow.to_deployment(
        name=RELEASE_DEPLOYMENT, schedules=[Cron(RELEASE_CRON, timezone=TIMEZONE)], concurrency_limit=1,
        description="With SPACEDIGEST_REVIEW_HOURS: send reviewed digests whose time has come, unless held.",
        tags=["spacedigest"],
    )
    return weekly, collect, release


def serve(*, weekly_cron: str, collect_cron: str, once: bool = False) -> None:
    if not os.environ.get("PREFECT_API_URL"):
        raise RuntimeError(
            "serve needs a running Prefect server: start one with `prefect server start` and set "
            "PREFECT_API_URL=http://127.0.0.1:4200/api (a temporary server cannot run schedules)"
        )
    weekly, collect, release = deployments(weekly_cron, collect_cron)
    if once:
        for deployment in (weekly, collect, release):
            deployment.apply()
        print(f"serve: registered {weekly_flow.name}/{WEEKLY_DEPLOYMENT} ({weekly_cron}, {TIMEZONE}), "
              f"{daily_flow.name}/{COLLECT_DEPLOYMENT} ({collect_cron}, {TIMEZONE}) and "
              f"{release_flow.name}/{RELEASE_DEPLOYMENT} ({RELEASE_CRON})")
        return
    print(f"serve: running {WEEKLY_DEPLOYMENT} ({weekly_cron}) and {COLLECT_DEPLOYMENT} ({collect_cron}), "
          f"{TIMEZONE}; Ctrl-C to stop")
    prefect_serve(weekly, collect, release, print_starting_message=False)
