-- What edited items hold now, to name the fields an edit changes.
SELECT id, title, summary, url, deadline, published_at FROM items WHERE id IN (SELECT unnest($ids));
