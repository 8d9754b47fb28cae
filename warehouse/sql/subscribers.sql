SELECT id, email, name, language, organisations, categories, token, active
FROM subscribers
WHERE active OR NOT $active_only
ORDER BY id;
