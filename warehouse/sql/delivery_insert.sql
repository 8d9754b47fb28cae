-- Deliveries from a send's journal (staged as `journal`); a row already there stays as it was.
INSERT INTO deliveries (digest_id, subscriber_id, status, delivered_at, message_id, error)
SELECT digest_id, subscriber_id, status, delivered_at, message_id, error FROM journal
ON CONFLICT DO NOTHING;
