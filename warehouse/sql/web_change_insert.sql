INSERT INTO web_changes (id, changed_at, email, kind, data, applied_at)
VALUES ($id, $at, $email, $kind, $data, $applied_at);
