-- Deactivate, never delete: deliveries and consents keep their history.
UPDATE subscribers SET active = FALSE, unsubscribed_at = $now, updated_at = $now
WHERE email = $email AND active RETURNING id;
