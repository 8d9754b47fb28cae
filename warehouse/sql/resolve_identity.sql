-- For each staged announcement: the existing item it already is, by each identity rule.
-- The loader applies the rules in this order: same entry of the same source; the same guid seen
-- in another source; the same canonical URL and title; the same normalized title from another
-- source published within a few days (a re-post with new guid and link).
-- Every rule starts from the (small) stage, so the cost stays proportional to the batch, not to
-- the history: the big tables are only probed, never hashed whole.
WITH key_links AS (
    SELECT s.row_no, x.item_id, x.version
    FROM stage s JOIN item_sources x ON x.source_id = s.source_id AND x.entry_key = s.entry_key
), guid_links AS (
    SELECT s.row_no, x.item_id
    FROM stage s JOIN item_sources x ON x.guid = s.guid AND x.source_id <> s.source_id
    WHERE s.guid IS NOT NULL
), live AS (
    -- links count only to items that still exist (staff may have deleted items; reprocess restores them)
    SELECT id FROM items
    WHERE id IN (SELECT item_id FROM key_links UNION ALL SELECT item_id FROM guid_links)
), by_key AS (
    SELECT k.row_no, k.item_id, k.version FROM key_links k JOIN live l ON l.id = k.item_id
), by_guid AS (
    SELECT g.row_no, min(g.item_id) AS item_id
    FROM guid_links g JOIN live l ON l.id = g.item_id
    GROUP BY g.row_no
), by_url_title AS (
    SELECT s.row_no, min(i.id) AS item_id
    FROM stage s JOIN items i ON i.url = s.url AND i.title = s.title
    WHERE s.url IS NOT NULL
    GROUP BY s.row_no
), window_start AS (
    -- a constant bound lets DuckDB skip old row groups of `items` (zone maps) for this rule
    SELECT min(published_at) - to_seconds($title_window_s) AS since FROM stage
), by_title AS (
    SELECT s.row_no, min(i.id) AS item_id
    FROM stage s JOIN items i
      ON i.title_key = s.title_key
     AND i.source_id <> s.source_id
     AND abs(epoch(i.published_at) - epoch(s.published_at)) <= $title_window_s
    WHERE length(s.title_key) >= $title_min_len
      AND i.published_at >= (SELECT since FROM window_start)
    GROUP BY s.row_no
)
SELECT s.row_no,
       k.item_id        AS by_key,
       k.version        AS key_version,
       g.item_id        AS by_guid,
       u.item_id        AS by_url_title,
       t.item_id        AS by_title
FROM stage s
LEFT JOIN by_key k       ON k.row_no = s.row_no
LEFT JOIN by_guid g      ON g.row_no = s.row_no
LEFT JOIN by_url_title u ON u.row_no = s.row_no
LEFT JOIN by_title t     ON t.row_no = s.row_no
ORDER BY s.row_no;
