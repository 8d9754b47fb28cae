SELECT id, email, name, company, language, organisations, categories, eligible_only, frequency, paused, active
FROM subscribers WHERE email = $email;
