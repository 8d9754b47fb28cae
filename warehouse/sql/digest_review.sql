-- Under review until $release_at (NULL: released, the schedule sent it); $held: staff hold it.
UPDATE digests SET release_at = $release_at, held = $held WHERE id = $id;
