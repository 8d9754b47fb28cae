UPDATE item_sources SET last_seen_at = t.seen_at
FROM seen t
WHERE item_sources.source_id = t.source_id AND item_sources.entry_key = t.entry_key;
