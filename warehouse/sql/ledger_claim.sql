-- Claim (digest, subscriber) for this send: a new row, or a claim whose lease has run out.
-- A row already sent or rejected, or claimed by a live send, is left alone (no row returned).
INSERT INTO sends (digest_id, subscriber_id, state, owner, lease_until, at)
VALUES (:digest_id, :subscriber_id, 'claimed', :owner, :lease_until, :now)
ON CONFLICT (digest_id, subscriber_id) DO UPDATE
    SET owner = excluded.owner, lease_until = excluded.lease_until, at = excluded.at
    WHERE sends.state = 'claimed' AND (sends.lease_until IS NULL OR sends.lease_until < excluded.at)
RETURNING owner;
