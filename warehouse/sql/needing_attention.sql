-- Sources staff should look at: failing, stale, disabled by the pipeline (410 Gone) or never
-- fetched. Sources switched off in the catalog are a decision, not a problem.
SELECT source_id, organisation, url, state, consecutive_failures, last_success_at, last_new_item_at,
       next_check_at, coalesce(last_error, disabled_reason) AS reason
FROM source_health
WHERE state <> 'ok'
  AND NOT (state = 'disabled' AND disabled_reason IS NULL)
ORDER BY CASE state WHEN 'failing' THEN 0 WHEN 'disabled' THEN 1 WHEN 'stale' THEN 2 ELSE 3 END, source_id;
