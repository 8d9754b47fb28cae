-- Every successful fetch whose raw body was kept, grouped by run and source, listing first, so
-- replaying them in order rebuilds items as they were first seen.
SELECT run_id, source_id, role, coalesce(final_url, url) AS url, content_type, capture, started_at,
       url AS requested_url
FROM fetches
WHERE capture IS NOT NULL
  AND role IN ('listing', 'page', 'detail')  -- not a failed API call that a fallback feed replaced
  AND ($only IS NULL OR list_contains($only, source_id))
ORDER BY started_at, run_id, source_id, CASE role WHEN 'listing' THEN 0 WHEN 'page' THEN 1 ELSE 2 END, id;
