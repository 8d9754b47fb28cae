-- Re-rendering a window refreshes its digest and keeps its id (deliveries refer to it).
INSERT INTO digests (label, window_start, window_end, created_at, item_count, paths, kind, excluded)
VALUES ($label, $start, $end, $created_at, $item_count, $paths, $kind, $excluded)
ON CONFLICT (label) DO UPDATE SET window_start = excluded.window_start, window_end = excluded.window_end,
    created_at = excluded.created_at, item_count = excluded.item_count, paths = excluded.paths,
    excluded = excluded.excluded
RETURNING id;
