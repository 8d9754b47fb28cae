"""The weekly flow (what the schedule runs): collect -> digest -> send. Wiring only."""
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


# Retries cover passing trouble (the warehouse busy with another run, a full disk freed). Sending
# again is safe: deliveries already accepted are journaled and never repeated.
@task(name="digest", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=30)
def digest_task(settings: Settings) -> jobs.DigestReport:
    return jobs.build_digest(settings)


@task(name="send", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=60)
def send_task(settings: Settings, label: str) -> jobs.SendReport:
    return jobs.send_digest(settings, label=label)


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
        return WeeklyReport(collected, digest, send_task(settings, digest.label))
