-- Every fetch whose raw body was kept (what a fallback's search looked at too), and the first
-- request of a source that a fallback served (it names the URL a replay starts from), in the order
-- they were made.
SELECT run_id, source_id, role, url AS requested_url, coalesce(final_url, url) AS final_url, content_type,
       capture, started_at
FROM fetches
WHERE (capture IS NOT NULL OR role = 'primary')
  AND ($only IS NULL OR list_contains($only, source_id))
ORDER BY started_at, id;
