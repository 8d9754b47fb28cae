-- The server's final answer for a message this send had claimed.
UPDATE sends SET state = :state, at = :now, message_id = :message_id, error = :error, lease_until = NULL
WHERE digest_id = :digest_id AND subscriber_id = :subscriber_id AND owner = :owner AND state = 'claimed';
