-- Candidates for a digest window [$start, $end): items first seen in it and items whose deadline
-- changed in it. reports.digest.select_items decides what is shown. Everything is narrowed to
-- those items first, so the cost follows the week, not the years of history.
WITH changed AS (
    SELECT item_id, arg_min(old_deadline, changed_at) AS previous_deadline
    FROM item_revisions
    WHERE old_deadline IS DISTINCT FROM new_deadline
      AND changed_at >= $start AND changed_at < $end
    GROUP BY item_id
), picked AS (
    SELECT id FROM items WHERE first_seen_at >= $start AND first_seen_at < $end
    UNION
    SELECT item_id FROM changed
), carried AS (
    SELECT x.item_id, list(DISTINCT x.source_id ORDER BY x.source_id) AS source_ids
    FROM item_sources x
    JOIN picked p ON p.id = x.item_id
    GROUP BY x.item_id
)
SELECT i.id, i.title, i.url, coalesce(i.summary, '') AS summary, i.organisation,
       coalesce(c.source_ids, [i.source_id]) AS source_ids,
       i.published_at, i.first_seen_at, coalesce(i.category, 'other') AS category,
       i.deadline, coalesce(i.deadline_kind, 'none') AS deadline_kind, coalesce(i.status, 'unknown') AS status,
       i.japan_relevant, i.japan_reason, i.published_estimated, i.opening_date,
       ch.item_id IS NOT NULL AS deadline_changed, ch.previous_deadline, coalesce(i.language, 'en') AS language,
       i.event_date, i.event_end, coalesce(i.eligibility, 'unknown') AS eligibility, i.eligibility_region,
       i.eligibility_reason, i.amount_max, i.amount_currency, coalesce(i.themes, []) AS themes, i.headline_ja
FROM items i
JOIN picked p ON p.id = i.id
LEFT JOIN changed ch ON ch.item_id = i.id
LEFT JOIN carried c ON c.item_id = i.id
ORDER BY i.published_at DESC;
