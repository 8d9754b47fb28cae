INSERT INTO items (id, title, url, summary, organisation, source_id, guid, title_key, published_at,
                   published_estimated, first_seen_at, updated_at, language, category, category_rule,
                   deadline, deadline_kind, opening_date, status, japan_relevant, japan_reason, content_hash,
                   event_date, event_end, detail_text, eligibility, eligibility_region, eligibility_reason,
                   amount_max, amount_currency, themes, headline_ja)
SELECT item_id, title, url, summary, organisation, source_id, guid, title_key, published_at,
       published_estimated, seen_at, seen_at, language, category, category_rule,
       deadline, deadline_kind, opening_date, status, japan_relevant, japan_reason, content_hash,
       event_date, event_end, detail_text, eligibility, eligibility_region, eligibility_reason,
       amount_max, amount_currency, themes, headline_ja
FROM new_items;
