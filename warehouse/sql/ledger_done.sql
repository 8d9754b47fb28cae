-- Subscribers this digest must not be sent to again (final answers not yet in the warehouse too).
SELECT subscriber_id FROM sends WHERE digest_id = :digest_id AND state IN ('sent', 'rejected');
