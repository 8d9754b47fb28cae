-- Sources staff should look at: failing, served only by a fallback, stale, disabled by the
-- pipeline (410 Gone) or never fetched. Sources switched off in the catalog are a decision, not a problem.
SELECT source_id, organisation, url, state, consecutive_failures, last_success_at, last_new_item_at,
       next_check_at,
       -- a source served by a fallback: why its own way failed, and how its items came all the same
       concat_ws('; ', coalesce(last_error, disabled_reason), served_by) AS reason
FROM source_health
WHERE state <> 'ok'
  AND NOT (state = 'disabled' AND disabled_reason IS NULL)
ORDER BY CASE state WHEN 'failing' THEN 0 WHEN 'served by fallback' THEN 1 WHEN 'disabled' THEN 2 WHEN 'stale' THEN 3
         ELSE 4 END, source_id;
