INSERT INTO subscribers (email, name, company, language, organisations, categories, eligible_only, frequency,
                         paused, active, created_at, updated_at)
VALUES ($email, $name, $company, $language, $organisations, $categories, $eligible_only, $frequency,
        $paused, $active, $now, $now)
RETURNING id;
