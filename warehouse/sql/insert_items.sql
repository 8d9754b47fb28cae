INSERT INTO items (id, title, url, summary, organisation, source_id, guid, title_key, published_at,
                   published_estimated, first_seen_at, updated_at, language, category, category_rule,
                   deadline, deadline_kind, opening_date, status, japan_relevant, japan_reason, content_hash,
                   event_date, event_end, detail_text)
SELECT item_id, title, url, summary, organisation, source_id, guid, title_key, published_at,
       published_estimated, seen_at, seen_at, language, category, category_rule,
       deadline, deadline_kind, opening_date, status, japan_relevant, japan_reason, content_hash,
       event_date, event_end, detail_text
FROM new_items;
