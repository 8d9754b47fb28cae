-- Reviewed digests whose time has come and that staff did not hold.
SELECT label FROM digests
WHERE coalesce(kind, 'weekly') = 'weekly' AND release_at IS NOT NULL AND release_at <= $now AND NOT coalesce(held, FALSE)
ORDER BY release_at;
