-- Machine translations (optional, SPACEDIGEST_TRANSLATE): each text translated once, kept by the hash
-- of the text and the language, with the translator that did it.
CREATE TABLE translations (
    text_hash     VARCHAR NOT NULL,
    target_lang   VARCHAR NOT NULL,
    source_text   VARCHAR NOT NULL,
    translated    VARCHAR NOT NULL,
    provider      VARCHAR NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (text_hash, target_lang)
);
