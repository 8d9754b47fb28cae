-- The translations already made of these texts (by hash) into $lang.
SELECT text_hash, translated FROM translations WHERE target_lang = $lang AND text_hash IN (SELECT unnest($hashes));
