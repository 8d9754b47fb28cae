-- Bring the sources table in line with the catalog (staged as `catalog`). A URL changed in the
-- catalog forgets the redirect target and validators of the old one.
INSERT INTO sources (id, organisation, name, country, kind, url, language, enabled, in_catalog,
                     expected_period_days, updated_at)
SELECT id, organisation, name, country, kind, url, language, enabled, TRUE, expected_period_days, $now
FROM catalog
ON CONFLICT (id) DO UPDATE SET
    organisation = excluded.organisation,
    name = excluded.name,
    country = excluded.country,
    kind = excluded.kind,
    current_url = CASE WHEN sources.url = excluded.url THEN sources.current_url END,
    etag = CASE WHEN sources.url = excluded.url THEN sources.etag END,
    last_modified = CASE WHEN sources.url = excluded.url THEN sources.last_modified END,
    url = excluded.url,
    language = excluded.language,
    enabled = excluded.enabled AND sources.disabled_reason IS NULL,
    in_catalog = TRUE,
    expected_period_days = excluded.expected_period_days,
    updated_at = excluded.updated_at;

UPDATE sources SET in_catalog = FALSE WHERE id NOT IN (SELECT id FROM catalog);
