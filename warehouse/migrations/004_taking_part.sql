-- What a Japanese company needs to decide (issue 12): may it apply, how much, about what, and one
-- Japanese line that says it all. Rules in sources/eligibility.toml decide; the reason names the rule.
ALTER TABLE items ADD COLUMN eligibility VARCHAR;          -- japan | international | restricted | unknown
ALTER TABLE items ADD COLUMN eligibility_region VARCHAR;   -- "ESA Member States", "EU and associated countries", "UK", ...
ALTER TABLE items ADD COLUMN eligibility_reason VARCHAR;   -- "rule-id: the phrase that decided"
ALTER TABLE items ADD COLUMN amount_max DOUBLE;            -- the most one applicant can get, as stated
ALTER TABLE items ADD COLUMN amount_currency VARCHAR;      -- ISO 4217
ALTER TABLE items ADD COLUMN themes VARCHAR[];             -- Japanese theme tags
ALTER TABLE items ADD COLUMN headline_ja VARCHAR;          -- the one-line Japanese fact line

-- A subscriber may ask for only the calls a Japanese company may apply to.
ALTER TABLE subscribers ADD COLUMN eligible_only BOOLEAN DEFAULT FALSE;

CREATE OR REPLACE VIEW open_calls AS
SELECT id, organisation, category, title, url, deadline, deadline_kind, opening_date, japan_relevant,
       eligibility, eligibility_region, eligibility_reason, amount_max, amount_currency, themes, headline_ja,
       published_at, first_seen_at
FROM items_current
WHERE status_today = 'open'
  AND category IN ('funding', 'tender', 'incubation', 'partnership')
ORDER BY deadline NULLS LAST, published_at DESC;

CREATE OR REPLACE VIEW upcoming_deadlines AS
SELECT id, organisation, category, title, url, deadline,
       deadline - CAST(timezone('Asia/Tokyo', now()) AS DATE) AS days_left, japan_relevant,
       eligibility, eligibility_region, amount_max, amount_currency, themes, headline_ja
FROM items
WHERE deadline_kind = 'date'
  AND deadline >= CAST(timezone('Asia/Tokyo', now()) AS DATE)
  AND deadline <  CAST(timezone('Asia/Tokyo', now()) AS DATE) + INTERVAL 60 DAY
ORDER BY deadline, organisation;

-- Open calls a Japanese company can apply to: Japan named, or open to any country.
CREATE OR REPLACE VIEW open_to_japan AS
SELECT id, organisation, category, title, url, deadline, deadline_kind, eligibility, eligibility_region,
       eligibility_reason, amount_max, amount_currency, themes, headline_ja, published_at, first_seen_at
FROM open_calls
WHERE eligibility IN ('japan', 'international')
ORDER BY deadline NULLS LAST, published_at DESC;
