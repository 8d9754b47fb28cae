INSERT INTO tokens (hash, email, purpose, created_at, expires_at, data)
VALUES (:hash, :email, :purpose, :created_at, :expires_at, :data);
