-- A source whose own way failed (an html page whose selectors match nothing after a redesign, a
-- WordPress API that errs) can still be served by a fallback: its announced feed, the WordPress
-- API, its sitemap or selectors derived again from the page. The alarm stays visible: the source
-- keeps its error in last_error and source_health says how it was served; each item_sources row
-- says how that entry came.
ALTER TABLE sources ADD COLUMN served_by VARCHAR;       -- "fallback: announced feed https://…"; NULL when its own way worked
ALTER TABLE item_sources ADD COLUMN served_by VARCHAR;  -- how the entry was read when it was first loaded, if by a fallback

CREATE OR REPLACE VIEW source_health AS
WITH recent AS (
    SELECT source_id,
           -- what a fallback's search tried and did not find (a /feed/ that is not there) is no failure
           count(*) FILTER (WHERE status = 'error' AND role <> 'discover') AS failures_7d,
           count(*) AS fetches_7d,
           max(started_at) AS last_fetch_at
    FROM fetches
    WHERE started_at >= now() - INTERVAL 7 DAY
    GROUP BY source_id
)
SELECT s.id AS source_id, s.organisation, s.kind, coalesce(s.current_url, s.url) AS url,
       s.enabled, s.disabled_reason,
       s.consecutive_failures, s.last_attempt_at, s.last_success_at, s.last_new_item_at, s.next_check_at,
       s.last_error,
       coalesce(r.failures_7d, 0) AS failures_7d, coalesce(r.fetches_7d, 0) AS fetches_7d,
       CASE
           WHEN NOT s.enabled THEN 'disabled'
           WHEN s.consecutive_failures > 0 THEN 'failing'
           WHEN s.served_by IS NOT NULL THEN 'served by fallback'
           WHEN s.last_success_at IS NULL THEN 'never fetched'
           WHEN coalesce(s.last_new_item_at, s.last_success_at) < now() - to_days(coalesce(s.expected_period_days, 30)) THEN 'stale'
           ELSE 'ok'
       END AS state,
       'served by ' || s.served_by AS served_by
FROM sources s
LEFT JOIN recent r ON r.source_id = s.id
WHERE s.in_catalog;
