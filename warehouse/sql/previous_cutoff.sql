-- Where the next digest (or daily alert) starts: the end of the latest one's window.
SELECT max(window_end) FROM digests WHERE coalesce(kind, 'weekly') = $kind;
