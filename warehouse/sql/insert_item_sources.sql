INSERT INTO item_sources (source_id, entry_key, item_id, guid, url, content_hash, first_seen_at, last_seen_at)
SELECT source_id, entry_key, item_id, guid, url, version, seen_at, seen_at
FROM new_links;
