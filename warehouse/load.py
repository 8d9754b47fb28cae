"""Idempotent, set-based loading of announcements into the warehouse.

A batch is staged as an Arrow table, matched against what the warehouse already holds with one
SQL query (`sql/resolve_identity.sql`), and written with a handful of bulk statements. Loading the
same batch twice adds nothing; an edited entry updates its item and adds a revision.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import pyarrow as pa

from spacedigest.sources.models import Announcement
from spacedigest.sources.normalize import title_key
from spacedigest.warehouse.sql import run_with, statement, transaction

# The same normalized title from two sources within this many days is one announcement.
TITLE_WINDOW_DAYS = 3
# Shorter titles ("News", "Newsletter") are too generic to identify anything.
TITLE_MIN_LEN = 24

_STAGE_SCHEMA = pa.schema([
    ("row_no", pa.int64()),
    ("source_id", pa.string()),
    ("entry_key", pa.string()),
    ("guid", pa.string()),
    ("url", pa.string()),
    ("title", pa.string()),
    ("title_key", pa.string()),
    ("published_at", pa.timestamp("us", tz="UTC")),
])

_ITEM_COLUMNS = [
    ("item_id", pa.string()), ("source_id", pa.string()), ("entry_key", pa.string()),
    ("title", pa.string()), ("url", pa.string()), ("summary", pa.string()),
    ("organisation", pa.string()), ("guid", pa.string()), ("title_key", pa.string()),
    ("published_at", pa.timestamp("us", tz="UTC")), ("published_estimated", pa.bool_()),
    ("seen_at", pa.timestamp("us", tz="UTC")), ("language", pa.string()), ("category", pa.string()),
    ("category_rule", pa.string()), ("deadline", pa.date32()), ("deadline_kind", pa.string()),
    ("opening_date", pa.date32()), ("status", pa.string()), ("japan_relevant", pa.bool_()),
    ("japan_reason", pa.string()), ("content_hash", pa.string()), ("version", pa.string()),
    ("changed_fields", pa.string()), ("event_date", pa.date32()), ("event_end", pa.date32()),
    ("detail_text", pa.string()), ("eligibility", pa.string()), ("eligibility_region", pa.string()),
    ("eligibility_reason", pa.string()), ("amount_max", pa.float64()), ("amount_currency", pa.string()),
    ("themes", pa.list_(pa.string())), ("headline_ja", pa.string()), ("served_by", pa.string()),
]
_ITEM_SCHEMA = pa.schema(_ITEM_COLUMNS)


@dataclass
class LoadStats:
    found: dict[str, int] = field(default_factory=dict)  # per source
    new: dict[str, int] = field(default_factory=dict)  # new items per source
    edited: int = 0
    linked: int = 0  # new source links to items that already existed

    @property
    def total_new(self) -> int:
        return sum(self.new.values())


def version_of(a: Announcement) -> str:
    """What counts as an edit of one source's entry: its content and its dates."""
    parts = [a.content_hash, str(a.deadline), a.deadline_kind, str(a.opening_date), a.category]
    # Added only when set, so items without them keep the version they always had.
    if a.event_date is not None:
        parts += [str(a.event_date), str(a.event_end)]
    if a.eligibility != "unknown" or a.amount_max is not None:
        parts += [a.eligibility, str(a.eligibility_region), str(a.amount_max), str(a.amount_currency)]
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=12).hexdigest()


def new_item_id(a: Announcement) -> str:
    return hashlib.blake2b(f"{a.source_id}\x1f{a.entry_key}".encode(), digest_size=10).hexdigest()


def _changed_fields(old: tuple, a: Announcement) -> str:
    old_title, old_summary, old_url, old_deadline, old_published = old
    changes = []
    if old_title != a.title:
        changes.append("title")
    if (old_summary or "") != (a.summary or ""):
        changes.append("summary")
    if old_url != a.url:
        changes.append("url")
    if old_deadline != a.deadline:
        changes.append("deadline")
    if old_published != a.published_at:
        changes.append("published_at")
    return ",".join(changes) or "metadata"


def _row(a: Announcement, item_id: str, seen_at: datetime, tkey: str, version: str,
         changed: str | None = None) -> dict:
    return {
        "item_id": item_id, "source_id": a.source_id, "entry_key": a.entry_key, "title": a.title,
        "url": a.url, "summary": a.summary, "organisation": a.organisation, "guid": a.guid,
        "title_key": tkey, "published_at": a.published_at,
        "published_estimated": a.published_estimated, "seen_at": seen_at, "language": a.language,
        "category": a.category, "category_rule": a.category_rule, "deadline": a.deadline,
        "deadline_kind": a.deadline_kind, "opening_date": a.opening_date, "status": a.status,
        "japan_relevant": a.japan_relevant, "japan_reason": a.japan_reason,
        "content_hash": a.content_hash, "version": version, "changed_fields": changed,
        "event_date": a.event_date, "event_end": a.event_end, "detail_text": a.detail_text,
        "eligibility": a.eligibility, "eligibility_region": a.eligibility_region,
        "eligibility_reason": a.eligibility_reason, "amount_max": a.amount_max, "amount_currency": a.amount_currency,
        "themes": list(a.themes), "headline_ja": a.headline_ja, "served_by": a.served_by,
    }


