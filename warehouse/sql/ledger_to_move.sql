SELECT digest_id, subscriber_id, state AS status, at, message_id, error FROM sends
WHERE moved = 0 AND state IN ('sent', 'rejected');
