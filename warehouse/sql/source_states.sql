SELECT id, coalesce(current_url, url) AS fetch_url, etag, last_modified, enabled, disabled_reason,
       next_check_at, consecutive_failures
FROM sources
WHERE in_catalog;
