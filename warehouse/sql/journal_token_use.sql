-- A one-time token (confirmation) is used once: the second use finds nothing to update.
UPDATE tokens SET used_at = :now
WHERE hash = :hash AND used_at IS NULL AND (expires_at IS NULL OR expires_at > :now)
RETURNING email, data;
