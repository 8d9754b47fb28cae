INSERT INTO deliveries (digest_id, subscriber_id, status, delivered_at, message_id, error)
VALUES ($digest_id, $subscriber_id, $status, $at, $message_id, $error)
ON CONFLICT DO NOTHING;
