-- What the stages carry forward now reaches the warehouse: an event's days (the digest shows them,
-- the calendar lists them) and the extra text the classifier read (a listing row, an item page),
-- so rules can be re-run on what the item said.
ALTER TABLE items ADD COLUMN event_date DATE;
ALTER TABLE items ADD COLUMN event_end DATE;
ALTER TABLE items ADD COLUMN detail_text VARCHAR;
-- item_sources kept each source's last version of its entry (content, dates, category) under the
-- name content_hash, which items uses for the content alone.
ALTER TABLE item_sources RENAME COLUMN content_hash TO version;
