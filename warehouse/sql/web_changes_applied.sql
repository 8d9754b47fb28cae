-- How far the warehouse has applied the journal of web changes.
SELECT coalesce(max(id), 0) FROM web_changes;
