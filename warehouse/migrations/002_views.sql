-- Views staff query. "Today" is the Japanese calendar day (Asia/Tokyo).

CREATE OR REPLACE VIEW items_current AS
SELECT i.*,
       -- the same rule as sources.classify.status_on, for today
       CASE
           WHEN i.deadline < CAST(timezone('Asia/Tokyo', now()) AS DATE) THEN 'closed'
           WHEN i.opening_date > CAST(timezone('Asia/Tokyo', now()) AS DATE) THEN 'forthcoming'
           WHEN i.deadline IS NOT NULL THEN 'open'
           WHEN i.deadline_kind = 'rolling'
                AND i.category IN ('funding', 'tender', 'incubation', 'partnership', 'event') THEN 'open'
           ELSE 'unknown'
       END AS status_today
FROM items i;

CREATE OR REPLACE VIEW open_calls AS
SELECT id, organisation, category, title, url, deadline, deadline_kind, opening_date, japan_relevant,
       published_at, first_seen_at
FROM items_current
WHERE status_today = 'open'
  AND category IN ('funding', 'tender', 'incubation', 'partnership')
ORDER BY deadline NULLS LAST, published_at DESC;

CREATE OR REPLACE VIEW upcoming_deadlines AS
SELECT id, organisation, category, title, url, deadline,
       deadline - CAST(timezone('Asia/Tokyo', now()) AS DATE) AS days_left, japan_relevant
FROM items
WHERE deadline_kind = 'date'
  AND deadline >= CAST(timezone('Asia/Tokyo', now()) AS DATE)
  AND deadline <  CAST(timezone('Asia/Tokyo', now()) AS DATE) + INTERVAL 60 DAY
ORDER BY deadline, organisation;

CREATE OR REPLACE VIEW new_this_week AS
SELECT id, organisation, category, title, url, published_at, first_seen_at, deadline, status, japan_relevant
FROM items
WHERE first_seen_at >= now() - INTERVAL 7 DAY
ORDER BY first_seen_at DESC, published_at DESC;

CREATE OR REPLACE VIEW source_health AS
WITH recent AS (
    SELECT source_id,
           count(*) FILTER (WHERE status = 'error') AS failures_7d,
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
           WHEN s.last_success_at IS NULL THEN 'never fetched'
           WHEN coalesce(s.last_new_item_at, s.last_success_at) < now() - to_days(coalesce(s.expected_period_days, 30)) THEN 'stale'
           ELSE 'ok'
       END AS state
FROM sources s
LEFT JOIN recent r ON r.source_id = s.id
WHERE s.in_catalog;
