-- Everything a subscriber may change; becoming active again clears the unsubscription time.
UPDATE subscribers SET name = $name, company = $company, language = $language, organisations = $organisations,
       categories = $categories, eligible_only = $eligible_only, frequency = $frequency, paused = $paused,
       active = $active, updated_at = $now,
       unsubscribed_at = CASE WHEN $active THEN NULL WHEN active THEN $now ELSE unsubscribed_at END
WHERE id = $id;
