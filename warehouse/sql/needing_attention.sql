-- Sources staff should look at: failing, stale, disabled or never fetched successfully.
SELECT source_id, organisation, url, state, consecutive_failures, last_success_at, last_new_item_at,
       next_check_at, coalesce(last_error, disabled_reason) AS reason
FROM source_health
WHERE state <> 'ok'
ORDER BY CASE state WHEN 'failing' THEN 0 WHEN 'disabled' THEN 1 WHEN 'stale' THEN 2 ELSE 3 END, source_id;
