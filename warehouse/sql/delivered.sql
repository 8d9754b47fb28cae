-- Subscribers a digest must not be sent to again: accepted, or refused for good.
SELECT subscriber_id FROM deliveries WHERE digest_id = $digest_id;
