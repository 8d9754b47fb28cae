INSERT INTO subscribers (email, name, language, organisations, categories, token, active, created_at)
VALUES ($email, $name, $language, $organisations, $categories, $token, TRUE, $now)
RETURNING id;
