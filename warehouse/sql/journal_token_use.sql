-- A confirmation token is used once: the second use (or any other kind of token) finds nothing to update.
UPDATE tokens SET used_at = :now
WHERE hash = :hash AND purpose = 'confirm' AND used_at IS NULL AND (expires_at IS NULL OR expires_at > :now)
RETURNING email, data;
