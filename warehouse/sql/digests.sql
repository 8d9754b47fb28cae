SELECT id, label, window_start, window_end, created_at, item_count, paths, release_at,
       coalesce(held, FALSE) AS held, coalesce(excluded, []) AS excluded
FROM digests
WHERE ($label IS NULL OR label = $label) AND coalesce(kind, 'weekly') = $kind
ORDER BY window_end DESC, id DESC;
