INSERT INTO confirmation_mails (at, email, client) VALUES (:at, :email, :client);
