-- Adding an address again updates it and re-activates it.
UPDATE subscribers SET name = $name, language = $language, organisations = $organisations,
       categories = $categories, eligible_only = $eligible_only, active = TRUE, unsubscribed_at = NULL
WHERE id = $id;