def load_announcements(con: duckdb.DuckDBPyConnection, batch: list[Announcement], *, seen_at: datetime) -> LoadStats:
    """Upsert a batch in one transaction. Safe to repeat; safe to interrupt (all or nothing)."""
    stats = LoadStats()
    # One entry per (source, entry_key): the last one wins, as a feed lists each entry once.
    unique: dict[tuple[str, str], Announcement] = {}
    for a in batch:
        unique[(a.source_id, a.entry_key)] = a
        stats.found[a.source_id] = stats.found.get(a.source_id, 0) + 1
        stats.new.setdefault(a.source_id, 0)
    anns = list(unique.values())
    if not anns:
        return stats
    tkeys = [title_key(a.title) for a in anns]
    versions = [version_of(a) for a in anns]

    stage = pa.Table.from_pylist(
        [
            {"row_no": n, "source_id": a.source_id, "entry_key": a.entry_key, "guid": a.guid, "url": a.url,
             "title": a.title, "title_key": tkeys[n], "published_at": a.published_at}
            for n, a in enumerate(anns)
        ],
        schema=_STAGE_SCHEMA,
    )
    with transaction(con):
        matches = run_with(con, "resolve_identity",
                           {"title_window_s": TITLE_WINDOW_DAYS * 86400, "title_min_len": TITLE_MIN_LEN},
                           stage=stage)
        new_items, new_links, edits, seen = [], [], [], []
        # Items created earlier in this same batch, by the same identity rules.
        batch_guid: dict[str, tuple[str, str]] = {}  # guid -> (source_id, item_id)
        batch_url_title: dict[tuple[str, str], str] = {}
        batch_title: dict[str, tuple[str, str, datetime]] = {}
        edited_ids = []
        for row_no, by_key, key_version, by_guid, by_url_title, by_title in matches:
            a = anns[row_no]
            if by_key is not None:
                if key_version != versions[row_no]:
                    edits.append((row_no, by_key))
                    edited_ids.append(by_key)
                else:
                    seen.append({"source_id": a.source_id, "entry_key": a.entry_key, "seen_at": seen_at})
                continue
            tkey = tkeys[row_no]
            item_id = by_guid or by_url_title or by_title
            if item_id is None and a.guid and a.guid in batch_guid and batch_guid[a.guid][0] != a.source_id:
                item_id = batch_guid[a.guid][1]
            if item_id is None and a.url:
                item_id = batch_url_title.get((a.url, a.title))
            if item_id is None and len(tkey) >= TITLE_MIN_LEN and tkey in batch_title:
                other_source, other_id, other_published = batch_title[tkey]
                if other_source != a.source_id and abs((other_published - a.published_at).total_seconds()) <= TITLE_WINDOW_DAYS * 86400:
                    item_id = other_id
            if item_id is None:
                item_id = new_item_id(a)
                row = _row(a, item_id, seen_at, tkey, versions[row_no])
                new_items.append(row)
                stats.new[a.source_id] += 1
                if a.guid:
                    batch_guid.setdefault(a.guid, (a.source_id, item_id))
                if a.url:
                    batch_url_title.setdefault((a.url, a.title), item_id)
                batch_title.setdefault(tkey, (a.source_id, item_id, a.published_at))
            else:
                stats.linked += 1
                new_links.append(_row(a, item_id, seen_at, tkey, versions[row_no]))

        if new_items or new_links:
            created, linked = _table(new_items), _table(new_links)
            if new_items:
                run_with(con, "insert_items", new_items=created)
            run_with(con, "insert_item_sources", new_items=created, new_links=linked)
        if edits:
            old = _current_values(con, edited_ids)
            rows = [_row(anns[n], item_id, seen_at, tkeys[n], versions[n], _changed_fields(old[item_id], anns[n]))
                    for n, item_id in edits]
            # One edit per item per batch (two sources editing one item at once: the last wins).
            rows = list({r["item_id"]: r for r in rows}.values())
            run_with(con, "apply_edits", edits=_table(rows))
            stats.edited = len(rows)
        if seen:
            run_with(con, "touch_seen", seen=pa.Table.from_pylist(seen))
    return stats


def _table(rows: list[dict]) -> pa.Table:
    """Rows (dicts of _ITEM_SCHEMA) as an Arrow table, built column by column (faster than by row)."""
    return pa.Table.from_pydict({name: [r[name] for r in rows] for name in _ITEM_SCHEMA.names}, schema=_ITEM_SCHEMA)


def _current_values(con: duckdb.DuckDBPyConnection, ids: list[str]) -> dict[str, tuple]:
    rows = con.execute(statement("current_values"), {"ids": ids}).fetchall()
    return {r[0]: tuple(r[1:]) for r in rows}
