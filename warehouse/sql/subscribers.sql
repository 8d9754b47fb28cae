SELECT id, email, name, company, language, organisations, categories, eligible_only, frequency, paused, active
FROM subscribers
WHERE active OR NOT $active_only
ORDER BY id;
