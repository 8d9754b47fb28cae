"""The scheduled flows, wiring only: weekly (collect -> digest -> send) and daily (collect -> the
short alert of new calls open to Japan, to those who asked for it)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.context import SyncClientContext

from spacedigest.flows import jobs
from spacedigest.flows.collect import CollectReport, collect_flow
from spacedigest.flows.settings import Settings, load_settings


@dataclass
class WeeklyReport:
    collect: CollectReport
    digest: jobs.DigestReport | None
    send: jobs.SendReport | None
    skipped_reason: str | None = None
    review: jobs.ReviewReport | None = None


def _worth_retrying(task, task_run, state) -> bool:
    """Missing legal settings, or a digest staff hold, do not change in a minute: no retry."""
    try:
        state.result()
    except (jobs.MissingSettingsError, jobs.HeldError):
        return False
    except Exception:
        return True
    return True


# Retries cover passing trouble (the warehouse busy with another run, a full disk freed). Sending
# again is safe: every message is claimed in the delivery ledger and never sent twice.
@task(name="digest", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=30)
def digest_task(settings: Settings) -> jobs.DigestReport:
    return jobs.build_digest(settings)


@task(name="send", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=60, retry_condition_fn=_worth_retrying)
def send_task(settings: Settings, label: str, kind: str = "weekly") -> jobs.SendReport:
    return jobs.send_digest(settings, label=label, kind=kind)


@task(name="alert", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=30)
def alert_task(settings: Settings) -> jobs.DigestReport:
    return jobs.build_alert(settings)


@flow(name="weekly", log_prints=False)
async def weekly_flow() -> WeeklyReport:
    """A missed run is caught up once (the digest window starts at the previous cutoff); a second
    run in the same week collects but neither builds nor sends another digest.

    Async, like the collect flow, so that Prefect does not wait for the heartbeat thread's next
    tick when the run ends; the steps are sync tasks sharing one Prefect client."""
    collected = await collect_flow()
    settings = load_settings()
    already = jobs.digest_of_this_week(settings, datetime.now(timezone.utc))
    if already:
        return WeeklyReport(collected, None, None, f"this week's digest {already} was already built")
    with SyncClientContext.get_or_create():
        digest = digest_task(settings)
        if settings.review_hours:  # staff look first; `release` sends it when its time has come
            return WeeklyReport(collected, digest, None, review=review_task(settings, digest.label))
        return WeeklyReport(collected, digest, send_task(settings, digest.label))


@task(name="review", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=30)
def review_task(settings: Settings, label: str) -> jobs.ReviewReport:
    return jobs.start_review(settings, label)


@flow(name="release", log_prints=False)
def release_flow() -> list[jobs.SendReport]:
    """Every hour: send the reviewed digests whose time has come, unless staff hold them."""
    return jobs.release_due(load_settings())


@dataclass
class DailyReport:
    collect: CollectReport
    alert: jobs.DigestReport
    send: jobs.SendReport


@flow(name="daily", log_prints=False)
async def daily_flow(due_only: bool = True) -> DailyReport:
    """The daily collect, then the short alert of new calls a Japanese company may apply to, sent to
    the subscribers who asked for it (and only when they have one). Async like the weekly flow."""
    collected = await collect_flow(due_only=due_only)
    settings = load_settings()
    with SyncClientContext.get_or_create():
        alert = alert_task(settings)
        return DailyReport(collected, alert, send_task(settings, alert.label, kind="alert"))
