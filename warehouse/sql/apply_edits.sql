-- An edited entry: remember what it was, then update the item and the source's version.
INSERT INTO item_revisions (item_id, source_id, changed_at, changed_fields, old_title, new_title,
                            old_summary, new_summary, old_url, new_url, old_deadline, new_deadline,
                            old_content_hash, new_content_hash)
SELECT i.id, e.source_id, e.seen_at, e.changed_fields, i.title, e.title, i.summary, e.summary,
       i.url, e.url, i.deadline, e.deadline, i.content_hash, e.content_hash
FROM edits e JOIN items i ON i.id = e.item_id;

UPDATE items SET
    title = e.title, url = e.url, summary = e.summary, title_key = e.title_key,
    published_at = e.published_at, published_estimated = e.published_estimated,
    updated_at = e.seen_at, category = e.category, category_rule = e.category_rule,
    deadline = e.deadline, deadline_kind = e.deadline_kind, opening_date = e.opening_date,
    status = e.status, japan_relevant = e.japan_relevant, japan_reason = e.japan_reason,
    content_hash = e.content_hash, event_date = e.event_date, event_end = e.event_end,
    detail_text = e.detail_text, eligibility = e.eligibility, eligibility_region = e.eligibility_region,
    eligibility_reason = e.eligibility_reason, amount_max = e.amount_max, amount_currency = e.amount_currency,
    themes = e.themes, headline_ja = e.headline_ja
FROM edits e
WHERE items.id = e.item_id;

UPDATE item_sources SET version = e.version, url = e.url
FROM edits e
WHERE item_sources.source_id = e.source_id AND item_sources.entry_key = e.entry_key;
