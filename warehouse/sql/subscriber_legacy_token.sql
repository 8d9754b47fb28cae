-- The subscriber whose pre-005 token (mailed in older digests) hashes to $hash.
SELECT email FROM subscribers WHERE legacy_token_hash = $hash;
