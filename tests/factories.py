"""Records for tests of the digest stages."""
from __future__ import annotations

from datetime import datetime, timezone

from spacedigest.reports.digest import DigestItem

UTC = timezone.utc


def make_item(id: str, **overrides) -> DigestItem:
    """A digest item first seen on Tuesday 19 Nov 2024 (ISO week 2024-W47); override any field."""
    fields = dict(
        id=id,
        title=f"Announcement {id}",
        url=f"https://www.esa.int/{id}",
        summary="A summary of the announcement.",
        organisation="ESA",
        source_ids=["esa-topnews"],
        published_at=datetime(2024, 11, 19, 9, tzinfo=UTC),
        first_seen_at=datetime(2024, 11, 19, 10, tzinfo=UTC),
        category="other",
        deadline=None,
        deadline_kind="none",
        status="unknown",
        japan_relevant=False,
        japan_reason=None,
    )
    fields.update(overrides)
    return DigestItem(**fields)
