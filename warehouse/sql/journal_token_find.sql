SELECT hash, email, purpose, created_at, expires_at, used_at, data FROM tokens WHERE hash = :hash;
