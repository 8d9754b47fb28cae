INSERT INTO fetches (run_id, source_id, url, final_url, role, started_at, status, http_status, etag, last_modified,
                     content_type, bytes, items_found, items_new, error, duration_ms, attempts, capture)
SELECT run_id, source_id, url, final_url, role, started_at, status, http_status, etag, last_modified,
       content_type, bytes, items_found, items_new, error, duration_ms, attempts, capture
FROM fetch_log;
