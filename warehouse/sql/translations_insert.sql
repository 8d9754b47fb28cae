INSERT INTO translations (text_hash, target_lang, source_text, translated, provider, created_at)
SELECT text_hash, target_lang, source_text, translated, provider, created_at FROM new_translations
ON CONFLICT (text_hash, target_lang) DO NOTHING;
