INSERT INTO changes (at, email, kind, data) VALUES (:at, :email, :kind, :data) RETURNING id;
