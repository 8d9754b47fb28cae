-- Per-source health after a run (staged as `outcome`, one row per attempted source).
UPDATE sources SET
    last_attempt_at = o.started_at,
    consecutive_failures = CASE WHEN o.ok THEN 0 ELSE sources.consecutive_failures + 1 END,
    last_success_at = CASE WHEN o.ok THEN o.started_at ELSE sources.last_success_at END,
    last_new_item_at = CASE WHEN o.items_new > 0 THEN o.started_at ELSE sources.last_new_item_at END,
    -- a source served by a fallback keeps its own way's error: the alarm stays visible
    last_error = o.error,
    served_by = o.served_by,
    next_check_at = o.next_check_at,
    etag = CASE WHEN o.store_validators THEN o.etag ELSE sources.etag END,
    last_modified = CASE WHEN o.store_validators THEN o.last_modified ELSE sources.last_modified END,
    current_url = coalesce(o.permanent_redirect, sources.current_url),
    enabled = sources.enabled AND o.disable_reason IS NULL,
    disabled_reason = coalesce(o.disable_reason, sources.disabled_reason),
    updated_at = o.started_at
FROM outcome o
WHERE sources.id = o.source_id;
