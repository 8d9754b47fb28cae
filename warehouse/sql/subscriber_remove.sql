-- Deactivate, never delete: deliveries keep their history.
UPDATE subscribers SET active = FALSE, unsubscribed_at = $now WHERE email = $email AND active RETURNING id;
