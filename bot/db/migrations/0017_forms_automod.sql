-- Richer forms and AutoMod (issue 20, items 4 and 6).
-- A feedback item's uploaded screenshot(s): a JSON list of {id, filename, url, proxy_url, content_type,
-- size, width, height} as Discord described them in the modal submission (its URLs are signed and
-- expire after a while; the metadata stays).
ALTER TABLE feedback_items ADD COLUMN attachments TEXT NOT NULL DEFAULT '[]';

-- The Discord AutoMod rule the bot keeps in sync with the risk words, per guild.
CREATE TABLE automod_rules (
    guild_id BIGINT NOT NULL,
    rule_key TEXT NOT NULL,                  -- 'risk_words'
    rule_id BIGINT NOT NULL,
    synced_at TEXT NOT NULL,
    PRIMARY KEY (guild_id, rule_key)
);
