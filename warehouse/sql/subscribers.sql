SELECT id, email, name, language, organisations, categories, coalesce(eligible_only, FALSE) AS eligible_only,
       token, active
FROM subscribers
WHERE active OR NOT $active_only
ORDER BY id;
