-- The latest weekly digest built in [$start, $end): a weekly run already happened this week.
SELECT label FROM digests WHERE created_at >= $start AND created_at < $end AND coalesce(kind, 'weekly') = 'weekly'
ORDER BY created_at DESC LIMIT 1;
