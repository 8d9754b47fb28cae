-- Every new item is carried by the entry that created it; `new_links` are entries of other
-- sources (or other entries) carrying items that already exist. `served_by` says how an entry
-- read through a source's fallback came ("fallback: announced feed …").
INSERT INTO item_sources (source_id, entry_key, item_id, guid, url, version, first_seen_at, last_seen_at, served_by)
SELECT source_id, entry_key, item_id, guid, url, version, seen_at, seen_at, served_by FROM new_items
UNION ALL
SELECT source_id, entry_key, item_id, guid, url, version, seen_at, seen_at, served_by FROM new_links
-- an entry whose item was deleted points to the item created again
ON CONFLICT (source_id, entry_key) DO UPDATE SET
    item_id = excluded.item_id, guid = excluded.guid, url = excluded.url,
    version = excluded.version, last_seen_at = excluded.last_seen_at;
