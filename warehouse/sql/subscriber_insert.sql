INSERT INTO subscribers (email, name, language, organisations, categories, eligible_only, token, active, created_at)
VALUES ($email, $name, $language, $organisations, $categories, $eligible_only, $token, TRUE, $now)
RETURNING id;
